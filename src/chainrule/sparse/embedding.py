"""The lookup of ``Embedding(sparse=True)``: ``weight[ids]`` whose weight gradient is sparse.

A batch touches a few rows of a large table; PyTorch's sparse gradient keeps only those: a
SparseTensor with one entry per id looked up (repeats kept, uncoalesced), row index ``ids[k]``
and value the output gradient of lookup k. Lookups of ``padding_idx`` are left out;
``scale_grad_by_freq`` is refused in backward, as PyTorch refuses it.
"""

from __future__ import annotations

from ..autograd.function import Function
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.shape import _check_rows, getitem, reshape
from .tensor import SparseTensor

__all__ = ["sparse_lookup"]


class SparseLookup(Function):
    """``weight[ids]``; the gradient of ``weight`` is a hybrid SparseTensor (1 sparse axis)."""

    # backward routes the gradient by the ids and reads no weight (PyTorch's saves none): a
    # weight renormed in place by a second max_norm lookup before backward is no error
    reads_inputs = False

    def forward(self, weight):
        self.shape = weight.shape
        return weight[self.ids]

    def backward(self, g):
        if self.by_freq:  # PyTorch's refusal, at the same point
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                               "gradients")
        xp = get_array_module(self.ids)
        ids = self.ids.reshape(-1).astype(xp.int64)
        rows = reshape(g, (-1, self.shape[1]))  # one row of gradient per lookup
        if self.padding_idx is not None:
            keep = ids != self.padding_idx
            if not bool(keep.all()):
                ids, rows = ids[keep], getitem(rows, Tensor(xp.nonzero(keep)[0]))
        return SparseTensor(ids[None], rows, self.shape)


def sparse_lookup(weight: Tensor, ids, *, who: str, padding_idx=None,
                  scale_grad_by_freq: bool = False) -> Tensor:
    """The rows of ``weight`` (num_embeddings, dim) at the integer array ``ids``: shape
    ``ids.shape + (dim,)``, with a sparse gradient for ``weight`` (see the module docstring)."""
    _check_rows(ids, who, weight.shape[0])
    return SparseLookup.apply(weight, ids=ids, padding_idx=padding_idx,
                              by_freq=bool(scale_grad_by_freq))
