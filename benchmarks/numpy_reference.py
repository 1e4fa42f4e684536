"""Hand-written NumPy steps of every workload: forward, manual backward, update; built for speed.

These are what the same step costs with NumPy alone and no autodiff engine, so the table shows the
engine's overhead over its kernels. Choices a framework could not make but a hand-written step can:

* Each activation is kept in the layout its producer's GEMM writes, so nothing is transposed
  between layers: images as (C, N, H, W) (few channels: bias, ReLU, pooling and col2im run over
  long rows), the 256-channel char-CNN as (N, L, C), the LeNet classifier as columns (F, N). A
  convolution is one im2col copy (a strided view, reshaped) and one GEMM.
* ReLU commutes with max pooling, so it runs after the pool on a quarter of the data.
* The discriminator sees real and fake images in one batch of 2N.
* Only the gradients a step needs are computed (no input gradient of the first layer, no weight
  gradients of D in the generator step).

Each reference takes the workload's initial parameters and batch (PyTorch layouts) and offers
``step()`` (returns the loss, both GAN losses, or the logits of an inference step), ``outputs()``
and ``grads()`` (the last step's gradients in PyTorch layout), like ``workloads.Runner``.
"""

from __future__ import annotations

import numpy as np
from numpy_kernels import (
    SGD,
    Adam,
    conv1d,
    conv1d_backward,
    conv2d,
    conv2d_backward,
    conv_transpose2d,
    conv_transpose2d_backward,
    cross_entropy,
    linear_backward,
    linear_backward_columns,
    max_pool,
    max_pool_backward,
    relu_,
    sigmoid,
)
from workloads import DROPOUT_P, F32, dropout_seeds

__all__ = ["REFERENCES"]


# -- weight layouts: PyTorch's <-> the reference's -----------------------------------------------

CONV1D = (lambda w: w.transpose(2, 1, 0).reshape(-1, w.shape[0]),
          lambda a, s: a.reshape(s[2], s[1], s[0]).transpose(2, 1, 0))


def flatten_channels_last(channels):
    """Layout of a Linear after Flatten of (C, L) features that the reference holds as (L, C)."""
    return (lambda w: w.reshape(w.shape[0], channels, -1).transpose(0, 2, 1).reshape(w.shape),
            lambda a, s: a.reshape(s[0], -1, channels).transpose(0, 2, 1).reshape(s))


class _Reference:
    """Parameters in the reference's layout, the last step's gradients, and the step itself."""

    layouts: dict = {}

    def __init__(self, params, data, seed):
        self.shapes = {k: v.shape for k, v in params.items()}
        self.p = {}
        for key, value in params.items():
            to_ref = self.layouts.get(key, (lambda w: w, None))[0]
            self.p[key] = np.array(to_ref(value), dtype=F32, order="C")  # a copy: updated in place
        self.g = {}
        self.setup(data, seed)

    def setup(self, data, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def layer(self, name):
        return self.p[name + ".weight"], self.p[name + ".bias"]

    def put(self, name, gw, gb):
        self.g[name + ".weight"], self.g[name + ".bias"] = gw, gb

    def outputs(self, value):
        values = value if isinstance(value, tuple) else (value,)
        return tuple(np.asarray(v, dtype=np.float64) for v in values)

    def grads(self):
        out = {}
        for key, g in self.g.items():
            back = self.layouts.get(key, (None, None))[1]
            out[key] = g.copy() if back is None else np.ascontiguousarray(back(g, self.shapes[key]))
        return out


class MLPReference(_Reference):
    def setup(self, data, seed):
        self.x = data["x"].reshape(len(data["x"]), -1)
        self.t = data["t"]
        self.opt = SGD(0.01)

    def step(self):
        (w1, b1), (w2, b2), (w3, b3) = (self.layer(f"layers.{i}") for i in (1, 3, 5))
        h1 = relu_(self.x @ w1.T + b1)
        h2 = relu_(h1 @ w2.T + b2)
        loss, g = cross_entropy(h2 @ w3.T + b3, self.t)
        g, *gw = linear_backward(g, h2, w3)
        self.put("layers.5", *gw)
        g *= h2 > 0
        g, *gw = linear_backward(g, h1, w2)
        self.put("layers.3", *gw)
        g *= h1 > 0
        self.put("layers.1", *linear_backward(g, self.x, w1, need_input=False)[1:])
        self.opt.step(self.p, self.g)
        return loss


class LeNet5Reference(_Reference):
    """LeNet-5 (modern); with labels in the batch a training step, without them inference."""

    def setup(self, data, seed):
        x = data["x"]
        self.x = x.reshape(1, x.shape[0], 28, 28)  # one channel: (N, 1, H, W) is (1, N, H, W)
        self.t = data.get("t")
        self.opt = SGD(0.01)

    def forward(self):
        y1, cols1 = conv2d(self.x, *self.layer("features.0"), pad=2)
        m1 = max_pool(y1, 2, (2, 3))
        a1 = np.maximum(m1, 0)  # relu(max_pool(y)) = max_pool(relu(y)), on 4x fewer elements
        y2, cols2 = conv2d(a1, *self.layer("features.3"))
        m2 = max_pool(y2, 2, (2, 3))
        a2 = np.maximum(m2, 0)
        y3, cols3 = conv2d(a2, *self.layer("features.6"))
        a3 = relu_(y3.reshape(120, -1))  # the classifier's activations are columns (F, N)
        w, b = self.layer("classifier.1")
        a4 = relu_(w @ a3 + b[:, None])
        w, b = self.layer("classifier.3")
        z = w @ a4 + b[:, None]
        return z.T, (y1, cols1, m1, a1, y2, cols2, m2, a2, cols3, a3, a4)

    def step(self):
        if self.t is None:
            return self.forward()[0]
        z, (y1, cols1, m1, a1, y2, cols2, m2, a2, cols3, a3, a4) = self.forward()
        loss, g = cross_entropy(z, self.t)
        g, *gw = linear_backward_columns(g.T, a4, self.p["classifier.3.weight"])
        self.put("classifier.3", *gw)
        g *= a4 > 0
        g, *gw = linear_backward_columns(g, a3, self.p["classifier.1.weight"])
        self.put("classifier.1", *gw)
        g *= a3 > 0
        g, *gw = conv2d_backward(g.reshape(120, -1, 1, 1), cols3, self.p["features.6.weight"],
                                 a2.shape)
        self.put("features.6", *gw)
        g = max_pool_backward(g * (m2 > 0), y2, m2, 2, (2, 3))
        g, *gw = conv2d_backward(g, cols2, self.p["features.3.weight"], a1.shape)
        self.put("features.3", *gw)
        g = max_pool_backward(g * (m1 > 0), y1, m1, 2, (2, 3))
        self.put("features.0", *conv2d_backward(g, cols1, self.p["features.0.weight"],
                                                self.x.shape, pad=2, need_input=False)[1:])
        self.opt.step(self.p, self.g)
        return loss


class ConvAEReference(_Reference):
    def setup(self, data, seed):
        x = data["x"]
        self.x = x.reshape(1, x.shape[0], 28, 28)
        self.opt = Adam(1e-3)

    def step(self):
        p = self.p
        h1, cols1 = conv2d(self.x, *self.layer("0"), stride=2, pad=1)
        relu_(h1)
        h2, cols2 = conv2d(h1, *self.layer("2"), stride=2, pad=1)
        relu_(h2)
        h3 = relu_(conv_transpose2d(h2, *self.layer("4"), 2, 1, 1))
        y = sigmoid(conv_transpose2d(h3, *self.layer("6"), 2, 1, 1))
        d = y - self.x
        loss = np.mean(d * d)
        g = d * (2 / d.size)
        g *= y * (1 - y)
        g, *gw = conv_transpose2d_backward(g, h3, p["6.weight"], 2, 1)
        self.put("6", *gw)
        g *= h3 > 0
        g, *gw = conv_transpose2d_backward(g, h2, p["4.weight"], 2, 1)
        self.put("4", *gw)
        g *= h2 > 0
        g, *gw = conv2d_backward(g, cols2, p["2.weight"], h1.shape, stride=2, pad=1)
        self.put("2", *gw)
        g = g * (h1 > 0)
        self.put("0", *conv2d_backward(g, cols1, p["0.weight"], self.x.shape, stride=2, pad=1,
                                       need_input=False)[1:])
        self.opt.step(self.p, self.g)
        return loss


def _leaky_slope(a):
    return np.where(a > 0, F32(1), F32(0.2))


class GANReference(_Reference):
    def setup(self, data, seed):
        self.real, self.z = data["real"], data["z"]
        self.opt_g = Adam(2e-4, betas=(0.5, 0.999))
        self.opt_d = Adam(2e-4, betas=(0.5, 0.999))

    def disc(self, x):
        (w0, b0), (w2, b2), (w4, b4) = (self.layer(f"D.{i}") for i in (0, 2, 4))
        a1 = x @ w0.T + b0
        l1 = np.maximum(a1, 0.2 * a1)
        a2 = l1 @ w2.T + b2
        l2 = np.maximum(a2, 0.2 * a2)
        return l2 @ w4.T + b4, (a1, l1, a2, l2)

    def disc_backward(self, g, x, saved, need_weights):
        a1, l1, a2, l2 = saved
        grads = {}
        for name, inp, pre in (("D.4", l2, a2), ("D.2", l1, a1), ("D.0", x, None)):
            g, gw, gb = linear_backward(g, inp, self.p[name + ".weight"],
                                        need_input=pre is not None or not need_weights,
                                        need_weight=need_weights)
            grads[name] = gw, gb
            if pre is not None:
                g *= _leaky_slope(pre)
        return g, grads

    def step(self):
        (w0, b0), (w2, b2), (w4, b4) = (self.layer(f"G.{i}") for i in (0, 2, 4))
        h1 = relu_(self.z @ w0.T + b0)
        h2 = relu_(h1 @ w2.T + b2)
        fake = np.tanh(h2 @ w4.T + b4)
        n = len(fake)
        # D step: real and fake in one batch; loss = mean BCE(real, 1) + mean BCE(fake, 0)
        both = np.concatenate([self.real, fake])
        out, saved = self.disc(both)
        target = np.zeros_like(out)
        target[:n] = 1
        loss_d = (np.maximum(out, 0) - out * target + np.log1p(np.exp(-np.abs(out)))).sum() / n
        _, grads = self.disc_backward((sigmoid(out) - target) / n, both, saved, True)
        for name, gw in grads.items():
            self.put(name, *gw)
        self.opt_d.step(self.p, {k: v for k, v in self.g.items() if k.startswith("D.")})
        # G step through the updated D: non-saturating loss mean BCE(D(fake), 1)
        out, saved = self.disc(fake)
        loss_g = (np.maximum(out, 0) - out + np.log1p(np.exp(-np.abs(out)))).mean()
        g, _ = self.disc_backward((sigmoid(out) - 1) / n, fake, saved, False)
        g *= 1 - fake * fake
        g, *gw = linear_backward(g, h2, w4)
        self.put("G.4", *gw)
        g *= h2 > 0
        g, *gw = linear_backward(g, h1, w2)
        self.put("G.2", *gw)
        g *= h1 > 0
        self.put("G.0", *linear_backward(g, self.z, w0, need_input=False)[1:])
        self.opt_g.step(self.p, {k: v for k, v in self.g.items() if k.startswith("G.")})
        return loss_d, loss_g


class CharCNNReference(_Reference):
    """char-CNN on NLC activations; the first Linear's columns are permuted to (L, C) order."""

    convs = (("0", 7, True), ("3", 7, True), ("6", 3, False), ("8", 3, False), ("10", 3, False),
             ("12", 3, True))
    layouts = {**{f"{key}.weight": CONV1D for key, _, _ in convs},
               "16.weight": flatten_channels_last(256)}

    def setup(self, data, seed):
        self.x, self.t = data["x"], data["t"]
        self.rngs = [np.random.default_rng(s) for s in dropout_seeds(seed)]
        self.opt = SGD(0.01, momentum=0.9)

    def mask(self, i, shape):
        mask = (self.rngs[i].random(shape, dtype=F32) >= DROPOUT_P).astype(F32)
        mask *= 1 / (1 - DROPOUT_P)
        return mask

    def step(self):
        h = np.ascontiguousarray(self.x.transpose(0, 2, 1))  # NCL -> NLC is part of the step
        saved = []
        for key, k, pool in self.convs:
            y, cols = conv1d(h, *self.layer(key), k)
            m = max_pool(y, 3, (1,)) if pool else y
            saved.append((h.shape, cols, y, m))
            h = np.maximum(m, 0) if pool else relu_(m)
        n = len(h)
        flat = h.reshape(n, -1)
        (w16, b16), (w19, b19), (w22, b22) = (self.layer(k) for k in ("16", "19", "22"))
        f1 = relu_(flat @ w16.T + b16)
        m1 = self.mask(0, f1.shape)
        d1 = f1 * m1
        f2 = relu_(d1 @ w19.T + b19)
        m2 = self.mask(1, f2.shape)
        d2 = f2 * m2
        loss, g = cross_entropy(d2 @ w22.T + b22, self.t)
        g, *gw = linear_backward(g, d2, w22)
        self.put("22", *gw)
        g *= m2 * (f2 > 0)
        g, *gw = linear_backward(g, d1, w19)
        self.put("19", *gw)
        g *= m1 * (f1 > 0)
        g, *gw = linear_backward(g, flat, w16)
        self.put("16", *gw)
        g = g.reshape(h.shape)
        for (key, k, pool), (x_shape, cols, y, m) in zip(reversed(self.convs), reversed(saved)):
            g = g * (m > 0)
            if pool:
                g = max_pool_backward(g, y, m, 3, (1,))
            g, *gw = conv1d_backward(g, cols, self.p[key + ".weight"], x_shape, k,
                                     need_input=key != "0")
            self.put(key, *gw)
        self.opt.step(self.p, self.g)
        return loss


REFERENCES = {
    "mlp": MLPReference,
    "lenet5": LeNet5Reference,
    "conv_ae": ConvAEReference,
    "gan": GANReference,
    "charcnn": CharCNNReference,
}
