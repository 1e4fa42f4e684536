"""The DataLoader's batches of an ``ArrayDataset`` or ``TensorDataset`` whose samples are its
arrays' rows: one gather per array per batch, no per-sample Python loop.

A ``TensorDataset`` Tensor that requires grad (learned inputs, a perturbation being optimized)
is gathered as a Tensor, by indexing that the gradient flows back through, as PyTorch's
``default_collate`` stacks its rows ``t[i]``: the batch requires grad and ``backward`` reaches
the dataset's Tensor. The other arrays are gathered as NumPy arrays (copies: in-place changes
of a batch leave the dataset alone).
"""

from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor

__all__ = ["gathered"]


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
