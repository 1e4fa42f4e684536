"""PyTorch's deprecated positional overloads: ``ema.mul_(a).add_(1 - a, param)`` (the mean-teacher
EMA), ``x.sub_(lr, g)``, ``v.addcmul_(1 - beta2, g, g)``, ``p.addcdiv_(-step, m, d)`` and their
out-of-place forms were TypeErrors; PyTorch runs them with a UserWarning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

CALLS = [
    ("add_", lambda x, y: x.add_(0.1, y)), ("sub_", lambda x, y: x.sub_(2.0, y)),
    ("add", lambda x, y: x.add(0.5, y)), ("sub", lambda x, y: x.sub(3, y)),
    ("addcmul_", lambda x, y: x.addcmul_(0.5, y, y)),
    ("addcdiv_", lambda x, y: x.addcdiv_(-2.0, y, y + 1)),
    ("addcmul", lambda x, y: x.addcmul(2, y, y)),
    ("addcdiv", lambda x, y: x.addcdiv(0.25, y, y + 1)),
]


@pytest.mark.parametrize("name, call", CALLS)
def test_deprecated_overload_matches_pytorch_values_gradients_and_warning(name, call):
    runs = []
    for lib in (cr, torch):
        w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        x = w * 1.0  # a non-leaf, so the in-place forms may change it
        if lib is cr:  # PyTorch warns once a process
            with pytest.warns(UserWarning, match=f"This overload of {name} is deprecated"):
                out = call(x, y)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                out = call(x, y)
        (out * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        runs.append([t.detach().numpy().copy() for t in (out, w.grad, y.grad)])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_the_current_signatures_are_unchanged_and_keywords_win():
    x = cr.ones(3)
    x.add_(cr.ones(3), alpha=2)  # no warning path
    assert x.tolist() == [3.0, 3.0, 3.0]
    assert x.add(1).tolist() == [4.0, 4.0, 4.0]
    with pytest.raises(TypeError):
        x.add_(0.1, cr.ones(3), alpha=2)  # both forms at once: refused as PyTorch does
