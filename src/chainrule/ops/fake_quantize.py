"""``fake_quantize_per_tensor_affine`` and ``fake_quantize_per_channel_affine``: PyTorch's
quantization simulation for quantization-aware training.

Each value is quantized and at once dequantized: ``q = round(x / scale) + zero_point`` (halves
to even, as C's ``nearbyint``), clamped to ``[quant_min, quant_max]``, then ``(q - zero_point) *
scale``. The gradient is the straight-through estimator: the incoming gradient where ``q`` fell
inside the range, 0 where it was clamped. Neither ``scale`` nor ``zero_point`` receives a
gradient (PyTorch refuses a ``scale`` that requires grad, and so does chainrule).

The arithmetic is PyTorch's kernels', so the results agree bit for bit: ``scale`` is rounded to
float32 and divided as ``x * (1.0f / scale)``, in float32 for float32 and float16 input and in
float64 for float64 input; the dequantized value is a float32 product per tensor (so a float64
result holds float32 values, as PyTorch's) and a float64 product per channel. A floating-point
per-channel ``zero_point`` is added before the rounding (PyTorch's other formula for that case).
Where PyTorch computes without checking, chainrule refuses: a ``scale`` that is not a positive
finite number (PyTorch returns zeros or the input's negation) raises ``ValueError``, and a NaN
input stays NaN (PyTorch returns ``quant_min``'s value).
"""

from __future__ import annotations

import numbers

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .elementwise import fill_where

__all__ = ["fake_quantize_per_channel_affine", "fake_quantize_per_tensor_affine"]


class _FakeQuantize(Function):
    def forward(self, x):
        xp = get_array_module(x)
        calc = xp.float64 if x.dtype == xp.float64 else xp.float32
        inv = (xp.float32(1.0) / self.scale).astype(calc)
        zp = self.zero_point
        with xp.errstate(invalid="ignore", over="ignore"):
            if self.float_zp:  # round(x * inv + zp), in the calc dtype
                q = xp.rint(x.astype(calc) * inv + zp.astype(calc))
            else:
                q = xp.rint(x.astype(calc) * inv) + zp.astype(calc)
            wide = xp.float32 if self.float32_out else xp.float64  # PyTorch's kernels' choice
            steps = xp.clip(q, self.qmin, self.qmax).astype(wide) - zp.astype(wide)
            out = steps * self.scale.astype(wide)
        self.mask = (q >= self.qmin) & (q <= self.qmax)
        return out.astype(x.dtype)

    def backward(self, g):
        return fill_where(~self.mask, 0, g)


def _check_range(name: str, quant_min, quant_max) -> tuple[int, int]:
    for arg, v in (("quant_min", quant_min), ("quant_max", quant_max)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name}: {arg} must be an int, got {v!r}")
    if quant_min > quant_max:
        raise ValueError(
            f"{name}: quant_min must be less than or equal to quant_max, got "
            f"quant_min={quant_min}, quant_max={quant_max}"
        )
    return int(quant_min), int(quant_max)


def _check_input(name: str, input) -> None:  # noqa: A002 - PyTorch's name
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype.kind != "f":
        raise TypeError(
            f"{name}: input must be a float16, float32 or float64 Tensor, got {input.dtype}"
        )


def _check_scale(name: str, scale, xp) -> None:
    bad = ~(xp.isfinite(scale) & (scale > 0))
    if bad.any():
        raise ValueError(
            f"{name}: scale must hold positive finite numbers, got "
            f"{scale[bad].ravel()[0].item()!r} (PyTorch computes garbage from it)"
        )


def _qparam(name: str, arg: str, value, xp):
    if isinstance(value, Tensor):
        if value.requires_grad:
            raise RuntimeError(
                f"{name} is not differentiable with respect to argument '{arg}'; "
                f"detach() it (got a {arg} that requires grad)"
            )
        return value._data
    return xp.asarray(value)


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min, quant_max):  # noqa: A002
    """Quantize and dequantize ``input`` with one ``scale`` (a number or a one-element Tensor)
    and one integer ``zero_point``; the gradient passes where no clamping happened."""
    name = "fake_quantize_per_tensor_affine"
    _check_input(name, input)
    qmin, qmax = _check_range(name, quant_min, quant_max)
    xp = get_array_module(input._data)
    s, z = _qparam(name, "scale", scale, xp), _qparam(name, "zero_point", zero_point, xp)
    for arg, v in (("scale", s), ("zero_point", z)):
        if v.size != 1 or v.dtype.kind not in ("iuf" if arg == "scale" else "iu"):
            kind = "a number" if arg == "scale" else "an int"
            raise TypeError(
                f"{name}: {arg} must be {kind} or a one-element Tensor of one, got "
                f"{v.dtype} of shape {tuple(v.shape)}"
            )
    s, z = s.reshape(()).astype(xp.float32), int(z.reshape(()))
    _check_scale(name, s, xp)
    if not qmin <= z <= qmax:
        raise ValueError(
            f"{name}: zero_point must be between quant_min and quant_max, got "
            f"{z} outside [{qmin}, {qmax}]"
        )
    return _FakeQuantize.apply(
        input,
        scale=s,
        zero_point=xp.int64(z),
        qmin=qmin,
        qmax=qmax,
        float_zp=False,
        float32_out=True,
    )


def fake_quantize_per_channel_affine(input, scale, zero_point, axis, quant_min, quant_max):  # noqa: A002
    """Quantize and dequantize ``input`` with one float32 ``scale`` and one ``zero_point``
    (int32, float32 or float16) per index along ``axis``; the gradient passes where no clamping
    happened."""
    name = "fake_quantize_per_channel_affine"
    _check_input(name, input)
    qmin, qmax = _check_range(name, quant_min, quant_max)
    if not isinstance(scale, Tensor) or not isinstance(zero_point, Tensor):
        raise TypeError(
            f"{name}: scale and zero_point must be Tensors, got "
            f"{type(scale).__name__} and {type(zero_point).__name__}"
        )
    xp = get_array_module(input._data)
    s, z = _qparam(name, "scale", scale, xp), _qparam(name, "zero_point", zero_point, xp)
    if s.dtype != xp.float32:
        raise TypeError(f"{name}: scale must be a float32 Tensor (as PyTorch's), got {s.dtype}")
    if z.dtype not in (xp.int32, xp.float32, xp.float16):
        raise TypeError(
            f"{name}: zero_point must be an int32, float32 or float16 Tensor (as "
            f"PyTorch's), got {z.dtype}"
        )
    if s.ndim != 1 or z.ndim != 1:
        raise ValueError(
            f"{name}: scale and zero_point must be 1-D, got shapes "
            f"{tuple(s.shape)} and {tuple(z.shape)}"
        )
    ndim = input.ndim
    if isinstance(axis, bool) or not isinstance(axis, int) or not 0 <= axis < ndim:
        raise IndexError(
            f"{name}: axis must be an int in [0, {ndim - 1}] (PyTorch's refuses a "
            f"negative one too), got {axis!r}"
        )
    n = input.shape[axis]
    if s.shape != (n,) or z.shape != (n,):
        raise ValueError(
            f"{name}: scale and zero_point must hold one value per index along axis "
            f"{axis} ({n}), got shapes {tuple(s.shape)} and {tuple(z.shape)}"
        )
    _check_scale(name, s, xp)
    float_zp = z.dtype.kind == "f"
    if ((z < qmin) | (z > qmax)).any():
        raise ValueError(
            f"{name}: zero_point must be between quant_min and quant_max, got "
            f"values in [{z.min().item()}, {z.max().item()}] outside "
            f"[{qmin}, {qmax}]"
        )
    shape = [1] * ndim
    shape[axis] = n
    z = z.astype(xp.float32) if float_zp else z.astype(xp.int64)
    return _FakeQuantize.apply(
        input,
        scale=s.reshape(shape),
        zero_point=z.reshape(shape),
        qmin=qmin,
        qmax=qmax,
        float_zp=float_zp,
        float32_out=False,
    )
