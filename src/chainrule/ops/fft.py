"""Discrete Fourier transforms of complex signals (``torch.fft``'s ``fft``, ``ifft``, ``fft2``,
``ifft2``, ``fftn``, ``ifftn``), with gradients, and the argument rules every transform shares.

A transform is linear, so its gradient is its adjoint applied to the incoming gradient: in
PyTorch's complex convention (``z.grad = dL/dx + i dL/dy``) the adjoint of the DFT ``F`` is its
conjugate transpose, and ``F^H`` is the inverse transform with the dual normalization
("backward" <-> "forward", "ortho" <-> "ortho"). Zero-padding or truncating the input to the
requested length (``n``, ``s``) is its own op (``Resize``) whose adjoint is the reverse
truncation or padding. The real-signal transforms (``rfft``, ``irfft``, ``hfft``...) are in
``fft_real.py``; ``fftfreq`` and ``fftshift`` in ``fft_freq.py``.

The kernels are NumPy's (CuPy's on a GPU) ``fft`` module; results keep PyTorch's precision
(complex64 from float32 or complex64 input, complex128 from float64 or complex128).
"""

from __future__ import annotations

import operator

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import config, get_array_module, numpy
from ._conj import complex_dtype
from .cast import cast

__all__ = ["C2C", "Resize", "fft", "fft2", "fftn", "ifft", "ifft2", "ifftn"]

_NORMS = ("backward", "ortho", "forward")
DUAL = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


class Resize(Function):
    """``x`` truncated or zero-padded (at the end) along ``axes`` to ``sizes``; the adjoint is the
    reverse resize of the gradient, so both directions are one op."""

    complex_grad = True

    def forward(self, x):
        xp = get_array_module(x)
        shape = list(x.shape)
        keep = [slice(None)] * x.ndim
        for a, n in zip(self.axes, self.sizes):
            keep[a] = slice(0, min(n, x.shape[a]))
            shape[a] = n
        out = xp.zeros(tuple(shape), dtype=x.dtype)
        out[tuple(keep)] = x[tuple(keep)]
        return out

    def backward(self, g):
        shape = self.inputs[0]._data.shape
        return Resize.apply(g, axes=self.axes, sizes=tuple(shape[a] for a in self.axes))


class C2C(Function):
    """The n-D DFT (``inverse``: its inverse) along ``axes`` with NumPy's ``norm``."""

    complex_grad = True

    def forward(self, z):
        xp = get_array_module(z)
        run = xp.fft.ifftn if self.inverse else xp.fft.fftn
        return run(z, axes=self.axes, norm=self.norm).astype(z.dtype, copy=False)

    def backward(self, g):
        return C2C.apply(g, axes=self.axes, inverse=not self.inverse, norm=DUAL[self.norm])


def check_norm(op: str, norm) -> str:
    """PyTorch's ``norm``: None (= "backward"), "backward", "ortho" or "forward"."""
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f'{op}: norm must be "backward", "ortho", "forward" or None, got '
                         f"{norm!r}")
    return norm


def as_signal(op: str, x, *, real: bool = False) -> Tensor:
    """``x`` as a transform's input: a Tensor of a float32/float64 (and for ``real=False`` also
    complex) dtype; integers and bools become the default float dtype, as in PyTorch."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    kind = x._data.dtype.kind
    if kind in "biu":
        return cast(x, config.default_dtype)
    if kind == "c" and real:
        raise TypeError(f"{op}: expects a real input tensor, got dtype {x.dtype}; use "
                        f"{op.replace('ihfft', 'fft').replace('rfft', 'fft')} for a complex one")
    if x._data.dtype.itemsize < (8 if kind == "c" else 4) or kind not in "fc":
        raise TypeError(f"{op}: unsupported dtype {x.dtype} (expected float32, float64, "
                        "complex64 or complex128)")
    return x


def as_complex(x: Tensor) -> Tensor:
    """A real signal as a complex one (recorded: a real input gets the real part back)."""
    return x if x._data.dtype.kind == "c" else cast(x, complex_dtype(x._data.dtype))


def _dim(op: str, d, ndim: int) -> int:
    if isinstance(d, bool) or not hasattr(d, "__index__"):
        raise TypeError(f"{op}: dim must be an int or a sequence of ints, got {d!r}")
    d = operator.index(d)
    if not -ndim <= d < ndim:
        raise IndexError(f"{op}: dim {d} is out of range for a {ndim}-D input (expected to be in "
                         f"range of [{-ndim}, {ndim - 1}])")
    return d % ndim


def _size(op: str, name: str, n) -> int:
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"{op}: {name} must be an int, got {n!r}")
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"{op}: invalid number of data points ({n}) specified in {name}; it must "
                         "be at least 1")
    return n


def axes_and_sizes(op: str, x: Tensor, s, dim, *, default_all: bool = True):
    """The transform's axes and the input length wanted on each (None where PyTorch derives it:
    an ``s`` entry of -1, or no ``s``). ``dim`` None: the last ``len(s)`` axes, or all axes
    (``default_all``) when ``s`` is None too."""
    ndim = x._data.ndim
    if s is not None:
        if isinstance(s, (int, numpy.integer)) and not isinstance(s, bool):
            s = (s,)
        if not isinstance(s, (tuple, list)) and not hasattr(s, "__len__"):
            raise TypeError(f"{op}: s must be a sequence of ints or None, got {s!r}")
        s = tuple(s)
    if dim is None:
        if s is None:
            dims = tuple(range(ndim)) if default_all else ()
        else:
            if len(s) > ndim:
                raise ValueError(f"{op}: s {s} has {len(s)} entries but the input has only "
                                 f"{ndim} dimensions")
            dims = tuple(range(ndim - len(s), ndim))
    else:
        raw = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(_dim(op, d, ndim) for d in raw)
        if len(set(dims)) != len(dims):
            raise ValueError(f"{op}: dims must be unique, got dim={dim!r}")
        if s is not None and len(s) != len(dims):
            raise ValueError(f"{op}: s and dim must have the same length when both are given, got "
                             f"s={s} and dim={dim!r}")
    if s is None:
        return dims, (None,) * len(dims)
    sizes = tuple(None if n == -1 else _size(op, "s", n) for n in s)
    return dims, sizes


def resize(x: Tensor, axes, sizes) -> Tensor:
    """``x`` zero-padded or truncated to ``sizes`` along ``axes`` (unchanged where it fits)."""
    shape = x._data.shape
    pairs = [(a, n) for a, n in zip(axes, sizes) if n is not None and n != shape[a]]
    if not pairs:
        return x
    return Resize.apply(x, axes=tuple(a for a, _ in pairs), sizes=tuple(n for _, n in pairs))


def _c2c(op: str, x, s, dim, norm, inverse: bool, *, default_all: bool = True) -> Tensor:
    norm = check_norm(op, norm)
    x = as_signal(op, x)
    axes, sizes = axes_and_sizes(op, x, s, dim, default_all=default_all)
    x = as_complex(resize(x, axes, sizes))
    if not axes:
        return x
    return C2C.apply(x, axes=axes, inverse=inverse, norm=norm)


def one_dim(op: str, n, dim):
    """A 1-D transform's ``n`` and ``dim`` as ``s`` and ``dim`` (``n`` must be at least 1: unlike
    an ``s`` entry, -1 does not stand for the input's length)."""
    return None if n is None else (_size(op, "n", n),), (dim,)


def fft(input, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The 1-D discrete Fourier transform along ``dim``, as ``torch.fft.fft``.

    Args:
        input: a real or complex tensor (a real one gives a complex result).
        n: the signal length: the input is zero-padded or truncated to it (default: its size).
        dim: the axis to transform.
        norm: "backward" (default, no scaling), "ortho" (1/sqrt(n)) or "forward" (1/n).
    """
    _no_out("fft", out)
    return _c2c("fft", input, *one_dim("fft", n, dim), norm, False)


def ifft(input, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The 1-D inverse discrete Fourier transform along ``dim`` (``torch.fft.ifft``); "backward"
    scales it by 1/n."""
    _no_out("ifft", out)
    return _c2c("ifft", input, *one_dim("ifft", n, dim), norm, True)


def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The 2-D discrete Fourier transform over ``dim`` (default the last two axes)."""
    _no_out("fft2", out)
    return _c2c("fft2", input, s, two_dims("fft2", dim), norm, False)


def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The 2-D inverse discrete Fourier transform over ``dim`` (default the last two axes)."""
    _no_out("ifft2", out)
    return _c2c("ifft2", input, s, two_dims("ifft2", dim), norm, True)


def fftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The n-D discrete Fourier transform over ``dim`` (default: the last ``len(s)`` axes, or
    all axes); ``s`` gives the signal length on each (-1: the input's)."""
    _no_out("fftn", out)
    return _c2c("fftn", input, s, dim, norm, False)


def ifftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The n-D inverse discrete Fourier transform over ``dim`` (as ``fftn``'s)."""
    _no_out("ifftn", out)
    return _c2c("ifftn", input, s, dim, norm, True)


def two_dims(op, dim):
    """A 2-D transform's ``dim``: None is refused, as PyTorch's (it is all axes in fftn)."""
    if dim is None:
        raise TypeError(f"{op}: dim must be a sequence of ints (default (-2, -1)), got None; "
                        f"use {op[:-1]}n for all axes")
    return dim


def _no_out(op, out):
    if out is not None:
        raise TypeError(f"{op}: out= is not supported; use the returned tensor")
