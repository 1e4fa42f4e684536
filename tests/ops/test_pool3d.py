"""3-D pools (max, average, adaptive) and the winners' indices of every max pool
(``return_indices``), against PyTorch in float64, with gradchecks. Both kernel modes."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

from .._case_loop import each_case, grid, with_rng


def _both(name, x, args, kwargs, rng):
    """Our F.<name> and PyTorch's on x: values, indices (when returned) and gradients agree."""
    torch = pytest.importorskip("torch")
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, want = getattr(F, name)(a, *args, **kwargs), getattr(torch.nn.functional, name)(
        b, *args, **kwargs)
    if isinstance(want, tuple):
        (y, idx), (want, widx) = y, want
        assert idx.dtype == np.int64 and idx.shape == tuple(widx.shape)
        np.testing.assert_array_equal(idx.numpy(), widx.numpy())
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-13, atol=1e-13)
    g = rng.standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13, atol=1e-13)


CASES = [
    ("max_pool3d", (2,), {}),
    ("max_pool3d", (3, 2, 1), {"return_indices": True}),
    ("max_pool3d", ((3, 2, 2), (2, 1, 2), (1, 0, 1)), {"ceil_mode": True}),
    ("max_pool3d", (3, 2, 1), {"ceil_mode": True, "return_indices": True}),
    ("avg_pool3d", (2,), {}),
    ("avg_pool3d", ((3, 2, 2), (2, 1, 2), (1, 0, 1)), {"ceil_mode": True}),
    ("avg_pool3d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}),
    ("avg_pool3d", (3, 2, 1), {"ceil_mode": True, "divisor_override": 5}),
    ("avg_pool3d", (2, 1, (1, 0, 1)), {"divisor_override": 3}),
    ("adaptive_avg_pool3d", ((3, 4, 5),), {}),
    ("adaptive_avg_pool3d", ((None, 2, 3),), {}),
    ("adaptive_max_pool3d", ((3, 4, 5), True), {}),
    ("adaptive_max_pool3d", (1,), {"return_indices": True}),
]


@pytest.mark.torch
@pytest.mark.parametrize("name, args, kwargs", CASES)
def test_3d_pools_match_torch(rng, name, args, kwargs):
    _both(name, rng.standard_normal((2, 2, 5, 6, 7)), args, kwargs, rng)


@pytest.mark.torch
@pytest.mark.parametrize("name, args, kwargs", [
    ("max_pool3d", (3, 1, 1), {"return_indices": True}),
    ("adaptive_max_pool3d", ((3, 2, 4), True), {}),
    ("max_pool2d", (3, 1, 1), {"return_indices": True}),
])
def test_ties_go_to_the_first_maximum_as_in_torch(rng, name, args, kwargs):
    shape = (2, 2, 4, 5, 6) if name.endswith("3d") else (2, 2, 5, 6)
    _both(name, np.round(rng.standard_normal(shape)), args, kwargs, rng)


_1D_AND_2D_INDICES_MATCH_TORCH = [
    ("max_pool2d", (2, 3, 7, 6), (3, 2, 1), {"return_indices": True}),
    ("max_pool2d", (2, 3, 7, 6), (3, 2, 1), {"ceil_mode": True, "return_indices": True}),
    ("max_pool1d", (2, 3, 7), (3, 2, 1), {"ceil_mode": True, "return_indices": True}),
    ("adaptive_max_pool2d", (2, 3, 7, 6), ((4, 5), True), {}),
    ("adaptive_max_pool1d", (2, 3, 7), (4,), {"return_indices": True}),
]


def _1d_and_2d_indices_match_torch_case(rng, name, shape, args, kwargs):
    _both(name, rng.standard_normal(shape), args, kwargs, rng)


@pytest.mark.torch
def test_1d_and_2d_indices_match_torch():
    each_case(with_rng(_1d_and_2d_indices_match_torch_case), grid(
        ("name, shape, args, kwargs", _1D_AND_2D_INDICES_MATCH_TORCH),
    ))


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name, shape, args, kwargs", [
    ("max_pool1d", (2, 2, 11), (3, 2, 1, 3), {"return_indices": True}),
    ("max_pool2d", (1, 2, 9, 8), (3, 2, 1, (2, 3)), {"ceil_mode": True, "return_indices": True}),
    ("max_pool2d", (1, 2, 9, 8), (2, 1, 1, 3), {}),
    ("max_pool3d", (1, 2, 5, 7, 6), ((2, 3, 2), 2, (1, 1, 0), (2, 2, 3)),
     {"ceil_mode": True, "return_indices": True}),
])
def test_dilated_max_pools_match_torch(rng, name, shape, args, kwargs):
    _both(name, rng.standard_normal(shape), args, kwargs, rng)
    _both(name, np.round(rng.standard_normal(shape)), args, kwargs, rng)  # ties


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name, shape, args", [
    ("max_pool1d", (1, 2, 1), (2, 1, 1, 2)),
    ("max_pool2d", (2, 1, 3, 1), (2, 1, 1, 2)),
    ("max_pool2d", (1, 2, 1, 3), (2, 1, 1, 2)),
    ("max_pool3d", (1, 2, 2, 3, 1), (2, (2, 1, 3), 1, 2)),
])
def test_dilated_windows_wholly_in_the_padding_are_minus_inf_as_in_torch(rng, name, shape, args):
    """Their taps step over the input (on some axis, so all windows do): -inf and PyTorch's index
    (chainrule gave a value of the plane, its first tap clipped into it), and no gradient
    (PyTorch's backward adds it at that index, which can lie in the next plane)."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    a = cr.tensor(x, requires_grad=True)
    y, idx = getattr(F, name)(a, *args, return_indices=True)
    want, widx = getattr(torch.nn.functional, name)(torch.tensor(x), *args, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), widx.numpy())
    assert y.shape == tuple(want.shape) and np.isneginf(want.numpy()).all()
    assert np.isneginf(y.numpy()).all()
    assert np.isneginf(getattr(F, name)(cr.tensor(x), *args).numpy()).all()
    (y * cr.tensor(rng.uniform(0.5, 1.5, y.shape))).sum().backward()  # -inf: no sign changes
    assert not a.grad.numpy().any()


@pytest.mark.torch
def test_nan_windows_index_the_last_nan_as_in_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 2, 4, 5, 6))
    x[0, 0, 0, 0, 0] = x[0, 0, 1, 1, 1] = np.nan
    y, i = F.max_pool3d(cr.tensor(x), 3, 1, 1, return_indices=True)
    want, wi = torch.nn.functional.max_pool3d(torch.tensor(x), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(i.numpy(), wi.numpy())
    np.testing.assert_array_equal(y.numpy(), want.numpy())


@pytest.mark.parametrize("name, args", [
    ("max_pool3d", ((2, 2, 1), (1, 2, 1), (1, 0, 0))),
    ("avg_pool3d", (2, 1, (1, 0, 1), True, False)),
    ("adaptive_avg_pool3d", ((2, 3, 2),)),
    ("adaptive_max_pool3d", ((2, 3, 2),)),
    ("max_pool3d", (2, 1, 1, (2, 1, 1))),
])
def test_gradcheck(rng, name, args):
    x = cr.tensor(rng.permutation(60).reshape(1, 2, 3, 5, 2) / 7.0, requires_grad=True)
    assert cr.gradcheck(lambda x: getattr(F, name)(x, *args), [x])
    assert cr.gradgradcheck(lambda x: getattr(F, name)(x, *args), [x])


def test_by_hand_and_errors(rng):
    x = cr.tensor(np.arange(8.0).reshape(1, 1, 2, 2, 2))
    y, i = F.max_pool3d(x, 2, return_indices=True)
    assert y.tolist() == [[[[[7.0]]]]] and i.tolist() == [[[[[7]]]]]
    assert F.avg_pool3d(x, 2).tolist() == [[[[[3.5]]]]]
    with pytest.raises(ValueError, match=r"max_pool3d: input must be 4-D \(C, D, H, W\) or 5-D "
                                         r"\(N, C, D, H, W\), got shape \(2, 2, 2\)"):
        F.max_pool3d(cr.zeros(2, 2, 2), 2)
    with pytest.raises(ValueError, match=r"avg_pool3d: padding \(2, 0, 0\) must be at most half"):
        F.avg_pool3d(x, 2, padding=(2, 0, 0))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool3d: input must be 4-D"):
        F.adaptive_avg_pool3d(cr.zeros(1, 1, 2, 2, 2, 2), 1)
    with pytest.raises(ValueError, match=r"max_pool3d: kernel size \(2, 2, 2\) with dilation "
                                         r"\(2, 2, 2\) spans more than the padded input"):
        F.max_pool3d(x, 2, dilation=2)
    with pytest.raises(TypeError, match=r"adaptive_max_pool3d: return_indices must be a bool"):
        F.adaptive_max_pool3d(x, 1, 1)
    with pytest.raises(TypeError, match=r"max_pool2d: return_indices must be a bool"):
        F.max_pool2d(cr.zeros(1, 1, 2, 2), 2, return_indices="yes")


@pytest.mark.torch
def test_an_empty_batch_keeps_its_shape_as_in_torch():
    torch = pytest.importorskip("torch")
    for name, shape, args in [("max_pool2d", (0, 2, 5, 5), (2, None, 0, 2)),
                              ("max_pool3d", (0, 1, 4, 4, 4), (2,)),
                              ("avg_pool3d", (0, 1, 4, 4, 4), (2,))]:
        y = getattr(F, name)(cr.zeros(*shape), *args)
        assert y.shape == tuple(getattr(torch.nn.functional, name)(torch.zeros(shape), *args).shape)
    y, i = F.max_pool3d(cr.zeros(0, 1, 4, 4, 4), 2, return_indices=True)
    assert F.max_unpool3d(y, i, 2).shape == (0, 1, 4, 4, 4)
