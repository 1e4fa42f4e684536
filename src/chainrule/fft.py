"""``chainrule.fft``: PyTorch's ``torch.fft`` (discrete Fourier transforms with gradients).

The complex transforms and the argument rules are in ``ops/fft.py``, the transforms of real
signals and Hermitian spectra in ``ops/fft_real.py``, the frequencies and shifts in
``ops/fft_freq.py``. Gradients follow PyTorch's complex convention (``z.grad`` is
dL/dx + i dL/dy for a real loss L; a real input's gradient is real); docs/fft.md has the details.

>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0, 3.0, 4.0], dtype=cr.float64, requires_grad=True)
>>> X = cr.fft.rfft(x)
>>> X.numpy().tolist()
[(10+0j), (-2+2j), (-2+0j)]
>>> X.abs().sum().backward()  # a real loss of the spectrum
>>> x.grad.numpy().round(6).tolist()
[-0.707107, 1.292893, 0.707107, 2.707107]
"""

from __future__ import annotations

from .ops.fft import fft, fft2, fftn, ifft, ifft2, ifftn
from .ops.fft_freq import fftfreq, fftshift, ifftshift, rfftfreq
from .ops.fft_real import (
    hfft,
    hfft2,
    hfftn,
    ihfft,
    ihfft2,
    ihfftn,
    irfft,
    irfft2,
    irfftn,
    rfft,
    rfft2,
    rfftn,
)

__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "hfft2", "hfftn", "ifft", "ifft2",
           "ifftn", "ifftshift", "ihfft", "ihfft2", "ihfftn", "irfft", "irfft2", "irfftn", "rfft",
           "rfft2", "rfftfreq", "rfftn"]
