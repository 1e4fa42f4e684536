"""Fractional max pooling (F.fractional_max_pool2d/3d, their _with_indices forms, nn.Fractional-
MaxPool2d/3d): PyTorch's windows, values, indices and gradients for the same _random_samples;
gradchecks; seeded draws from chainrule's generator; clear errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from .._case_loop import each_case, grid, with_rng

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

CASES = [  # nd, input shape, kernel_size, output_size, output_ratio
    (2, (2, 3, 9, 11), (2, 3), (5, 4), None),
    (2, (3, 9, 11), 3, (5, 6), None),
    (2, (2, 2, 10, 10), 2, 9, None),
    (2, (1, 2, 12, 9), 2, None, (0.5, 0.75)),
    (3, (2, 3, 7, 6, 8), (2, 2, 3), (4, 3, 5), None),
    (3, (2, 5, 6, 7), 2, None, 0.6),
]
IDS = [f"{nd}d-{'x'.join(map(str, s))}" for nd, s, *_ in CASES]


def _samples(rng, nd, shape, dtype):
    n = 1 if len(shape) == nd + 1 else shape[0]
    return rng.random((n, shape[-nd - 1], nd)).astype(dtype)


def _both(nd, x, s, *args, dtype="float64"):
    """Our and PyTorch's (output, indices) and input gradients for ``x``, samples ``s``."""
    rng = np.random.default_rng(5)
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, i = getattr(F, f"fractional_max_pool{nd}d_with_indices")(a, *args,
                                                                  _random_samples=cr.tensor(s))
    ty, ti = getattr(torch.nn.functional, f"fractional_max_pool{nd}d_with_indices")(
        b, *args, _random_samples=torch.tensor(s))
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    return (y.numpy(), i.numpy(), a.grad.numpy()), (ty.detach().numpy(), ti.numpy(),
                                                    b.grad.numpy())


def _matches_pytorch_for_the_same_samples_case(rng, dtype, nd, shape, kernel, size, ratio):
    x = rng.standard_normal(shape).astype(dtype)
    ours, theirs = _both(nd, x, _samples(rng, nd, shape, dtype), kernel, size, ratio, dtype=dtype)
    for o, t in zip(ours, theirs, strict=True):
        assert o.shape == t.shape and o.dtype == t.dtype
        np.testing.assert_array_equal(o, t)


@pytest.mark.torch
def test_matches_pytorch_for_the_same_samples():
    each_case(with_rng(_matches_pytorch_for_the_same_samples_case), grid(
        ("nd, shape, kernel, size, ratio", CASES, IDS),
        ("dtype", ["float64", "float32"]),
    ))


@pytest.mark.torch
def test_ties_and_nans_pick_pytorchs_winner(rng):
    x = rng.integers(0, 3, (2, 3, 10, 9)).astype("float64")  # many ties: the first maximum wins
    x[0, 0, 2:5, 1:4] = np.nan  # a NaN wins, the last one in its window
    x[1, 2, 7, 7] = np.nan
    ours, theirs = _both(2, x, _samples(rng, 2, x.shape, "float64"), 3, (6, 5))
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(o, t)


@pytest.mark.torch
def test_window_starts_are_computed_in_the_inputs_dtype():
    """With this sample the float32 and float64 starts of a 1000-long axis differ: PyTorch's
    kernel uses the input's dtype, and so does chainrule."""
    u = np.float32(0.8655883073806763)
    x = np.random.default_rng(0).standard_normal((1, 1, 1000, 4))
    s = np.array([[[0.25, u]]])
    got = {}
    for dtype in ("float32", "float64"):
        ours, theirs = _both(2, x.astype(dtype), s.astype(dtype), (3, 2), (401, 3), dtype=dtype)
        np.testing.assert_array_equal(ours[1], theirs[1])
        got[dtype] = ours[1]
    assert (got["float32"] != got["float64"]).any()


@pytest.mark.parametrize("nd", [2, 3])
def test_gradcheck(rng, nd):
    shape = (1, 2, 6, 5) if nd == 2 else (1, 1, 5, 5, 5)
    x = cr.tensor(rng.standard_normal(shape), requires_grad=True)
    s = cr.tensor(_samples(rng, nd, shape, "float64"))
    f = getattr(F, f"fractional_max_pool{nd}d")
    assert cr.gradcheck(lambda a: f(a, 2, 3, _random_samples=s), x)
    assert cr.gradgradcheck(lambda a: f(a, 2, 3, _random_samples=s) ** 2, x)


def test_draws_come_from_chainrules_generator(rng):
    x = cr.tensor(rng.standard_normal((2, 3, 20, 20)))
    runs = []
    for _ in range(2):
        cr.manual_seed(11)
        runs.append([F.fractional_max_pool2d(x, 2, output_ratio=0.5, return_indices=True)[1],
                     nn.FractionalMaxPool3d(2, output_size=3, return_indices=True)(
                         x.reshape(2, 3, 5, 8, 10))[1]])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    once = [F.fractional_max_pool2d(x, 2, 8, rng=np.random.default_rng(4), return_indices=True)[1]
            for _ in range(2)]
    np.testing.assert_array_equal(once[0].numpy(), once[1].numpy())
    draws = {F.fractional_max_pool2d(x, 2, 8, return_indices=True)[1].numpy().tobytes()
             for _ in range(4)}
    assert len(draws) > 1  # fresh samples at each call


@pytest.mark.torch
def test_modules_follow_pytorch(rng):
    s = rng.random((2, 3, 2))
    ours = nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.7), _random_samples=cr.tensor(s),
                                  return_indices=True)
    theirs = torch.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.7),
                                          _random_samples=torch.tensor(s), return_indices=True)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    x = rng.standard_normal((2, 3, 11, 12))
    for o, t in zip(ours(cr.tensor(x)), theirs(torch.tensor(x)), strict=True):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert list(nn.FractionalMaxPool3d(2, 3).state_dict()) == []
    for name in ("fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"):
        ours = [(p.name, p.default) for p in inspect.signature(getattr(F, name)).parameters.values()
                if p.name != "rng"]
        assert ours == [(p.name, p.default) for p in inspect.signature(
            getattr(torch.nn.functional, name)).parameters.values()]
    for name in ("FractionalMaxPool2d", "FractionalMaxPool3d"):
        ours = [(p.name, p.default)
                for p in inspect.signature(getattr(nn, name)).parameters.values()
                if p.name != "rng"]
        assert ours == [(p.name, p.default) for p in inspect.signature(
            getattr(torch.nn, name)).parameters.values()]


_BAD_INPUT_IS_A_CLEAR_ERROR = [
    (lambda x: F.fractional_max_pool2d(x, 2), ValueError,
     "requires specifying either an output_size or an output_ratio"),
    (lambda x: nn.FractionalMaxPool2d(2, 3, 0.5), ValueError,
     "only one of output_size and output_ratio"),
    (lambda x: F.fractional_max_pool2d(x, 2, output_ratio=1.0), ValueError,
     r"output_ratio must be a number in \(0, 1\)"),
    (lambda x: F.fractional_max_pool2d(x, 4, 6), ValueError,
     r"pool height 4 too large relative to input height 8 for output height 6"),
    (lambda x: F.fractional_max_pool2d(x, 0, 3), ValueError,
     "kernel_size must be a positive int or 2 of them, got 0"),
    (lambda x: F.fractional_max_pool3d(x[0], 2, 3), ValueError,
     r"input must be a Tensor \(C, D, H, W\) or \(N, C, D, H, W\), got shape \(3, 8, 9\)"),
    (lambda x: F.fractional_max_pool2d(x.long(), 2, 3), TypeError,
     "input must be floating point, got dtype int64"),
    (lambda x: F.fractional_max_pool2d(x, 2, 3, _random_samples=cr.zeros(2, 3, 3)), ValueError,
     r"_random_samples must have shape \(N, C, 2\) = \(2, 3, 2\) .* got \(2, 3, 3\)"),
    (lambda x: F.fractional_max_pool2d(x, 2, 3, _random_samples=cr.zeros(2, 3, 2)), TypeError,
     "_random_samples must have the input's dtype float64, got float32"),
    (lambda x: F.fractional_max_pool2d(x, 2, 3, _random_samples=cr.ones(2, 3, 2,
                                                                         dtype=cr.float64)),
     ValueError, r"_random_samples must lie in \[0, 1\)"),
]


def _bad_input_is_a_clear_error_case(rng, call, kind, match):
    with pytest.raises(kind, match=match):
        call(cr.tensor(rng.standard_normal((2, 3, 8, 9))))


def test_bad_input_is_a_clear_error():
    each_case(with_rng(_bad_input_is_a_clear_error_case), grid(
        ("call, kind, match", _BAD_INPUT_IS_A_CLEAR_ERROR),
    ))
