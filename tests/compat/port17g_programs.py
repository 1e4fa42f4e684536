"""Wave-17 ports, part seven, run with ``torch`` = PyTorch or chainrule
(test_port17g_programs.py): whitening.

- huangleiBuaa/IterNorm: ``iterative_normalization_py``, a custom Function whose forward takes
  ``*args`` (unpacking ``ctx.T`` straight from them), whitens each group of channels by Newton
  iterations (``torch.baddbmm``, ``torch.matrix_power``, ``reciprocal_`` of the trace, running
  buffers updated by ``copy_``) and whose hand-written backward transposes saved tensors in place
  and accumulates with ``baddbmm_``; its ``IterNorm`` module (``Parameter(torch.Tensor(*shape))``
  reset by ``nn.init``), in a small CNN trained with SGD and evaluated on the running whitening
  matrix. The repository's calls in the removed positional ``baddbmm(beta, input, alpha, ...)``
  form and ``ctx.saved_variables`` are written in today's keyword form.
- ZCA whitening of the inputs by ``torch.linalg.eigh(cov)``'s ``eigenvalues``/``eigenvectors``,
  then softmax regression on the whitened features.
"""

from __future__ import annotations


def iternorm_function(torch):
    class iterative_normalization_py(torch.autograd.Function):  # noqa: N801 - as named
        @staticmethod
        def forward(ctx, *args, **kwargs):
            X, running_mean, running_wmat, nc, ctx.T, eps, momentum, training = args
            # change NxCxHxW to (G x D) x(NxHxW), i.e., g*d*m
            ctx.g = X.size(1) // nc
            x = X.transpose(0, 1).contiguous().view(ctx.g, nc, -1)
            _, d, m = x.size()
            saved = []
            if training:
                # calculate centered activation by subtracted mini-batch mean
                mean = x.mean(-1, keepdim=True)
                xc = x - mean
                saved.append(xc)
                # calculate covariance matrix
                P = [None] * (ctx.T + 1)
                P[0] = torch.eye(d).to(X).expand(ctx.g, d, d)
                Sigma = torch.baddbmm(P[0], xc, xc.transpose(1, 2), beta=eps, alpha=1. / m)
                # reciprocal of trace of Sigma: shape [g, 1, 1]
                rTr = (Sigma * P[0]).sum((1, 2), keepdim=True).reciprocal_()
                saved.append(rTr)
                Sigma_N = Sigma * rTr
                saved.append(Sigma_N)
                for k in range(ctx.T):
                    P[k + 1] = torch.baddbmm(P[k], torch.matrix_power(P[k], 3), Sigma_N,
                                             beta=1.5, alpha=-0.5)
                saved.extend(P)
                # whiten matrix: the matrix inverse of Sigma, i.e., Sigma^{-1/2}
                wm = P[ctx.T].mul_(rTr.sqrt())
                running_mean.copy_(momentum * mean + (1. - momentum) * running_mean)
                running_wmat.copy_(momentum * wm + (1. - momentum) * running_wmat)
            else:
                xc = x - running_mean
                wm = running_wmat
            xn = wm.matmul(xc)
            Xn = xn.view(X.size(1), X.size(0), *X.size()[2:]).transpose(0, 1).contiguous()
            ctx.save_for_backward(*saved)
            return Xn

        @staticmethod
        def backward(ctx, *grad_outputs):
            grad, = grad_outputs
            saved = ctx.saved_tensors
            xc = saved[0]  # centered input
            rTr = saved[1]  # trace of Sigma
            sn = saved[2].transpose(-2, -1)  # normalized Sigma
            P = list(saved[3:])  # middle result matrix,
            g, d, m = xc.size()

            g_ = grad.transpose(0, 1).contiguous().view_as(xc)
            g_wm = g_.matmul(xc.transpose(-2, -1))
            g_P = g_wm * rTr.sqrt()
            wm = P[ctx.T]
            g_sn = 0
            for k in range(ctx.T, 1, -1):
                P[k - 1].transpose_(-2, -1)
                P2 = P[k - 1].matmul(P[k - 1])
                g_sn += P2.matmul(P[k - 1]).matmul(g_P)
                g_tmp = g_P.matmul(sn)
                g_P.baddbmm_(g_tmp, P2, beta=1.5, alpha=-0.5)
                g_P.baddbmm_(P2, g_tmp, beta=1, alpha=-0.5)
                g_P.baddbmm_(P[k - 1].matmul(g_tmp), P[k - 1], beta=1, alpha=-0.5)
            g_sn += g_P
            g_tr = ((-sn.matmul(g_sn) + g_wm.transpose(-2, -1).matmul(wm)) * P[0]).sum(
                (1, 2), keepdim=True) * P[0]
            g_sigma = (g_sn + g_sn.transpose(-2, -1) + 2. * g_tr) * (-0.5 / m * rTr)
            g_x = torch.baddbmm(wm.matmul(g_ - g_.mean(-1, keepdim=True)), g_sigma, xc)
            grad_input = g_x.view(grad.size(1), grad.size(0), *grad.size()[2:]).transpose(
                0, 1).contiguous()
            return grad_input, None, None, None, None, None, None, None

    return iterative_normalization_py


def iternorm_module(torch):
    nn = torch.nn
    Parameter = nn.Parameter
    iterative_normalization_py = iternorm_function(torch)

    class IterNorm(nn.Module):
        def __init__(self, num_features, num_groups=1, num_channels=None, T=5, dim=4,
                     eps=1e-5, momentum=0.1, affine=True, *args, **kwargs):
            super().__init__()
            # assert dim == 4, 'IterNorm is not support 2D'
            self.T = T
            self.eps = eps
            self.momentum = momentum
            self.num_features = num_features
            self.affine = affine
            self.dim = dim
            if num_channels is None:
                num_channels = (num_features - 1) // num_groups + 1
            num_groups = num_features // num_channels
            while num_features % num_channels != 0:
                num_channels //= 2
                num_groups = num_features // num_channels
            assert num_groups > 0 and num_features % num_groups == 0
            self.num_groups = num_groups
            self.num_channels = num_channels
            shape = [1] * dim
            shape[1] = self.num_features
            if self.affine:
                self.weight = Parameter(torch.Tensor(*shape))
                self.bias = Parameter(torch.Tensor(*shape))
            else:
                self.register_parameter('weight', None)
                self.register_parameter('bias', None)

            self.register_buffer('running_mean', torch.zeros(num_groups, num_channels, 1))
            # running whiten matrix
            self.register_buffer('running_wm', torch.eye(num_channels).expand(
                num_groups, num_channels, num_channels).clone())
            self.reset_parameters()

        def reset_parameters(self):
            if self.affine:
                nn.init.ones_(self.weight)
                nn.init.zeros_(self.bias)

        def forward(self, X: torch.Tensor):
            X_hat = iterative_normalization_py.apply(X, self.running_mean, self.running_wm,
                                                     self.num_channels, self.T, self.eps,
                                                     self.momentum, self.training)
            # affine
            if self.affine:
                return X_hat * self.weight + self.bias
            else:
                return X_hat

    return IterNorm


def iternorm_cnn(torch, classes=3):
    nn = torch.nn
    IterNorm = iternorm_module(torch)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), IterNorm(8, num_channels=4, T=5),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1),
                         IterNorm(8, num_groups=1, T=3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, classes))


def train_iternorm(torch, model, x, y, epochs=3, batch_size=6):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(epochs):
        model.train()
        for i in range(0, len(x), batch_size):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[i:i + batch_size]),
                                                     y[i:i + batch_size])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return losses, logits.numpy().copy(), {k: v.detach().numpy().copy()
                                           for k, v in model.state_dict().items()}


def zca_whitening_matrix(torch, X, eps=1e-5):
    X = X - X.mean(0)
    cov = X.T @ X / (X.shape[0] - 1)
    L = torch.linalg.eigh(cov)
    return L.eigenvectors @ torch.diag(1.0 / torch.sqrt(L.eigenvalues + eps)) \
        @ L.eigenvectors.T


def train_whitened_softmax(torch, x, y, classes=3, steps=40):
    W = zca_whitening_matrix(torch, x)
    mean = x.mean(0)
    xw = (x - mean) @ W
    model = torch.nn.Linear(x.shape[1], classes).to(x.dtype)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xw), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    cov_w = xw.T @ xw / (len(xw) - 1)
    return losses, W.numpy().copy(), cov_w.numpy().copy(), model.weight.detach().numpy().copy()
