"""Fuzz wave 17: ``chainrule.nn.init`` against ``torch.nn.init`` 2.13, beyond wave 12's
(``test_fuzz12_init.py``): every initializer on empty, 0-d, 1-D, 2-D and 3/4/5-D tensors of
float64, float32 and float16 (taken or refused as PyTorch's), with bad modes and nonlinearities;
the deterministic fills' values.

Before this wave ``kaiming_uniform_``/``kaiming_normal_`` of a (0,) tensor raised (a 1-D tensor
has no fans) and a bad ``mode`` on any zero-element tensor raised; PyTorch's leave a zero-element
tensor as it is before looking at its shape, dtype or mode (with a warning, not given here: a
zero-size layer would warn at every construction). ``trunc_normal_`` never returned for a NaN or
infinite mean (its rejection draw accepted nothing), for [a, b] farther than about 1e154 standard
deviations from the mean (``sqrt(near * near + 4)`` overflowed; ``peak * peak - x * x`` was
inf - inf), and gave 0 for a mean of 1e300 truncated to [-2, 2] (``mean + std z`` cancelled); a
NaN or infinite mean or std is now a ValueError (PyTorch draws from it), far intervals are drawn,
and the values are measured from the bound nearest the mean. ``normal_``/``trunc_normal_`` took a
NaN std (PyTorch's ``normal_`` refuses it).

Left as they are: ``orthogonal_`` of float16 (PyTorch has no half QR and raises; computed here);
``trunc_normal_`` with a mean more than 2 std outside [a, b] (PyTorch warns that its inverse-CDF
draw may be wrong there; this one's draw is exact, so no warning).
"""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

SHAPES = [(), (0,), (5,), (0, 3), (3, 0), (4, 6), (6, 4), (2, 3, 4), (4, 2, 3, 3),
          (3, 6, 2, 2, 2), (2, 0, 3, 3)]
CALLS = {
    "uniform_": lambda m, t: m.uniform_(t, -2, 3),
    "normal_": lambda m, t: m.normal_(t, 1, 2),
    "trunc_normal_": lambda m, t: m.trunc_normal_(t, 0, 1, -0.5, 0.5),
    "trunc_normal_ a > b": lambda m, t: m.trunc_normal_(t, 0, 1, 1.0, -1.0),
    "xavier_uniform_": lambda m, t: m.xavier_uniform_(t, gain=2.0),
    "xavier_normal_": lambda m, t: m.xavier_normal_(t),
    "kaiming_uniform_ fan_in": lambda m, t: m.kaiming_uniform_(t, a=0.3, mode="fan_in"),
    "kaiming_uniform_ fan_out": lambda m, t: m.kaiming_uniform_(t, mode="fan_out",
                                                                nonlinearity="relu"),
    "kaiming_normal_ bad mode": lambda m, t: m.kaiming_normal_(t, mode="fan_avg"),
    "kaiming_normal_ bad nonlinearity": lambda m, t: m.kaiming_normal_(t, nonlinearity="swish"),
    "kaiming_normal_ selu": lambda m, t: m.kaiming_normal_(t, nonlinearity="selu"),
    "kaiming_normal_ tanh": lambda m, t: m.kaiming_normal_(t, nonlinearity="tanh", a=5),
    "sparse_": lambda m, t: m.sparse_(t, 0.5),
    "eye_": lambda m, t: m.eye_(t),
    "dirac_": lambda m, t: m.dirac_(t),
    "dirac_ groups=2": lambda m, t: m.dirac_(t, groups=2),
    "dirac_ groups=4": lambda m, t: m.dirac_(t, groups=4),
    "constant_": lambda m, t: m.constant_(t, 0.3),
    "orthogonal_": lambda m, t: m.orthogonal_(t, gain=1.5),
}
_FIXED = ("eye_", "dirac_", "dirac_ groups=2", "dirac_ groups=4", "constant_")


def _outcome(lib, name, shape, dtype):
    t = lib.zeros(shape, dtype=getattr(lib, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's on zero-element tensors
        try:
            return CALLS[name](lib.nn.init, t)
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as e:
            return e


@pytest.mark.parametrize("name", sorted(CALLS))
def test_taken_or_refused_as_pytorch(name):
    for shape in SHAPES:
        for dtype in ("float64", "float32", "float16"):
            if name == "orthogonal_" and dtype == "float16":
                continue  # PyTorch has no half QR (module docstring)
            theirs = _outcome(torch, name, shape, dtype)
            ours = _outcome(cr, name, shape, dtype)
            label = f"{name} {shape} {dtype}: torch {theirs!r:.80}, chainrule {ours!r:.80}"
            assert isinstance(theirs, Exception) == isinstance(ours, Exception), label
            if isinstance(ours, Exception):
                continue
            assert str(ours.dtype) == dtype and tuple(ours.shape) == shape, label
            if name in _FIXED:
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=label)


@pytest.mark.parametrize("fn", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_of_a_zero_element_tensor_is_a_no_op(fn):
    # a (0,) tensor, and any mode, raised before
    for shape, kw in [((0,), {}), ((0, 3), {"mode": "fan_avg"}), ((3, 0), {"nonlinearity": "x"}),
                      ((2, 0, 3, 3), {"mode": "fan_out"})]:
        t = cr.nn.Parameter(cr.zeros(shape))
        assert getattr(cr.nn.init, fn)(t, **kw) is t and tuple(t.shape) == shape
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        getattr(cr.nn.init, fn)(cr.zeros(3))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        getattr(cr.nn.init, fn)(cr.zeros(2, 2), mode="fan_avg")


def test_trunc_normal_ends_far_from_its_mean_and_refuses_non_finite_ones():
    # these never returned (or gave 0 for the first): run in a child with a deadline
    code = """
import math
import chainrule as cr
init = cr.nn.init
for mean, std, a, b, lo, hi in [(1e300, 1.0, -2.0, 2.0, 2.0, 2.0),
                                (-1e300, 1.0, -2.0, 2.0, -2.0, -2.0),
                                (0.0, 1.0, -math.inf, -1e300, -1e300, -1e300),
                                (0.0, 1.0, 1e200, 1e201, 1e200, 1e200 * (1 + 1e-12)),
                                (0.0, 1.0, 40.0, 41.0, 40.0, 40.5)]:
    x = init.trunc_normal_(cr.zeros(50, dtype=cr.float64), mean, std, a, b).numpy()
    assert lo <= x.min() and x.max() <= hi, (mean, a, b, x.min(), x.max())
for mean, std in [(math.nan, 1.0), (math.inf, 1.0), (0.0, math.inf), (0.0, math.nan)]:
    try:
        init.trunc_normal_(cr.zeros(5, dtype=cr.float64), mean, std)
    except ValueError:
        continue
    raise AssertionError((mean, std))
"""
    done = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with pytest.raises(ValueError, match="std must be non-negative, got nan"):
        cr.nn.init.normal_(cr.zeros(3), 0.0, math.nan)
    with pytest.raises(RuntimeError):
        torch.nn.init.normal_(torch.zeros(3), 0.0, math.nan)
