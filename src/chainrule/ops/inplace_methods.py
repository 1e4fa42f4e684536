"""PyTorch's in-place method family (``tan_``, ``erf_``, ``eq_``, ``addcmul_``, ``random_``,
``unsqueeze_``...), and the top-level ``torch.X_`` functions (``cr.relu_``, ``cr.exp_``...).

A value-changing method computes the out-of-place op and writes it into the tensor's memory through
``autograd.inplace_record.change``: recorded while gradients are recorded and the tensor or an
argument requires grad (as in PyTorch), plain otherwise, counted either way. A result that carries
no gradient (``sign_``, ``eq_``, the random fills) overwrites the values with constants: the
earlier values then get a zero gradient, as in PyTorch. Comparisons and logical ops write 1/0 in
the tensor's own dtype.

The shape methods (``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``, ``swapaxes_``,
``swapdims_``) on a tensor computed by recorded ops are recorded as their out-of-place view op,
as in PyTorch; on a tensor that does not require grad they change its shape (a graph that read it
as a constant refuses backward, as after any change). ``resize_`` and ``resize_as_`` change only a
tensor that does not require grad (PyTorch's rule).
``as_strided_`` is not provided: it could make elements overlap, which the in-place checks cannot
follow.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.inplace_record import change, refuse_trace, reshape_in_place
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..autograd.views import shares_memory
from ..backend import get_array_module
from ._zero_d import scalar_dim
from .activation_random import celu_, relu_, rrelu_, selu_, threshold_
from .random_fills import cauchy_, exponential_, geometric_, log_normal_, random_
from .select import _index_args
from .shape import _one_axis
from .torch_math import addcdiv, addcmul
from .torch_names import divide
from .torch_scatter import index_copy, index_fill

__all__ = ["abs_", "absolute_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_",
           "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "celu_",
           "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "erf_",
           "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "i0_", "log10_",
           "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_",
           "reciprocal_", "relu_", "resize_as_", "round_", "rrelu_", "rsqrt_", "selu_",
           "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_",
           "threshold_", "trunc_", "xlogy_", "zero_"]

_UNARY = ("negative", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "tan", "sinh", "cosh",
          "asin", "acos", "atan", "arcsin", "arccos", "arctan", "erf", "erfc", "frac", "sign",
          "sgn", "absolute")


def _unary(name):
    def method(self):
        return change(self, name + "_", lambda x: getattr(x, name)())

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"``{name}`` written into this tensor (see the module docstring)."
    return method


def _binary(name, compute, doc):
    def method(self, other):
        return change(self, name, lambda x: compute(x, x if other is self else other), (other,))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


_BINARY = {
    "fmod_": (lambda x, o: x.fmod(o), "``fmod(self, other)`` in place (C's remainder)."),
    "remainder_": (lambda x, o: x.remainder(o), "``remainder(self, other)`` in place (Python's)."),
    "atan2_": (lambda x, o: x.atan2(o), "``atan2(self, other)`` in place."),
    "arctan2_": (lambda x, o: x.atan2(o), "``atan2(self, other)`` in place."),
    "hypot_": (lambda x, o: x.hypot(o), "``hypot(self, other)`` in place."),
    "floor_divide_": (lambda x, o: x.floor_divide(o), "``floor_divide(self, other)`` in place."),
    "multiply_": (lambda x, o: x * o, "``self *= other``."),
    "eq_": (lambda x, o: x.eq(o), "1 where ``self == other``, else 0, in this tensor's dtype."),
    "ne_": (lambda x, o: x.ne(o), "1 where ``self != other``, else 0."),
    "lt_": (lambda x, o: x.lt(o), "1 where ``self < other``, else 0."),
    "le_": (lambda x, o: x.le(o), "1 where ``self <= other``, else 0."),
    "gt_": (lambda x, o: x.gt(o), "1 where ``self > other``, else 0."),
    "ge_": (lambda x, o: x.ge(o), "1 where ``self >= other``, else 0."),
    "logical_and_": (lambda x, o: x.logical_and(o), "1 where both are nonzero, else 0."),
    "logical_or_": (lambda x, o: x.logical_or(o), "1 where either is nonzero, else 0."),
    "logical_xor_": (lambda x, o: x.logical_xor(o), "1 where exactly one is nonzero, else 0."),
}
_ALIASES = {"greater_": "gt_", "less_": "lt_", "greater_equal_": "ge_", "less_equal_": "le_",
            "not_equal_": "ne_"}


def logical_not_(self) -> Tensor:
    """1 where this tensor is 0, else 0, in its own dtype."""
    return change(self, "logical_not_", lambda x: x.logical_not())


def float_power_(self, exponent) -> Tensor:
    """``self ** exponent`` in float64; as in PyTorch, this tensor must be float64."""
    if self._data.dtype != "float64":
        raise RuntimeError(f"float_power_: the result has dtype float64, which cannot be written "
                           f"into this {self._data.dtype} tensor (use .double() first)")
    return change(self, "float_power_", lambda x: x.float_power(exponent), (exponent,))


def subtract_(self, other, *, alpha=1) -> Tensor:
    """``self -= alpha * other``."""
    return self.sub_(other, alpha=alpha)


def divide_(self, other, *, rounding_mode=None) -> Tensor:
    """``self /= other``; ``rounding_mode`` "trunc" or "floor" rounds the quotient as
    ``divide``'s (an integer tensor stays integer; "floor" of floats is Python's ``//``)."""
    if rounding_mode not in (None, "trunc", "floor"):
        raise ValueError(f"divide_: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    if rounding_mode is None:
        return self.div_(other)
    return change(self, "divide_", lambda x: divide(x, other, rounding_mode=rounding_mode),
                  (other,))


def addcmul_(self, tensor1, tensor2, *, value=1) -> Tensor:
    """``self += value * tensor1 * tensor2`` (float16 in float32, as ``addcmul``)."""
    if self.dtype == "float16":
        return change(self, "addcmul_", lambda x: addcmul(x, tensor1, tensor2, value=value),
                      (tensor1, tensor2))
    if isinstance(value, float) and self._data.dtype.kind in "iu":
        value = int(value)  # PyTorch's: value takes the integer dtype (2.5 is 2), as addcmul's
    return change(self, "addcmul_", lambda x: x + value * tensor1 * tensor2, (tensor1, tensor2))


def addcdiv_(self, tensor1, tensor2, *, value=1) -> Tensor:
    """``self += value * tensor1 / tensor2`` (float16 in float32, as ``addcdiv``)."""
    if self.dtype == "float16":
        return change(self, "addcdiv_", lambda x: addcdiv(x, tensor1, tensor2, value=value),
                      (tensor1, tensor2))
    return change(self, "addcdiv_", lambda x: x + value * tensor1 / tensor2, (tensor1, tensor2))


def index_fill_(self, dim, index, value) -> Tensor:
    """Set the slices ``index`` along ``dim`` to ``value`` (a number or a 0-d tensor)."""
    if scalar_dim(self, dim):  # a 0-D tensor as one axis of size 1 (PyTorch's)
        return change(self, "index_fill_", lambda x: index_fill(x, dim, index, value), (value,))
    axis = _one_axis("index_fill", dim, self.ndim)
    idx = Tensor(_index_args("index_fill_", self, axis, index, low=-1))
    return change(self, "index_fill_", lambda x: index_fill(x, axis, idx, value), (value,))


def index_copy_(self, dim, index, source) -> Tensor:
    """Replace the slices ``index`` along ``dim`` by those of ``source``."""
    if scalar_dim(self, dim):  # a 0-D tensor as one axis of size 1 (PyTorch's)
        return change(self, "index_copy_", lambda x: index_copy(x, dim, index, source), (source,))
    axis = _one_axis("index_copy", dim, self.ndim)
    idx = Tensor(_index_args("index_copy_", self, axis, index, source))
    if not isinstance(source, Tensor):
        source = Tensor(get_array_module(self._data).asarray(source))
    return change(self, "index_copy_", lambda x: index_copy(x, axis, idx, source), (source,))


def fill_diagonal_(self, fill_value, wrap: bool = False) -> Tensor:
    """Set the main diagonal (``self[i, i, ...]``) to ``fill_value``; for a tall matrix,
    ``wrap=True`` starts the diagonal again after ``columns + 1`` rows, as PyTorch and NumPy."""
    shape = self._data.shape
    if len(shape) < 2 or (len(shape) > 2 and len(set(shape)) != 1):
        raise ValueError(f"fill_diagonal_: the tensor must be 2-D, or have all dimensions of one "
                         f"length, got shape {shape}")
    xp = get_array_module(self._data)
    mask = xp.zeros(shape, dtype=bool)
    xp.fill_diagonal(mask, True, wrap=bool(wrap))
    return change(self, "fill_diagonal_", lambda x: x.masked_fill(Tensor(mask), fill_value),
                  (fill_value,))


# ---- shape: a metadata change, recorded as the view op for a tensor in a graph

def _reshape(t: Tensor, who: str, new, recorded=None):
    """Give ``t`` the shape of ``new(array)`` in place. On a tensor computed by recorded ops,
    ``recorded(x)`` (the out-of-place view op) records it: ``t`` becomes that op's output over a
    stand-in for its earlier values (``inplace_record.reshape_in_place``), as PyTorch records
    ``y.unsqueeze_(0)``. Refused: a leaf that requires grad (as in PyTorch), and any tensor that
    requires grad while nothing records."""
    refuse_trace(who)
    if t.requires_grad:
        if t._ctx is None:
            raise RuntimeError(f"{who}: a leaf tensor of shape {t.shape} that requires grad "
                               "cannot change its shape in place (as in PyTorch); use the "
                               f"out-of-place form (y = y.{who[:-1]}(...))")
        if recorded is None or not is_grad_enabled():
            raise RuntimeError(
                f"{who}: cannot resize a tensor of shape {t.shape} that requires grad (as in "
                "PyTorch)" if recorded is None else f"{who}: the tensor of shape {t.shape} "
                "requires grad, and a shape change while gradients are not recorded would leave "
                f"its node a shape it no longer has; use y = y.{who[:-1]}(...)")
        return reshape_in_place(t, who, new, recorded)
    t._data = new(t._data)
    t._mark_changed()  # a graph that read it before refuses backward
    return t


def _axis(who, dim, n):
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -n <= dim < n:
        raise IndexError(f"{who}: dim {dim!r} is out of range (expected an int in [{-n}, "
                         f"{n - 1}])")
    return int(dim) % n


def unsqueeze_(self, dim) -> Tensor:
    """Insert a dimension of size 1 at ``dim``, in place."""
    axis = _axis("unsqueeze_", dim, self.ndim + 1)
    return _reshape(self, "unsqueeze_", lambda a: get_array_module(a).expand_dims(a, axis),
                    lambda x: x.unsqueeze(axis))


def squeeze_(self, dim=None) -> Tensor:
    """Remove the dimensions of size 1 (``dim``: that one, if its size is 1), in place."""
    if dim is None:
        keep = [n for n in self.shape if n != 1]
        return _reshape(self, "squeeze_", lambda a: a.reshape(keep), lambda x: x.reshape(keep))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = {_axis("squeeze_", d, max(self.ndim, 1)) for d in dims}
    keep = [n for i, n in enumerate(self.shape) if not (i in axes and n == 1)]
    return _reshape(self, "squeeze_", lambda a: a.reshape(keep), lambda x: x.reshape(keep))


def t_(self) -> Tensor:
    """Transpose a tensor of at most 2 dimensions in place."""
    if self.ndim > 2:
        raise ValueError(f"t_: expects a tensor of at most 2 dimensions, got shape {self.shape}")
    return _reshape(self, "t_", lambda a: a.T, lambda x: x.t())


def transpose_(self, dim0, dim1) -> Tensor:
    """Swap dimensions ``dim0`` and ``dim1`` in place."""
    a0, a1 = (_axis("transpose_", d, max(self.ndim, 1)) for d in (dim0, dim1))
    return _reshape(self, "transpose_",  # a 0-D tensor takes dims 0 and -1: left as it is
                    lambda a: get_array_module(a).swapaxes(a, a0, a1) if a.ndim else a,
                    lambda x: x.transpose(a0, a1))


def resize_(self, *sizes) -> Tensor:
    """Give this tensor the shape ``sizes``: the same memory when the number of elements is kept,
    else new memory holding the old values in order, then zeros (PyTorch leaves them
    uninitialized)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if not all(isinstance(s, numbers.Integral) and s >= 0 for s in sizes):
        raise ValueError(f"resize_: sizes must be non-negative ints, got {sizes}")
    n = math.prod(sizes)

    def new(a):
        xp = get_array_module(a)
        if n == a.size:
            if not a.flags.c_contiguous:
                raise RuntimeError(f"resize_: the tensor of shape {a.shape} is not contiguous; "
                                   "call .contiguous() first")
            return a.reshape(sizes)
        if shares_memory(self):
            raise RuntimeError(f"resize_: the tensor of shape {a.shape} shares its memory with "
                               "another tensor, which a new number of elements would cut off")
        out = xp.zeros(n, dtype=a.dtype)
        keep = min(n, a.size)
        out[:keep] = a.reshape(-1)[:keep]
        return out.reshape(sizes)

    return _reshape(self, "resize_", new)


def resize_as_(self, other) -> Tensor:
    """``resize_`` to ``other``'s shape."""
    return self.resize_(*other.shape)


for _name in _UNARY:
    setattr(Tensor, _name + "_", _unary(_name))
for _name, (_compute, _doc) in _BINARY.items():
    setattr(Tensor, _name, _binary(_name, _compute, _doc))
for _name, _target in _ALIASES.items():
    setattr(Tensor, _name, getattr(Tensor, _target))
for _fn in (logical_not_, float_power_, subtract_, divide_, addcmul_, addcdiv_, fill_diagonal_,
            index_fill_, index_copy_,
            exponential_, log_normal_, cauchy_, geometric_, random_, unsqueeze_, squeeze_, t_,
            transpose_, resize_, resize_as_):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.swapaxes_ = Tensor.swapdims_ = transpose_


# ---- the top-level functions: torch.X_(input, ...) is input.X_(...)

def _function(name):
    def fn(input, *args, **kwargs):  # noqa: A002 - PyTorch's name
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor (it is changed in place), got "
                            f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(...)``: changes ``input`` in place and returns it."
    return fn


# torch.X_(input, ...) is input.X_(...), each name spelled out for the tools that read them
(abs_, absolute_, acos_, acosh_, arccos_, arccosh_, arcsin_, arcsinh_, arctan_, arctanh_, asin_,
 asinh_, atan_, atanh_, ceil_, clamp_, clamp_max_, clamp_min_, clip_, cos_, cosh_, deg2rad_, erf_,
 erfc_, exp2_, exp_, expm1_, fill_, fix_, floor_, frac_, i0_, log10_, log1p_, log2_, log_, logit_,
 nan_to_num_, neg_, negative_, rad2deg_, reciprocal_, resize_as_, round_, rsqrt_, sigmoid_, sin_,
 sinc_, sinh_, sqrt_, square_, tan_, tanh_, trunc_, xlogy_, zero_,) = (_function(_n) for _n in
 ("abs_", "absolute_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
 "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_",
 "clip_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_",
 "floor_", "frac_", "i0_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
 "negative_", "rad2deg_", "reciprocal_", "resize_as_", "round_", "rsqrt_", "sigmoid_", "sin_",
 "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",))
