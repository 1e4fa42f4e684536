"""Wave-16 ports, part nine, run with ``torch`` = PyTorch or chainrule (test_port16i_programs.py):
torchdiffeq's continuous normalizing flow example (``examples/cnf.py``: a hypernetwork giving the
dynamics' weights at time ``t``, ``torch.set_grad_enabled(True)`` and ``z.requires_grad_(True)``
inside the dynamics, the exact ``trace_df_dz`` by one ``autograd.grad(create_graph=True)`` per
dimension, a ``MultivariateNormal`` base density), integrated backwards from ``t1`` to ``t0`` by
a fixed-step RK4 written here in place of ``odeint``'s dopri5; and an orthogonal RNN on the copy
task as the PyTorch parametrizations tutorial and expRNN write it
(``parametrizations.orthogonal(..., orthogonal_map="cayley")``, modReLU,
``parametrize.cached()`` around the time loop, ``RMSprop`` with its own learning rate for the
orthogonal parameters).
"""

from __future__ import annotations

import numpy as np

# ---- torchdiffeq's examples/cnf.py ----


def trace_df_dz(torch, f, z):
    """Calculates the trace of the Jacobian df/dz.
    Stolen from: https://github.com/rtqichen/ffjord/blob/master/lib/layers/odefunc.py#L13"""
    sum_diag = 0.
    for i in range(z.shape[1]):
        sum_diag += torch.autograd.grad(f[:, i].sum(), z, create_graph=True)[0].contiguous()[:, i] \
            .contiguous()
    return sum_diag.contiguous()


def cnf(torch, in_out_dim=2, hidden_dim=8, width=4):
    nn = torch.nn

    class HyperNetwork(nn.Module):
        """https://arxiv.org/abs/1609.09106"""
        def __init__(self, in_out_dim, hidden_dim, width):
            super().__init__()
            blocksize = width * in_out_dim
            self.fc1 = nn.Linear(1, hidden_dim)
            self.fc2 = nn.Linear(hidden_dim, hidden_dim)
            self.fc3 = nn.Linear(hidden_dim, 3 * blocksize + width)
            self.in_out_dim = in_out_dim
            self.hidden_dim = hidden_dim
            self.width = width
            self.blocksize = blocksize

        def forward(self, t):
            # predict params
            params = t.reshape(1, 1)
            params = torch.tanh(self.fc1(params))
            params = torch.tanh(self.fc2(params))
            params = self.fc3(params)
            # restructure
            params = params.reshape(-1)
            W = params[:self.blocksize].reshape(self.width, self.in_out_dim, 1)
            U = params[self.blocksize:2 * self.blocksize].reshape(self.width, 1, self.in_out_dim)
            G = params[2 * self.blocksize:3 * self.blocksize].reshape(self.width, 1,
                                                                      self.in_out_dim)
            U = U * torch.sigmoid(G)
            B = params[3 * self.blocksize:].reshape(self.width, 1, 1)
            return [W, B, U]

    class CNF(nn.Module):
        """Adapted from the NumPy implementation at:
        https://gist.github.com/rtqichen/91924063aa4cc95e7ef30b3a5491cc52"""
        def __init__(self, in_out_dim, hidden_dim, width):
            super().__init__()
            self.in_out_dim = in_out_dim
            self.hidden_dim = hidden_dim
            self.width = width
            self.hyper_net = HyperNetwork(in_out_dim, hidden_dim, width)

        def forward(self, t, states):
            z = states[0]
            batchsize = z.shape[0]
            with torch.set_grad_enabled(True):
                z.requires_grad_(True)
                W, B, U = self.hyper_net(t)
                Z = torch.unsqueeze(z, 0).repeat(self.width, 1, 1)
                h = torch.tanh(torch.matmul(Z, W) + B)
                dz_dt = torch.matmul(h, U).mean(0)
                dlogp_z_dt = -trace_df_dz(torch, dz_dt, z).view(batchsize, 1)
            return (dz_dt, dlogp_z_dt)

    return CNF(in_out_dim, hidden_dim, width)


def odeint_rk4(torch, func, y0, t, steps=4):
    """A fixed-step RK4 for tuple states: the states at ``t[0]`` and ``t[-1]`` (odeint's form)."""
    t0, t1 = t[0], t[-1]
    dt = (t1 - t0) / steps
    y = tuple(y0)
    for k in range(steps):
        tk = t0 + k * dt
        k1 = func(tk, y)
        k2 = func(tk + dt / 2, tuple(a + dt / 2 * b for a, b in zip(y, k1)))
        k3 = func(tk + dt / 2, tuple(a + dt / 2 * b for a, b in zip(y, k2)))
        k4 = func(tk + dt, tuple(a + dt * b for a, b in zip(y, k3)))
        y = tuple(a + dt / 6 * (b1 + 2 * b2 + 2 * b3 + b4)
                  for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4))
    return tuple(torch.stack([a, b]) for a, b in zip(y0, y))


def train_cnf(torch, func, batches, t0=0., t1=10., steps=3, ode_steps=4):
    optimizer = torch.optim.Adam(func.parameters(), lr=1e-2)
    p_z0 = torch.distributions.MultivariateNormal(
        loc=torch.tensor([0.0, 0.0], dtype=torch.float64),
        covariance_matrix=torch.tensor([[0.1, 0.0], [0.0, 0.1]], dtype=torch.float64))
    losses = []
    for itr in range(steps):
        optimizer.zero_grad()
        x, logp_diff_t1 = batches[itr % len(batches)]
        z_t, logp_diff_t = odeint_rk4(torch, func, (x, logp_diff_t1),
                                      torch.tensor([t1, t0], dtype=torch.float64), ode_steps)
        z_t0, logp_diff_t0 = z_t[-1], logp_diff_t[-1]
        logp_x = p_z0.log_prob(z_t0) - logp_diff_t0.view(-1)
        loss = -logp_x.mean(0)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in func.state_dict().items()}


def circles(n, rng, noise=0.06, factor=0.5):
    """sklearn's make_circles, written out: two noisy concentric circles."""
    angles = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(np.arange(n) % 2 == 0, 1.0, factor)
    x = np.stack([np.cos(angles), np.sin(angles)], 1) * radius[:, None]
    return x + noise * rng.standard_normal((n, 2))


# ---- an orthogonal RNN (expRNN / the parametrizations tutorial) on the copy task ----

def orthogonal_rnn(torch, input_size=6, hidden_size=8, n_classes=5):
    nn = torch.nn
    parametrize = nn.utils.parametrize

    class modrelu(nn.Module):  # noqa: N801 - expRNN's name
        def __init__(self, features):
            super().__init__()
            self.features = features
            self.b = nn.Parameter(torch.Tensor(self.features))
            self.reset_parameters()

        def reset_parameters(self):
            self.b.data.uniform_(-0.01, 0.01)

        def forward(self, inputs):
            norm = torch.abs(inputs)
            biased_norm = norm + self.b
            magnitude = nn.functional.relu(biased_norm)
            phase = torch.sign(inputs)
            return phase * magnitude

    class OrthogonalRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden_size = hidden_size
            self.input_kernel = nn.Linear(input_size, hidden_size, bias=False)
            self.recurrent_kernel = nn.Linear(hidden_size, hidden_size, bias=False)
            nn.utils.parametrizations.orthogonal(self.recurrent_kernel, orthogonal_map="cayley")
            self.nonlinearity = modrelu(hidden_size)
            self.lin = nn.Linear(hidden_size, n_classes)

        def forward(self, inputs):  # (T, B, input_size)
            h = inputs.new_zeros(inputs.size(1), self.hidden_size)
            outs = []
            with parametrize.cached():
                for x in inputs:
                    h = self.nonlinearity(self.input_kernel(x) + self.recurrent_kernel(h))
                    outs.append(self.lin(h))
            return torch.stack(outs)

    return OrthogonalRNN()


def copy_task(torch, batch_size, rng, n_symbols=3, length=3, delay=4):
    """Remember ``length`` symbols, wait ``delay`` blanks, repeat them after the marker."""
    seq = rng.integers(1, n_symbols + 1, (batch_size, length))
    blank, marker = 0, n_symbols + 1
    T = 2 * length + delay
    x = np.full((batch_size, T), blank)
    x[:, :length] = seq
    x[:, length + delay - 1] = marker
    y = np.full((batch_size, T), blank)
    y[:, -length:] = seq
    onehot = np.eye(n_symbols + 3)[x].transpose(1, 0, 2)
    return torch.tensor(onehot), torch.tensor(y.T.copy())


def train_orthogonal_rnn(torch, model, batches, steps=5, lr=1e-2, lr_orth=1e-3):
    orth_params = [p for n, p in model.named_parameters() if "parametrizations" in n]
    non_orth = [p for n, p in model.named_parameters() if "parametrizations" not in n]
    optimizer = torch.optim.RMSprop([{"params": non_orth},
                                     {"params": orth_params, "lr": lr_orth}], lr=lr)
    losses = []
    for step in range(steps):
        x, y = batches[step % len(batches)]
        optimizer.zero_grad()
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)),
                                                 y.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    W = model.recurrent_kernel.weight.detach()
    return losses, (W @ W.T).numpy().copy(), {k: v.detach().numpy().copy()
                                              for k, v in model.state_dict().items()}
