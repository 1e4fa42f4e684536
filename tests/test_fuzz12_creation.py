"""Fuzz wave 12: tensor creation against PyTorch: ``arange`` (float and negative steps, dtype
inference), ``linspace``/``logspace`` (0 or 1 steps, ``base``, integer dtypes, complex ends),
``full``/``full_like`` (dtype from the fill value), ``zeros``/``ones``/``empty`` sizes,
``eye``, ``tril_indices``/``triu_indices``, ``tensor``/``as_tensor`` from nested lists and
NumPy arrays of every dtype, and the random factories' ranges, dtypes and seeding.

Before this wave:

* ``linspace``/``logspace`` with a complex start or end dropped the imaginary part (a float32
  result; PyTorch's is complex64), and a real ``dtype`` with one was not refused.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

ERRORS = (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError, OverflowError)


def _outcome(lib, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(lib)
        except ERRORS as e:
            return e


def _same(fn, label, rtol=1e-6):
    """``fn(lib)`` in both libraries: both raise, or equal dtypes, shapes and values."""
    t, c = _outcome(torch, fn), _outcome(cr, fn)
    if isinstance(t, Exception) or isinstance(c, Exception):
        assert isinstance(t, Exception) and isinstance(c, Exception), f"{label}: torch {t!r}, " \
            f"chainrule {c!r}"
        return
    if not hasattr(t, "dtype"):
        assert t == c, label
        return
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), f"{label}: {c.dtype}, {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), label
    cv, tv = np.asarray(c.numpy()), t.numpy()
    if tv.dtype.kind in "fc":
        np.testing.assert_allclose(cv, tv, rtol=rtol, atol=rtol, equal_nan=True, err_msg=label)
    else:
        np.testing.assert_array_equal(cv, tv, err_msg=label)


@pytest.mark.parametrize("name", ["linspace", "logspace"])
@pytest.mark.parametrize("ends", [(0, 1 + 1j), (1j, 2), (0.5, -1j), (-2j, 3 + 0.5j)])
@pytest.mark.parametrize("dtype", [None, "complex64", "complex128", "float32", "int64"])
def test_complex_ends(name, ends, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    for steps in (0, 1, 4):
        _same(lambda L: getattr(L, name)(*ends, steps, **{k: getattr(L, v) for k, v in
                                                          kw.items()}),
              f"{name}{ends} {steps} {dtype}", rtol=1e-5)
    _same(lambda L: L.linspace(L.tensor(ends[0]), L.tensor(ends[1]), 3), f"tensor ends {ends}")
