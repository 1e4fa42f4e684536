"""The PyTorch side of every workload: the same models, losses and optimizers as chainrule_steps.

Modules carry the same attribute names as chainrule's, so both load the same state dict. PyTorch is
imported inside the builders only.
"""

from __future__ import annotations

import functools

import numpy as np
from workloads import CHAR_CLASSES, CHARS, DROPOUT_P, F32, Runner, dropout_seeds


def _runner(model, step):
    def grads():
        return {k: p.grad.numpy().copy() for k, p in model.named_parameters() if p.grad is not None}

    return Runner(step, lambda t: t.detach().numpy(), grads)


def _load(model, params):
    import torch

    model.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})


def _train(model, loss_of, opt):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model)
        loss.backward()
        opt.step()
        return loss

    return _runner(model, step)


def _mlp(params, data, seed, replay_dropout):
    import torch
    from torch import nn

    model = nn.Module()
    model.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256),
                                 nn.ReLU(), nn.Linear(256, 10))
    _load(model, params)
    x, t = torch.from_numpy(data["x"]), torch.from_numpy(data["t"])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return _train(model, lambda m: nn.functional.cross_entropy(m.layers(x), t), opt)


def _lenet(params, data, seed, replay_dropout, traced=False):
    import torch
    from torch import nn

    model = nn.Module()
    model.features = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 120, 5), nn.ReLU(),
    )
    model.classifier = nn.Sequential(nn.Flatten(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    _load(model, params)
    x = torch.from_numpy(data["x"])

    def forward(m):
        return m.classifier(m.features(x))

    if "t" not in data:
        model.eval()
        if traced:  # TorchScript, frozen: PyTorch's own way to take Python out of inference
            with torch.no_grad():
                whole = nn.Sequential(model.features, model.classifier).eval()
                fast = torch.jit.freeze(torch.jit.trace(whole, x))

            def infer_traced():
                with torch.no_grad():
                    return fast(x)

            return _runner(model, infer_traced)

        def infer():
            with torch.no_grad():
                return forward(model)

        return _runner(model, infer)
    t = torch.from_numpy(data["t"])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return _train(model, lambda m: nn.functional.cross_entropy(forward(m), t), opt)


def _conv_ae(params, data, seed, replay_dropout):
    import torch
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),
    )
    _load(model, params)
    x = torch.from_numpy(data["x"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return _train(model, lambda m: nn.functional.mse_loss(m(x), x), opt)


def _gan(params, data, seed, replay_dropout):
    import torch
    from torch import nn

    gen = nn.Sequential(nn.Linear(100, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
                        nn.Linear(512, 784), nn.Tanh())
    disc = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256),
                         nn.LeakyReLU(0.2), nn.Linear(256, 1))
    both = nn.ModuleDict({"G": gen, "D": disc})
    _load(both, params)
    real, z = torch.from_numpy(data["real"]), torch.from_numpy(data["z"])
    n = real.shape[0]
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.functional.binary_cross_entropy_with_logits

    def step():
        fake = gen(z)
        opt_d.zero_grad(set_to_none=True)
        loss_d = bce(disc(real), ones) + bce(disc(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        disc.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = bce(disc(fake), ones)
        loss_g.backward()
        opt_g.step()
        disc.requires_grad_(True)
        return loss_d, loss_g

    return _runner(both, step)


def _replay_dropout(p, seed):
    """Dropout whose masks are drawn from NumPy exactly as chainrule draws them (the check only)."""
    import torch

    class ReplayDropout(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)

        def forward(self, x):
            if not self.training:
                return x
            keep = self.rng.random(tuple(x.shape), dtype=F32) >= p
            mask = keep.astype(F32)
            mask *= 1 / (1 - p)
            return x * torch.from_numpy(mask)

    return ReplayDropout()


def _charcnn(params, data, seed, replay_dropout):
    import torch
    from torch import nn

    def dropout(i):
        return _replay_dropout(DROPOUT_P, dropout_seeds(seed)[i]) if replay_dropout \
            else nn.Dropout(DROPOUT_P)

    layers = [nn.Conv1d(CHARS, 256, 7), nn.ReLU(), nn.MaxPool1d(3),
              nn.Conv1d(256, 256, 7), nn.ReLU(), nn.MaxPool1d(3)]
    for _ in range(4):
        layers += [nn.Conv1d(256, 256, 3), nn.ReLU()]
    layers += [nn.MaxPool1d(3), nn.Flatten(), nn.Linear(256 * 34, 1024), nn.ReLU(), dropout(0),
               nn.Linear(1024, 1024), nn.ReLU(), dropout(1), nn.Linear(1024, CHAR_CLASSES)]
    model = nn.Sequential(*layers)
    _load(model, params)
    x, t = torch.from_numpy(data["x"]), torch.from_numpy(data["t"])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _train(model, lambda m: nn.functional.cross_entropy(m(x), t), opt)


BUILDERS = {
    "mlp": _mlp,
    "lenet5": _lenet,
    "conv_ae": _conv_ae,
    "gan": _gan,
    "charcnn": _charcnn,
}
TRACED = {"lenet5": functools.partial(_lenet, traced=True)}
