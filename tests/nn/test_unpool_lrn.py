"""MaxUnpool1d/2d/3d, LPPool1d/2d/3d, LocalResponseNorm, CrossMapLRN2d and the 3-D pooling
layers: PyTorch parity (float64, values and gradients), gradchecks and errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from .._case_loop import each_case, grid, with_rng


def _compare(ours, theirs, x, rng, *, tol=1e-12):
    torch = pytest.importorskip("torch")
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, want = ours(a), theirs(b)
    if isinstance(want, tuple):
        (y, idx), (want, widx) = y, want
        np.testing.assert_array_equal(idx.numpy(), widx.numpy())
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)


MODULES = [
    ("MaxPool3d", (2,), {"return_indices": True}, (2, 2, 4, 5, 4)),
    ("MaxPool3d", (3, 2, 1), {"ceil_mode": True}, (1, 2, 5, 4, 6)),
    ("AvgPool3d", (3, 2, 1), {"count_include_pad": False}, (1, 2, 5, 4, 6)),
    ("AvgPool3d", (2,), {"divisor_override": 3}, (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool3d", ((2, None, 3),), {}, (1, 2, 5, 4, 6)),
    ("AdaptiveMaxPool3d", ((2, 3, 4),), {"return_indices": True}, (1, 2, 5, 4, 6)),
    ("AdaptiveMaxPool2d", ((3, 4),), {"return_indices": True}, (1, 2, 5, 6)),
    ("LPPool1d", (2, 3), {"stride": 2}, (2, 3, 8)),
    ("LPPool2d", (1.5, (2, 3)), {"ceil_mode": True}, (2, 3, 5, 7)),
    ("LPPool3d", (3, 2), {"stride": (1, 2, 1)}, (1, 2, 4, 5, 4)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 4)),
    ("LocalResponseNorm", (4,), {"alpha": 0.3, "beta": 0.6, "k": 2.0}, (2, 6, 3, 3)),
    ("LocalResponseNorm", (2,), {"alpha": 0.5}, (1, 4, 2, 3, 2)),
    ("CrossMapLRN2d", (5,), {"alpha": 0.5, "beta": 0.75, "k": 1.3}, (2, 8, 3, 2)),
    ("CrossMapLRN2d", (2,), {"alpha": 0.5}, (1, 3, 2, 2)),
]


def _modules_match_torch_case(rng, name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    if not name.startswith(("MaxPool", "AvgPool")):  # whose reprs list fewer arguments
        assert repr(ours) == repr(theirs)
    x = rng.uniform(0.2, 2.0, shape) if name.startswith("LP") else rng.standard_normal(shape)
    if name == "CrossMapLRN2d":  # PyTorch's backward is not its forward's gradient: values only
        np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-13, atol=1e-13)
        return
    _compare(ours, theirs, x, rng)


@pytest.mark.torch
def test_modules_match_torch():
    each_case(with_rng(_modules_match_torch_case), grid(
        ("name, args, kwargs, shape", MODULES, [f"{n}{a}{k}" for n, a, k, _ in MODULES]),
    ))


_MAX_UNPOOL_MATCHES_TORCH = [
    (1, 3, 2, 1, (2, 3, 9), None),
    (1, 2, None, 0, (1, 2, 7), (1, 2, 7)),
    (2, 3, 2, 1, (2, 2, 7, 6), (7, 6)),
    (2, 3, 2, 1, (2, 2, 7, 5), None),
    (2, (2, 3), (2, 1), 0, (1, 2, 7, 6), (7, 6)),
    (3, 2, 2, 0, (1, 2, 5, 4, 5), (5, 4, 5)),
    (3, (3, 2, 2), (2, 1, 2), (1, 0, 1), (1, 2, 5, 4, 6), None),
]


def _max_unpool_matches_torch_case(rng, nd, kernel, stride, padding, shape, output_size):
    torch = pytest.importorskip("torch")
    pool, unpool = f"MaxPool{nd}d", f"MaxUnpool{nd}d"
    x = rng.standard_normal(shape)
    y, i = getattr(nn, pool)(kernel, stride, padding, return_indices=True)(cr.tensor(x))
    ty, ti = getattr(torch.nn, pool)(kernel, stride, padding, return_indices=True)(
        torch.tensor(x))
    ours, theirs = getattr(nn, unpool)(kernel, stride, padding), getattr(torch.nn, unpool)(
        kernel, stride, padding)
    assert repr(ours) == repr(theirs)
    _compare(lambda v: ours(v, i, output_size), lambda v: theirs(v, ti, output_size),
             y.numpy(), rng)
    fn = getattr(F, f"max_unpool{nd}d")
    np.testing.assert_array_equal(fn(y, i, kernel, stride, padding, output_size).numpy(),
                                  ours(y, i, output_size).numpy())


@pytest.mark.torch
def test_max_unpool_matches_torch():
    each_case(with_rng(_max_unpool_matches_torch_case), grid(
        ("nd, kernel, stride, padding, shape, output_size", _MAX_UNPOOL_MATCHES_TORCH),
    ))


def test_unpool_gradients_of_first_and_second_order(rng):
    # Disjoint windows: each index once. (With repeated indices the gradient is PyTorch's, the
    # output gradient read at every copy, which test_max_unpool_matches_torch compares.)
    x = cr.tensor(rng.standard_normal((1, 2, 4, 6)))
    _, i = F.max_pool2d(x, (2, 3), return_indices=True)
    v = cr.tensor(rng.standard_normal(i.shape), requires_grad=True)
    assert cr.gradcheck(lambda v: F.max_unpool2d(v, i, (2, 3)), [v])
    assert cr.gradgradcheck(lambda v: F.max_unpool2d(v, i, (2, 3)) ** 2, [v])


@pytest.mark.parametrize("fn, args, shape", [
    (F.lp_pool2d, (2, 2), (1, 2, 4, 4)),
    (F.lp_pool3d, (1.5, (2, 1, 2)), (1, 1, 2, 3, 4)),
    (F.local_response_norm, (3, 0.5, 0.75, 1.0), (1, 4, 3)),
    (nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0), (), (1, 5, 2, 2)),
], ids=["lp_pool2d", "lp_pool3d", "local_response_norm", "CrossMapLRN2d"])
def test_gradcheck(rng, fn, args, shape):
    x = cr.tensor(rng.uniform(0.3, 2.0, shape), requires_grad=True)
    assert cr.gradcheck(lambda x: fn(x, *args), [x])
    assert cr.gradgradcheck(lambda x: fn(x, *args), [x])


def _lp_pool_window_of_zeros_matches_torch_case(rng, fn, nd, p):
    # A window of zeros (after a ReLU, say) has PyTorch's zero gradient, not NaN (inf * 0); found
    # by the fifth fuzz wave.
    torch = pytest.importorskip("torch")
    x = np.maximum(rng.standard_normal((2, 2) + (2,) * (nd - 1) + (6,)), 0)
    x[..., :3] = 0.0
    kernel = (1,) * (nd - 1) + (3,) if nd > 1 else 3  # PyTorch's lp_pool1d takes an int only
    _compare(lambda a: fn(a, p, kernel),
             lambda a: getattr(torch.nn.functional, fn.__name__)(a, p, kernel), x, rng)


@pytest.mark.torch
def test_lp_pool_window_of_zeros_matches_torch():
    each_case(with_rng(_lp_pool_window_of_zeros_matches_torch_case), grid(
        ("p", [1.5, 2.0, 3.0]),
        ("fn, nd", [(F.lp_pool1d, 1), (F.lp_pool2d, 2), (F.lp_pool3d, 3)]),
    ))


def test_errors(rng):
    x = cr.tensor(rng.standard_normal((1, 1, 4, 4)))
    y, i = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(ValueError, match=r"MaxUnpool2d: expected a 3-D \(C, H, W\) or 4-D "
                                         r"\(N, C, H, W\) input, got shape \(2, 2\)"):
        nn.MaxUnpool2d(2)(y[0, 0], i[0, 0])
    with pytest.raises(ValueError, match=r"max_unpool2d: output_size \(6, 4\) is invalid: spatial "
                                         r"axis 0 must be between 2 and 6"):
        F.max_unpool2d(y, i, 2, output_size=(6, 4))
    with pytest.raises(ValueError, match=r"max_unpool2d: indices must have the input's shape"):
        F.max_unpool2d(y, i[:, :, :1], 2)
    with pytest.raises(TypeError, match=r"max_unpool2d: indices must be an integer Tensor"):
        F.max_unpool2d(y, y, 2)
    with pytest.raises(ValueError, match=r"max_unpool2d: index 16 lies outside"):
        F.max_unpool2d(y, cr.tensor(np.full((1, 1, 2, 2), 16)), 2)
    with pytest.raises(ValueError, match=r"local_response_norm: input must be 3-D or more, "
                                         r"\(N, C, \*\), got shape \(2, 3\)"):
        nn.LocalResponseNorm(2)(cr.zeros(2, 3))
    with pytest.raises(ValueError, match=r"CrossMapLRN2d: input must be 4-D"):
        nn.CrossMapLRN2d(2)(cr.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"LPPool2d: norm_type must be a nonzero number"):
        nn.LPPool2d(0, 2)
    with pytest.raises(ValueError, match=r"LPPool3d: expected a 4-D .* or 5-D"):
        nn.LPPool3d(2, 2)(x[0])
    with pytest.raises(ValueError, match=r"MaxPool3d: expected a 4-D \(C, D, H, W\) or 5-D "
                                         r"\(N, C, D, H, W\) input"):
        nn.MaxPool3d(2)(x[0])


def test_fuse_leaves_pools_with_indices_or_dilation_alone(rng):
    model = nn.fuse(nn.Sequential(nn.ReLU(), nn.MaxPool2d(2, dilation=2), nn.ReLU(),
                                  nn.MaxPool2d(2, return_indices=True)))
    assert [type(m).__name__ for m in model] == ["ReLU", "MaxPool2d", "ReLU", "MaxPool2d"]
    x = cr.tensor(rng.standard_normal((1, 1, 8, 8)))
    y, i = model(x)
    want, wi = F.max_pool2d(F.relu(F.max_pool2d(F.relu(x), 2, dilation=2)), 2,
                            return_indices=True)
    np.testing.assert_array_equal(y.numpy(), want.numpy())
    np.testing.assert_array_equal(i.numpy(), wi.numpy())
