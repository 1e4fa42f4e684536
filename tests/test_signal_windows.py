"""torch.signal.windows against PyTorch: every window, symmetric and periodic, lengths 0 to 9,
float32 and float64, the options (std, tau, center, beta, alpha, a) and the refusals."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.signal import windows

from ._fuzz12_check import check

PLAIN = ["bartlett", "blackman", "cosine", "hamming", "hann", "nuttall"]
OPTIONS = [("gaussian", {"std": 0.7}), ("gaussian", {}), ("exponential", {"tau": 2.5}),
           ("exponential", {}), ("kaiser", {"beta": 0.0}), ("kaiser", {"beta": 5.5}),
           ("kaiser", {}), ("general_hamming", {"alpha": 0.6}), ("general_hamming", {}),
           ("general_cosine", {"a": [0.5, 0.3, 0.2]}), ("general_cosine", {"a": (1.0,)})]


def _dtype(lib, name):
    return None if name is None else getattr(lib, name)


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", [(n, {}) for n in PLAIN] + OPTIONS)
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_windows_match_torch(name, kw, sym, dtype):
    torch = pytest.importorskip("torch")
    for m in range(10):
        check(torch, lambda L: getattr(L.signal.windows, name)(m, sym=sym,
                                                               dtype=_dtype(L, dtype), **kw),
              rtol=1e-6 if dtype is None else 1e-12, label=f"{name}({m}, sym={sym})")


@pytest.mark.torch
def test_exponential_center_of_a_periodic_window_and_requires_grad():
    torch = pytest.importorskip("torch")
    for m in (1, 4, 7):
        check(torch, lambda L: L.signal.windows.exponential(m, center=1.5, sym=False,
                                                            dtype=L.float64), label=str(m))
    w = windows.hann(5, requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.dtype == cr.float32


@pytest.mark.torch
@pytest.mark.parametrize("call", [
    lambda L: L.signal.windows.gaussian(-1), lambda L: L.signal.windows.gaussian(3, std=0),
    lambda L: L.signal.windows.kaiser(3, beta=-1), lambda L: L.signal.windows.exponential(3, tau=0),
    lambda L: L.signal.windows.exponential(3, center=1.0),
    lambda L: L.signal.windows.general_cosine(3, a=[]),
    lambda L: L.signal.windows.general_cosine(3, a=1.0),
    lambda L: L.signal.windows.hann(3, dtype=L.int64)])
def test_windows_refuse_what_torch_refuses(call):
    torch = pytest.importorskip("torch")
    with pytest.raises((ValueError, TypeError)):
        call(torch)
    with pytest.raises((ValueError, TypeError)):
        call(cr)


def test_window_errors_name_the_argument():
    with pytest.raises(ValueError, match="gaussian: std must be a positive number, got 0"):
        windows.gaussian(3, std=0)
    with pytest.raises(ValueError, match="exponential: center must be None for a symmetric"):
        windows.exponential(3, center=1.0)
    np.testing.assert_array_equal(windows.hann(1).numpy(), [1.0])
