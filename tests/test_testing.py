"""chainrule.testing against torch.testing: the same verdicts, errors and figures in the message."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import assert_close, make_tensor

from ._case_loop import each_case, grid


class T:
    """A tensor in a case: built as a chainrule Tensor or a torch.Tensor of the same array."""

    def __init__(self, values, dtype=np.float32):
        self.array = np.asarray(values, dtype=dtype)


def _build(obj, lib):
    if isinstance(obj, T):
        return cr.tensor(obj.array) if lib == "cr" else pytest.importorskip("torch").from_numpy(
            obj.array.copy())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_build(o, lib) for o in obj)
    if isinstance(obj, dict):
        return {k: _build(v, lib) for k, v in obj.items()}
    return obj


NAN, INF = float("nan"), float("inf")
CASES = {
    "float32 equal": (T([1.0, 2.0]), T([1.0, 2.0]), {}),
    "float32 within the default tolerance": (T([1.0, 2.0]), T([1.0, 2.000002]), {}),
    "float32 beyond it": (T([[1.0, 2, 3], [4, 5, 6]]), T([[1.0001, 2, 3], [4, 5, 6.1]]), {}),
    "float64 beyond 1e-7": (T([1.0, 2.0], np.float64), T([1.0, 2.000001], np.float64), {}),
    "float16 within 1e-3": (T([1.0, 2.0], np.float16), T([1.0, 2.002], np.float16), {}),
    "float16 beyond": (T([1.0, 2.0], np.float16), T([1.0, 2.01], np.float16), {}),
    "int64 unequal": (T([1, 2, 3], np.int64), T([1, 2, 4], np.int64), {}),
    "uint8 both ways": (T([1, 2], np.uint8), T([2, 1], np.uint8), {}),
    "bool unequal": (T([True, False], bool), T([True, True], bool), {}),
    "nan vs nan": (T([1.0, NAN]), T([1.0, NAN]), {}),
    "nan vs nan, equal_nan": (T([1.0, NAN]), T([1.0, NAN]), {"equal_nan": True}),
    "nan vs a number": (T([1.0, NAN]), T([1.0, 2.0]), {}),
    "inf vs inf": (T([1.0, INF]), T([1.0, INF]), {}),
    "inf vs -inf": (T([1.0, INF]), T([1.0, -INF]), {}),
    "expected zero": (T([0.0, 3.0]), T([1e-6, 0.0]), {}),
    "below atol at zero": (T([0.0, 1.0]), T([1e-6, 1.0]), {}),
    "explicit rtol": (T([1.0, 2.0]), T([1.1, 2.0]), {"rtol": 0.2, "atol": 0.0}),
    "explicit atol fails": (T([1.0, 2.0]), T([1.0, 3.0]), {"rtol": 0.0, "atol": 0.5}),
    "exact": (T([[0.0, 3.0]]), T([[0.0, 0.0]]), {"rtol": 0, "atol": 0}),
    "int with atol": (T([1, 2], np.int64), T([1, 3], np.int64), {"rtol": 0, "atol": 1}),
    "0-d": (T(1.0), T(2.0), {}),
    "one element": (T([[1.0]]), T([[2.0]]), {}),
    "empty": (T(np.zeros((2, 0))), T(np.zeros((2, 0))), {}),
    "shapes": (T([1.0, 2.0]), T([[1.0, 2.0]]), {}),
    "dtypes": (T([1.0, 2.0]), T([1.0, 2.0], np.float64), {}),
    "int dtypes": (T([1, 2], np.int32), T([1, 2], np.int64), {}),
    "dtypes unchecked, close": (T([1.0, 2.0]), T([1.0, 2.000001], np.float64),
                                {"check_dtype": False}),
    "dtypes unchecked, far": (T([1, 2], np.int64), T([1.0, 2.5]), {"check_dtype": False}),
    "floats": (1.0, 2.0, {}),
    "ints": (1, 2, {}),
    "ints with atol": (1, 4, {"rtol": 0, "atol": 2}),
    "float expecting zero": (1.0, 0.0, {}),
    "int and float": (1, 1.0, {}),
    "int and float unchecked": (1, 1.0, {"check_dtype": False}),
    "python nans": (NAN, NAN, {}),
    "python nans, equal_nan": (1.0, NAN, {"equal_nan": True}),
    "numpy scalars": (np.float32(1.0), np.float32(1.00001), {}),
    "numpy and python": (np.float64(1.0), 1.0, {}),
    "bools": (True, True, {}),
    "sequences": ([1.0, T([1.0, 2.0])], (1.0, T([1.0, 2.0])), {}),
    "nested sequence": ([[1.0], [2.0]], [[1.0], [2.5]], {}),
    "tensor in a list": ([T(1.0), T([2.0, 3.0])], [T(1.0), T([2.0, 4.0])], {}),
    "lengths": ([1, 2], [1], {}),
    "mapping": ({"a": [1, {"b": 2.0}]}, {"a": [1, {"b": 2.5}]}, {}),
    "mapping keys": ({"a": 1}, {"b": 1}, {}),
    "nones": (None, None, {}),
    "none and one": (None, 1, {}),
    "tensor and list": (T([1.0, 2.0]), [1.0, 2.0], {}),
    "list and tensor": ([1, 2], T([1, 2], np.int64), {}),
    "float and tensor": (1.0, T(1.0), {}),
    "strings": ("ab", "ab", {}),
    "rtol alone": (T([1.0]), T([1.0]), {"rtol": 1e-3}),
    "atol alone": (T([1.0]), T([1.0]), {"atol": 1e-3}),
    "arrays": (np.array([1.0, 2.0]), np.array([1.0, 3.0]), {}),
    "arrays of other dtypes": (np.array([1, 2], np.int32), np.array([1, 2]), {}),
}


def _outcome(fn, actual, expected, kwargs):
    try:
        fn(actual, expected, **kwargs)
    except (AssertionError, TypeError, ValueError) as e:
        return type(e), str(e)
    return None, ""


def _words(text: str) -> str:
    """The first line without torch's spelling of shapes and dtypes (``torch.Size([2])``)."""
    return re.sub(r"torch\.|Size|[^A-Za-z' !]", "", text.splitlines()[0])


def _figures(text: str) -> list[float]:
    return [float(f) for f in re.findall(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)", text)]


def _assert_close_agrees_with_torch_case(name):
    torch = pytest.importorskip("torch")
    actual, expected, kwargs = CASES[name]
    ours = _outcome(assert_close, _build(actual, "cr"), _build(expected, "cr"), kwargs)
    theirs = _outcome(torch.testing.assert_close, _build(actual, "torch"),
                      _build(expected, "torch"), kwargs)
    assert ours[0] is theirs[0], (ours, theirs)
    if ours[0] is AssertionError:
        assert _words(ours[1]) == _words(theirs[1])
        np.testing.assert_allclose(_figures(ours[1]), _figures(theirs[1]), rtol=1e-6)


@pytest.mark.torch
def test_assert_close_agrees_with_torch():
    each_case(_assert_close_agrees_with_torch_case, grid(("name", list(CASES))))


@pytest.mark.torch
@pytest.mark.parametrize("msg", ["custom text", lambda m: f"<{m}>"], ids=["str", "callable"])
def test_msg_replaces_or_rewrites_the_message_as_torch(msg):
    torch = pytest.importorskip("torch")
    case = ({"a": [T(1.0), T([2.0, 3.0])]}, {"a": [T(1.0), T([2.0, 4.0])]})
    ours = _outcome(assert_close, *(_build(c, "cr") for c in case), {"msg": msg})
    theirs = _outcome(torch.testing.assert_close, *(_build(c, "torch") for c in case),
                      {"msg": msg})
    assert ours[0] is theirs[0] is AssertionError
    np.testing.assert_allclose(_figures(ours[1]), _figures(theirs[1]), rtol=1e-6)
    assert ours[1].endswith("The failure occurred for item ['a'][1]>") or ours[1] == msg
    assert theirs[1].endswith("The failure occurred for item ['a'][1]>") or theirs[1] == msg


def test_the_message_names_count_share_differences_indices_and_tolerances():
    a = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.5, 6.0]])
    with pytest.raises(AssertionError) as info:
        assert_close(a, b)
    assert str(info.value) == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 6 (16.7%)\n"
        "Greatest absolute difference: 0.5 at index (1, 1) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.09090909361839294 at index (1, 1) "
        "(up to 1.3e-06 allowed)")
    assert 0.5 / 5.5 == pytest.approx(0.09090909361839294, rel=1e-7)


def test_subclasses_strides_and_devices():
    p = cr.nn.Parameter(cr.ones(2))
    assert_close(p, cr.ones(2))
    with pytest.raises(AssertionError, match="type equality is required"):
        assert_close(p, cr.ones(2), allow_subclasses=False)
    t = cr.zeros(2, 3).t()
    assert_close(t, cr.zeros(3, 2))
    with pytest.raises(AssertionError, match=r"'stride\(\)' do not match: \(1, 3\) != \(2, 1\)"):
        assert_close(t, cr.zeros(3, 2), check_stride=True)
    with pytest.raises(ValueError, match="rtol and atol must be non-negative, got rtol=-1"):
        assert_close(cr.ones(1), cr.ones(1), rtol=-1, atol=0)


def test_make_tensor_defaults_ranges_and_dtypes():
    for dtype, low, high in [(cr.float32, -9, 9), (cr.float64, -9, 9), (cr.float16, -9, 9),
                             (cr.int64, -9, 9), (cr.int8, -9, 9), (cr.uint8, 0, 9)]:
        x = make_tensor(40, 50, dtype=dtype, device="cpu")
        assert x.shape == (40, 50) and x.dtype == dtype and not x.requires_grad
        assert low <= x.numpy().min() and x.numpy().max() < high + (dtype.kind in "iu")
    assert make_tensor((2, 3), dtype=cr.float32, device="cpu").shape == (2, 3)
    assert make_tensor([], dtype=cr.float32, device="cpu").shape == ()
    assert make_tensor(dtype=cr.float32, device="cpu").shape == ()
    flags = make_tensor(200, dtype=cr.bool, device="cpu").numpy()
    assert flags.dtype == bool and flags.any() and not flags.all()
    ints = make_tensor(300, dtype=cr.int64, device="cpu", low=0.5, high=3.6).numpy()
    assert set(ints.tolist()) == {1, 2, 3}  # bounds rounded up: [1, 4)
    small = make_tensor(100, dtype=cr.int8, device="cpu", low=-1000, high=1000).numpy()
    assert small.min() < -100 and small.max() > 100  # clamped to int8's range, not refused
    wide = make_tensor(100, dtype=cr.float64, device="cpu", low=-1e308, high=1e308).numpy()
    assert np.isfinite(wide).all() and wide.max() > 1e307
    assert (make_tensor(3, dtype=cr.float32, device="cpu", low=2, high=2).numpy() == 2).all()


def test_make_tensor_repeats_after_manual_seed_and_options():
    cr.manual_seed(3)
    a = make_tensor(4, 5, dtype=cr.float32, device="cpu", requires_grad=True)
    cr.manual_seed(3)
    b = make_tensor(4, 5, dtype=cr.float32, device="cpu", requires_grad=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.requires_grad and a.is_leaf
    nc = make_tensor(3, 4, dtype=cr.float64, device="cpu", noncontiguous=True)
    assert nc.shape == (3, 4) and not nc._data.flags.c_contiguous
    one = make_tensor(1, dtype=cr.float64, device="cpu", noncontiguous=True)
    assert one._data.flags.c_contiguous
    tiny = make_tensor(5, dtype=cr.float32, device="cpu", low=0, high=0, exclude_zero=True)
    assert (tiny.numpy() == np.finfo(np.float32).smallest_normal).all()
    ones = make_tensor(50, dtype=cr.int64, device="cpu", low=0, high=1, exclude_zero=True)
    assert (ones.numpy() == 1).all()
    assert make_tensor(50, dtype=cr.bool, device="cpu", exclude_zero=True).numpy().all()


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"dtype": "float32", "low": 3, "high": 2}, {"dtype": "int64", "low": 2, "high": 2},
    {"dtype": "float32", "low": NAN}, {"dtype": "float32", "low": INF},
    {"dtype": "int64", "requires_grad": True}, {"dtype": "bool", "requires_grad": True},
    {"dtype": "uint8", "low": -5, "high": -1},
], ids=str)
def test_make_tensor_refuses_what_torch_refuses(kwargs):
    torch = pytest.importorskip("torch")
    kwargs = dict(kwargs)
    name = kwargs.pop("dtype")
    with pytest.raises(ValueError):
        torch.testing.make_tensor(3, dtype=getattr(torch, name), device="cpu", **kwargs)
    with pytest.raises(ValueError, match="make_tensor: "):
        make_tensor(3, dtype=getattr(cr, name), device="cpu", **kwargs)


def test_make_tensor_refuses_a_bad_shape():
    with pytest.raises(TypeError, match=r"make_tensor: shape must be .* got \(\(2,\), 3\)"):
        make_tensor((2,), 3, dtype=cr.float32, device="cpu")
    with pytest.raises(TypeError, match=r"got \(-1,\)"):
        make_tensor(-1, dtype=cr.float32, device="cpu")
