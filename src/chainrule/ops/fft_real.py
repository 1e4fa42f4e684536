"""Fourier transforms of real signals and Hermitian spectra: ``rfft``/``irfft`` (and their 2-D and
n-D forms) and ``hfft``/``ihfft`` (and ``hfft2``/``ihfft2``/``hfftn``/``ihfftn``), with gradients.

``rfft`` keeps the n // 2 + 1 non-negative frequencies of a real signal's spectrum (the others
are their conjugates). As a map of the real input it is the full DFT followed by dropping the
other bins, so its gradient is the real part of the inverse transform (dual normalization) of
the incoming gradient zero-padded back to n bins.

``irfft`` reads a half spectrum as the Hermitian full one: each bin other than the zero
frequency (and, for even n, the Nyquist bin n / 2) stands for itself and its mirror, and the
imaginary parts of those two bins are ignored. Its gradient is therefore ``rfft`` of the incoming
gradient (dual normalization) with those mirrored bins doubled; the input's padding or
truncation to n // 2 + 1 bins is a separate op whose adjoint undoes it.

``hfft`` and ``ihfft`` are ``irfft`` of the conjugate and the conjugate of ``rfft``, with the
direction of the normalization swapped, as PyTorch (and NumPy) define them.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._conj import Real, cj, complex_dtype, real_dtype
from .fft import (
    C2C,
    DUAL,
    _no_out,
    as_complex,
    as_signal,
    axes_and_sizes,
    check_norm,
    one_dim,
    resize,
    two_dims,
)

__all__ = ["C2R", "R2C", "hfft", "hfft2", "hfftn", "ihfft", "ihfft2", "ihfftn", "irfft", "irfft2",
           "irfftn", "rfft", "rfft2", "rfftn"]


class R2C(Function):
    """The half spectrum of a real signal over ``axes`` (the last of them halved to n // 2 + 1)."""

    complex_grad = True

    def forward(self, x):
        xp = get_array_module(x)
        out = xp.fft.rfftn(x, axes=self.axes, norm=self.norm)
        return out.astype(complex_dtype(x.dtype), copy=False)

    def backward(self, g):
        x = self.inputs[0]._data
        last = self.axes[-1]
        full = _resize_one(g, last, x.shape[last])
        return Real.apply(C2C.apply(full, axes=self.axes, inverse=True, norm=DUAL[self.norm]))


class C2R(Function):
    """The real signal of ``sizes`` whose Hermitian spectrum over ``axes`` has the given half
    (the input's last axis in ``axes`` already has sizes[-1] // 2 + 1 bins)."""

    complex_grad = True

    def forward(self, z):
        xp = get_array_module(z)
        out = xp.fft.irfftn(z, s=self.sizes, axes=self.axes, norm=self.norm)
        return out.astype(real_dtype(z.dtype), copy=False)

    def backward(self, g):
        xp = get_array_module(g._data)
        n, last = self.sizes[-1], self.axes[-1]
        # Every bin but the zero frequency and the Nyquist bin also stands for its mirror image.
        twice = xp.ones(n // 2 + 1, dtype=g._data.dtype)
        twice[1:(n - 1) // 2 + 1] = 2
        shape = [1] * g._data.ndim
        shape[last] = n // 2 + 1
        return R2C.apply(g, axes=self.axes, norm=DUAL[self.norm]) * Tensor(twice.reshape(shape))


def _resize_one(x, axis, n):
    return resize(x, (axis,), (n,))


def _real_axes(op, x, s, dim, default):
    axes, sizes = axes_and_sizes(op, x, s, dim, default_all=default)
    if not axes:
        raise ValueError(f"{op}: needs at least one dimension to transform, got a "
                         f"{x._data.ndim}-D input")
    return axes, sizes


def _r2c(op, x, s, dim, norm, default=True):
    norm = check_norm(op, norm)
    x = as_signal(op, x, real=True)
    axes, sizes = _real_axes(op, x, s, dim, default)
    return R2C.apply(resize(x, axes, sizes), axes=axes, norm=norm)


def _c2r(op, z, s, dim, norm, default=True, conj=False):
    norm = check_norm(op, norm)
    z = as_complex(as_signal(op, z))
    axes, sizes = _real_axes(op, z, s, dim, default)
    shape = z._data.shape
    n = sizes[-1] if sizes[-1] is not None else 2 * (shape[axes[-1]] - 1)
    if n < 1:
        raise ValueError(f"{op}: invalid number of data points ({n}) specified: the output "
                         f"length defaults to 2 * ({shape[axes[-1]]} - 1); pass n (or s)")
    full = tuple(shape[a] if m is None else m for a, m in zip(axes[:-1], sizes[:-1])) + (n,)
    z = resize(z, axes, full[:-1] + (n // 2 + 1,))
    return C2R.apply(cj(z) if conj else z, axes=axes, sizes=full, norm=norm)


def rfft(input, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The n // 2 + 1 non-negative frequencies of the DFT of a real signal along ``dim``
    (``torch.fft.rfft``); ``n`` pads or truncates the input, ``norm`` as in ``fft``."""
    _no_out("rfft", out)
    return _r2c("rfft", input, *one_dim("rfft", n, dim), norm)


def irfft(input, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The real signal of length ``n`` (default 2 * (m - 1) for m input bins) whose spectrum's
    non-negative half is ``input`` (``torch.fft.irfft``, the inverse of ``rfft``)."""
    _no_out("irfft", out)
    return _c2r("irfft", input, *one_dim("irfft", n, dim), norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The 2-D ``rfftn`` over ``dim`` (the last of them halved)."""
    _no_out("rfft2", out)
    return _r2c("rfft2", input, s, two_dims("rfft2", dim), norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The inverse of ``rfft2``."""
    _no_out("irfft2", out)
    return _c2r("irfft2", input, s, two_dims("irfft2", dim), norm)


def rfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The n-D DFT of a real signal over ``dim`` with the last of them halved to n // 2 + 1."""
    _no_out("rfftn", out)
    return _r2c("rfftn", input, s, dim, norm)


def irfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The inverse of ``rfftn``: a real signal of shape ``s`` over ``dim`` (the last length
    defaults to 2 * (m - 1))."""
    _no_out("irfftn", out)
    return _c2r("irfftn", input, s, dim, norm)


def hfft(input, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The (real) DFT of a Hermitian-symmetric signal given by its first half
    (``torch.fft.hfft``): ``irfft`` of the conjugate, normalization direction swapped."""
    _no_out("hfft", out)
    return _c2r("hfft", input, *one_dim("hfft", n, dim), DUAL[check_norm("hfft", norm)], conj=True)


def ihfft(input, n=None, dim: int = -1, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The inverse of ``hfft``: the half spectrum of a real signal, conjugated, normalization
    direction swapped (``torch.fft.ihfft``)."""
    _no_out("ihfft", out)
    return cj(_r2c("ihfft", input, *one_dim("ihfft", n, dim), DUAL[check_norm("ihfft", norm)]))


def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The 2-D ``hfftn``."""
    _no_out("hfft2", out)
    return _c2r("hfft2", input, s, two_dims("hfft2", dim), DUAL[check_norm("hfft2", norm)],
                conj=True)


def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The 2-D ``ihfftn``."""
    _no_out("ihfft2", out)
    return cj(_r2c("ihfft2", input, s, two_dims("ihfft2", dim), DUAL[check_norm("ihfft2", norm)]))


def hfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The n-D DFT of a Hermitian-symmetric signal given by its half over the last of ``dim``."""
    _no_out("hfftn", out)
    return _c2r("hfftn", input, s, dim, DUAL[check_norm("hfftn", norm)], conj=True)


def ihfftn(input, s=None, dim=None, norm=None, *, out=None) -> Tensor:  # noqa: A002
    """The inverse of ``hfftn``: the conjugate half spectrum of a real signal."""
    _no_out("ihfftn", out)
    return cj(_r2c("ihfftn", input, s, dim, DUAL[check_norm("ihfftn", norm)]))
