"""Elementwise arithmetic with NumPy broadcasting: each op's forward and backward side by side.

Backward rules are written with chainrule ops on ``self.inputs`` / ``self.output`` so that they can
be differentiated again. ``sum_to`` undoes broadcasting.
"""

from __future__ import annotations

from ..autograd.function import Function, OutputOnly, nondiff
from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor
from ..backend import MetaArray, bool_condition, get_array_module, quiet
from . import _promotion as _pr
from . import _wide
from ._conj import cj
from ._promotion import _check_broadcast, as_dtype, comparison, float_operand, result_type  # noqa: F401
from ._promotion import binary as _binary
from ._real_only import refuse_bool, refuse_complex
from ._sign import sign_array
from .cast import Cast, ToDevice, cast, to_device_op  # noqa: F401 - their home was this module
from .shape import sum_to

__all__ = ["abs", "add", "cast", "clip", "div", "exp", "log", "maximum", "minimum", "mul", "neg",
           "pow", "cos", "sign", "sin", "sqrt", "sub", "to_device_op", "where"]


def fill_where(mask, value, x):
    """``x`` with ``value`` where the boolean array ``mask`` is True (recorded, so differentiable
    again): 0 in a gradient where no gradient goes, 1 as a harmless stand-in operand there.

    Masking rather than multiplying by 0 keeps an infinite or nan ``x`` out of positions that
    receive no gradient, as PyTorch's backward formulas do."""
    xp = get_array_module(mask)
    mask = xp.asarray(mask)
    if not mask.any():
        return x
    return Where.apply(Tensor(mask), Tensor(xp.asarray(value, dtype=x.dtype)), x)


class Add(Function):
    complex_grad = True
    reads_inputs = False

    def forward(self, a, b):
        return get_array_module(a, b).add(a, b)

    def backward(self, g):
        a, b = self.inputs
        return sum_to(g, a.shape), sum_to(g, b.shape)


class Sub(Function):
    complex_grad = True
    reads_inputs = False

    def forward(self, a, b):
        return get_array_module(a, b).subtract(a, b)

    def backward(self, g):
        a, b = self.inputs
        return sum_to(g, a.shape), sum_to(-g, b.shape) if self.needs_input_grad[1] else None


class Mul(Function):
    complex_grad, reads_output = True, False  # cj: a complex factor's conjugate (real: itself)
    # backward reads each factor only for the other's gradient, never the product
    reads_inputs = staticmethod(lambda fn: [1 - o for o in (0, 1) if fn.needs_input_grad[o]])

    def forward(self, a, b):
        return get_array_module(a, b).multiply(a, b)

    def backward(self, g):
        a, b = self.inputs
        ga = sum_to(g * cj(b), a._data.shape) if self.needs_input_grad[0] else None
        gb = sum_to(g * cj(a), b._data.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    complex_grad = True
    reads_inputs = staticmethod(lambda fn: (1,))  # b for either gradient, never a

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        ga = sum_to(g / cj(b), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-g * cj(self.output) / cj(b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    complex_grad = True

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Pow(Function):
    """x ** p; p may be a constant or a tensor that requires grad (then d/dp = x**p log x).

    As in PyTorch, d/dx is 0 where p == 0 and d/dp is 0 where x == 0 and p >= 0 (the formulas
    would give 0 * inf = nan there: x**p is the constant 1, or 0 for every p > 0). PyTorch masks
    the whole product g * d/dx but only the factor d/dp (an infinite g gives nan there): so here.
    """

    complex_grad = True

    def forward(self, x, p):
        return _pr.integer_power(x, p)

    def backward(self, g):
        x, p = self.inputs
        gx = gp = None
        if self.needs_input_grad[0]:
            const = p._data == 0  # masked, and given exponent 1 (no 0 ** -1 to warn about)
            gx = sum_to(fill_where(const, 0, g) * cj(p) * cj(x ** (fill_where(const, 1, p) - 1)),
                        x.shape)
        if self.needs_input_grad[1]:
            flat = (x._data == 0) & (p._data.real >= 0)  # likewise with log(1) for log(0)
            # the derivative is masked, not g: an infinite g gives nan there, as in PyTorch
            gp = sum_to(g * fill_where(flat, 0, cj(self.output) * cj(log(fill_where(flat, 1, x)))),
                        p.shape)
        return gx, gp


class Exp(OutputOnly):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).exp(x)

    def backward(self, g):
        return g * cj(self.output)


class Log(Function):
    complex_grad = True

    def forward(self, x):  # log(0) = -inf without a warning, as in PyTorch: log(tril(ones)) masks
        with quiet(xp := get_array_module(x)):
            return xp.log(x)

    def backward(self, g):
        return g / cj(self.inputs[0])


class Sin(Function):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).sin(x)

    def backward(self, g):
        return g * cj(cos(self.inputs[0]))


class Cos(Function):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).cos(x)

    def backward(self, g):
        return -(g * cj(sin(self.inputs[0])))


class Sqrt(OutputOnly):
    complex_grad = True

    def forward(self, x):
        return get_array_module(x).sqrt(x)

    def backward(self, g):
        return g / (2 * cj(self.output))


class Abs(Function):
    """|x|; its derivative sign(x) is taken as 0 at x = 0 and at NaN (as in PyTorch). For a
    complex x the gradient is g * x / |x| (0 at 0, PyTorch's ``sgn``)."""

    complex_grad = True

    def forward(self, x):
        return get_array_module(x).abs(x)

    def backward(self, g):
        x = self.inputs[0]._data
        if x.dtype.kind == "c":
            zero = x == 0
            return fill_where(zero, 0, g * self.inputs[0] / fill_where(zero, 1, self.output))
        # sign(nan) is nan in NumPy, 0 in PyTorch's gradient (sgn): a NaN x gets g * 0
        xp = get_array_module(x)
        grad = g * xp.nan_to_num(xp.sign(x), nan=0.0)
        if self.inputs[0].requires_grad and is_grad_enabled():  # recorded: x stays in the graph
            from .activation import _kept  # with a zero derivative (PyTorch's sgn(x) term)

            grad = _kept(grad, self.inputs[0])
        return grad


class Clip(Function):
    """Clamp to [low, high]; the gradient passes where the input was inside it (ends included)."""

    def forward(self, x):
        return get_array_module(x).clip(x, self.low, self.high)

    def backward(self, g):
        x = self.inputs[0]._data
        mask = get_array_module(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            mask &= x >= self.low
        if self.high is not None:
            mask &= x <= self.high
        return fill_where(~mask, 0, g)


class Where(Function):
    complex_grad = True

    def forward(self, cond, a, b):
        return get_array_module(a, b).where(cond, a, b)

    def backward(self, g):
        cond, a, b = self.inputs
        c = cond._data
        ga = sum_to(fill_where(~c, 0, g), a.shape) if self.needs_input_grad[1] else None
        gb = sum_to(fill_where(c, 0, g), b.shape) if self.needs_input_grad[2] else None
        return None, ga, gb


class _Extremum(Function):
    """maximum/minimum; at ties the gradient is split evenly between both inputs, and where either
    is NaN (the output is NaN) both take all of it, as in PyTorch."""

    def forward(self, a, b):
        xp = get_array_module(a, b)
        return xp.maximum(a, b) if self.largest else xp.minimum(a, b)

    def backward(self, g):
        a, b = self.inputs
        xp = get_array_module(a._data, b._data)
        loses_a = (a._data < b._data) if self.largest else (a._data > b._data)
        loses_b = (a._data > b._data) if self.largest else (a._data < b._data)
        share = xp.where(a._data == b._data, xp.asarray(0.5, g.dtype), xp.asarray(1, g.dtype))
        # The loser's share is masked, not multiplied by 0: an infinite g must not give it nan.
        ga = (sum_to(fill_where(loses_a, 0, g) * share, a.shape) if self.needs_input_grad[0]
              else None)
        gb = (sum_to(fill_where(loses_b, 0, g) * share, b.shape) if self.needs_input_grad[1]
              else None)
        return ga, gb


def add(input, other, *, alpha=1):  # noqa: A002
    """input + alpha * other with broadcasting (``alpha`` is PyTorch's keyword)."""
    other = other if alpha == 1 and alpha is not True else _pr.scaled("add", input, other, alpha)
    input, other = _binary("add", input, other)  # noqa: A001
    return Add.apply(input, other)


def sub(input, other, *, alpha=1):  # noqa: A002
    """input - alpha * other with broadcasting (``alpha``: PyTorch's); a bool counts as 1 (NumPy's
    rule; PyTorch refuses it: docs/pytorch.md)."""
    other = other if alpha == 1 and alpha is not True else _pr.scaled("sub", input, other, alpha)
    input, other = _binary("sub", input, other)  # noqa: A001
    return Sub.apply(input, other)


def mul(input, other):  # noqa: A002
    """input * other (elementwise) with broadcasting."""
    try:
        input, other = _binary("mul", input, other, opmath=True)  # noqa: A001
    except _pr.InFloat32:
        return _wide.call_in_float32(mul, (input, other), {})
    return Mul.apply(input, other)


def div(input, other):  # noqa: A002
    """input / other (true division, so integers give the default float dtype) with
    broadcasting."""
    try:
        input, other = _binary("div", input, other, int_to_float=True, opmath=True)  # noqa: A001
    except _pr.InFloat32:
        return _wide.call_in_float32(div, (input, other), {})
    return Div.apply(input, other)


def neg(input):  # noqa: A002
    """-input."""
    return Neg.apply(input)


def pow(input, exponent):  # noqa: A001, A002 - mirrors the operator and torch.pow
    """input ** exponent with broadcasting; ``exponent`` may be a number or a tensor."""
    given = _pr.checked_exponent(input, exponent)  # PyTorch's error for int_tensor ** -1
    input, exponent = _binary("pow", input, exponent)  # noqa: A001
    if input.dtype.kind == "b":  # PyTorch: bool (NumPy's int8) to a Python bool power, only
        if not isinstance(given, bool):
            raise NotImplementedError("pow: not implemented for two bool tensors, as in PyTorch "
                                      "(cast one to an integer dtype first)")
        return cast(Pow.apply(input, exponent), input.dtype)
    return Pow.apply(input, exponent)


def exp(input):  # noqa: A002
    """e ** input."""
    return Exp.apply(float_operand(input))


def log(input):  # noqa: A002
    """Natural logarithm."""
    return Log.apply(float_operand(input))


def sin(input):  # noqa: A002
    """Elementwise sine (radians)."""
    return Sin.apply(float_operand(input))


def cos(input):  # noqa: A002
    """Elementwise cosine (radians)."""
    return Cos.apply(float_operand(input))


def sqrt(input):  # noqa: A002
    """Square root."""
    return Sqrt.apply(float_operand(input))


def abs(input):  # noqa: A001, A002
    """|input|."""
    return Abs.apply(refuse_bool("abs", input))


def sign(input):  # noqa: A002
    """Sign of input (-1, 0 or 1; 0 at NaN, as PyTorch's); not differentiable (a constant)."""
    if input._data.dtype.kind == "c":  # PyTorch's refusal; NumPy's is z / |z|, torch.sgn's
        raise TypeError("sign: not defined for complex tensors (as PyTorch's); use sgn, z / |z|")
    if input._data.dtype == bool:  # PyTorch's: a bool tensor is its own sign
        return nondiff(lambda a: a.copy(), input)
    return nondiff(sign_array, input)


def clip(input, min=None, max=None, *, low=None, high=None):  # noqa: A002 - PyTorch's names
    """Clamp ``input`` to ``[min, max]`` (either bound may be None), as ``torch.clip``/``clamp``;
    ``low`` and ``high`` are other names for the bounds. Where ``min > max`` every entry is
    ``max`` (PyTorch's documented rule: ``min(max(x, min), max)``)."""
    if low is not None or high is not None:
        if min is not None or max is not None:
            raise TypeError("clip: give min/max or low/high, not both")
        min, max = low, high  # noqa: A001
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    min, max = _pr.plain_numbers(*_pr.refuse_complex("clip", input, min, max)[1:])  # noqa: A001
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        from ._clamp import clamp_bounds  # builds on this module: imported when first needed

        return clamp_bounds(input, min, max)
    if isinstance(input, Tensor) and input._data.dtype.kind in "biu":  # float bound: float32
        bounds = [b for b in (min, max) if b is not None]
        input = as_dtype(input, result_type(input, *bounds))  # noqa: A001
    return Clip.apply(input, low=min, high=max)


def where(condition, input=None, other=None):  # noqa: A002
    """Elementwise ``input if condition else other`` with broadcasting; ``condition`` is not
    differentiated. ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``, as in
    PyTorch."""
    if input is None and other is None:
        from .select import nonzero

        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither (where(condition) is "
                        "nonzero(condition, as_tuple=True))")
    given = condition
    if isinstance(condition, Tensor):
        condition = condition._data
    xp = get_array_module(condition, getattr(input, "data", None), getattr(other, "data", None))
    condition = condition if type(condition) is MetaArray else xp.asarray(condition)
    if condition.dtype != bool:  # a uint8 one is PyTorch's deprecated mask, others an error
        condition = bool_condition("where", condition)
    input, other = _binary("where", input, other)  # noqa: A001
    if isinstance(given, Tensor) and given._data is condition:
        condition = given  # the Tensor itself: a trace (cr.trace) follows where it came from
    return Where.apply(condition, input, other)


def maximum(input, other):  # noqa: A002
    """Elementwise maximum with broadcasting."""
    input, other = _binary("maximum", *refuse_complex("maximum", input, other))  # noqa: A001
    return _Extremum.apply(input, other, largest=True)


def minimum(input, other):  # noqa: A002
    """Elementwise minimum with broadcasting."""
    input, other = _binary("minimum", *refuse_complex("minimum", input, other))  # noqa: A001
    return _Extremum.apply(input, other, largest=False)


def _reflected(op):
    return lambda self, other: op(other, self)


Tensor.__add__ = add
Tensor.__radd__ = _reflected(add)
Tensor.__sub__ = sub
Tensor.__rsub__ = _reflected(sub)
Tensor.__mul__ = mul
Tensor.__rmul__ = _reflected(mul)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _reflected(div)
Tensor.__pow__ = pow
Tensor.__rpow__ = _reflected(pow)
Tensor.__neg__ = neg
Tensor.__abs__ = abs
for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(Tensor, _name, comparison(_name))
for _name, _fn in {"exp": exp, "log": log, "sqrt": sqrt, "sin": sin, "cos": cos, "abs": abs,
                   "sign": sign, "clip": clip, "clamp": clip}.items():
    setattr(Tensor, _name, _fn)
