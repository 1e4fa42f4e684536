"""The tinygrad side of every workload: ``tinygrad.nn`` layers and optimizers, one TinyJit step.

Each model is lists (and dicts of lists) of ``tinygrad.nn`` layers and Tensor methods, laid out
like the PyTorch modules, so ``nn.state.load_state_dict`` loads the same state dict. A training
step is written as tinygrad's own examples write it: under ``Context(TRAINING=1)`` (what tinygrad
0.14 has in place of ``Tensor.train()``), ``zero_grad``, forward, loss, ``backward`` and
``loss.realize(*opt.schedule_step())``, the whole wrapped in ``TinyJit``: the first call runs
eagerly, the second records the kernels, later calls replay them. ``step()`` then waits for the
device, so the timings include the work. ``nn.optim.SGD`` and ``nn.optim.Adam`` compute
torch.optim's updates: SGD's momentum buffer starts at zero (so its first value is the gradient)
and Adam's step is ``lr m / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps)``, PyTorch's formula
rearranged. The CPU backend compiles its kernels with clang. This module imports tinygrad at the
top: only a worker that measures tinygrad imports it.
"""

from __future__ import annotations

import numpy as np
from tinygrad import Context, Device, Tensor, TinyJit, nn
from workloads import CHAR_CLASSES, CHARS, DROPOUT_P, F32, Runner, dropout_seeds


def _load(model, params):
    """Load the state dict into ``model``; its parameters, for the optimizer."""
    nn.state.load_state_dict(model, {k: Tensor(v) for k, v in params.items()}, verbose=False)
    return nn.state.get_parameters(model)


def _labels(t):
    return Tensor(t.astype(np.int32))  # tinygrad's default int type


def _runner(jitted, noise=tuple):
    """A Runner calling ``jitted`` (with what ``noise()`` draws) and waiting for the device."""

    def step():
        out = jitted(*noise())
        Device[Device.DEFAULT].synchronize()  # kernels run asynchronously: wait for them
        return out

    return Runner(step, lambda t: t.numpy())


def _train(model, loss_of, opt, noise=tuple):
    """One TinyJit training step; ``noise()`` draws Tensors passed to ``loss_of`` (or nothing)."""

    @TinyJit
    def train_step(*drawn):
        with Context(TRAINING=1):
            opt.zero_grad()
            loss = loss_of(model, *drawn).backward()
            return loss.realize(*opt.schedule_step())

    return _runner(train_step, noise)


def _relu(x):
    return x.relu()


def _flatten(x):
    return x.flatten(1)


def _max_pool2(x):
    return x.max_pool2d((2, 2))


def _mlp(params, data, seed, replay_dropout):
    model = {"layers": [_flatten, nn.Linear(784, 256), _relu, nn.Linear(256, 256), _relu,
                        nn.Linear(256, 10)]}
    opt = nn.optim.SGD(_load(model, params), lr=0.01)
    x, t = Tensor(data["x"]), _labels(data["t"])
    return _train(model, lambda m: x.sequential(m["layers"]).sparse_categorical_crossentropy(t),
                  opt)


def _lenet(params, data, seed, replay_dropout):
    model = {
        "features": [nn.Conv2d(1, 6, 5, padding=2), _relu, _max_pool2, nn.Conv2d(6, 16, 5), _relu,
                     _max_pool2, nn.Conv2d(16, 120, 5), _relu],
        "classifier": [_flatten, nn.Linear(120, 84), _relu, nn.Linear(84, 10)],
    }
    parameters = _load(model, params)
    x = Tensor(data["x"])

    def forward(m):
        return x.sequential(m["features"]).sequential(m["classifier"])

    if "t" not in data:
        # eval mode is TRAINING=0, the default; no gradient is built unless asked for
        return _runner(TinyJit(lambda: forward(model).realize()))
    t = _labels(data["t"])
    opt = nn.optim.SGD(parameters, lr=0.01)
    return _train(model, lambda m: forward(m).sparse_categorical_crossentropy(t), opt)


def _conv_ae(params, data, seed, replay_dropout):
    model = [
        nn.Conv2d(1, 16, 3, stride=2, padding=1), _relu,
        nn.Conv2d(16, 32, 3, stride=2, padding=1), _relu,
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), _relu,
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), Tensor.sigmoid,
    ]
    opt = nn.optim.Adam(_load(model, params), lr=1e-3)
    x = Tensor(data["x"])
    return _train(model, lambda m: (x.sequential(m) - x).square().mean(), opt)


def _gan(params, data, seed, replay_dropout):
    """D step on real and fake.detach(), then G step through the updated D: one TinyJit.

    ``fake`` stays lazy between the two, so tinygrad computes G's forward pass in the D step and
    again in the G step (realizing it would cut the graph that G's gradients need).
    """

    def leaky(x):
        return x.leaky_relu(0.2)

    model = {"G": [nn.Linear(100, 256), _relu, nn.Linear(256, 512), _relu, nn.Linear(512, 784),
                   Tensor.tanh],
             "D": [nn.Linear(784, 512), leaky, nn.Linear(512, 256), leaky, nn.Linear(256, 1)]}
    _load(model, params)
    opt_g = nn.optim.Adam(nn.state.get_parameters(model["G"]), lr=2e-4, b1=0.5, b2=0.999)
    opt_d = nn.optim.Adam(nn.state.get_parameters(model["D"]), lr=2e-4, b1=0.5, b2=0.999)
    real, z = Tensor(data["real"]), Tensor(data["z"])
    n = real.shape[0]
    ones, zeros = Tensor(np.ones((n, 1), F32)), Tensor(np.zeros((n, 1), F32))

    @TinyJit
    def train_step():
        with Context(TRAINING=1):
            fake = z.sequential(model["G"])
            opt_d.zero_grad()
            loss_d = (real.sequential(model["D"]).binary_crossentropy_logits(ones)
                      + fake.detach().sequential(model["D"]).binary_crossentropy_logits(zeros))
            loss_d.backward()
            loss_d.realize(*opt_d.schedule_step())
            opt_g.zero_grad()
            loss_g = fake.sequential(model["D"]).binary_crossentropy_logits(ones)
            # D is frozen here: only G's gradients are built (PyTorch: requires_grad_(False))
            for p, g in zip(opt_g.params, loss_g.gradient(*opt_g.params)):
                p.grad = g
            loss_g.realize(*opt_g.schedule_step())
            return loss_d, loss_g

    return _runner(train_step)


def _charcnn(params, data, seed, replay_dropout):
    masks = [None, None]  # replayed dropout masks of this step (the check only)

    def dropout(i):
        if replay_dropout:
            return lambda x: x * masks[i]
        return lambda x: x.dropout(DROPOUT_P)

    def pool(x):
        return x.max_pool2d((3,))

    model = [nn.Conv1d(CHARS, 256, 7), _relu, pool, nn.Conv1d(256, 256, 7), _relu, pool]
    for _ in range(4):
        model += [nn.Conv1d(256, 256, 3), _relu]
    model += [pool, _flatten, nn.Linear(256 * 34, 1024), _relu, dropout(0),
              nn.Linear(1024, 1024), _relu, dropout(1), nn.Linear(1024, CHAR_CLASSES)]
    opt = nn.optim.SGD(_load(model, params), lr=0.01, momentum=0.9)
    x, t = Tensor(data["x"]), _labels(data["t"])

    def loss_of(m, *drawn):
        masks[:] = drawn  # JIT inputs: every replayed step brings new masks
        return x.sequential(m).sparse_categorical_crossentropy(t)

    if not replay_dropout:
        return _train(model, loss_of, opt)
    rngs = [np.random.default_rng(s) for s in dropout_seeds(seed)]
    shape = (x.shape[0], 1024)

    def noise():
        drawn = []
        for rng in rngs:
            mask = (rng.random(shape, dtype=F32) >= DROPOUT_P).astype(F32)
            mask *= 1 / (1 - DROPOUT_P)
            drawn.append(Tensor(mask).realize())
        return drawn

    return _train(model, loss_of, opt, noise)


BUILDERS = {
    "mlp": _mlp,
    "lenet5": _lenet,
    "conv_ae": _conv_ae,
    "gan": _gan,
    "charcnn": _charcnn,
}
