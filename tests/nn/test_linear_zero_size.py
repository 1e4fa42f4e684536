"""Zero-size ``nn.Linear`` layers, which PyTorch allows: forward gives an empty (or, with no
inputs, bias-only) output and backward gives correctly shaped gradients."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
@pytest.mark.parametrize("in_features, out_features", [(4, 0), (0, 4), (0, 0)])
def test_zero_size_linear_matches_torch(in_features, out_features):
    torch = pytest.importorskip("torch")
    layer = nn.Linear(in_features, out_features, rng=np.random.default_rng(0), dtype="float64")
    x = cr.tensor(np.ones((3, in_features)), requires_grad=True)
    y = layer(x)
    y.sum().backward()
    ref = torch.nn.Linear(in_features, out_features, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.numpy()))
        ref.bias.copy_(torch.tensor(layer.bias.numpy()))
    xt = torch.ones(3, in_features, dtype=torch.float64, requires_grad=True)
    yt = ref(xt)
    yt.sum().backward()
    assert y.shape == tuple(yt.shape) == (3, out_features)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(layer.weight.grad.numpy(), ref.weight.grad.numpy())
    np.testing.assert_allclose(layer.bias.grad.numpy(), ref.bias.grad.numpy())


@pytest.mark.kernel_free
def test_no_inputs_gives_zero_bias_as_torch():
    # PyTorch's bias bound is 1/sqrt(fan_in) when fan_in > 0, else 0
    layer = nn.Linear(0, 4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(4, dtype="float32"))


def test_lazy_linear_zero_outputs():
    layer = nn.LazyLinear(0, rng=np.random.default_rng(0))
    assert layer(cr.ones(2, 3)).shape == (2, 0)
