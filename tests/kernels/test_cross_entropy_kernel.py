"""kernels.cross_entropy: the compiled sweep against the NumPy reference, and the formulas."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import kernels
from chainrule.backend import jit
from chainrule.kernels import cross_entropy as ce


def _logits(rng, dtype, n=7, c=5, batch_last=False):
    z = (rng.standard_normal((n, c)) * 3).astype(dtype)
    return np.asfortranarray(z) if batch_last else z


def test_reference_is_the_formula(rng):
    z = _logits(rng, np.float64)
    labels = rng.integers(0, 5, size=7)
    loss, grad = ce.softmax_cross_entropy_reference(z, labels, -100, True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss, -np.log(p[np.arange(7), labels]), rtol=1e-12)
    expected = p.copy()
    expected[np.arange(7), labels] -= 1
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)
    assert ce.softmax_cross_entropy_reference(z, labels, -100, False)[1] is None


@pytest.mark.skipif(not jit.enabled(), reason="numba is not installed")
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("batch_last", [False, True])
def test_compiled_sweep_equals_the_reference(rng, dtype, tol, batch_last):
    z = _logits(rng, dtype, n=33, c=10, batch_last=batch_last)
    labels = rng.integers(0, 10, size=33)
    loss, grad = ce.softmax_cross_entropy(z, labels, -100, True)
    ref_loss, ref_grad = ce.softmax_cross_entropy_reference(z, labels, -100, True)
    assert loss.dtype == grad.dtype == dtype
    assert grad.flags.f_contiguous == batch_last  # the logits' memory order
    np.testing.assert_allclose(loss, ref_loss, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol)
    assert ce.softmax_cross_entropy(z, labels, -100, False)[1] is None


@pytest.mark.parametrize("kernel", [ce.softmax_cross_entropy, ce.softmax_cross_entropy_reference])
def test_an_ignored_label_leaves_it_to_the_general_path(rng, kernel):
    z = _logits(rng, np.float32)
    labels = rng.integers(0, 5, size=7)
    labels[3] = -100
    assert kernel(z, labels, -100, True) is None


def test_the_loss_takes_the_kernel_in_both_modes(rng):
    z = _logits(rng, np.float64)
    labels = rng.integers(0, 5, size=7)
    losses = []
    for reference in (False, True):
        with cr.reference_mode() if reference else contextlib.nullcontext():
            x = cr.tensor(z, requires_grad=True)
            loss = cr.F.cross_entropy(x, cr.tensor(labels))
            loss.backward()
            losses.append((loss.item(), x.grad.numpy()))
    assert kernels.K.softmax_cross_entropy is ce.softmax_cross_entropy
    np.testing.assert_allclose(losses[0][0], losses[1][0], rtol=1e-12)
    np.testing.assert_allclose(losses[0][1], losses[1][1], rtol=1e-12, atol=1e-15)
