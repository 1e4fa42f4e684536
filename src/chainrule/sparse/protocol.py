"""The Python protocols of the sparse classes, as PyTorch's sparse tensors answer them:
comparisons (``==``, ``!=``, ``<``, ...), ``bool(s)``, ``len(s)``, ``s[i]`` and iteration.

Before, a SparseTensor had none of them, so ``s == s2`` and ``s != s2`` fell back to Python's
identity test (``s == s.clone()`` was False, a silent wrong answer to an elementwise
question) and ``bool(s)`` was always True. PyTorch 2.13 has no elementwise comparison of a
sparse tensor (COO: NotImplementedError, CSR: "unsupported tensor layout"): here each is a
TypeError that names the dense way. A comparison with something that is not a number or a
tensor (``s == None``) is False, as PyTorch's.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor
from .tensor import _describe

__all__ = ["attach"]

_OPS = {
    "__eq__": "==",
    "__ne__": "!=",
    "__lt__": "<",
    "__le__": "<=",
    "__gt__": ">",
    "__ge__": ">=",
}


def _comparison(name, symbol):
    def compare(self, other):
        if not isinstance(other, (numbers.Number, Tensor)) and not hasattr(other, "_nnz"):
            return NotImplemented  # s == None, s == "a": Python's identity answer (False)
        raise TypeError(
            f"{type(self).__name__} {symbol} other: a sparse tensor ({self.layout}, shape "
            f"{tuple(self.shape)}) has no elementwise comparison (PyTorch's raises too), got "
            f"other = {_describe(other)}; compare the dense forms, s.to_dense() {symbol} "
            "other.to_dense(), or test identity with `is`"
        )

    compare.__name__ = name
    return compare


def _bool(self):
    """``bool(s)``: the truth of its one element, as PyTorch's; ambiguous otherwise."""
    n = self.numel()
    if n != 1:
        raise RuntimeError(
            f"the truth value of a sparse tensor with {n} elements (shape "
            f"{tuple(self.shape)}) is ambiguous; use .to_dense().any() or .all()"
        )
    return bool(self.to_dense().item())


def _len(self):
    return self.shape[0]


def _getitem(self, key):
    """``s[i]``, ``s[i, j]``: integers (or 0-d integer Tensors) select along the leading axes,
    as PyTorch's ``select``; once no sparse axis is left the result is dense."""
    keys = key if isinstance(key, tuple) else (key,)
    for k in keys:
        if not _is_int(k):
            raise IndexError(
                f"SparseTensor[...]: only integer indices are taken (PyTorch's "
                f"select along each leading axis), got {_describe(k)}; use "
                "index_select or narrow_copy, or index s.to_dense()"
            )
    if len(keys) > self.ndim:
        raise IndexError(
            f"SparseTensor[...]: too many indices ({len(keys)}) for a tensor of "
            f"shape {tuple(self.shape)}"
        )
    out = self
    for k in keys:
        out = out.select(0, k)
    return out


def _is_int(k) -> bool:
    if isinstance(k, Tensor):
        return k.ndim == 0 and k.dtype.kind in "iu"
    return isinstance(k, numbers.Integral) and not isinstance(k, bool)


def _iter(self):
    for i in range(self.shape[0]):
        yield self[i]


def attach(cls, *, indexing: bool) -> None:
    for name, symbol in _OPS.items():
        setattr(cls, name, _comparison(name, symbol))
    cls.__hash__ = object.__hash__  # by identity, as PyTorch's (an optimizer's state keys)
    cls.__bool__ = _bool
    cls.__len__ = _len
    if indexing:
        cls.__getitem__ = _getitem
        cls.__iter__ = _iter
