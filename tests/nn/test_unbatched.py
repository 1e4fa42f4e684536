"""Unbatched (C, *spatial) inputs to convolutions and pools, as PyTorch takes them: each layer and
function gives the batched result of the same sample without its batch axis, gradients included;
PyTorch agrees on a few; a wrong rank names both layouts."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from .._case_loop import each_case, grid, with_rng


@pytest.fixture(autouse=True)
def _modes(kernel_mode):
    return kernel_mode


def _w(rng, *shape):
    return cr.tensor(rng.standard_normal(shape))


SPATIAL = {1: (9,), 2: (8, 7), 3: (6, 5, 6)}
C = 4

# (name, nd, function of (x, rng) -> output); x is (C, *spatial) or (N, C, *spatial), float64.
FUNCTIONS = [
    ("conv1d", 1, lambda x, r: F.conv1d(x, _w(r, 3, C, 3), _w(r, 3), 2, 1)),
    ("conv1d_relu", 1, lambda x, r: F.conv1d_relu(x, _w(r, 3, C, 3))),
    ("conv2d", 2, lambda x, r: F.conv2d(x, _w(r, 4, 2, 3, 2), _w(r, 4), 1, "same", 1, 2)),
    ("conv2d_relu", 2, lambda x, r: F.conv2d_relu(x, _w(r, 3, C, 2, 2), None, 2)),
    ("conv3d", 3, lambda x, r: F.conv3d(x, _w(r, 2, C, 2, 3, 2), _w(r, 2), 1, 1)),
    ("conv_transpose1d", 1, lambda x, r: F.conv_transpose1d(x, _w(r, C, 2, 3), _w(r, 2), 2, 1, 1)),
    ("conv_transpose1d_relu", 1, lambda x, r: F.conv_transpose1d_relu(x, _w(r, C, 2, 3))),
    ("conv_transpose2d", 2, lambda x, r: F.conv_transpose2d(x, _w(r, C, 3, 3, 2), None, 2)),
    ("conv_transpose2d_relu", 2, lambda x, r: F.conv_transpose2d_relu(x, _w(r, C, 3, 2, 2))),
    ("conv_transpose3d", 3, lambda x, r: F.conv_transpose3d(x, _w(r, C, 2, 2, 2, 2), _w(r, 2))),
    ("max_pool1d", 1, lambda x, r: F.max_pool1d(x, 3, 2, 1, return_indices=True)),
    ("max_pool1d dilated", 1, lambda x, r: F.max_pool1d(x, 2, 1, 0, 2, return_indices=True)),
    ("max_pool2d", 2, lambda x, r: F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)),
    ("max_pool3d", 3, lambda x, r: F.max_pool3d(x, 2, return_indices=True)),
    ("max_pool1d_relu", 1, lambda x, r: F.max_pool1d_relu(x, 2)),
    ("max_pool2d_relu", 2, lambda x, r: F.max_pool2d_relu(x, 2)),
    ("min_pool1d", 1, lambda x, r: F.min_pool1d(x, 2)),
    ("min_pool2d", 2, lambda x, r: F.min_pool2d(x, 3, 1, 1)),
    ("avg_pool1d", 1, lambda x, r: F.avg_pool1d(x, 3, 2, 1, True, False)),
    ("avg_pool2d", 2, lambda x, r: F.avg_pool2d(x, 2, divisor_override=3)),
    ("avg_pool3d", 3, lambda x, r: F.avg_pool3d(x, 2, 1)),
    ("adaptive_avg_pool1d", 1, lambda x, r: F.adaptive_avg_pool1d(x, 4)),
    ("adaptive_avg_pool2d", 2, lambda x, r: F.adaptive_avg_pool2d(x, (3, None))),
    ("adaptive_avg_pool3d", 3, lambda x, r: F.adaptive_avg_pool3d(x, 2)),
    ("adaptive_max_pool1d", 1, lambda x, r: F.adaptive_max_pool1d(x, 4, True)),
    ("adaptive_max_pool2d", 2, lambda x, r: F.adaptive_max_pool2d(x, 3, return_indices=True)),
    ("adaptive_max_pool3d", 3, lambda x, r: F.adaptive_max_pool3d(x, 2, True)),
    ("lp_pool1d", 1, lambda x, r: F.lp_pool1d(x, 2, 3)),
    ("lp_pool2d", 2, lambda x, r: F.lp_pool2d(x.abs() + 0.1, 1.5, 2)),  # x ** 1.5: positive x
    ("lp_pool3d", 3, lambda x, r: F.lp_pool3d(x.abs() + 0.1, 3, 2)),
    ("max_unpool1d", 1, lambda x, r: F.max_unpool1d(*F.max_pool1d(x, 2, return_indices=True), 2,
                                                    output_size=(9,))),
    ("max_unpool2d", 2, lambda x, r: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2,
                                                    output_size=(8, 7))),
    ("max_unpool3d", 3, lambda x, r: F.max_unpool3d(*F.max_pool3d(x, 2, return_indices=True),
                                                    kernel_size=2, output_size=(6, 5, 6))),
]


def _layer(name, rng):
    return {
        "Conv1d": lambda: nn.Conv1d(C, 3, 3, padding=2, padding_mode="circular", rng=rng,
                                    dtype=cr.float64),
        "Conv2d": lambda: nn.Conv2d(C, 3, 3, padding=1, padding_mode="reflect", rng=rng,
                                    dtype=cr.float64),
        "Conv3d": lambda: nn.Conv3d(C, 2, 2, padding="same", rng=rng, dtype=cr.float64),
        "ConvTranspose1d": lambda: nn.ConvTranspose1d(C, 3, 3, stride=2, rng=rng, dtype=cr.float64),
        "ConvTranspose2d": lambda: nn.ConvTranspose2d(C, 4, 2, groups=2, rng=rng, dtype=cr.float64),
        "ConvTranspose3d": lambda: nn.ConvTranspose3d(C, 2, 2, stride=2, rng=rng, dtype=cr.float64),
        "LazyConv2d": lambda: nn.LazyConv2d(3, 2, rng=rng, dtype=cr.float64),
        "MaxPool1d": lambda: nn.MaxPool1d(3, 2, return_indices=True),
        "MaxPool2d": lambda: nn.MaxPool2d(2),
        "MaxPool3d": lambda: nn.MaxPool3d(2, 1, dilation=2),
        "MinPool2d": lambda: nn.MinPool2d(2),
        "AvgPool1d": lambda: nn.AvgPool1d(2),
        "AvgPool2d": lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        "AvgPool3d": lambda: nn.AvgPool3d(2, ceil_mode=True),
        "AdaptiveAvgPool1d": lambda: nn.AdaptiveAvgPool1d(3),
        "AdaptiveAvgPool2d": lambda: nn.AdaptiveAvgPool2d(1),
        "AdaptiveAvgPool3d": lambda: nn.AdaptiveAvgPool3d((2, 3, None)),
        "AdaptiveMaxPool1d": lambda: nn.AdaptiveMaxPool1d(3, return_indices=True),
        "AdaptiveMaxPool2d": lambda: nn.AdaptiveMaxPool2d(2),
        "AdaptiveMaxPool3d": lambda: nn.AdaptiveMaxPool3d(2, return_indices=True),
        "LPPool1d": lambda: nn.LPPool1d(2, 3),
        "LPPool2d": lambda: nn.LPPool2d(2, 2),
        "LPPool3d": lambda: nn.LPPool3d(1, 2),
    }[name]()


LAYERS = {"Conv1d": 1, "Conv2d": 2, "Conv3d": 3, "ConvTranspose1d": 1, "ConvTranspose2d": 2,
          "ConvTranspose3d": 3, "LazyConv2d": 2, "MaxPool1d": 1, "MaxPool2d": 2, "MaxPool3d": 3,
          "MinPool2d": 2, "AvgPool1d": 1, "AvgPool2d": 2, "AvgPool3d": 3, "AdaptiveAvgPool1d": 1,
          "AdaptiveAvgPool2d": 2, "AdaptiveAvgPool3d": 3, "AdaptiveMaxPool1d": 1,
          "AdaptiveMaxPool2d": 2, "AdaptiveMaxPool3d": 3, "LPPool1d": 1, "LPPool2d": 2,
          "LPPool3d": 3}


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


def _same_with_and_without_batch(fn, nd, rng):
    """fn on one unbatched sample and on it as a batch of one: values, indices and gradients."""
    sample = rng.standard_normal((C,) + SPATIAL[nd])
    x = cr.tensor(sample, requires_grad=True)
    xb = cr.tensor(sample[None], requires_grad=True)
    single, batched = _outputs(fn(x)), _outputs(fn(xb))
    assert len(single) == len(batched)
    for s, b in zip(single, batched, strict=True):
        assert s.shape == b.shape[1:] and s.dtype == b.dtype
        np.testing.assert_array_equal(s.numpy(), b.numpy()[0])
    g = np.cos(np.arange(single[0].numel())).reshape(single[0].shape)
    (single[0] * cr.tensor(g)).sum().backward()
    (batched[0] * cr.tensor(g[None])).sum().backward()
    assert x.grad is not None and np.abs(x.grad.numpy()).sum() > 0
    np.testing.assert_allclose(x.grad.numpy(), xb.grad.numpy()[0], rtol=1e-13, atol=1e-13)


def _functions_take_an_unbatched_sample_case(name, nd, fn):
    seed = sum(map(ord, name))
    _same_with_and_without_batch(lambda x: fn(x, np.random.default_rng(seed)), nd,
                                 np.random.default_rng(0))


def test_functions_take_an_unbatched_sample():
    each_case(_functions_take_an_unbatched_sample_case, grid(
        ("name, nd, fn", FUNCTIONS, [f[0] for f in FUNCTIONS]),
    ))


def _layers_take_an_unbatched_sample_case(name, rng):
    layer = _layer(name, rng)
    if name == "LazyConv2d":  # its channels are read off the unbatched input (shape[0])
        layer(cr.tensor(rng.standard_normal((C,) + SPATIAL[2])))
        assert layer.weight.shape == (3, C, 2, 2)
    _same_with_and_without_batch(layer, LAYERS[name], rng)


def test_layers_take_an_unbatched_sample():
    each_case(with_rng(_layers_take_an_unbatched_sample_case), grid(
        ("name", list(LAYERS)),
    ))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_layers_and_transposed_output_size(nd, rng):
    pool = getattr(nn, f"MaxPool{nd}d")(2, return_indices=True)
    unpool = getattr(nn, f"MaxUnpool{nd}d")(2)
    size = SPATIAL[nd]
    _same_with_and_without_batch(lambda x: unpool(*pool(x), output_size=size), nd, rng)
    up = getattr(nn, f"ConvTranspose{nd}d")(C, 2, 3, stride=2, rng=rng, dtype=cr.float64)
    want = tuple(2 * n + 2 for n in size)  # the largest reachable: one past the default
    _same_with_and_without_batch(lambda x: up(x, output_size=want), nd, rng)


def test_gradcheck_through_the_batch_axis(rng):
    w = cr.tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)
    x = cr.tensor(rng.standard_normal((3, 4, 4)), requires_grad=True)
    assert cr.gradcheck(lambda x, w: F.conv2d(x, w, padding=1), (x, w))
    assert cr.gradgradcheck(lambda x, w: F.conv2d(x, w, padding=1), (x, w))
    assert cr.gradcheck(lambda x: F.avg_pool2d(x, 2), (x,))


@pytest.mark.kernel_free
@pytest.mark.parametrize("name, nd, bad", [
    ("conv1d", 1, (9,)), ("conv2d", 2, (3, 1, 1, 4, 4)), ("conv3d", 3, (4, 4, 4)),
    ("conv_transpose2d", 2, (4, 4)), ("max_pool1d", 1, (2, 1, 3, 9)), ("avg_pool3d", 3, (6, 6)),
    ("adaptive_max_pool2d", 2, (8,)), ("lp_pool2d", 2, (8, 7)), ("max_unpool2d", 2, (4, 4)),
])
def test_a_wrong_rank_names_both_layouts(name, nd, bad):
    fn = dict((f[0], f[2]) for f in FUNCTIONS)[name]
    layouts = {1: r"2-D \(C, L\) or 3-D \(N, C, L\)", 2: r"3-D \(C, H, W\) or 4-D \(N, C, H, W\)",
               3: r"4-D \(C, D, H, W\) or 5-D \(N, C, D, H, W\)"}[nd]
    got = str(bad).replace("(", r"\(").replace(")", r"\)")
    op = name if name != "max_unpool2d" else "max_pool2d"  # its pool sees the input first
    with pytest.raises(ValueError, match=f"{op}: input must be {layouts}, got shape {got}"):
        fn(cr.zeros(*bad, dtype=cr.float64), np.random.default_rng(0))


@pytest.mark.kernel_free
def test_a_wrong_rank_to_a_layer_names_both_layouts():
    with pytest.raises(ValueError, match=r"AvgPool1d: expected a 2-D \(C, L\) or 3-D \(N, C, L\) "
                                         r"input, got shape \(9,\)"):
        nn.AvgPool1d(2)(cr.zeros(9))
    with pytest.raises(ValueError, match=r"LPPool2d: expected a 3-D \(C, H, W\) or 4-D "
                                         r"\(N, C, H, W\) input, got shape \(1, 1, 1, 4, 4\)"):
        nn.LPPool2d(2, 2)(cr.zeros(1, 1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_unpool1d: indices must have the input's shape "
                                         r"\(4, 2\), got \(4, 1\)"):
        F.max_unpool1d(cr.zeros(4, 2), cr.zeros(4, 1, dtype=cr.int64), 2)


_UNBATCHED_MATCHES_TORCH = ["Conv2d", "ConvTranspose1d", "MaxPool2d+MaxUnpool2d",
                                  "AdaptiveAvgPool3d", "LPPool1d", "avg_pool3d"]


def _unbatched_matches_torch_case(case, rng):
    torch = pytest.importorskip("torch")
    nd = {"Conv2d": 2, "ConvTranspose1d": 1, "MaxPool2d+MaxUnpool2d": 2, "AdaptiveAvgPool3d": 3,
          "LPPool1d": 1, "avg_pool3d": 3}[case]
    sample = np.abs(rng.standard_normal((C,) + SPATIAL[nd])) + 0.1
    if case in ("Conv2d", "ConvTranspose1d"):
        ours = getattr(nn, case)(C, 3, 3, stride=2, dtype=cr.float64, rng=rng)
        theirs = getattr(torch.nn, case)(C, 3, 3, stride=2, dtype=torch.float64)
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    elif case == "MaxPool2d+MaxUnpool2d":
        def ours(x):
            return nn.MaxUnpool2d(2)(*nn.MaxPool2d(2, return_indices=True)(x), output_size=(8, 7))

        def theirs(x):
            pooled = torch.nn.MaxPool2d(2, return_indices=True)(x)
            return torch.nn.MaxUnpool2d(2)(*pooled, output_size=(8, 7))
    elif case == "avg_pool3d":
        def ours(x):
            return F.avg_pool3d(x, 2, 1, 1, count_include_pad=False)

        def theirs(x):
            return torch.nn.functional.avg_pool3d(x, 2, 1, 1, count_include_pad=False)
    else:
        args = {"AdaptiveAvgPool3d": (2,), "LPPool1d": (2, 3)}[case]
        ours, theirs = getattr(nn, case)(*args), getattr(torch.nn, case)(*args)
    x, tx = cr.tensor(sample, requires_grad=True), torch.tensor(sample, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.sin(np.arange(y.numel())).reshape(y.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_unbatched_matches_torch():
    each_case(with_rng(_unbatched_matches_torch_case), grid(
        ("case", _UNBATCHED_MATCHES_TORCH),
    ))
