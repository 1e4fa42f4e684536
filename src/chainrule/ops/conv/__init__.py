"""Convolution and transposed convolution (1-D and 2-D) as one GEMM over an im2col view.

Convolution is PyTorch's: a cross-correlation of an (N, C, *spatial) batch with (O, C/groups, *k)
filters. The forward copies every receptive field into a column (``_im2col``: one strided view, one
copy) and multiplies by the filters in one GEMM per group. The transposed convolution is its
adjoint: one GEMM, then ``_col2im`` adds the columns back with one slice-add per kernel offset.

Three Functions close under differentiation: the input-gradient of ``ConvNd`` is a
``ConvTransposeNd``, that of ``ConvTransposeNd`` is a ``ConvNd``, both weight-gradients are a
``ConvWeightGrad``, and its own gradients are again a convolution and a transposed convolution; so
derivatives of every order are convolutions. 1-D arrays run through the 2-D kernels with a unit
height axis.

Speed: outputs and gradients are (N, C, H, W) views of batch-last (C, H, W, N) memory (see
``_batch_last``), the transposed convolution's backward builds the columns of its gradient once
for both of its GEMMs, and the large arrays (columns, padded copies, outputs) come from the C
allocator, which chainrule asks to keep freed memory for reuse (``backend.memory``).
docs/performance.md tells the whole story.

The package, by what each file is about:

    convolution.py  the Functions (ConvNd, ConvReLUNd, ConvTransposeNd, ConvWeightGrad) with their
                    backward, and the public conv1d ... conv_transpose2d
    _gemm.py        the three products on arrays: forward, transposed, filter gradient
    _columns.py     im2col / col2im, columns built in row blocks, batch-last input copies
    _small.py       the lean forward of a small unrecorded convolution
    _layout.py      batch-last (C, H, W, N) memory behind (N, C, H, W) views, padding
"""

from __future__ import annotations

# The public functions, and the private names that pool.py, adaptive_pool.py, tests and docs use.
from .._windows import conv_setup, conv_transpose_setup  # noqa: F401
from ._columns import _batch_last_input, _col2im, _im2col, _im2col_view, _row_blocks  # noqa: F401
from ._layout import _HOST, _as2d, _batch_last, _from2d, _memory_order, _pad  # noqa: F401
from ._small import _small_conv  # noqa: F401
from .convolution import *  # noqa: F403
from .convolution import (  # noqa: F401
    ConvNd,
    ConvReLUNd,
    ConvTransposeNd,
    ConvWeightGrad,
    __all__,
)
