"""``embedding_bag`` while ``chainrule.trace`` (or ``chainrule.onnx.export``) records a model:
its bags as ops of the ids and offsets, so that a replay or an ONNX file follows them.

Eager ``embedding_bag`` reads the ids and offsets in Python and reduces runs of rows with
``reduceat``; a recording would freeze those runs at the example's. Here the bags are a recorded
non-differentiable op of the ids (and offsets): the (bags x ids) matrix ``M``, 1 where id ``i``
belongs to bag ``b`` and is not ``padding_idx`` (divided by the bag's count for ``mean``). Then
``sum``/``mean`` is ``M @ rows`` and ``max`` the largest row where ``M`` holds (zeros for an
empty bag). The values agree with the eager op's to rounding (the sums run in another order).
The function of ``M`` carries the settings (its ``embedding_bag`` attribute) for the exporter.
"""

from __future__ import annotations

from ..autograd.function import nondiff
from ..autograd.tensor import Tensor
from ..backend import get_array_module
from .shape import getitem, reshape

__all__ = ["recorded_bags"]


def recorded_bags(input, ids, weight, offsets, mode, psw, include_last, padding_idx,  # noqa: A002
                  bounds):
    """The bag reduction as recorded ops. ``ids``: the checked id array; ``bounds(offsets,
    n_ids, include_last)``: the starts and ends of the bags (the eager op's checks)."""
    from .elementwise import mul, where
    from .linalg import matmul
    from .stats import amax

    xp = get_array_module(weight._data)
    ids_t = input if isinstance(input, Tensor) else Tensor(ids)
    args = [ids_t]
    if ids.ndim == 1:
        args.append(offsets if isinstance(offsets, Tensor) else Tensor(xp.asarray(offsets)))
    dtype = weight.dtype

    def bag_matrix(a, *off):
        flat = a.reshape(-1)
        if a.ndim == 2:
            starts = xp.arange(a.shape[0], dtype=xp.int64) * a.shape[1]
            ends = starts + a.shape[1]
        else:
            starts, ends = bounds(off[0].astype(xp.int64), flat.size, include_last)
        i = xp.arange(flat.size)
        m = (i >= starts[:, None]) & (i < ends[:, None])
        if padding_idx is not None:
            m &= flat != padding_idx
        m = m.astype(dtype)
        return m / xp.maximum(m.sum(1, keepdims=True), 1) if mode == "mean" else m

    bag_matrix.embedding_bag = (mode, padding_idx, include_last)
    m = nondiff(bag_matrix, *args)
    rows = getitem(weight, reshape(ids_t, (-1,)), rows=("embedding_bag", weight.shape[0]))
    if psw is not None:
        rows = mul(rows, reshape(psw, (-1, 1)))
    if mode != "max":
        return matmul(m, rows)
    if not ids.size:  # no ids at all: every bag is empty, zeros (amax has nothing to compare)
        bags = ids.shape[0] if ids.ndim == 2 else args[1].shape[0] - int(include_last)
        return Tensor(xp.zeros((bags, weight.shape[1]), dtype=dtype))
    inside = reshape(m, (*m.shape, 1)) > 0
    low = Tensor(xp.asarray(-xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min, dtype=dtype))
    top = amax(where(inside, reshape(rows, (1, *rows.shape)), low), 1)
    full = amax(m, 1, keepdim=True) > 0
    return where(full, top, Tensor(xp.zeros((), dtype=dtype)))
