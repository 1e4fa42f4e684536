"""The walk's (``graph.run_backward``) checks of a gradient that a node's backward returns for
one of its inputs, where it does not fit that input: kept here, off the common path.

A gradient of another dtype than its input's is cast to the input's dtype (mixed precision
promoted it), except where that would lose values silently: into an integer or bool input
(one given ``requires_grad = True`` by assignment, which skips ``requires_grad_``'s check: 2.5
became 2) and, from a custom Function's backward, a complex gradient into a real input (its
imaginary part), both of which PyTorch refuses. chainrule's own ops return the real part of a
complex gradient for a real input on purpose (``x * z``), so only custom Functions are checked.
"""

from __future__ import annotations

__all__ = ["cast_gradient", "integer_input_error", "shape_error"]


def cast_gradient(fn, g, d):
    """``g`` (a Tensor) cast to the dtype of the array ``d`` of ``fn``'s input."""
    if d.dtype.kind not in "fc":
        raise integer_input_error(fn, g._data.dtype, d.dtype)
    if g._data.dtype.kind == "c" and d.dtype.kind != "c" and isinstance(fn, _custom_node()):
        raise RuntimeError(
            f"{fn.user.__name__}.backward returned a complex gradient (dtype {g._data.dtype}) for "
            f"a real input of dtype {d.dtype}; return its real part (grad.real) if that is meant, "
            "as PyTorch refuses it too")
    return g.astype(d.dtype)


def integer_input_error(fn, grad_dtype, dtype) -> RuntimeError:
    """The error for a gradient of ``grad_dtype`` reaching ``fn``'s input of the integer or bool
    ``dtype`` (also ``ops/cast.py``'s, where such an input is promoted to a float)."""
    return RuntimeError(
        f"{type(fn).__name__}.backward: a gradient of dtype {grad_dtype} reached an input of dtype "
        f"{dtype} that requires grad; only floating-point and complex tensors can require "
        "gradients (was requires_grad = True assigned to an integer or bool tensor?)")


def shape_error(fn, gd, d) -> RuntimeError:
    """The error for a gradient array ``gd`` of another shape than ``fn``'s input array ``d``."""
    return RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape {gd.shape} "
                        f"for an input of shape {d.shape}")


def _custom_node():
    from .custom import _CustomNode  # custom.py needs function.py, which imports this late

    return _CustomNode
