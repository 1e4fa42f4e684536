"""Gradient clipping by total norm and by value."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import clip_grad_norm_, clip_grad_value_

pytestmark = pytest.mark.kernel_free


def _with_grads(rng, shapes, dtype="float32", scale=1.0):
    params = []
    for s in shapes:
        p = cr.tensor(np.zeros(s, dtype=dtype), requires_grad=True)
        p.grad = cr.tensor((rng.standard_normal(s) * scale).astype(dtype))
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf"])
def test_clip_grad_norm_scales_to_max_norm(rng, norm_type):
    params = _with_grads(rng, [(3, 4), (5,)], "float64", scale=10.0)
    flat = np.concatenate([p.grad._data.ravel() for p in params])
    order = np.inf if norm_type == "inf" else norm_type
    expected = np.linalg.norm(flat, ord=order)
    olds = [p.grad for p in params]
    arrays = [p.grad._data for p in params]
    total = clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, cr.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    new = np.concatenate([p.grad._data.ravel() for p in params])
    np.testing.assert_allclose(new, flat * 1.5 / (expected + 1e-6), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(new, ord=order), 1.5, rtol=1e-6)
    for old, p in zip(olds, params, strict=True):
        assert p.grad is old  # in place, as PyTorch's: a reference held before sees the change
    # the Tensor holds a new array: the old one, which may be shared, is left as it was
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in arrays]), flat)


def test_infinite_max_norm_only_measures(rng):
    params = _with_grads(rng, [(4,)])
    before = params[0].grad
    total = clip_grad_norm_(params, float("inf"))
    assert params[0].grad is before
    np.testing.assert_allclose(total.item(), np.linalg.norm(before._data), rtol=1e-6)


def test_small_gradients_are_left_alone(rng):
    params = _with_grads(rng, [(4,)], scale=0.01)
    before = params[0].grad
    total = clip_grad_norm_(params[0], max_norm=1.0)
    assert params[0].grad is before
    np.testing.assert_allclose(total.item(), np.linalg.norm(before._data), rtol=1e-6)
    assert total.dtype == np.float32


def test_parameters_without_grads_are_ignored(rng):
    params = _with_grads(rng, [(3,)])
    idle = cr.tensor([1.0, 2.0], requires_grad=True)
    total = clip_grad_norm_(iter([idle, *params]), 0.1)
    assert idle.grad is None
    np.testing.assert_allclose(np.linalg.norm(params[0].grad._data), 0.1, rtol=1e-5)
    assert total.item() > 0.1
    assert clip_grad_norm_([idle], 1.0).item() == 0.0


def test_nonfinite_norm(rng):
    params = _with_grads(rng, [(3,)], "float64")
    params[0].grad._data[1] = np.nan
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isnan(clip_grad_norm_(params, 1.0).item())
    assert np.isnan(params[0].grad._data).all()  # as PyTorch: the nan spreads to every entry


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda ps: clip_grad_norm_(ps, -1.0), ValueError, "max_norm must be a number >= 0, got"),
        (lambda ps: clip_grad_norm_(ps, "1"), TypeError, "max_norm must be a number >= 0, got '1'"),
        (lambda ps: clip_grad_norm_(ps, 1.0, norm_type="two"), TypeError, "norm_type must be"),
        (lambda ps: clip_grad_norm_(5, 1.0), TypeError, "parameters must be a Tensor or an"),
        (lambda ps: clip_grad_norm_([ps[0]._data], 1.0), TypeError, r"parameters\[0\] must be"),
        (lambda ps: clip_grad_value_(ps, -0.5), ValueError, "clip_value must be a number >= 0"),
    ],
)
def test_invalid_arguments(rng, call, error, match):
    with pytest.raises(error, match=match):
        call(_with_grads(rng, [(2,)]))


def test_clip_grad_value_clamps_into_a_new_tensor(rng):
    params = _with_grads(rng, [(4, 5), (3,)], scale=3.0)
    olds = [p.grad._data.copy() for p in params]
    assert clip_grad_value_(params, 1.0) is None
    for old, p in zip(olds, params, strict=True):
        np.testing.assert_array_equal(p.grad._data, np.clip(old, -1.0, 1.0))
        assert p.grad.dtype == np.float32


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_norm_matches_torch(rng, norm_type, dtype):
    torch = pytest.importorskip("torch")
    params = _with_grads(rng, [(6, 7), (7,), (2, 3, 4)], dtype, scale=2.0)
    theirs = []
    for p in params:
        t = torch.zeros(p.shape, dtype=getattr(torch, dtype), requires_grad=True)
        t.grad = torch.from_numpy(p.grad._data.copy())
        theirs.append(t)
    total = clip_grad_norm_(params, 2.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 2.5, norm_type)
    rtol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=rtol)
    for p, t in zip(params, theirs, strict=True):
        np.testing.assert_allclose(p.grad._data, t.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.torch
def test_clip_grad_value_matches_torch(rng):
    torch = pytest.importorskip("torch")
    params = _with_grads(rng, [(6, 7)], scale=2.0)
    t = torch.zeros(6, 7, requires_grad=True)
    t.grad = torch.from_numpy(params[0].grad._data.copy())
    clip_grad_value_(params, 0.7)
    torch.nn.utils.clip_grad_value_([t], 0.7)
    np.testing.assert_array_equal(params[0].grad._data, t.grad.numpy())
