"""The chainrule side of every workload: the model, loss and optimizer through the public API.

Each builder takes the initial parameters and the batch (NumPy arrays, see ``workloads``), the seed
and ``replay_dropout`` (unused: chainrule's dropout masks are the ones the others replay), loads the
parameters through ``load_state_dict`` and returns a ``workloads.Runner`` whose ``step()`` is one
training step (or an inference step, when the batch has no labels).
"""

from __future__ import annotations

import functools

import numpy as np
from workloads import CHAR_CLASSES, CHARS, DROPOUT_P, F32, Runner, dropout_seeds


def _fuse(cr, model):
    """Each layer + ReLU as one op (``nn.fuse``), as ``Trainer`` does and docs/performance.md
    recommends. Versions before ``nn.fuse`` fused inside ``Sequential`` by themselves, so
    comparing with them (``process_time.py --src``) needs no call."""
    fuse = getattr(cr.nn, "fuse", None)
    if fuse is not None:
        fuse(model)


def _runner(model, step):
    def grads():
        return {k: p.grad.numpy().copy() for k, p in model.named_parameters() if p.grad is not None}

    return Runner(step, lambda t: t.numpy(), grads)


def _train(model, loss_of, opt):
    def step():
        opt.zero_grad()
        loss = loss_of(model)
        loss.backward()
        opt.step()
        return loss

    return _runner(model, step)


def _mlp(params, data, seed, replay_dropout):
    import chainrule as cr

    model = cr.models.MLP((784, 256, 256, 10), rng=np.random.default_rng(seed))
    model.load_state_dict(params)
    _fuse(cr, model)
    x, t = cr.tensor(data["x"]), cr.tensor(data["t"])
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    return _train(model, lambda m: cr.F.cross_entropy(m(x), t), opt)


def _lenet(params, data, seed, replay_dropout, traced=False):
    import chainrule as cr

    model = cr.models.LeNet5("modern", rng=np.random.default_rng(seed))
    model.load_state_dict(params)
    _fuse(cr, model)
    x = cr.tensor(data["x"])
    if "t" not in data:
        model.eval()
        if traced:
            fast = cr.trace(model, x)
            return _runner(model, lambda: fast(x))

        def infer():
            with cr.no_grad():
                return model(x)

        return _runner(model, infer)
    t = cr.tensor(data["t"])
    opt = cr.optim.SGD(model.parameters(), lr=0.01)
    return _train(model, lambda m: cr.F.cross_entropy(m(x), t), opt)


def _conv_ae(params, data, seed, replay_dropout):
    import chainrule as cr
    from chainrule import nn

    rng = np.random.default_rng(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1, rng=rng), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1, rng=rng), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1, rng=rng), nn.Sigmoid(),
    )
    model.load_state_dict(params)
    _fuse(cr, model)
    x = cr.tensor(data["x"])
    opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    return _train(model, lambda m: cr.F.mse_loss(m(x), x), opt)


def _gan(params, data, seed, replay_dropout):
    import chainrule as cr
    from chainrule import nn

    rng = np.random.default_rng(seed)
    gen = nn.Sequential(nn.Linear(100, 256, rng=rng), nn.ReLU(), nn.Linear(256, 512, rng=rng),
                        nn.ReLU(), nn.Linear(512, 784, rng=rng), nn.Tanh())
    disc = nn.Sequential(nn.Linear(784, 512, rng=rng), nn.LeakyReLU(0.2),
                         nn.Linear(512, 256, rng=rng), nn.LeakyReLU(0.2),
                         nn.Linear(256, 1, rng=rng))
    both = nn.ModuleDict({"G": gen, "D": disc})
    both.load_state_dict(params)
    _fuse(cr, both)
    real, z = cr.tensor(data["real"]), cr.tensor(data["z"])
    n = real.shape[0]
    ones, zeros = cr.tensor(np.ones((n, 1), F32)), cr.tensor(np.zeros((n, 1), F32))
    opt_g = cr.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = cr.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = cr.F.binary_cross_entropy_with_logits

    def step():
        fake = gen(z)
        opt_d.zero_grad()
        loss_d = bce(disc(real), ones) + bce(disc(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        disc.requires_grad_(False)  # the G step needs no gradient of D's weights
        opt_g.zero_grad()
        loss_g = bce(disc(fake), ones)  # non-saturating generator loss
        loss_g.backward()
        opt_g.step()
        disc.requires_grad_(True)
        return loss_d, loss_g

    return _runner(both, step)


def _charcnn(params, data, seed, replay_dropout):
    import chainrule as cr
    from chainrule import nn

    rng = np.random.default_rng(seed)
    seeds = dropout_seeds(seed)
    layers = [nn.Conv1d(CHARS, 256, 7, rng=rng), nn.ReLU(), nn.MaxPool1d(3),
              nn.Conv1d(256, 256, 7, rng=rng), nn.ReLU(), nn.MaxPool1d(3)]
    for _ in range(4):
        layers += [nn.Conv1d(256, 256, 3, rng=rng), nn.ReLU()]
    layers += [nn.MaxPool1d(3), nn.Flatten(),
               nn.Linear(256 * 34, 1024, rng=rng), nn.ReLU(),
               nn.Dropout(DROPOUT_P, rng=np.random.default_rng(seeds[0])),
               nn.Linear(1024, 1024, rng=rng), nn.ReLU(),
               nn.Dropout(DROPOUT_P, rng=np.random.default_rng(seeds[1])),
               nn.Linear(1024, CHAR_CLASSES, rng=rng)]
    model = nn.Sequential(*layers)
    model.load_state_dict(params)
    _fuse(cr, model)
    x, t = cr.tensor(data["x"]), cr.tensor(data["t"])
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _train(model, lambda m: cr.F.cross_entropy(m(x), t), opt)


BUILDERS = {
    "mlp": _mlp,
    "lenet5": _lenet,
    "conv_ae": _conv_ae,
    "gan": _gan,
    "charcnn": _charcnn,
}
TRACED = {"lenet5": functools.partial(_lenet, traced=True)}
