"""Checks of the ordering ops' inputs (sort, max, median, unique, searchsorted, ``<``, ...).

PyTorch orders real numbers only: each of these ops refuses a complex tensor, where NumPy would
order complex numbers lexicographically (real part, then imaginary part) and give a plausible
but meaningless answer. The error type is PyTorch's: ``RuntimeError`` for the ops that PyTorch
refuses by name, ``NotImplementedError`` (a ``RuntimeError``) for those its kernels lack."""

from __future__ import annotations

__all__ = ["check_nonempty", "refuse_bool", "refuse_complex", "refuse_integer",
           "refuse_integer_pair"]

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


def refuse_bool(op: str, x, error=NotImplementedError):
    """``x``, or PyTorch's ``NotImplementedError`` for a bool tensor: ``abs``, ``floor``,
    ``ceil``, ``round``, ``trunc``, ``median``... of a mask (NumPy's would give the mask back)."""
    if getattr(getattr(getattr(x, "_data", None), "dtype", None), "kind", None) == "b":
        raise error(f"{op}: not implemented for bool tensors (got dtype bool), as in PyTorch; "
                    f"expected a numeric tensor (convert with .int() or .float() first)")
    return x


def refuse_integer(op: str, x):
    """``x``, or PyTorch's ``NotImplementedError`` for an integer or bool tensor, for the ops
    PyTorch computes in floating point only without promoting (``frac``, ``special.round``)."""
    kind = getattr(getattr(getattr(x, "_data", None), "dtype", None), "kind", None)
    if kind is not None and kind in "biu":
        raise NotImplementedError(f"{op}: not implemented for integer or bool tensors (got "
                                  f"dtype {x.dtype}), as in PyTorch; expected a floating-point "
                                  f"tensor (convert with .float() first)")
    return x


def refuse_integer_pair(op: str, a, b):
    """``(a, b)``, or PyTorch's ``NotImplementedError`` where neither is floating point or
    complex (two integer or bool tensors, or one beside a Python int): PyTorch promotes first and
    has no integer kernel (``logaddexp``); NumPy's computed in float."""
    def kind(v):
        dtype = getattr(getattr(v, "_data", v), "dtype", None)
        if dtype is not None:
            return dtype.kind
        return "f" if isinstance(v, (float, complex)) else "i"

    if kind(a) in "biu" and kind(b) in "biu":
        names = [str(getattr(v, "dtype", type(v).__name__)) for v in (a, b)]
        raise NotImplementedError(f"{op}: not implemented for integer or bool operands (got "
                                  f"{names[0]} and {names[1]}), as in PyTorch; expected a "
                                  f"floating-point tensor")
    return a, b


def check_nonempty(op: str, x, axes) -> None:
    """A max/min/argmax/median-like reduction's input: real, and no axis reduced of size 0."""
    refuse_complex(op, x)
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: cannot reduce over an axis of size 0 (shape {x.shape}, axis "
                         f"{axes})")
