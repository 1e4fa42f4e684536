"""Fuzz wave 14, ONNX export: seeded random stacks of layers (convolutions and transposed ones
with groups, dilation and padding, pools with ceil_mode, normalizations in eval mode,
activations with non-default settings, upsampling, reductions with keepdim) and random chains
of tensor ops, exported with a dynamic batch axis at a random opset, run by onnxruntime at
other batch sizes and loaded back by chainrule.onnx.load: both must equal chainrule's forward.
Tolerances as in test_onnx_export.py (float32, relative 1e-4 of the output's scale)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from chainrule.onnx import export, load  # noqa: E402


class Fn(nn.Module):
    def __init__(self, fn, name):
        super().__init__()
        self.fn, self.name = fn, name

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return self.name


def _stats(m, r, c):
    with cr.no_grad():
        m.running_mean.copy_(cr.tensor(r.standard_normal(c).astype(np.float32)))
        m.running_var.copy_(cr.tensor(r.uniform(0.5, 2.0, c).astype(np.float32)))
    return m


def _activation(r, c):
    u = lambda lo, hi: float(r.uniform(lo, hi))  # noqa: E731
    choices = [nn.GELU(approximate="tanh"), nn.GELU(), nn.Hardswish(), nn.ELU(u(0.2, 2)),
               nn.Softplus(u(0.5, 3), u(0.5, 5)), nn.LeakyReLU(u(0, 0.5)), nn.Hardsigmoid(),
               nn.SiLU(), nn.Mish(), nn.SELU(), nn.CELU(u(0.3, 2)), nn.Softsign(), nn.ReLU6(),
               nn.Hardtanh(-u(0, 1), u(0, 1)), nn.PReLU(c), nn.LogSigmoid(), nn.Tanhshrink(),
               nn.Softshrink(u(0, 1)), nn.Hardshrink(u(0, 1)), nn.Threshold(u(-1, 1), u(-2, 2))]
    return choices[int(r.integers(len(choices)))]


def _layer(r, c, h):
    """(module, channels out, size out) for an input (N, c, h, h), or None."""
    k, s, d = int(r.integers(1, 4)), int(r.integers(1, 3)), int(r.integers(1, 3))
    kind = int(r.integers(10))
    if kind == 0:
        groups = int(r.choice([1, c]))
        out_c, p = groups * int(r.integers(1, 3)), int(r.integers(0, 2))
        if (k - 1) * d + 1 > h + 2 * p:
            return None
        return (nn.Conv2d(c, out_c, k, stride=s, padding=p, dilation=d, groups=groups,
                          bias=bool(r.integers(2)), rng=r), out_c,
                (h + 2 * p - d * (k - 1) - 1) // s + 1)
    if kind == 1:
        groups = int(r.choice([1, c]))
        out_c, p = groups * int(r.integers(1, 3)), int(r.integers(0, 2))
        extra = int(r.integers(0, max(s, d)))  # PyTorch's bound: below max(stride, dilation)
        size = (h - 1) * s - 2 * p + d * (k - 1) + extra + 1
        if not 1 <= size <= 16:
            return None
        return (nn.ConvTranspose2d(c, out_c, k, stride=s, padding=p, output_padding=extra,
                                   groups=groups, dilation=d, rng=r), out_c, size)
    if kind in (2, 3):
        p = int(r.integers(0, k // 2 + 1))
        if kind == 2:
            if (k - 1) * d + 1 > h + 2 * p:
                return None
            m = nn.MaxPool2d(k, s, p, dilation=d, ceil_mode=bool(r.integers(2)))
        else:
            if k > h + 2 * p:
                return None
            m = nn.AvgPool2d(k, s, p, ceil_mode=bool(r.integers(2)),
                             count_include_pad=bool(r.integers(2)))
        with cr.no_grad():
            return m, c, m(cr.zeros(1, c, h, h)).shape[-1]
    if kind == 4:
        return _stats(nn.BatchNorm2d(c, affine=bool(r.integers(2))), r, c), c, h
    if kind == 5:
        groups = int(r.choice([g for g in range(1, c + 1) if c % g == 0]))
        return nn.GroupNorm(groups, c, affine=bool(r.integers(2))), c, h
    if kind == 6:
        return nn.LayerNorm([h, h], elementwise_affine=bool(r.integers(2))), c, h
    if kind == 7:
        return _activation(r, c), c, h
    if kind == 8 and 2 * h <= 16:
        mode = str(r.choice(["nearest", "bilinear"]))
        return nn.Upsample(scale_factor=2, mode=mode), c, 2 * h
    ops = [(lambda x: x * x.mean(dim=(2, 3), keepdim=True).sigmoid(), "squeeze-excite", c, h),
           (lambda x: cr.cat([x, x[:, :1] * 2], dim=1), "cat", c + 1, h),
           (lambda x: x.permute(0, 1, 3, 2), "permute", c, h),
           (lambda x: cr.where(x > 0.1, x, x.exp() - 1), "where", c, h),
           (lambda x: x.amax(dim=1, keepdim=True), "amax", 1, h)]
    fn, name, c_out, h_out = ops[int(r.integers(len(ops)))]
    return Fn(fn, name), c_out, h_out


def _model(seed):
    r = np.random.default_rng(seed)
    c = c0 = int(r.integers(1, 4))
    h = h0 = int(r.integers(3, 9))
    layers = []
    while len(layers) < int(r.integers(2, 6)):
        made = _layer(r, c, h)
        if made is not None and made[2] >= 1:
            layers.append(made[0])
            c, h = made[1], made[2]
    tail = int(r.integers(3))
    if tail == 0:
        layers += [nn.Flatten(), nn.Linear(c * h * h, 3, rng=r)]
    elif tail == 1:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers).eval(), (c0, h0), r


def _agree(model, proto, shape, r):
    loaded = load(proto)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    name = proto.graph.input[0].name
    for n in (2, 3, 1):
        x = r.standard_normal((n, *shape)).astype(np.float32)
        with cr.no_grad():
            want = model(cr.tensor(x)).numpy()
            back = loaded(cr.tensor(x)).numpy()
        got = session.run(None, {name: x})[0]
        scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
        for what, out in (("onnxruntime", got), ("chainrule.onnx.load", back)):
            assert out.shape == want.shape and out.dtype == want.dtype, what
            np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4 * scale,
                                       err_msg=f"{what}: {model}")


@pytest.mark.parametrize("chunk", range(4))
def test_random_layer_stacks(chunk):
    for seed in range(chunk * 12, chunk * 12 + 12):
        model, (c, h), r = _model(seed)
        x = r.standard_normal((2, c, h, h)).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proto = export(model, cr.tensor(x), input_names=["x"],
                           dynamic_axes={"x": {0: "batch"}}, opset_version=int(r.integers(13, 22)))
        _agree(model, proto, (c, h, h), r)


OPS = [
    lambda x: x.permute(0, 2, 1), lambda x: x.flatten(1).unsqueeze(-1), lambda x: x[:, ::2, 1:],
    lambda x: x[:, :, [0, -1, 0]], lambda x: cr.cat([x, x.flip(1)], dim=1),
    lambda x: cr.where(x > 0.1, x, -x * 0.5), lambda x: x.sum(dim=1, keepdim=True),
    lambda x: x.mean(dim=-1, keepdim=True) - x, lambda x: x.amin(dim=(1, 2), keepdim=True) + x,
    lambda x: x.logsumexp(dim=1, keepdim=True), lambda x: x.softmax(-1),
    lambda x: F.log_softmax(x, 1), lambda x: x.var(dim=1, keepdim=True, unbiased=False),
    lambda x: x.norm(dim=2, keepdim=True), lambda x: x.prod(dim=1, keepdim=True),
    lambda x: x.cumsum(dim=2), lambda x: x.clamp(-0.5, 0.7), lambda x: x.abs().sqrt(),
    lambda x: x.pow(2) + x.pow(3), lambda x: x.repeat(1, 2, 1), lambda x: F.pad(x, (1, 2)),
    lambda x: F.pad(x, (2, 1), mode="replicate"), lambda x: x.roll(1, dims=2),
    lambda x: x.triu(1), lambda x: cr.stack([x, 2 * x], dim=2).flatten(2),
    lambda x: x.max(dim=1, keepdim=True).values, lambda x: x.masked_fill(x < 0, 0.25),
    lambda x: F.normalize(x, dim=1), lambda x: x.sign() * x.floor() + x.round() + x.ceil(),
    lambda x: x.erf() + x.atan() + x.sin() + (x * x + 1).rsqrt(),
    lambda x: x.fmod(0.3) + x.remainder(0.4), lambda x: cr.minimum(x, x.flip(2)),
    lambda x: (x @ x.transpose(1, 2)).tanh(), lambda x: cr.einsum("nab,nac->nbc", x, x),
    lambda x: F.interpolate(x, scale_factor=2, mode="linear"), lambda x: x.clone(),
    lambda x: F.layer_norm(x, (x.shape[-1],)), lambda x: F.softshrink(x, 0.3),
]


@pytest.mark.parametrize("chunk", range(3))
def test_random_op_chains(chunk):
    for seed in range(chunk * 30, chunk * 30 + 30):
        r = np.random.default_rng(1000 + seed)
        picks = [OPS[int(i)] for i in r.integers(0, len(OPS), int(r.integers(1, 4)))]

        def model(x, picks=picks):
            for fn in picks:
                x = fn(x)
            return x

        shape = (int(r.integers(2, 4)), int(r.integers(2, 5)))
        x = r.standard_normal((2, *shape)).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proto = export(model, cr.tensor(x), input_names=["x"],
                           dynamic_axes={"x": {0: "batch"}}, opset_version=int(r.integers(14, 22)))
        _agree(Fn(model, "chain"), proto, shape, r)
