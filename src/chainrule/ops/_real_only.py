"""Checks of the ordering ops' inputs (sort, max, median, unique, searchsorted, ``<``, ...).

PyTorch orders real numbers only: each of these ops refuses a complex tensor, where NumPy would
order complex numbers lexicographically (real part, then imaginary part) and give a plausible
but meaningless answer. The error type is PyTorch's: ``RuntimeError`` for the ops that PyTorch
refuses by name, ``NotImplementedError`` (a ``RuntimeError``) for those its kernels lack."""

from __future__ import annotations

__all__ = ["check_nonempty", "refuse_complex"]

# the ops PyTorch refuses with a RuntimeError (the others: "... not implemented for 'Complex...'")
_RUNTIME = frozenset({"sort", "argsort", "msort", "topk", "argmax", "argmin", "maximum",
                      "minimum", "fmax", "fmin", "isin"})


def _is_complex(x) -> bool:
    if isinstance(x, complex):
        return True
    dtype = getattr(getattr(x, "_data", x), "dtype", None)
    return getattr(dtype, "kind", None) == "c"


def refuse_complex(op: str, *args):
    """``args`` unchanged, or PyTorch's error if one is a complex tensor (or number)."""
    for x in args:
        if _is_complex(x):
            got = f"dtype {x.dtype}" if hasattr(x, "dtype") else f"the complex number {x!r}"
            error = RuntimeError if op in _RUNTIME else NotImplementedError
            raise error(f"{op}: does not support complex input (got {got}); expected a real "
                        "(floating-point, integer or bool) tensor, as PyTorch: complex numbers "
                        "have no order")
    return args


def check_nonempty(op: str, x, axes) -> None:
    """A max/min/argmax/median-like reduction's input: real, and no axis reduced of size 0."""
    refuse_complex(op, x)
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: cannot reduce over an axis of size 0 (shape {x.shape}, axis "
                         f"{axes})")
