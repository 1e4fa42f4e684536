"""The DataLoader's batches of an ``ArrayDataset`` or ``TensorDataset`` whose samples are its
arrays' rows: one gather per array per batch, no per-sample Python loop.

A ``TensorDataset`` Tensor that requires grad (learned inputs, a perturbation being optimized)
is gathered as a Tensor, by indexing that the gradient flows back through, as PyTorch's
``default_collate`` stacks its rows ``t[i]``: the batch requires grad and ``backward`` reaches
the dataset's Tensor. The other arrays are gathered as NumPy arrays (copies: in-place changes
of a batch leave the dataset alone). Samples that are Tensors requiring grad (a custom dataset's
``self.z[i]``) are collated by ``stack_rows``, PyTorch's differentiable ``torch.stack``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module

__all__ = ["gathered", "stack_rows"]


def gathered(dataset, plans, in_order: bool):
    """The batches of ``plans`` (``(start, indices)`` per batch; ``in_order``: the indices of
    each run on from ``start``) as tuples of arrays, or of Tensors for those that require grad."""
    sources = tuple(t if isinstance(t, Tensor) and t.requires_grad else a for t, a in zip(
        getattr(dataset, "tensors", dataset.arrays), dataset.arrays, strict=True))
    for start, indices in plans:
        if not len(indices):  # PyTorch's collate of no samples raises
            raise IndexError("DataLoader: the batch_sampler gave an empty batch")
        yield tuple(_take(s, start, indices, in_order) for s in sources)


def _take(source, start: int, indices, in_order: bool):
    if isinstance(source, Tensor):  # a differentiable gather of the rows
        return source[np.asarray(indices, np.int64)]
    if in_order:
        return source[start:start + len(indices)].copy()
    return source[np.asarray(indices, np.int64)]


class _StackRows(Function):
    complex_grad = True
    reads_inputs = False  # backward only routes the gradient's rows

    def forward(self, *rows):
        return get_array_module(*rows).stack(rows)

    def backward(self, g):
        return tuple(g[i] for i in range(len(self.inputs)))


def stack_rows(samples: list, dtype) -> Tensor:
    """The Tensors (or arrays) ``samples``, of one shape, as ``dtype`` (their promoted one),
    stacked along a new first axis by a recorded op: the gradient of the batch reaches the samples
    that require grad, as through PyTorch's ``default_collate``."""
    rows = [v if isinstance(v, Tensor) else Tensor(np.asarray(v)) for v in samples]
    for i, row in enumerate(rows):
        if row.shape != rows[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(rows[0].shape)} at entry 0 and {list(row.shape)} at "
                               f"entry {i}")
    rows = [row if row._data.dtype == dtype else row.to(dtype) for row in rows]
    return _StackRows.apply(*rows)
