"""``out=``: PyTorch's top-level functions write their result into a tensor given to them.

``torch.add(a, b, out=c)`` computes ``a + b``, writes it into ``c`` and returns ``c`` (the first
tensors tutorial writes ``torch.matmul(t, t.T, out=y)``). chainrule's functions compute a new
tensor; ``takes_out`` gives each of the names below PyTorch's keyword: the result is computed as
without it and copied into ``out``, with PyTorch's rules:

- ``out`` takes the result's shape: resized when its shape differs, with PyTorch's warning
  unless it was empty (or the function makes new values, ``zeros``...);
- the result's dtype must be castable to ``out``'s (``can_cast``: no float result into an
  integer tensor, no complex one into a real tensor, only bool into bool), and the functions
  that make new values (``zeros``, ``rand``, ``linspace``...) make them in ``out``'s dtype when
  no ``dtype`` is given;
- ``out=`` is not differentiable: while grad mode is on, an argument that requires grad (a
  result that would carry a gradient) or an ``out`` that requires grad is PyTorch's
  RuntimeError;
- a function with several results (``max(x, dim)``, ``sort``, ``topk``...) takes a tuple of as
  many tensors and returns them as its named tuple.

The functions of ``chainrule.linalg``, ``special`` and ``fft`` whose PyTorch namesakes take
``out=`` take it the same way. ``arange`` writes its own ``out`` (``ops/creation.py``), in
``out``'s dtype.
"""

from __future__ import annotations

import functools
import inspect
import warnings

from ..autograd.mode import _grad_enabled, no_grad
from ..autograd.promotion import _NAMES, can_cast
from ..autograd.tensor import Tensor

__all__ = ["FFT_NAMES", "LINALG_NAMES", "NAMES", "SPECIAL_NAMES", "give_out", "takes_out",
           "write_into", "write_out"]

# The chainrule functions whose PyTorch 2.13 namesakes take out= (from PyTorch's signatures).
NAMES = (
    "abs", "absolute", "acos", "acosh", "add", "addbmm", "addcdiv", "addcmul", "addmm", "addmv",
    "addr", "all", "amax", "amin", "aminmax", "angle", "any", "arccos", "arccosh", "arcsin",
    "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "asin", "asinh", "atan",
    "atan2", "atanh", "baddbmm", "bernoulli", "bitwise_and", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "bmm", "bucketize",
    "cat", "ceil", "chain_matmul", "cholesky", "cholesky_inverse", "cholesky_solve", "clamp",
    "clip", "column_stack", "complex", "concat", "concatenate", "conj_physical", "copysign", "cos",
    "cosh", "cross", "cummax", "cummin", "cumprod", "cumsum", "deg2rad", "diag", "diff",
    "digamma", "div", "divide", "dot", "dstack", "empty", "eq", "erf", "erfc", "erfinv", "exp",
    "exp2", "expm1", "eye", "fix", "float_power", "floor", "floor_divide", "fmax", "fmin",
    "fmod", "frac", "frexp", "full", "gather", "gcd", "ge", "geqrf", "ger", "greater",
    "greater_equal", "gt", "heaviside", "histc", "histogram", "histogramdd", "hstack", "hypot",
    "i0", "igamma", "igammac", "index_add", "index_copy", "index_reduce", "index_select",
    "inner", "inverse", "isneginf", "isposinf", "kron", "kthvalue", "lcm", "ldexp", "le",
    "lerp", "less", "less_equal", "lgamma", "linspace", "log", "log10", "log1p", "log2",
    "log_softmax", "logaddexp", "logaddexp2", "logcumsumexp", "logical_and", "logical_not",
    "logical_or", "logical_xor", "logit", "logspace", "logsumexp", "lt", "lu_solve",
    "lu_unpack", "masked_select", "matmul", "matrix_power", "max", "maximum", "mean", "median",
    "min", "minimum", "mm", "mode", "msort", "mul", "multinomial", "mv", "mvlgamma",
    "nan_to_num", "nanmean", "nanmedian", "nanquantile", "nansum", "narrow_copy", "ne", "neg",
    "negative", "nextafter", "nonzero", "norm", "normal", "not_equal", "ones", "ormqr", "outer",
    "polar", "polygamma", "pow", "prod", "qr", "quantile", "rad2deg", "rand", "randint",
    "randn", "randperm", "range", "reciprocal", "remainder", "renorm", "round", "row_stack",
    "rsqrt", "searchsorted", "sgn", "sigmoid", "sign", "signbit", "sin", "sinc", "sinh",
    "softmax", "sort", "sqrt", "square", "stack", "std", "std_mean", "sub", "subtract", "sum",
    "svd", "take_along_dim", "tan", "tanh", "tensordot", "topk", "triangular_solve", "tril",
    "triu", "true_divide", "trunc", "var", "var_mean", "vdot", "vstack", "where", "xlogy",
    "zeros",
)
# The same for chainrule.linalg, chainrule.special and chainrule.fft (torch.linalg...).
LINALG_NAMES = (
    "cholesky", "cholesky_ex", "cond", "cross", "det", "eig", "eigh", "eigvals", "eigvalsh",
    "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu",
    "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_norm", "matrix_power",
    "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
    "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vecdot", "vector_norm",
)
SPECIAL_NAMES = (
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma",
    "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
    "gammaln", "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e",
    "laguerre_polynomial_l", "legendre_polynomial_p", "log1p", "log_ndtr", "logit", "logsumexp",
    "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
    "shifted_chebyshev_polynomial_w", "sinc", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
)
FFT_NAMES = (
    "fft", "fft2", "fftfreq", "fftn", "hfft", "hfft2", "hfftn", "ifft", "ifft2", "ifftn",
    "ihfft", "ihfft2", "ihfftn", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq",
    "rfftn",
)
# Functions that make new values: in out's dtype unless a dtype is given, as PyTorch's.
_MAKERS = frozenset({"empty", "eye", "full", "linspace", "logspace", "normal", "ones", "rand",
                     "randint", "randn", "randperm", "range", "zeros", "fft.fftfreq",
                     "fft.rfftfreq"})


def give_out(namespace: dict, names, prefix: str = "") -> None:
    """Give the functions of ``namespace`` (a module's dict) named in ``names`` the keyword; one
    wrapper a function, so that aliases (``vstack``, ``row_stack``) stay one function, named as
    the function calls itself where that is one of ``names``."""
    made = {}
    for name in names:
        fn = namespace.get(name)
        if fn is None:
            continue
        if id(fn) not in made:
            own = fn.__name__ if fn.__name__ in names else name
            made[id(fn)] = takes_out(prefix + own, fn)
        namespace[name] = made[id(fn)]


def takes_out(name: str, fn):
    """``fn`` with PyTorch's ``out=`` keyword (see the module docstring); without it, ``fn``."""

    @functools.wraps(fn)
    def with_out(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        return write_out(name, fn, args, kwargs, out)

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return with_out
    params = list(sig.parameters.values())
    if "out" not in sig.parameters:
        at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
        params.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
    with_out.__signature__ = sig.replace(parameters=params)
    return with_out


def write_out(name: str, fn, args, kwargs, out):
    """``fn(*args, **kwargs)`` written into ``out`` (a Tensor, or a tuple for several results)."""
    if name in _MAKERS and kwargs.get("dtype") is None and isinstance(out, Tensor):
        kwargs = {**kwargs, "dtype": out.dtype}
    result = fn(*args, **kwargs)
    if not isinstance(result, tuple):
        write_into(name, out, result)
        return out
    if not isinstance(out, (tuple, list)) or len(out) != len(result):
        raise TypeError(f"{name}: out must be a tuple of {len(result)} tensors (one per result), "
                        f"got {_describe(out)}")
    for o, r in zip(out, result):
        write_into(name, o, r)
    return type(result)(*out) if hasattr(result, "_fields") else tuple(out)


def write_into(name: str, out, result, *, keep_count: bool = False, stacklevel: int = 4) -> None:
    """``result`` copied into ``out`` with PyTorch's checks (see the module docstring).
    ``keep_count``: ``out`` keeps its shape when it has as many entries (``arange``'s rule)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: out must be a Tensor, got {_describe(out)}")
    if not isinstance(result, Tensor):
        raise TypeError(f"{name}: out= takes tensor results, and this call returns "
                        f"{type(result).__name__}")
    if _grad_enabled.get() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad (compute under "
            "torch.no_grad(), or use the returned tensor)")
    have, want = result._data.dtype, out._data.dtype
    if not can_cast(have, want):
        raise RuntimeError(f"{name}: result type {_NAMES.get(have.name, have.name)} can't be cast "
                           f"to the desired output type {_NAMES.get(want.name, want.name)}")
    if out.device != result.device:
        raise RuntimeError(f"{name}: out is on {out.device} but the result is on {result.device}")
    shape = tuple(result._data.shape)
    if keep_count and out._data.size == result._data.size:
        shape = tuple(out._data.shape)
    with no_grad():
        if tuple(out._data.shape) != shape:
            if out._data.size and name not in _MAKERS:  # a maker resizes quietly, as PyTorch's
                warnings.warn(
                    f"{name}: an output with one or more elements was resized since it had shape "
                    f"{list(out._data.shape)}, which does not match the required output shape "
                    f"{list(shape)}; pass an empty out or one of that shape",
                    UserWarning, stacklevel=stacklevel)
            out.resize_(shape)
        out.copy_(result.reshape(shape))


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"a Tensor of shape {tuple(value.shape)}"
    return type(value).__name__
