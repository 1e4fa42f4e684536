"""port17j_programs.py (PyTorch's Python custom operators tutorial) runs unchanged on PyTorch and
on chainrule: the operators' values, gradients, opcheck reports and the fitted canvas agree to
float64 rounding; the fit also learns in float32.

Each run registers its operators under a namespace of its own (PyTorch keeps one definition per
name in a process)."""

import itertools

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

from . import port17j_programs as programs  # noqa: E402
from ._one_thread import one_torch_thread  # noqa: E402, F401 - an autouse fixture
from .test_port16_programs import _float64  # noqa: E402

_names = (f"port17j_{i}" for i in itertools.count())


def test_custom_ops_tutorial_crop_paste_opcheck_and_mutable_sin_match_pytorch():
    img = np.random.default_rng(1790).uniform(size=(3, 8, 8))
    ours, theirs = (programs.custom_ops_tutorial(lib, lib.tensor(img), next(_names))
                    for lib in (chainrule, torch))
    for key in ("opcheck", "opcheck_paste"):
        assert ours.pop(key) == theirs.pop(key), key
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-7 if "sin" in key else 1e-13,
                                   err_msg=key)
    np.testing.assert_allclose(ours["sin"], ours["sin_check"], rtol=1e-6)


def _patches(seed):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(size=(3, 8, 8))
    boxes = [(0, 0, 4, 4), (2, 1, 7, 5), (3, 3, 8, 8), (1, 4, 6, 8)]
    return truth, boxes, [truth[:, y0:y1, x0:x1] for x0, y0, x1, y1 in boxes]


def test_canvas_fitted_through_the_crop_operator_matches_pytorch():
    _, boxes, targets = _patches(1791)
    ours, theirs = (_float64(lib, lambda lib=lib: programs.fit_canvas(
        lib, [lib.tensor(t) for t in targets], boxes, next(_names)))
        for lib in (chainrule, torch))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)


def test_wave17_part_ten_learns_with_chainrules_own_draws():
    truth, boxes, targets = _patches(1792)
    losses, canvas = programs.fit_canvas(
        chainrule, [chainrule.tensor(t, dtype=chainrule.float32) for t in targets], boxes,
        next(_names), steps=60)
    assert losses[-1] < 0.05 * losses[0]
    np.testing.assert_allclose(canvas[:, :4, :4], truth[:, :4, :4], atol=0.1)
