"""A prediction's convolution with few filters and taps over a big batch, without columns.

LeNet-5's C1 (6 filters of 5 x 5 taps) predicting a batch of 1000 would write and then read 78 MB
of im2col columns for a product of 6 x 25 numbers per position: memory traffic, not arithmetic.
The compiled sweep (``backend.jit.convolve_skinny``) adds, for each output position, every tap
times a run of the batch's inputs into a row of accumulators per filter, reading only the padded
input. Its reference is ``convolution.convolve_reference``, which it matches to float rounding
(the same tap order; bit for bit with one input channel).
"""

from __future__ import annotations

from ..backend import get_array_module
from ..backend import jit as _jit
from .im2col import batch_last_input
from .layout import batch_last, memory_order, pad

__all__ = ["skinny_convolve"]

_HOST = get_array_module()
# Bytes of columns from which the sweep pays: with numba loaded already (a kernel ran in this
# process), and without (a process only predicting, where the columns saved must outweigh the
# ~110 MiB numba costs to load: LeNet-5's C1 from a batch of about 210).
_COLUMNS_FROM = 2 * 2**20
_COLUMNS_FROM_UNLOADED = 16 * 2**20


def skinny_convolve(x, w, b, out_size, geom, relu):
    """``convolve``'s batch-last output for a forward that records nothing, with few filters and
    taps (``o * c * kh * kw <= 1024``, the products ``convolution._row_blocks`` splits) over big
    columns (see ``_COLUMNS_FROM``), in one compiled sweep without them; otherwise None.

    A prediction loads numba only here, where the columns it saves outweigh numba's memory. The
    sums run in another order than the GEMM's: equal to float rounding, not bit for bit.
    """
    if (_jit.convolve_skinny is None or type(x) is not _HOST.ndarray or geom.groups != 1
            or not _jit.handles(x.dtype) or w.dtype != x.dtype
            or (b is not None and b.dtype != x.dtype)):
        return None
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    ho, wo = out_size
    columns = c * kh * kw * ho * wo * n * x.itemsize
    if o * c * kh * kw > 1024 or columns < (_COLUMNS_FROM if _jit.loaded() else
                                            _COLUMNS_FROM_UNLOADED):
        return None
    padded = memory_order(pad(batch_last_input(x, (kh, kw), geom), geom.padding))
    (sh, sw), (dh, dw) = geom.stride, geom.dilation
    if (padded.shape[1] < (ho - 1) * sh + (kh - 1) * dh + 1
            or padded.shape[2] < (wo - 1) * sw + (kw - 1) * dw + 1):  # the sweep checks no bounds
        raise ValueError(f"skinny_convolve: padded input {padded.shape[1:3]} too small for output "
                         f"{out_size} (kernel {(kh, kw)}, stride {geom.stride}, dilation "
                         f"{geom.dilation})")
    if not padded.flags.c_contiguous:
        padded = _HOST.ascontiguousarray(padded)
    y = _HOST.empty((o, ho, wo, n), x.dtype)
    _jit.convolve_skinny(y, padded, _HOST.ascontiguousarray(w),
                         w.reshape(-1)[:0] if b is None else b, relu, sh, sw, dh, dw)
    return batch_last(y)
