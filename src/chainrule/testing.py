"""PyTorch's ``torch.testing``: ``assert_close`` and ``make_tensor``.

``assert_close`` compares Tensors, NumPy arrays, Python (and NumPy) scalars, and sequences and
mappings of them, recursively, with a tolerance chosen by dtype, and fails with PyTorch's kind of
message: how many elements are off, and the greatest absolute and relative difference with its
index. ``make_tensor`` draws a test tensor from chainrule's generator, so ``manual_seed`` repeats
it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

from .autograd import Tensor, tensor
from .backend import asnumpy, get_array_module, numpy, to_device
from .backend.random import resolve_rng

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# (rtol, atol) by dtype name, as torch.testing.assert_close's defaults; others compare exactly.
_DEFAULT_TOLERANCES = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5),
                       "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5),
                       "complex128": (1e-7, 1e-7)}
_SCALAR_DTYPES = {bool: "bool", int: "int64", float: "float64", complex: "complex128"}


class _MismatchError(Exception):
    """A failed comparison: its message, and the path of keys/indices down to it."""

    def __init__(self, message: str, path: tuple = ()):
        super().__init__(message)
        self.message, self.path = message, path


def _tolerances(dtypes, rtol, atol):
    if rtol is not None:
        return rtol, atol
    pairs = [_DEFAULT_TOLERANCES.get(numpy.dtype(d).name, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _diff_lines(kind, a_diff, a_idx, r_diff, r_idx, rtol, atol):
    exact = rtol == 0 and atol == 0
    lines = []
    for name, diff, idx, tol in (("absolute", a_diff, a_idx, atol),
                                 ("relative", r_diff, r_idx, rtol)):
        line = (f"{name.title()} difference: {diff}" if idx is None
                else f"Greatest {name} difference: {diff} at index {idx}")
        lines.append(line if exact else f"{line} (up to {tol} allowed)")
    return f"{kind} are not {'equal' if exact else 'close'}!", lines


def _compare_scalars(actual, expected, rtol, atol, equal_nan, check_dtype):
    if check_dtype and type(actual) is not type(expected):
        raise _MismatchError(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    rtol, atol = _tolerances([_SCALAR_DTYPES[type(actual)], _SCALAR_DTYPES[type(expected)]],
                             rtol, atol)
    if actual == expected:
        return
    if equal_nan and _isnan(actual) and _isnan(expected):
        return
    diff = abs(actual - expected)
    if math.isfinite(abs(diff)) and diff <= atol + rtol * abs(expected):
        return
    rel = diff / abs(expected) if expected != 0 else (math.inf if diff != 0 else 0.0)
    title, lines = _diff_lines("Scalars", diff, None, rel, None, rtol, atol)
    raise _MismatchError("\n".join([title, "", f"Expected {expected} but got {actual}.", *lines]))


def _isnan(v) -> bool:
    return math.isnan(abs(v)) if isinstance(v, complex) else math.isnan(v)


def _close_mask(a, e, rtol, atol, equal_nan):
    if a.dtype.kind in "biu" and rtol == 0 and atol == 0:
        return a == e
    if a.dtype.kind in "biu":
        a, e = a.astype(numpy.float64), e.astype(numpy.float64)
    with numpy.errstate(invalid="ignore", over="ignore"):
        diff = numpy.abs(a - e)
        close = (a == e) | (numpy.isfinite(diff) & (diff <= atol + rtol * numpy.abs(e)))
    if equal_nan:
        close |= numpy.isnan(a) & numpy.isnan(e)
    return close


def _tensor_message(a, e, close, rtol, atol):
    """PyTorch's report of where two arrays of one shape and dtype differ."""
    if a.dtype.kind in "biu":  # differences of ints in int64, so that uint8 1 - 2 is not 255
        a, e = a.astype(numpy.int64), e.astype(numpy.int64)
    with numpy.errstate(invalid="ignore", over="ignore", divide="ignore"):
        abs_diff = numpy.abs(a - e)
        rel_diff = abs_diff / numpy.abs(e)
    abs_diff = numpy.where(close, 0, abs_diff).ravel()
    rel_diff = numpy.where(close, 0, rel_diff).ravel()
    if a.ndim == 0:
        title, lines = _diff_lines("Scalars", abs_diff[0].item(), None, rel_diff[0].item(), None,
                                   rtol, atol)
        return "\n".join([title, "", f"Expected {e.item()} but got {a.item()}.", *lines])
    i, j = int(numpy.argmax(abs_diff)), int(numpy.argmax(rel_diff))  # NaN first, as PyTorch's max
    where = [tuple(int(k) for k in numpy.unravel_index(n, a.shape)) for n in (i, j)]
    title, lines = _diff_lines("Tensor-likes", abs_diff[i].item(), where[0], rel_diff[j].item(),
                               where[1], rtol, atol)
    bad, total = int(close.size - close.sum()), close.size
    return "\n".join([title, "", f"Mismatched elements: {bad} / {total} ({bad / total:.1%})",
                      *lines])


def _strides(arr) -> tuple:
    return tuple(s // arr.itemsize for s in arr.strides)


def _compare_tensors(actual, expected, opts):
    (allow_subclasses, rtol, atol, equal_nan, check_device, check_dtype, check_stride) = opts
    related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
    if not related:
        raise TypeError(f"assert_close: cannot compare a {type(actual).__name__} with a "
                        f"{type(expected).__name__}; give two Tensors or two NumPy arrays")
    if not allow_subclasses and type(actual) is not type(expected):
        raise _MismatchError(f"Except for Python scalars, type equality is required if "
                        f"allow_subclasses=False, but got {type(actual).__name__} and "
                        f"{type(expected).__name__} instead.")
    a = actual._data if isinstance(actual, Tensor) else actual
    e = expected._data if isinstance(expected, Tensor) else expected
    checks = [("shape", a.shape, e.shape)]
    if isinstance(actual, Tensor) and check_device:
        checks.append(("device", actual.device, expected.device))
    if check_dtype:
        checks.append(("dtype", a.dtype, e.dtype))
    if check_stride:
        checks.append(("stride()", _strides(a), _strides(e)))
    for name, mine, theirs in checks:
        if mine != theirs:
            raise _MismatchError(f"The values for attribute '{name}' do not match: {mine} != "
                                 f"{theirs}.")
    rtol, atol = _tolerances([a.dtype, e.dtype], rtol, atol)
    a, e = asnumpy(a), asnumpy(e)
    if a.dtype != e.dtype:
        common = numpy.result_type(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    close = _close_mask(a, e, rtol, atol, equal_nan)
    if not close.all():
        raise _MismatchError(_tensor_message(a, e, close, rtol, atol))


def _kind(x) -> str:
    if x is None:
        return "none"
    if isinstance(x, (Tensor, numpy.ndarray)):
        return "tensor"
    if isinstance(x, (bool, numpy.bool_)):
        return "bool"
    if isinstance(x, (int, float, complex, numpy.number)):
        return "number"
    if isinstance(x, Sequence) and not isinstance(x, (str, bytes)):
        return "sequence"
    if isinstance(x, Mapping):
        return "mapping"
    return "other"


def _compare(actual, expected, path, opts):
    ka, ke = _kind(actual), _kind(expected)
    try:
        if ka == ke == "sequence":
            if len(actual) != len(expected):
                raise _MismatchError(f"The length of the sequences mismatch: {len(actual)} != "
                                f"{len(expected)}")
            for i, (x, y) in enumerate(zip(actual, expected)):
                _compare(x, y, (*path, i), opts)
        elif ka == ke == "mapping":
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            if missing or extra:
                raise _MismatchError(f"The keys of the mappings do not match:\nMissing keys in the "
                                f"actual mapping: {missing}\nAdditional keys in the actual "
                                f"mapping: {extra}")
            for key in expected:
                _compare(actual[key], expected[key], (*path, key), opts)
        elif "none" in (ka, ke):
            if actual is not None or expected is not None:
                raise _MismatchError(f"None mismatch: {actual} is not {expected}")
        elif {ka, ke} <= {"bool", "number"}:
            values = [v.item() if isinstance(v, numpy.generic) else v for v in (actual, expected)]
            _compare_scalars(*values, opts[1], opts[2], opts[3], opts[5])
        elif ka == ke == "tensor":
            _compare_tensors(actual, expected, opts)
        else:
            raise TypeError(f"assert_close: cannot compare a {type(actual).__name__} with a "
                            f"{type(expected).__name__} (it compares Tensors, NumPy arrays, "
                            f"numbers, None, and sequences or mappings of them)")
    except _MismatchError as m:
        if not m.path:
            m.path = path
        raise


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg=None) -> None:
    """Raise an ``AssertionError`` unless ``actual`` and ``expected`` are close.

    Elements count as close when ``|actual - expected| <= atol + rtol * |expected|`` (equal
    infinities too, NaNs only with ``equal_nan``). Without ``rtol``/``atol`` the tolerances
    follow the dtype: float16 ``(1e-3, 1e-5)``, float32 ``(1.3e-6, 1e-5)``, float64 and Python
    floats ``(1e-7, 1e-7)``, integers and bools exactly.

    Args:
        actual, expected: Tensors, NumPy arrays, Python or NumPy scalars, None, or sequences or
            mappings of these (compared item by item).
        allow_subclasses: a Parameter may stand for a Tensor; False demands equal types.
        rtol, atol: the tolerances; give both or neither.
        equal_nan: NaNs at the same places count as equal.
        check_device, check_dtype, check_stride: also compare devices, dtypes, strides; without
            ``check_dtype`` both are compared in their common dtype, with the looser tolerance.
        check_layout: accepted for PyTorch's signature (chainrule Tensors are all strided).
        msg: the message to raise instead of the generated one, or a callable that turns the
            generated one into it.

    Raises:
        AssertionError: the inputs differ (values, shapes, dtypes, lengths, keys).
        TypeError: inputs that cannot be compared (a Tensor with a list or an array...).
        ValueError: only one of ``rtol`` and ``atol``, or a negative one.

    >>> import chainrule as cr
    >>> assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.000001]))
    >>> assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.5]))
    Traceback (most recent call last):
    ...
    AssertionError: Tensor-likes are not close!
    <BLANKLINE>
    Mismatched elements: 1 / 2 (50.0%)
    Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)
    Greatest relative difference: 0.20000000298023224 at index (1,) (up to 1.3e-06 allowed)
    """
    del check_layout
    if (rtol is None) != (atol is None):
        raise ValueError(f"assert_close: give both rtol and atol or neither, got rtol={rtol!r} "
                         f"and atol={atol!r}")
    if rtol is not None and not (rtol >= 0 and atol >= 0):
        raise ValueError(f"assert_close: rtol and atol must be non-negative, got rtol={rtol!r} "
                         f"and atol={atol!r}")
    opts = (allow_subclasses, rtol, atol, bool(equal_nan), check_device, check_dtype,
            check_stride)
    try:
        _compare(actual, expected, (), opts)
    except _MismatchError as m:
        if isinstance(msg, str):
            raise AssertionError(msg) from None
        text = m.message
        if m.path:
            text += "\n\nThe failure occurred for item " + "".join(f"[{k!r}]" for k in m.path)
        raise AssertionError(msg(text) if callable(msg) else text) from None


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise TypeError(f"make_tensor: shape must be non-negative ints or one sequence of them, "
                        f"got {shape!r}")
    return tuple(shape)


def _bounds(dtype, low, high):
    """``low`` and ``high`` with their defaults, checked and clamped to ``dtype``'s range."""
    if dtype.kind == "b":
        low, high, lo, hi = 0, 2, 0, 2
    elif dtype.kind in "iu":
        info = numpy.iinfo(dtype)
        lo, hi = int(info.min), int(info.max)
        default = (0, 10) if dtype.kind == "u" else (-9, 10)
        low, high = (default[0] if low is None else low), (default[1] if high is None else high)
    else:
        info = numpy.finfo(dtype)
        lo, hi = float(info.min), float(info.max)
        low, high = (-9 if low is None else low), (9 if high is None else high)
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"make_tensor: low and high cannot be NaN, got low={low} and "
                         f"high={high}")
    if low > high or (low == high and dtype.kind in "biu"):
        raise ValueError(f"make_tensor: low must be less than high, got low={low} and "
                         f"high={high}")
    if high < lo or low >= hi:
        raise ValueError(f"make_tensor: the interval [{low}, {high}) lies outside what {dtype} "
                         f"holds, [{lo}, {hi})")
    low, high = min(max(low, lo), hi), min(max(high, lo), hi)
    if dtype.kind in "biu":  # ceil both: no value below low, and randint's high is exclusive
        return math.ceil(low), math.ceil(high)
    return low, high


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False) -> Tensor:
    """A tensor of ``shape`` with values drawn uniformly from ``[low, high)``, as PyTorch's.

    The draws come from chainrule's default generator, so ``chainrule.manual_seed`` repeats them
    (the numbers are NumPy's, not PyTorch's). Defaults: floats in ``[-9, 9)``, signed ints in
    ``[-9, 10)``, unsigned in ``[0, 10)``, bools either; bounds beyond the dtype's range are
    clamped to it, and integer bounds are rounded up.

    Args:
        shape: ints, or one tuple/list of them.
        dtype, device: the result's dtype and device (both required, as in PyTorch).
        low, high: the interval (``low == high`` gives that value, for floats).
        requires_grad: floating dtypes only.
        noncontiguous: return a non-contiguous view (for more than one element).
        exclude_zero: replace zeros by 1 (ints), True (bools) or the smallest normal float.

    >>> import chainrule as cr
    >>> x = make_tensor(2, 3, dtype=cr.float32, device="cpu", low=-1, high=1)
    >>> x.shape, x.dtype, bool((x.numpy() >= -1).all() and (x.numpy() < 1).all())
    ((2, 3), dtype('float32'), True)
    """
    shape = _shape(shape)
    dtype = numpy.dtype(dtype)
    if requires_grad and dtype.kind not in "f":
        raise ValueError(f"make_tensor: requires_grad=True needs a floating dtype, got {dtype}")
    low, high = _bounds(dtype, low, high)
    rng = resolve_rng(None, "make_tensor")
    if dtype.kind in "biu":
        arr = rng.integers(low, high, size=shape).astype(dtype)
    elif low == high:
        arr = numpy.full(shape, low, dtype=dtype)
    else:
        half = float(high) - float(low) >= numpy.finfo(dtype).max  # its width would overflow
        arr = rng.uniform(low / 2 if half else low, high / 2 if half else high, size=shape)
        arr = (arr * 2 if half else arr).astype(dtype)
        # Rounding to a narrower dtype can reach high itself; keep the interval half-open.
        arr[arr >= high] = numpy.nextafter(dtype.type(high), dtype.type(low))
    if exclude_zero:
        arr[arr == 0] = True if dtype.kind == "b" else (
            1 if dtype.kind in "iu" else numpy.finfo(dtype).smallest_normal)
    arr = to_device(arr, device)
    if noncontiguous and arr.size > 1:  # every other element of a doubled last axis: a view
        arr = get_array_module(arr).repeat(arr, 2, axis=-1)[..., ::2]
    return Tensor(arr, requires_grad=bool(requires_grad))


# assert_allclose's tolerances per dtype, PyTorch's: the larger of the two tensors' applies
_ALLCLOSE_TOLERANCES = {"float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)}


def assert_allclose(actual, expected, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """PyTorch's deprecated ``assert_allclose`` (with its FutureWarning): ``assert_close``
    without the dtype check, NaNs equal by default, and looser default tolerances (float16
    ``(1e-3, 1e-3)``, float32 ``(1e-4, 1e-5)``, float64 ``(1e-5, 1e-8)``, others exact)."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed "
                  "in a future release. Please use `torch.testing.assert_close()` instead.",
                  FutureWarning, stacklevel=2)
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        pairs = [_ALLCLOSE_TOLERANCES.get(t.dtype.name, (0.0, 0.0)) for t in (actual, expected)]
        rtol, atol = max(p[0] for p in pairs), max(p[1] for p in pairs)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False,
                 msg=msg or None)
