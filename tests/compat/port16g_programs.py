"""Wave-16 ports, part seven, run with ``torch`` = PyTorch or chainrule (test_port16g_programs.py):
sparse Gaussian-process regression with GPflow's SGPR collapsed bound written in PyTorch
(``torch.linalg.cholesky``, ``torch.linalg.solve_triangular``, the trace terms by
``torch.trace``, hyperparameters as ``softplus`` of raw ``nn.Parameter``s, predictions by
``torch.cholesky_solve``), and a CNN whose convolution and pooling are written "from scratch"
with ``x.as_strided(shape, strides)`` over ``x.stride()`` and ``torch.einsum`` (the
stride-tricks tutorial form), trained next to the same layers as ``F.conv2d``.
"""

from __future__ import annotations

import math

# ---- SGPR (Titsias 2009; GPflow's collapsed bound) ----


def sgpr(torch, Z, jitter=1e-6):
    nn, F = torch.nn, torch.nn.functional

    class SGPR(nn.Module):
        def __init__(self, Z):
            super().__init__()
            self.Z = nn.Parameter(Z.clone())
            self.raw_lengthscale = nn.Parameter(torch.tensor(0.0))
            self.raw_variance = nn.Parameter(torch.tensor(0.5))
            self.raw_noise = nn.Parameter(torch.tensor(-1.0))

        @property
        def lengthscale(self):
            return F.softplus(self.raw_lengthscale)

        @property
        def variance(self):
            return F.softplus(self.raw_variance)

        @property
        def noise(self):
            return F.softplus(self.raw_noise) + 1e-4

        def kernel(self, A, B):
            sq = torch.cdist(A / self.lengthscale, B / self.lengthscale) ** 2
            return self.variance * torch.exp(-0.5 * sq)

        def elbo(self, X, y):
            n, m = X.shape[0], self.Z.shape[0]
            sigma2 = self.noise
            sigma = torch.sqrt(sigma2)
            Kuu = self.kernel(self.Z, self.Z) + jitter * torch.eye(m, dtype=X.dtype)
            Kuf = self.kernel(self.Z, X)
            Kff = self.kernel(X, X)
            L = torch.linalg.cholesky(Kuu)
            A = torch.linalg.solve_triangular(L, Kuf, upper=False) / sigma
            AAT = A @ A.T
            B = AAT + torch.eye(m, dtype=X.dtype)
            LB = torch.linalg.cholesky(B)
            Aerr = A @ y
            c = torch.linalg.solve_triangular(LB, Aerr, upper=False) / sigma
            bound = -0.5 * n * math.log(2 * math.pi)
            bound = bound - torch.sum(torch.log(torch.diagonal(LB)))
            bound = bound - 0.5 * n * torch.log(sigma2)
            bound = bound - 0.5 * torch.sum(y ** 2) / sigma2
            bound = bound + 0.5 * torch.sum(c ** 2)
            bound = bound - 0.5 * torch.trace(Kff) / sigma2
            bound = bound + 0.5 * torch.trace(AAT)
            return bound

        def predict(self, X, y, Xs):
            m = self.Z.shape[0]
            sigma2 = self.noise
            Kuu = self.kernel(self.Z, self.Z) + jitter * torch.eye(m, dtype=X.dtype)
            Kuf, Kus = self.kernel(self.Z, X), self.kernel(self.Z, Xs)
            Sigma = Kuu + Kuf @ Kuf.T / sigma2
            LS = torch.linalg.cholesky(Sigma)
            mean = Kus.T @ torch.cholesky_solve(Kuf @ y, LS) / sigma2
            Luu = torch.linalg.cholesky(Kuu)
            q = torch.cholesky_solve(Kus, Luu) - torch.cholesky_solve(Kus, LS)
            var = self.variance - torch.sum(Kus * q, 0)
            return mean.squeeze(-1), var

    return SGPR(Z)


def train_sgpr(torch, model, X, y, Xs, steps=6, lr=0.05):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = -model.elbo(X, y)
        loss.backward()
        optimizer.step()
        history.append((loss.item(), model.lengthscale.item(), model.noise.item()))
    with torch.no_grad():
        mean, var = model.predict(X, y, Xs)
    return history, mean.numpy().copy(), var.numpy().copy()


# ---- convolution and pooling from scratch with as_strided ----

def conv2d_strided(torch, x, weight, bias=None, stride=1):
    N, C, H, W = x.shape
    F_, _, KH, KW = weight.shape
    out_h = (H - KH) // stride + 1
    out_w = (W - KW) // stride + 1
    sN, sC, sH, sW = x.stride()
    patches = x.as_strided((N, C, out_h, out_w, KH, KW),
                           (sN, sC, sH * stride, sW * stride, sH, sW))
    out = torch.einsum('nchwij,fcij->nfhw', patches, weight)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def maxpool2d_strided(torch, x, k=2):
    N, C, H, W = x.shape
    sN, sC, sH, sW = x.stride()
    windows = x.as_strided((N, C, H // k, W // k, k, k), (sN, sC, sH * k, sW * k, sH, sW))
    return windows.amax(dim=(-2, -1))


def strided_cnn(torch, scratch=True):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3)
            self.conv2 = nn.Conv2d(4, 6, 3, stride=2)
            self.fc = nn.Linear(6 * 2 * 2, 3)

        def forward(self, x):
            if scratch:
                x = F.relu(conv2d_strided(torch, x, self.conv1.weight, self.conv1.bias))
                x = maxpool2d_strided(torch, x)
                x = F.relu(conv2d_strided(torch, x, self.conv2.weight, self.conv2.bias,
                                          stride=2))
            else:
                x = F.max_pool2d(F.relu(self.conv1(x)), 2)
                x = F.relu(self.conv2(x))
            return self.fc(torch.flatten(x, 1))

    return Net()


def train_strided_cnn(torch, model, x, y, steps=4):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
