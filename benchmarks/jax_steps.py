"""The JAX side of every workload: pure functions over a dict of parameters, one jitted step.

The parameters are a dict keyed by the state-dict keys, in PyTorch's layouts (NCHW and NCL
activations, OIHW convolution weights, (in, out, kH, kW) transposed-convolution weights), so the
arrays of ``workloads.init_params`` are used as they are. A training step is one ``jax.jit``
function of (parameters, optimizer state, batch): forward, loss, ``jax.value_and_grad`` and the
update, written out with torch.optim's formulas (``SGD``, ``Adam``). Its buffers are donated, so
XLA may update the weights in place as PyTorch does. ``step()`` blocks until the new weights and
the loss are computed, so the timings include the work. This module imports JAX at the top: only
a worker that measures JAX imports it (``workloads.make_runner`` imports step modules lazily).
"""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from workloads import DROPOUT_P, F32, Runner, dropout_seeds

IMAGE_DIMS = ("NCHW", "OIHW", "NCHW")
SEQUENCE_DIMS = ("NCH", "OIH", "NCH")


# -- layers and losses (PyTorch's definitions) ---------------------------------------------------

def _linear(p, key, x):
    return x @ p[key + ".weight"].T + p[key + ".bias"]


def _conv(p, key, x, stride=1, padding=0):
    """torch.nn.Conv1d / Conv2d (cross-correlation), chosen by the weight's rank."""
    w = p[key + ".weight"]
    n = w.ndim - 2
    y = lax.conv_general_dilated(x, w, (stride,) * n, [(padding, padding)] * n,
                                 dimension_numbers=IMAGE_DIMS if n == 2 else SEQUENCE_DIMS)
    return y + p[key + ".bias"].reshape(-1, *(1,) * n)


def _conv_transpose2d(p, key, x, stride=2, padding=1, output_padding=1):
    """torch.nn.ConvTranspose2d: the stride-dilated input convolved with the flipped kernel.

    The transposed convolution is the gradient of a convolution with respect to its input:
    insert ``stride - 1`` zeros between the input's pixels (``lhs_dilation``), pad by
    ``k - 1 - padding`` (plus ``output_padding`` at the end) and correlate with the kernel
    flipped in space, its (in, out) axes swapped to OIHW.
    """
    w = p[key + ".weight"]
    lo = w.shape[2] - 1 - padding
    kernel = jnp.flip(w, (2, 3)).transpose(1, 0, 2, 3)
    y = lax.conv_general_dilated(x, kernel, (1, 1), [(lo, lo + output_padding)] * 2,
                                 lhs_dilation=(stride, stride), dimension_numbers=IMAGE_DIMS)
    return y + p[key + ".bias"].reshape(-1, 1, 1)


def _max_pool(x, k):
    """torch's MaxPool1d(k) / MaxPool2d(k) over the trailing axes (stride k, no padding)."""
    window = (1, 1) + (k,) * (x.ndim - 2)
    return lax.reduce_window(x, -jnp.inf, lax.max, window, window, "VALID")


def _relu(x):
    return jnp.maximum(x, 0)


def _cross_entropy(logits, t):
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))


def _bce_with_logits(z, y):
    """torch's binary_cross_entropy_with_logits, mean: max(z, 0) - z y + log(1 + exp(-|z|))."""
    return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))


# -- optimizers (torch.optim's formulas) ---------------------------------------------------------

class SGD:
    """torch.optim.SGD, no weight decay, dampening or Nesterov: ``b <- mu b + g; p <- p - lr b``.

    The momentum buffer starts at zero, so the first step's ``b`` is ``g``, as in PyTorch.
    """

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum = lr, momentum

    def init(self, params):
        return jax.tree.map(jnp.zeros_like, params) if self.momentum else ()

    def hyper(self):
        return ()

    def update(self, params, grads, state, hyper):
        if not self.momentum:
            return jax.tree.map(lambda p, g: p - self.lr * g, params, grads), state
        state = jax.tree.map(lambda b, g: self.momentum * b + g, state, grads)
        return jax.tree.map(lambda p, b: p - self.lr * b, params, state), state


class Adam:
    """torch.optim.Adam (no weight decay, no amsgrad), with its bias corrections and eps placement.

    ``p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. As in PyTorch, the two
    bias-correction factors are computed on the host in double precision (``hyper``, once per
    step) and enter the jitted step as arguments: ``1 - 0.999`` in float32 would be off by 1e-5.
    """

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.t = 0

    def init(self, params):
        return jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params)

    def hyper(self):
        self.t += 1
        return self.lr / (1 - self.b1 ** self.t), math.sqrt(1 - self.b2 ** self.t)

    def update(self, params, grads, state, hyper):
        step_size, bias_correction2_sqrt = hyper
        b1, b2, eps = self.b1, self.b2, self.eps
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state[0], grads)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state[1], grads)
        params = jax.tree.map(
            lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / bias_correction2_sqrt + eps),
            params, m, v)
        return params, (m, v)


# -- building the steps --------------------------------------------------------------------------

def _device(arrays):
    """NumPy arrays as JAX arrays (labels as int32: JAX runs without 64-bit types by default)."""
    return {k: jnp.asarray(v.astype(np.int32) if v.dtype.kind == "i" else v)
            for k, v in arrays.items()}


def _train(params, batch, loss_of, opt, noise=lambda: ()):
    """A Runner whose step is forward, loss, gradient and update in one jitted call.

    ``loss_of(p, batch, noise)`` is the loss; ``noise()`` is called on the host before every
    step for what the step draws (dropout masks or a counter), ``()`` when it draws nothing.
    """

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train_step(p, state, hyper, batch, noise):
        loss, grads = jax.value_and_grad(loss_of)(p, batch, noise)
        p, state = opt.update(p, grads, state, hyper)
        return p, state, loss

    p = _device(params)
    state = opt.init(p)
    batch = _device(batch)

    def step():
        nonlocal p, state
        p, state, loss = jax.block_until_ready(train_step(p, state, opt.hyper(), batch, noise()))
        return loss

    return Runner(step, np.asarray)


def _mlp(params, data, seed, replay_dropout):
    def loss_of(p, b, noise):
        h = b["x"].reshape(len(b["x"]), -1)
        h = _relu(_linear(p, "layers.3", _relu(_linear(p, "layers.1", h))))
        return _cross_entropy(_linear(p, "layers.5", h), b["t"])

    return _train(params, data, loss_of, SGD(0.01))


def _lenet_forward(p, x):
    h = _max_pool(_relu(_conv(p, "features.0", x, padding=2)), 2)
    h = _max_pool(_relu(_conv(p, "features.3", h)), 2)
    h = _relu(_conv(p, "features.6", h)).reshape(len(x), -1)
    return _linear(p, "classifier.3", _relu(_linear(p, "classifier.1", h)))


def _lenet(params, data, seed, replay_dropout):
    if "t" not in data:
        forward = jax.jit(_lenet_forward)  # eval mode: LeNet-5 has no dropout or batch norm
        p, x = _device(params), jnp.asarray(data["x"])
        return Runner(lambda: forward(p, x).block_until_ready(), np.asarray)

    def loss_of(p, b, noise):
        return _cross_entropy(_lenet_forward(p, b["x"]), b["t"])

    return _train(params, data, loss_of, SGD(0.01))


def _conv_ae(params, data, seed, replay_dropout):
    def loss_of(p, b, noise):
        h = _relu(_conv(p, "0", b["x"], stride=2, padding=1))
        h = _relu(_conv(p, "2", h, stride=2, padding=1))
        h = _relu(_conv_transpose2d(p, "4", h))
        y = jax.nn.sigmoid(_conv_transpose2d(p, "6", h))
        return jnp.mean((y - b["x"]) ** 2)

    return _train(params, data, loss_of, Adam(1e-3))


def _gan(params, data, seed, replay_dropout):
    """D step on real and fake.detach(), then G step through the updated D, all in one jit.

    ``jax.vjp`` keeps G's forward pass for the G step (one forward of G per step, as in the
    others), and the G step differentiates D only with respect to its input: D's weight
    gradients are never computed there (``requires_grad_(False)`` in PyTorch).
    """

    def gen(pg, z):
        h = _relu(_linear(pg, "G.2", _relu(_linear(pg, "G.0", z))))
        return jnp.tanh(_linear(pg, "G.4", h))

    def disc(pd, x):
        h = jax.nn.leaky_relu(_linear(pd, "D.0", x), 0.2)
        return _linear(pd, "D.4", jax.nn.leaky_relu(_linear(pd, "D.2", h), 0.2))

    def loss_d_of(pd, real, fake):
        return _bce_with_logits(disc(pd, real), 1.0) + _bce_with_logits(disc(pd, fake), 0.0)

    opt_g, opt_d = Adam(2e-4, betas=(0.5, 0.999)), Adam(2e-4, betas=(0.5, 0.999))

    @functools.partial(jax.jit, donate_argnums=(0, 1, 2, 3))
    def train_step(pg, pd, sg, sd, hyper, b):
        fake, g_backward = jax.vjp(lambda pg: gen(pg, b["z"]), pg)
        loss_d, grads_d = jax.value_and_grad(loss_d_of)(pd, b["real"], fake)
        pd, sd = opt_d.update(pd, grads_d, sd, hyper)
        loss_g, d_fake = jax.value_and_grad(lambda f: _bce_with_logits(disc(pd, f), 1.0))(fake)
        (grads_g,) = g_backward(d_fake)
        pg, sg = opt_g.update(pg, grads_g, sg, hyper)
        return pg, pd, sg, sd, loss_d, loss_g

    p = _device(params)
    pg = {k: v for k, v in p.items() if k.startswith("G.")}
    pd = {k: v for k, v in p.items() if k.startswith("D.")}
    sg, sd = opt_g.init(pg), opt_d.init(pd)
    batch = _device(data)

    def step():
        nonlocal pg, pd, sg, sd
        opt_d.hyper()  # both optimizers count steps; their betas and so their factors are equal
        out = jax.block_until_ready(train_step(pg, pd, sg, sd, opt_g.hyper(), batch))
        pg, pd, sg, sd, loss_d, loss_g = out
        return loss_d, loss_g

    return Runner(step, np.asarray)


def _replay_mask(rng, shape):
    """chainrule's dropout mask, drawn from its seeded generator (the check only)."""
    mask = (rng.random(shape, dtype=F32) >= DROPOUT_P).astype(F32)
    mask *= 1 / (1 - DROPOUT_P)
    return mask


def _charcnn(params, data, seed, replay_dropout):
    shape = (len(data["x"]), 1024)
    if replay_dropout:
        rngs = [np.random.default_rng(s) for s in dropout_seeds(seed)]

        def noise():
            return tuple(_replay_mask(rng, shape) for rng in rngs)
    else:
        counter = itertools.count()

        def noise():
            return next(counter)  # traced, not static: the step compiles once

    def masks(noise):
        if replay_dropout:
            return noise
        keys = jax.random.split(jax.random.fold_in(jax.random.key(seed), noise))
        keep = 1 - DROPOUT_P
        return tuple(jax.random.bernoulli(k, keep, shape).astype(F32) / keep for k in keys)

    def loss_of(p, b, noise):
        h = b["x"]
        for key, pool in (("0", True), ("3", True), ("6", False), ("8", False), ("10", False),
                          ("12", True)):
            h = _relu(_conv(p, key, h))
            h = _max_pool(h, 3) if pool else h
        m0, m1 = masks(noise)
        h = _relu(_linear(p, "16", h.reshape(len(h), -1))) * m0
        h = _relu(_linear(p, "19", h)) * m1
        return _cross_entropy(_linear(p, "22", h), b["t"])

    return _train(params, data, loss_of, SGD(0.01, momentum=0.9), noise)


BUILDERS = {
    "mlp": _mlp,
    "lenet5": _lenet,
    "conv_ae": _conv_ae,
    "gan": _gan,
    "charcnn": _charcnn,
}
