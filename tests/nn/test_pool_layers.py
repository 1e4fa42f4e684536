"""Pooling layers: forward vs the functional ops, validation, gradients, PyTorch parity."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import functional as F  # noqa: N812
from chainrule import nn
from chainrule.ops import pool as P  # noqa: N812

from .._case_loop import each_case, grid, with_rng

# (layer, the functional call it must equal, input shape)
CASES = [
    (nn.MaxPool1d(2), lambda x: P.max_pool1d(x, 2), (2, 3, 8)),
    (nn.MaxPool1d(3, 2, 1), lambda x: P.max_pool1d(x, 3, 2, 1), (2, 3, 9)),
    (nn.MaxPool2d(2), lambda x: P.max_pool2d(x, 2), (2, 3, 6, 8)),
    (nn.MaxPool2d((3, 2), (2, 1), (1, 0)), lambda x: P.max_pool2d(x, (3, 2), (2, 1), (1, 0)),
     (1, 2, 7, 5)),
    (nn.MinPool1d(3), lambda x: P.min_pool1d(x, 3), (2, 2, 9)),
    (nn.MinPool2d(2, 1), lambda x: P.min_pool2d(x, 2, 1), (1, 2, 4, 5)),
    (nn.AvgPool1d(2), lambda x: P.avg_pool1d(x, 2), (2, 3, 8)),
    (nn.AvgPool2d(3, 2, 1), lambda x: P.avg_pool2d(x, 3, 2, 1), (2, 2, 7, 6)),
    (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     lambda x: P.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (2, 2, 7, 6)),
    (nn.AdaptiveAvgPool1d(3), lambda x: P.adaptive_avg_pool1d(x, 3), (2, 3, 8)),
    (nn.AdaptiveAvgPool2d(1), lambda x: P.adaptive_avg_pool2d(x, 1), (2, 3, 5, 4)),
    (nn.AdaptiveAvgPool2d((3, None)), lambda x: P.adaptive_avg_pool2d(x, (3, None)),
     (2, 3, 7, 4)),
    (nn.AdaptiveMaxPool1d(3), lambda x: P.adaptive_max_pool1d(x, 3), (2, 3, 8)),
    (nn.AdaptiveMaxPool2d((2, 3)), lambda x: P.adaptive_max_pool2d(x, (2, 3)), (1, 2, 5, 7)),
]
IDS = [repr(m) for m, _, _ in CASES]


def _distinct(rng, shape, dtype):
    """Inputs without ties (distinct values 0.05 apart), so max/min windows have one winner."""
    n = int(np.prod(shape))
    values = rng.permutation(n).reshape(shape) * 0.05 - n * 0.025
    return cr.tensor(values.astype(dtype), requires_grad=True)


def _forward_equals_functional_case(rng, layer, fn, shape):
    x = _distinct(rng, shape, "float32")
    y = layer(x)
    np.testing.assert_array_equal(y._data, fn(x)._data)
    assert y.shape[:2] == shape[:2] and y.dtype == np.float32
    assert list(layer.parameters()) == [] and layer.state_dict() == {}


def test_forward_equals_functional():
    each_case(with_rng(_forward_equals_functional_case), grid(
        ("layer, fn, shape", CASES, IDS),
    ))


@pytest.mark.parametrize("layer, fn, shape", CASES, ids=IDS)
def test_gradcheck(rng, layer, fn, shape):
    assert cr.gradcheck(layer, _distinct(rng, shape, "float64"))


def test_output_shapes_and_values():
    x = cr.tensor(np.arange(16, dtype="float32").reshape(1, 1, 4, 4))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x)._data, [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(nn.MinPool2d(2)(x)._data, [[[[0, 2], [8, 10]]]])
    np.testing.assert_array_equal(nn.AvgPool2d(2)(x)._data, [[[[2.5, 4.5], [10.5, 12.5]]]])
    global_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    np.testing.assert_array_equal(global_pool(x)._data, [[7.5]])


@pytest.mark.kernel_free
def test_reprs():
    # PyTorch's: MaxPool shows every field, AvgPool these three (AvgPool1d's as 1-tuples)
    assert repr(nn.MaxPool2d(2)) == (
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)")
    assert repr(nn.AvgPool1d(3, 1, 1, count_include_pad=False)) == (
        "AvgPool1d(kernel_size=(3,), stride=(1,), padding=(1,))")
    assert repr(nn.AdaptiveAvgPool2d((1, 1))) == "AdaptiveAvgPool2d(output_size=(1, 1))"


@pytest.mark.kernel_free
@pytest.mark.parametrize("build, error, match", [
    (lambda: nn.MaxPool2d(0), ValueError, "MaxPool2d: kernel_size must be at least 1, got 0"),
    (lambda: nn.MaxPool1d(2, stride=0), ValueError, "MaxPool1d: stride must be at least 1"),
    (lambda: nn.AvgPool2d(2, padding=-1), ValueError, "AvgPool2d: padding must be at least 0"),
    (lambda: nn.MinPool2d(2, padding=2), ValueError, "must be at most half the kernel size"),
    (lambda: nn.MaxPool2d((2, 2, 2)), TypeError, "kernel_size must be an int or a tuple of 2"),
    (lambda: nn.AvgPool2d(2, count_include_pad=1), TypeError, "count_include_pad must be a bool"),
    (lambda: nn.AdaptiveAvgPool2d(0), ValueError, "AdaptiveAvgPool2d: output_size must be"),
    (lambda: nn.AdaptiveMaxPool1d((2, 2)), ValueError, "AdaptiveMaxPool1d: output_size must be"),
])
def test_constructor_validation(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.kernel_free
def test_input_validation(rng):
    with pytest.raises(ValueError, match=r"MaxPool2d: expected a 3-D \(C, H, W\) or 4-D "
                                         r"\(N, C, H, W\) input, got shape \(28, 28\)"):
        nn.MaxPool2d(2)(cr.tensor(np.zeros((28, 28), dtype="float32")))
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool1d: expected a 2-D \(C, L\) or 3-D "
                                         r"\(N, C, L\) input"):
        nn.AdaptiveAvgPool1d(2)(cr.tensor(np.zeros((1, 2, 3, 4), dtype="float32")))
    with pytest.raises(TypeError, match="AvgPool2d: input must be a Tensor, got list"):
        nn.AvgPool2d(2)([[1.0]])


TORCH_CASES = [
    (nn.MaxPool1d(3, 2, 1), "MaxPool1d(3, 2, 1)", (2, 3, 9)),
    (nn.MaxPool2d((3, 2), (2, 1), (1, 0)), "MaxPool2d((3, 2), (2, 1), (1, 0))", (1, 2, 7, 5)),
    (nn.AvgPool1d(2), "AvgPool1d(2)", (2, 3, 8)),
    (nn.AvgPool2d(3, 2, 1), "AvgPool2d(3, 2, 1)", (2, 2, 7, 6)),
    (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     "AvgPool2d(3, 2, 1, count_include_pad=False)", (2, 2, 7, 6)),
    (nn.AdaptiveAvgPool1d(3), "AdaptiveAvgPool1d(3)", (2, 3, 8)),
    (nn.AdaptiveAvgPool2d((3, None)), "AdaptiveAvgPool2d((3, None))", (2, 3, 7, 4)),
    (nn.AdaptiveMaxPool1d(3), "AdaptiveMaxPool1d(3)", (2, 3, 8)),
    (nn.AdaptiveMaxPool2d((2, 3)), "AdaptiveMaxPool2d((2, 3))", (1, 2, 5, 7)),
    (nn.MinPool2d(2, 1), "MinPool2d", (1, 2, 4, 5)),
]


def _matches_torch_case(rng, layer, expr, shape):
    torch = pytest.importorskip("torch")
    if expr == "MinPool2d":  # torch has no min pooling: min_pool(x) = -max_pool(-x)
        pool = torch.nn.MaxPool2d(2, 1)

        def theirs(t):
            return -pool(-t)
    else:
        theirs = eval("torch.nn." + expr, {"torch": torch})
    x = _distinct(rng, shape, "float32")
    tx = torch.from_numpy(x.numpy().copy()).requires_grad_()
    y, ty = layer(x), theirs(tx)
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(y.shape).astype("float32")
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.torch
def test_matches_torch():
    each_case(with_rng(_matches_torch_case), grid(
        ("layer, expr, shape", TORCH_CASES, [e for _, e, _ in TORCH_CASES]),
    ))


def test_pytorch_pooling_arguments_are_accepted_at_their_defaults():
    # PyTorch programs spell out dilation=1, ceil_mode=False, return_indices=False and
    # divisor_override=None, positionally too (ceil_mode, divisor_override, dilation and
    # return_indices work: tests/nn/test_pool_ceil_mode.py, tests/ops/test_pool3d.py).
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6)))
    want = nn.MaxPool2d(2)(x).numpy()
    np.testing.assert_array_equal(nn.MaxPool2d(2, 2, 0, 1, False, False)(x).numpy(), want)
    np.testing.assert_array_equal(F.max_pool2d(x, 2, 2, 0, 1, False, False).numpy(), want)
    mean = nn.AvgPool2d(3, 1, 1, count_include_pad=False)(x).numpy()
    np.testing.assert_array_equal(nn.AvgPool2d(3, 1, 1, False, False, None)(x).numpy(), mean)
    np.testing.assert_array_equal(F.avg_pool2d(x, 3, 1, 1, False, False, None).numpy(), mean)
    seq = cr.tensor(np.random.default_rng(1).standard_normal((2, 3, 8)))
    np.testing.assert_array_equal(nn.MaxPool1d(2, dilation=1, ceil_mode=False)(seq).numpy(),
                                  F.max_pool1d(seq, 2).numpy())
    np.testing.assert_array_equal(F.avg_pool1d(seq, 2, None, 0, False, True).numpy(),
                                  nn.AvgPool1d(2)(seq).numpy())
    for make, match in [(lambda: nn.MaxPool2d(2, dilation=0), "dilation"),
                        (lambda: nn.AvgPool2d(2, divisor_override=0), "divisor_override"),
                        (lambda: F.max_pool2d(x, 2, dilation=(1, 0)), r"max_pool2d: dilation"),
                        (lambda: F.avg_pool2d(x, 2, divisor_override=-1), "divisor_override")]:
        with pytest.raises(ValueError, match=match):
            make()
