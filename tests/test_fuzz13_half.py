"""Fuzz wave 13: float16 against PyTorch (CPU). PyTorch computes a float16 op in float32 where
its kernels say so ("opmath") and rounds once; results are compared with its dtype exactly and
its values exactly where both round once, else within a few float16 units (``_ulps``).

Before this wave:

* ``var``/``std`` of float16 accumulated in float16: the variance of 5000 values near 30 was inf
  (the sum overflows), where PyTorch's is about 1.
"""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")

H = np.float16
EPS = 2.0**-10  # float16's unit in the last place, relative


def _np(t):
    return np.asarray(t.detach().numpy(), np.float64)


def _ulps(c, t, n, label=""):
    """``c`` (chainrule) and ``t`` (torch): one dtype and shape, values within ``n`` float16
    units of the larger magnitude of ``t`` (absolute; the same infinities and NaNs)."""
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), f"{label}: {c.dtype}, {t.dtype}"
    assert tuple(c.shape) == tuple(t.shape), label
    cv, tv = _np(c), _np(t)
    finite = np.isfinite(tv)
    np.testing.assert_array_equal(np.isfinite(cv), finite, err_msg=label)
    np.testing.assert_array_equal(cv[~finite], tv[~finite], err_msg=label)
    scale = np.abs(tv[finite]).max(initial=0.0)
    np.testing.assert_allclose(cv[finite], tv[finite], rtol=0, atol=n * EPS * scale,
                               err_msg=label)


def _values(rng, *shape, loc=0.0):
    spread = rng.choice([1e-3, 1.0, 100.0], shape)
    return (rng.standard_normal(shape) * spread + loc).astype(H)


@pytest.mark.parametrize("seed", range(6))
def test_float16_var_std_accumulate_in_float32(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 4, 2)) + (int(rng.integers(2000, 6000)),)
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-50, 50)).astype(H)
    dim = [None, -1, (0, 2)][seed % 3]
    for name in ("var", "std"):
        for kw in ({}, {"correction": 0}):
            t = getattr(torch.tensor(x), name)(dim=dim, **kw)
            c = getattr(cr.tensor(x), name)(dim=dim, **kw)
            _ulps(c, t, 2, f"{name}{kw}, dim={dim}")


@pytest.mark.parametrize("name", ["var", "std", "var_mean", "std_mean"])
def test_float16_var_std_values_and_gradients(name):
    x = (np.random.default_rng(4).standard_normal((3, 7)) + 5).astype(H)
    check(torch, lambda L, a: getattr(L, name)(a, 1), x, grad=(0,), rtol=4e-3, label=name)
