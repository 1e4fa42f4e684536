"""Fuzz wave 12: reductions' result dtypes and edge values against PyTorch: ``sum``/``prod``/
``cumsum`` of bool and small integer tensors (int64), ``any``/``all``, ``count_nonzero``,
``amax``/``amin``, ``std``/``var`` with ``correction=``/``unbiased=``, ``logsumexp`` with
``-inf``, and ``isclose``/``allclose``/``equal`` with NaN and infinities.

Before this wave:

* ``x.sum(())`` and ``x.mean([])`` (an empty ``dim`` given positionally) returned ``x``
  unchanged, NumPy's ``axis=()`` rule, where PyTorch reduces every dimension (only the keyword
  ``dim=()`` did).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _array(rng, dtype, shape):
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.startswith("float"):
        return np.asarray(rng.standard_normal(shape)).astype(dtype)
    return np.asarray(rng.integers(0 if dtype == "uint8" else -5, 6, shape)).astype(dtype)


def _outcome(lib, fn, a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(lib, lib.tensor(a))
        except (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError) as e:
            return e


def _flat(out):
    return [o for x in out for o in _flat(x)] if isinstance(out, (tuple, list)) else [out]


def _same(fn, a, label, rtol=1e-6):
    t, c = _outcome(torch, fn, a), _outcome(cr, fn, a)
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"{label}: torch {t!r}, " \
            f"chainrule {c!r}"
        return
    for tv, cv in zip(_flat(t), _flat(c), strict=True):
        if not hasattr(tv, "dtype"):
            assert tv == cv, label
            continue
        assert str(cv.dtype) == str(tv.dtype).replace("torch.", ""), label
        assert tuple(cv.shape) == tuple(tv.shape), label
        np.testing.assert_allclose(np.asarray(cv.numpy(), np.float64),
                                   tv.double().numpy(), rtol=rtol, atol=rtol, err_msg=label)


@pytest.mark.parametrize("call", ["sum", "mean"])
@pytest.mark.parametrize("empty", [(), []])
def test_positional_empty_dim_reduces_everything(call, empty):
    a = np.arange(12.0).reshape(3, 4)
    for fn in (lambda L, x: getattr(x, call)(empty),
               lambda L, x: getattr(L, call)(x, empty),
               lambda L, x: getattr(L, call)(x, empty, True)):
        _same(fn, a, f"{call}({empty!r})")
    assert cr.tensor(a).sum(axis=()).shape == (3, 4)  # NumPy's name keeps NumPy's rule
