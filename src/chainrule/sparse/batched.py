"""PyTorch's ``torch.bmm`` of a sparse COO batch: ``bmm(s, d)`` with ``s`` a 3-D sparse tensor
``(b, n, m)`` (three sparse axes) and ``d`` a dense ``(b, m, k)``, a dense ``(b, n, k)``.

Each entry ``(t, i, j, v)`` adds ``v * d[t, j]`` to row ``i`` of batch ``t``: the rows of ``d``
gathered, scaled and added up with ``index_add``, so gradients reach ``d`` and the values (and a
sparse leaf, on its pattern) with no backward of its own. Before, ``cr.bmm(s, d)`` refused a
sparse input ("input must be a Tensor")."""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ..ops.select import index_add
from ..ops.shape import getitem, reshape, unsqueeze
from .tensor import SparseTensor, _describe

__all__ = ["bmm"]


def bmm(input, mat2) -> Tensor:  # noqa: A002 - PyTorch's names
    """``bmm(sparse (b, n, m), dense (b, m, k))``: dense ``(b, n, k)``, the batches not
    broadcast; checked as PyTorch's ``bmm_sparse`` checks."""
    who = "bmm"
    if not isinstance(input, SparseTensor):
        raise TypeError(
            f"{who}: a sparse input must be a 3-D sparse COO tensor, got "
            f"{_describe(input)} (CSR and CSC matrices are 2-D: use mm)"
        )
    if not isinstance(mat2, Tensor):
        raise TypeError(
            f"{who}: with a sparse input, mat2 must be a dense Tensor, got {_describe(mat2)}"
        )
    if input.ndim != 3 or input.dense_dim() != 0:
        raise ValueError(
            f"{who}: a sparse input must be 3-D with three sparse axes (no dense "
            f"ones), got shape {input.shape} with sparse_dim {input.sparse_dim()}"
        )
    if mat2.ndim != 3:
        raise ValueError(f"{who}: mat2 must be 3-D, got shape {tuple(mat2.shape)}")
    b, n, m = input.shape
    if tuple(mat2.shape[:2]) != (b, m):
        raise ValueError(
            f"{who}: input of shape {input.shape} and mat2 of shape "
            f"{tuple(mat2.shape)} cannot be multiplied (mat2 must be ({b}, {m}, k))"
        )
    if mat2.dtype != input.dtype:
        raise TypeError(
            f"{who}: input has dtype {input.dtype} but mat2 has dtype {mat2.dtype} "
            "(convert one, e.g. .double())"
        )
    xp = get_array_module(input._idx)
    batch, rows, cols = input._idx
    picked = getitem(mat2, (Tensor(batch), Tensor(cols)))  # d[t, j] for each entry: (nnz, k)
    zeros = mat2.new_zeros((b * n, mat2.shape[2]))
    out = index_add(
        zeros, 0, Tensor((batch * n + rows).astype(xp.int64)), unsqueeze(input._vals, 1) * picked
    )
    return reshape(out, (b, n, mat2.shape[2]))
