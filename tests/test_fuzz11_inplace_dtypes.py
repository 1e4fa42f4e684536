"""Fuzz wave 11: in-place writes and index ops across dtypes, against PyTorch.

Before this wave ``copy_`` refused a float source into an integer or bool tensor, and an integer
source into a narrower-kind one (``uint8.copy_(int32)``), with NumPy's casting error, where
PyTorch converts (float into int truncates); ``uint8.clamp_(min=int32_tensor)`` raised NumPy's
``UFuncTypeError`` (PyTorch computes); ``index_add`` of two bool tensors gave int64 (PyTorch:
bool).
"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]


def _array(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype.startswith("float"):
        return (rng.standard_normal(shape) * 3).astype(dtype)
    a = rng.integers(-3, 4, size=shape)
    if dtype == "bool":
        return a > 0
    return (np.abs(a) if dtype == "uint8" else a).astype(dtype)


def _same(ours, theirs):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    # float sums of repeated indices may round in another order: one rounding step apart
    tol = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-12}.get(str(ours.dtype), 0)
    np.testing.assert_allclose(np.asarray(ours.numpy(), np.float64), theirs.double().numpy(),
                               rtol=tol, atol=tol)


def _outcome(fn, lib, *arrays):
    try:
        return fn(lib, *[lib.tensor(a) for a in arrays])
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        return type(e)


def _compare(fn, *arrays):
    t = _outcome(fn, torch, *arrays)
    c = _outcome(fn, cr, *arrays)
    if isinstance(t, type):
        assert isinstance(c, type), f"torch raised {t.__name__}, chainrule computed"
        return
    assert not isinstance(c, type), f"torch computed, chainrule raised {c}"
    _same(c, t)


def _copy_any_dtype_case(dst, src):
    a, b = _array(dst, (5,), 1), _array(src, (5,), 2)
    _compare(lambda lib, x, y: x.copy_(y), a, b)


def test_copy_any_dtype():
    each_case(_copy_any_dtype_case, grid(("src", DTYPES), ("dst", DTYPES)))


def _clamp_inplace_tensor_bound_case(dst, src):
    if dst == "bool" and src == "bool":
        pytest.skip("PyTorch has no bool clamp kernel")
    a, b = _array(dst, (5,), 3), _array(src, (5,), 4)
    _compare(lambda lib, x, y: x.clamp_(min=y), a, b)


def test_clamp_inplace_tensor_bound():
    each_case(_clamp_inplace_tensor_bound_case, grid(("src", DTYPES), ("dst", DTYPES)))


def _clamp_inplace_number_bound_case(dst, bound):
    a = _array(dst, (6,), 5)
    if dst == "uint8" and bound == -1:  # documented: an out-of-range Python int is an error
        with pytest.raises(OverflowError):
            cr.tensor(a).clamp_(max=bound)
        return
    _compare(lambda lib, x: x.clamp_(max=bound), a)


def test_clamp_inplace_number_bound():
    each_case(_clamp_inplace_number_bound_case, grid(
        ("dst", ["uint8", "int32", "int64", "float32"]),
        ("bound", [1.5, 2, -1, True]),
    ))


def _index_add_and_scatter_add_same_dtype_case(dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = _array(dtype, (4, 3), seed), _array(dtype, (5, 3), seed + 9)
    idx = rng.integers(0, 4, size=5)
    _compare(lambda lib, x, y: lib.index_add(x, 0, lib.tensor(idx), y), a, b)
    sidx = rng.integers(0, 4, size=(5, 3))
    _compare(lambda lib, x, y: lib.scatter_add(x, 0, lib.tensor(sidx), y), a, b)


def test_index_add_and_scatter_add_same_dtype():
    each_case(_index_add_and_scatter_add_same_dtype_case, grid(
        ("seed", range(3)),
        ("dtype", DTYPES),
    ))


def test_copy_float_into_int_truncates():
    x = cr.zeros(3, dtype=cr.int64)
    x.copy_(cr.tensor([1.7, -1.7, 2.5]))
    assert x.tolist() == [1, -1, 2]
