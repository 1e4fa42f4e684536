"""Sparse tensors in a ``chainrule.save`` file: a COO tensor (``chainrule.sparse_coo``) as its
indices, its values and its size, a CSR or CSC matrix as its compressed and plain indices, its
values and its size, as ``torch.save`` keeps them (``torch._utils._rebuild_sparse_tensor``).

The entry is ``{"__sparse__": layout, "parts": [...], "size": [...], "coalesced": bool}``: the
parts are saved as every array is (the index arrays as NumPy arrays, the values as a Tensor;
not its ``requires_grad``, which ``torch.load`` does not keep for a sparse tensor either).
Loading rebuilds the tensor with ``sparse_coo_tensor`` or ``sparse_csr_tensor``/
``sparse_csc_tensor``, which check every invariant (indices in range, the compressed indices
from 0 to nnz), and checks that a tensor flagged coalesced is (its positions sorted, none
twice): a damaged or hand-made entry is refused, never loaded as a wrong tensor.
"""

from __future__ import annotations

from ..backend import numpy
from ..sparse import sparse_coo_tensor, sparse_csc_tensor, sparse_csr_tensor

__all__ = ["decode_sparse", "encode_sparse", "is_sparse", "rebuild_torch_sparse", "torch_layout"]

_BUILD = {
    "sparse_coo": sparse_coo_tensor,
    "sparse_csr": sparse_csr_tensor,
    "sparse_csc": sparse_csc_tensor,
}


def is_sparse(value) -> bool:
    """A chainrule sparse tensor (COO, CSR or CSC), told by the methods only they have."""
    return hasattr(value, "_nnz") and hasattr(value, "_vals")


def encode_sparse(value, where: str, encode) -> dict:
    """The entry of the sparse tensor ``value``; ``encode(x, where)`` saves one array."""
    layout = str(value.layout).rsplit(".", 1)[-1]
    vals = value._vals.detach()  # PyTorch's torch.load gives a sparse tensor no requires_grad
    if layout == "sparse_coo":
        parts = [value._idx, vals]
    else:
        parts = [value._compressed, value._plain, vals]
    return {
        "__sparse__": layout,
        "parts": [encode(p, f"{where} part {i}") for i, p in enumerate(parts)],
        "size": [int(n) for n in value.shape],
        "coalesced": bool(getattr(value, "_coalesced", False)),
    }


def decode_sparse(value, decode, damaged):
    """The sparse tensor the entry ``value`` describes; ``decode`` reads one saved part and
    ``damaged(message)`` makes the error for an entry ``save`` cannot have written."""
    layout, parts, size = value["__sparse__"], value.get("parts"), value.get("size")
    coalesced = value.get("coalesced", False)
    n_parts = 2 if layout == "sparse_coo" else 3
    if (
        layout not in _BUILD
        or not isinstance(parts, list)
        or len(parts) != n_parts
        or not isinstance(size, list)
        or not isinstance(coalesced, bool)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in size)
    ):
        raise damaged(
            f"a sparse tensor (a layout of {', '.join(_BUILD)}, {n_parts} parts, "
            "a size of dimensions >= 0)"
        )
    *indices, values = (decode(p) for p in parts)
    if not all(
        isinstance(i, numpy.ndarray) and i.dtype == numpy.int64 for i in indices
    ) or not hasattr(values, "_data"):
        raise damaged("a sparse tensor (int64 index arrays and a values Tensor)")
    try:
        if layout == "sparse_coo":
            out = sparse_coo_tensor(indices[0], values, tuple(size), is_coalesced=coalesced)
        else:
            out = _BUILD[layout](*indices, values, tuple(size))
    except (TypeError, ValueError) as err:
        raise damaged(f"a sparse tensor ({err})") from None
    if coalesced and out._nnz() > 1 and not (numpy.diff(out._flat_positions()) > 0).all():
        raise damaged("a coalesced sparse tensor (its positions are not sorted and unique)")
    return out


_TORCH_LAYOUTS = {f"torch.{name}": name for name in _BUILD}


def torch_layout(name):
    """``torch.serialization._get_layout(name)`` of a ``torch.save`` file: the layout's name."""
    if name not in _TORCH_LAYOUTS:
        raise ValueError(
            f"load: the file holds a tensor of layout {name!r}, which chainrule does "
            f"not read (it reads {', '.join(_TORCH_LAYOUTS)}); save it as a dense "
            "tensor, e.g. t.to_dense()"
        )
    return _TORCH_LAYOUTS[name]


def rebuild_torch_sparse(layout, data):
    """``torch._utils._rebuild_sparse_tensor(layout, data)`` of a ``torch.save`` file: the sparse
    tensor, every invariant checked (PyTorch checks them after loading too), no
    ``requires_grad`` (as PyTorch's)."""
    coo = layout == "sparse_coo"
    if (
        layout not in _BUILD
        or not isinstance(data, tuple)
        or len(data) not in ((3, 4) if coo else (4,))
    ):
        raise ValueError(
            f"load: the file holds a sparse tensor this reader does not know "
            f"(layout {layout!r}, {type(data).__name__} data); the file is damaged"
        )
    *indices, values, size = data[:3] if coo else data
    flag = data[3] if coo and len(data) == 4 else None
    if (
        not all(hasattr(i, "_data") and i._data.dtype == numpy.int64 for i in indices)
        or not hasattr(values, "_data")
        or flag not in (None, True, False)
    ):
        raise ValueError(
            "load: the file holds a sparse tensor whose parts are not int64 index "
            "tensors and a values tensor; the file is damaged"
        )
    values = values.detach()
    try:
        if coo:
            out = sparse_coo_tensor(indices[0]._data, values, tuple(size), is_coalesced=flag)
        else:
            out = _BUILD[layout](*(i._data for i in indices), values, tuple(size))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"load: the file holds a sparse tensor whose invariants fail ({err}); "
            "the file is damaged"
        ) from None
    if flag and out._nnz() > 1 and not (numpy.diff(out._flat_positions()) > 0).all():
        raise ValueError(
            "load: the file holds a sparse tensor flagged coalesced whose positions "
            "are not sorted and unique; the file is damaged"
        )
    return out
