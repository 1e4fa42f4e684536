"""Type promotion against PyTorch: every pair of dtypes, as dimensioned tensors, 0-d tensors and
Python numbers, through the arithmetic ops, their operators and in-place forms; result dtypes and
values must match torch's (torch.result_type's three groups, see autograd/promotion.py)."""

import math
import operator
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
          "complex64", "complex128"]
SCALARS = [True, 2, 2.5, 2 + 1j]


def _value(dtype, first):
    """A small value of ``dtype`` that divides without zero and stays in every integer range."""
    if dtype == "bool":
        return True
    base = 3 if first else 2
    return base + (0.5j if dtype.startswith("complex") else 0)


def _pair(name, dims, first):
    v = np.full((2,) if dims else (), _value(name, first), dtype=name)
    return cr.Tensor(v.copy()), torch.from_numpy(v.copy())


def _cases():
    """(label, chainrule operands, torch operands) for every combination of the groups."""
    for a in DTYPES:
        for dims_a in (True, False):
            ca, ta = _pair(a, dims_a, True)
            for b in DTYPES:
                for dims_b in (True, False):
                    cb, tb = _pair(b, dims_b, False)
                    yield f"{a}{'[2]' if dims_a else '[]'} {b}{'[2]' if dims_b else '[]'}", \
                        (ca, cb), (ta, tb)
            for s in SCALARS:
                yield f"{a}{'[2]' if dims_a else '[]'} {s!r}", (ca, s), (ta, s)


def _expected_dtype(t):
    """The NumPy name of a torch tensor's (or dtype's) dtype; NumPy has no complex32."""
    name = str(getattr(t, "dtype", t)).split(".")[1]
    return "complex64" if name == "complex32" else name


def _compare(op_name, cr_op, torch_op, cases=None, *, refusals_ok=False):
    """The labels of the cases where chainrule's dtype or values differ from torch's; cases
    torch refuses are skipped, and so are those chainrule refuses where ``refusals_ok``."""
    bad, compared = [], 0
    for label, cargs, targs in cases or _cases():
        try:
            with warnings.catch_warnings():  # torch's note that complex32 is experimental
                warnings.simplefilter("ignore")
                want = torch_op(*targs)
        except (RuntimeError, TypeError, ValueError, ZeroDivisionError):
            continue
        if "complex32" in str(want.dtype):
            want = want.to(torch.complex64)
        try:
            got = cr_op(*cargs)
        except Exception as e:  # noqa: BLE001 - reported with the case
            if not refusals_ok:
                bad.append(f"{op_name} {label}: raised {e!r}")
            continue
        compared += 1
        if got.dtype.name != _expected_dtype(want):
            bad.append(f"{op_name} {label}: {got.dtype.name}, torch {want.dtype}")
            continue
        tol = 2e-3 if "16" in got.dtype.name or "complex" in got.dtype.name else 1e-6
        w = want.numpy() if want.dtype != torch.bool else want.numpy().astype(bool)
        if not np.allclose(got.numpy(), w, rtol=tol, atol=tol, equal_nan=True):
            bad.append(f"{op_name} {label}: values {got.numpy()} vs {w}")
    assert compared >= 10, op_name  # the skips did not empty the check
    return bad


BINARY = {
    "add": (cr.add, torch.add), "sub": (cr.sub, torch.sub), "mul": (cr.mul, torch.mul),
    "div": (cr.div, torch.div), "floor_divide": (cr.floor_divide, torch.floor_divide),
    "remainder": (cr.remainder, torch.remainder), "fmod": (cr.fmod, torch.fmod),
    "pow": (cr.pow, torch.pow), "maximum": (cr.maximum, torch.maximum),
    "minimum": (cr.minimum, torch.minimum), "atan2": (cr.atan2, torch.atan2),
    "hypot": (cr.hypot, torch.hypot), "copysign": (cr.copysign, torch.copysign),
    "xlogy": (cr.xlogy, torch.xlogy), "fmax": (cr.fmax, torch.fmax),
    "fmin": (cr.fmin, torch.fmin),
    "div_floor": (lambda a, b: cr.div(a, b, rounding_mode="floor"),
                  lambda a, b: torch.div(a, b, rounding_mode="floor")),
    "div_trunc": (lambda a, b: cr.div(a, b, rounding_mode="trunc"),
                  lambda a, b: torch.div(a, b, rounding_mode="trunc")),
    "eq": (cr.eq, torch.eq), "lt": (cr.lt, torch.lt),
    "where": (lambda a, b: cr.where(cr.tensor([True, False]), a, b),
              lambda a, b: torch.where(torch.tensor([True, False]), a, b)),
    "clamp": (lambda a, b: cr.clamp(a, b), lambda a, b: torch.clamp(a, b)),
    "outer": (lambda a, b: cr.outer(a, b), lambda a, b: torch.outer(a, b)),
    "addcmul": (lambda a, b: cr.addcmul(cr.ones(2, dtype=cr.int16), a, b),
                lambda a, b: torch.addcmul(torch.ones(2, dtype=torch.int16), a, b)),
    "logaddexp": (cr.logaddexp, torch.logaddexp), "nextafter": (cr.nextafter, torch.nextafter),
    "igamma": (cr.igamma, torch.igamma), "gcd": (cr.gcd, torch.gcd),
    "bitwise_and": (cr.bitwise_and, torch.bitwise_and),
    "bitwise_left_shift": (cr.bitwise_left_shift, torch.bitwise_left_shift),
}


# chainrule refuses some dtypes these take (bool shifts and gcd, float16 igamma and nextafter,
# complex logaddexp): a refusal is no silent drift, so only the cases both compute are compared.
_REFUSES_MORE = {"bitwise_left_shift", "gcd", "igamma", "logaddexp", "nextafter", "<<"}


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_promote_as_torch(name):
    cr_op, torch_op = BINARY[name]
    assert _compare(name, cr_op, torch_op, refusals_ok=name in _REFUSES_MORE) == []


OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<": operator.lt,
    "==": operator.eq, "&": operator.and_, "^": operator.xor, "<<": operator.lshift,
}


@pytest.mark.kernel_free
@pytest.mark.parametrize("symbol", sorted(OPERATORS))
def test_operators_both_ways_round_promote_as_torch(symbol):
    op = OPERATORS[symbol]
    scalar_cases = [c for c in _cases() if not hasattr(c[1][1], "dtype")]
    lenient = symbol in _REFUSES_MORE
    assert _compare(symbol, op, op, refusals_ok=lenient) == []
    reflected = [(f"reflected {label}", (cb, ca), (tb, ta))
                 for label, (ca, cb), (ta, tb) in scalar_cases]
    assert _compare("r" + symbol, op, op, reflected, refusals_ok=lenient) == []


@pytest.mark.kernel_free
@pytest.mark.parametrize("method", ["add_", "sub_", "mul_", "div_"])
def test_in_place_computes_promoted_and_refuses_a_lower_category(method):
    bad = []
    for label, (ca, cb), (ta, tb) in _cases():
        if ca.ndim == 0 and getattr(cb, "ndim", 0):  # the result would not fit the 0-d tensor
            continue
        ca, ta = ca.clone(), ta.clone()
        try:
            getattr(ta, method)(tb)
        except RuntimeError as e:
            if "can't be cast" not in str(e):
                continue
            with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
                getattr(ca, method)(cb)
            continue
        except (TypeError, ValueError):
            continue
        getattr(ca, method)(cb)
        if ca.dtype.name != _expected_dtype(ta) or not np.allclose(
                ca.numpy(), ta.numpy(), rtol=2e-3, atol=2e-3):
            bad.append(f"{method} {label}: {ca.dtype} {ca.numpy()} vs {ta.numpy()}")
    assert bad == []


@pytest.mark.kernel_free
def test_in_place_error_is_pytorchs():
    x = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        x.add_(1.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        x /= 2
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        x.sqrt_()
    with pytest.raises(RuntimeError, match="result type ComplexFloat can't be cast to the "
                                           "desired output type Float"):
        cr.ones(2).add_(1j)
    assert x.tolist() == [1, 2]


UNARY = ["sqrt", "exp", "log", "sin", "cos", "tanh", "sigmoid", "erf", "erfc", "rsqrt", "expm1",
         "log1p", "log2", "log10", "exp2", "tan", "atan", "asin", "acos", "sinh", "cosh", "asinh",
         "acosh", "atanh", "lgamma", "digamma", "erfinv", "sinc", "deg2rad"]


@pytest.mark.kernel_free
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64"])
def test_float_functions_of_integers_give_the_default_dtype(dtype):
    v = np.array([0, 1], dtype=dtype)
    for name in UNARY:
        want = getattr(torch, name)(torch.from_numpy(v))
        got = getattr(cr, name)(cr.Tensor(v))
        assert got.dtype.name == _expected_dtype(want), name
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, err_msg=name)
        assert getattr(cr.Tensor(v), name)().dtype == cr.float32, name
    with DefaultDtype(cr.float64):
        assert cr.sqrt(cr.Tensor(v)).dtype == cr.float64


class DefaultDtype:
    def __init__(self, dtype):
        self.dtype, self.old = dtype, cr.get_default_dtype()

    def __enter__(self):
        cr.set_default_dtype(self.dtype)

    def __exit__(self, *exc):
        cr.set_default_dtype(self.old)


@pytest.mark.kernel_free
def test_result_type_and_promote_types_are_torchs():
    bad = []
    for label, cargs, targs in _cases():
        want = _expected_dtype(torch.result_type(*targs))
        if cr.result_type(*cargs).name != want:
            bad.append(f"result_type {label}: {cr.result_type(*cargs)}, torch {want}")
    for a in DTYPES:
        for b in DTYPES:
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            got = cr.promote_types(getattr(cr, a), getattr(cr, b))
            if got.name != _expected_dtype(want):
                bad.append(f"promote_types {a} {b}: {got}, torch {want}")
    assert bad == []
    with DefaultDtype(cr.float64):
        assert cr.result_type(cr.tensor([1, 2]), 2.5) == cr.float64
        assert cr.result_type(cr.tensor([1, 2]), 1j) == cr.complex128


@pytest.mark.kernel_free
def test_the_listed_numpy_drifts_follow_torch():
    i64, f32 = cr.tensor([1, 2, 3]), cr.ones(3)
    assert (i64 * 2.5).dtype == cr.float32
    assert (f32 + cr.tensor(1.0, dtype=cr.float64)).dtype == cr.float32
    assert (cr.tensor([1, 2], dtype=cr.int32) + cr.tensor(3)).dtype == cr.int32
    assert (i64 / i64).dtype == (i64 / 2).dtype == (i64 // 2.0).dtype == cr.float32
    assert (cr.ones(2, dtype=cr.float16) + cr.tensor(1.0)).dtype == cr.float16
    assert (i64 + cr.tensor(1.0)).dtype == (i64 ** 0.5).dtype == i64.sqrt().dtype == cr.float32
    assert (cr.tensor([1, 2], dtype=cr.uint8) + cr.tensor([1, 2], dtype=cr.int8)).dtype == cr.int16


def test_positional_encoding_is_float32():
    d = 8
    ours = cr.exp(cr.arange(0, d, 2) * (-math.log(10000.0) / d))
    theirs = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    assert ours.dtype == cr.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    pe = cr.zeros(5, d)
    pe[:, 0::2] = cr.sin(cr.arange(5).unsqueeze(1) * ours)
    assert (pe @ cr.ones(d, 3)).dtype == cr.float32  # no float32 @ float64


@pytest.mark.kernel_free
@pytest.mark.parametrize("op", [operator.add, operator.mul, operator.truediv, operator.sub,
                                operator.pow, cr.maximum, cr.atan2, cr.hypot])
def test_gradients_come_back_in_each_inputs_dtype(op):
    for other_shape in ((), (3,)):
        x = cr.tensor([0.5, 1.5, 2.0], requires_grad=True)
        y = cr.Tensor(np.full(other_shape, 0.75), requires_grad=True)
        tx = torch.tensor([0.5, 1.5, 2.0], requires_grad=True)
        ty = torch.full(other_shape, 0.75, dtype=torch.float64, requires_grad=True)
        top = getattr(torch, op.__name__, op) if op in (cr.maximum, cr.atan2, cr.hypot) else op
        out, tout = op(x, y), top(tx, ty)
        assert out.dtype.name == _expected_dtype(tout)
        out.sum().backward()
        tout.sum().backward()
        assert x.grad.dtype == cr.float32 and y.grad.dtype == cr.float64
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5)
        np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-5)


@pytest.mark.kernel_free
def test_gradcheck_through_a_promoting_op():
    x = cr.Tensor(np.array([0.5, 1.5]), requires_grad=True)
    k = cr.tensor([1, 2])
    assert cr.autograd.gradcheck(lambda a: a * k + k / 3 + a ** 2, (x,))


@pytest.mark.kernel_free
def test_same_dtype_tensors_pass_untouched():
    x, y = cr.ones(3, requires_grad=True), cr.ones(3)
    assert type((x + y).grad_fn).__name__ == "Add"
    assert (x + y).grad_fn.next_functions[0][0].variable is x


@pytest.mark.kernel_free
def test_numpy_scalars_count_as_python_numbers():
    f16, i32 = cr.ones(2, dtype=cr.float16), cr.tensor([1, 2], dtype=cr.int32)
    assert (cr.ones(2) * np.float64(2.5)).dtype == cr.float32
    assert (f16 * np.float32(2)).dtype == cr.float16
    assert (i32 * np.int64(2)).dtype == cr.int32
    assert (i32 * np.float64(0.5)).dtype == cr.float32


@pytest.mark.kernel_free
def test_recorded_in_place_change_keeps_the_dtype_and_the_gradient():
    x = cr.ones(3, requires_grad=True)
    y = x * 1
    y.add_(cr.tensor(2.0, dtype=cr.float64, requires_grad=True))
    assert y.dtype == cr.float32
    y.sum().backward()
    assert x.grad.dtype == cr.float32 and x.grad.tolist() == [1.0, 1.0, 1.0]
    z = x * 1
    with pytest.raises(RuntimeError, match="ComplexFloat can't be cast"):
        z.mul_(1j)


@pytest.mark.kernel_free
def test_operands_that_are_not_tensors_arrays_or_numbers_are_refused():
    # NumPy would make an object array of them, or NaN of None: `t * None` was a float tensor
    t = cr.ones(2, 2)
    for other in (None, "ab", {1: 2}, object()):
        for op in (lambda a, b: a * b, lambda a, b: a + b, lambda a, b: b - a, cr.maximum,
                   lambda a, b: a / b, lambda a, b: a ** b):
            with pytest.raises(TypeError, match="expected Tensors, arrays or numbers, got "
                                                f"{type(other).__name__}"):
                op(t, other)
    assert (t * [1, 2]).tolist() == [[1, 2], [1, 2]]  # a list is data, as NumPy reads it
    s = cr.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2))
    with pytest.raises(TypeError, match="got SparseTensor .*only \\+ and - take one"):
        t * s
    assert (s + t).tolist() == (t + s).tolist() == [[1, 2], [3, 1]]


@pytest.mark.kernel_free
@pytest.mark.torch
def test_cat_and_stack_promote_as_pytorchs():
    torch = pytest.importorskip("torch")
    dtypes = ("bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64")
    for first in dtypes:
        for second in dtypes:
            for join in ("cat", "stack"):
                ours = getattr(cr, join)([cr.ones(2, dtype=first), cr.zeros(2, dtype=second)])
                theirs = getattr(torch, join)([torch.ones(2, dtype=getattr(torch, first)),
                                               torch.zeros(2, dtype=getattr(torch, second))])
                assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), \
                    (join, first, second)
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = cr.ones(2, dtype="float32", requires_grad=True)
    joined = cr.cat([cr.tensor([1, 2]), x, cr.zeros(1, dtype="float64")])
    assert joined.dtype == np.float64
    joined.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]


def test_comparing_with_what_no_op_takes_is_pythons_answer_as_pytorchs():
    # t == None was an elementwise tensor of False, and t == <a torch.Tensor> a Tensor holding
    # NotImplemented that failed when printed ('NotImplementedType' object has no attribute 'dtype')
    t = cr.ones(2)
    assert (t == None) is False and (t != "a") is True  # noqa: E711 - what is tested
    with pytest.raises(TypeError, match="'<' not supported between instances of 'Tensor'"):
        t < "a"  # noqa: B015
    with pytest.raises(TypeError, match=r"arrays or numbers, got torch\.Tensor"):
        t == _Foreign()  # noqa: B015
    assert (t == [1, 0]).tolist() == [True, False]  # a list is still an operand


# another library's tensor (named as torch's): it converts to an array but is not one
_Foreign = type("Tensor", (), {"__module__": "torch.foreign",
                               "__array__": lambda self, dtype=None, copy=None: np.ones(2)})
