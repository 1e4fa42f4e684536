"""PyTorch programs around ``torch.func`` and parametrizations, run unchanged with ``torch`` =
PyTorch or chainrule: DP-SGD (per-sample gradient clipping with ``vmap(grad(functional_call))``)
of a small recurrent classifier whose recurrent and output matrices are kept orthogonal. The
Gaussian noise of DP-SGD is left out: the two libraries' random streams differ."""

from __future__ import annotations


def orthogonal_rnn(torch):
    nn = torch.nn
    orthogonal = torch.nn.utils.parametrizations.orthogonal

    class OrthogonalRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 6)
            self.rec = orthogonal(nn.Linear(6, 6, bias=False))  # matrix_exp (square)
            self.out = orthogonal(nn.Linear(6, 3))  # householder (wide)

        def forward(self, x):
            h = torch.zeros(x.shape[0], 6, dtype=x.dtype)
            for t in range(x.shape[1]):
                h = torch.tanh(self.inp(x[:, t]) + self.rec(h))
            return self.out(h)

    return OrthogonalRNN()


def train_dp_sgd(torch, model, x, y, steps=3, clip=0.5, lr=0.5):
    """Per-sample gradients, each clipped to norm ``clip``, averaged, applied to the parameters
    (as functional tensors), then written back into the model; returns the losses, the
    per-sample gradient norms of the first step and how far the trained matrices are from
    orthogonal."""
    functional_call, grad, vmap = torch.func.functional_call, torch.func.grad, torch.func.vmap
    F = torch.nn.functional  # noqa: N806
    xt, yt = torch.tensor(x), torch.tensor(y)
    with torch.no_grad():  # start from orthogonal matrices (assigned through right_inverse)
        model.rec.weight = torch.eye(6)
        model.out.weight = torch.eye(3, 6)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_of(p, b, xi, yi):
        out = functional_call(model, (p, b), (xi.unsqueeze(0),))
        return F.cross_entropy(out, yi.unsqueeze(0))

    per_sample = vmap(grad(loss_of), in_dims=(None, None, 0, 0))
    losses, first_norms = [], None
    for _ in range(steps):
        grads = per_sample(params, buffers, xt, yt)
        norms = torch.sqrt(sum((g.reshape(g.shape[0], -1) ** 2).sum(1) for g in grads.values()))
        if first_norms is None:
            first_norms = norms.tolist()
        factor = torch.clamp(clip / (norms + 1e-6), max=1.0)
        params = {k: p - lr * (grads[k] * factor.reshape(-1, *[1] * (p.ndim))).mean(0)
                  for k, p in params.items()}
        with torch.no_grad():
            out = functional_call(model, (params, buffers), (xt,))
            losses.append(F.cross_entropy(out, yt).item())
    with torch.no_grad():
        for k, p in model.named_parameters():
            p.copy_(params[k])
        rec, out = model.rec.weight, model.out.weight
        gaps = [(rec.T @ rec - torch.eye(6)).abs().max().item(),
                (out @ out.T - torch.eye(3)).abs().max().item()]
    return losses, first_norms, gaps
