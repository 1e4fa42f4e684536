"""Conv3d, ConvTranspose3d, BatchNorm3d and InstanceNorm3d: PyTorch parity from the same weights
(state dicts moved across), gradchecks, and the input-rank errors. Both kernel modes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

LAYERS = [
    (nn.Conv3d, (2, 4, 3), {}, (2, 2, 4, 5, 4)),
    (nn.Conv3d, (4, 2, (2, 3, 1)), {"stride": (1, 2, 1), "padding": (1, 0, 1), "groups": 2,
                                    "bias": False}, (1, 4, 3, 5, 3)),
    (nn.Conv3d, (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (1, 2, 3, 4, 4)),
    (nn.Conv3d, (2, 3, 2), {"padding": "same", "dilation": 2, "padding_mode": "circular"},
     (1, 2, 4, 4, 3)),
    (nn.ConvTranspose3d, (2, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1},
     (1, 2, 2, 3, 2)),
    (nn.ConvTranspose3d, (4, 2, 2), {"groups": 2, "dilation": (2, 1, 1)}, (2, 4, 2, 2, 3)),
    (nn.BatchNorm3d, (3,), {}, (2, 3, 2, 3, 2)),
    (nn.BatchNorm3d, (3,), {"affine": False, "momentum": None}, (2, 3, 2, 2, 3)),
    (nn.InstanceNorm3d, (3,), {"affine": True}, (2, 3, 2, 3, 2)),
    (nn.InstanceNorm3d, (3,), {"track_running_stats": True}, (3, 2, 3, 3)),
]
IDS = [f"{c.__name__}{a}{k}" for c, a, k, _ in LAYERS]


def _ours(cls, args, kwargs, rng):
    if cls in (nn.Conv3d, nn.ConvTranspose3d):
        return cls(*args, **kwargs, rng=rng, dtype="float64")
    return cls(*args, **kwargs, dtype="float64")


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("cls, args, kwargs, shape", LAYERS, ids=IDS)
def test_matches_torch_from_the_same_state_dict(rng, cls, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours = _ours(cls, args, kwargs, rng)
    theirs = getattr(torch.nn, cls.__name__)(*args, **kwargs).double()
    if hasattr(ours, "weight") and ours.weight is not None and cls.__name__.startswith("Batch"):
        with cr.no_grad():  # away from PyTorch's initial 1 and 0, so that a swap would show
            ours.weight.copy_(cr.tensor(rng.uniform(0.5, 1.5, args[0])))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    if "padding_mode" not in kwargs:  # chainrule quotes the mode's string, PyTorch does not
        assert repr(ours) == repr(theirs)
    for _step in range(2):  # the second pass sees the running statistics the first updated
        x = rng.standard_normal(shape)
        a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, want = ours(a), theirs(b)
        np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-11, atol=1e-11)
        g = rng.standard_normal(y.shape)
        (y * cr.tensor(g)).sum().backward()
        (want * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-10)
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), getattr(theirs, name).grad.numpy(),
                                       rtol=1e-10, atol=1e-10, err_msg=name)
    for name, v in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(v.numpy()), theirs.state_dict()[name].numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("cls, args, kwargs, shape", [LAYERS[1], LAYERS[4]],
                         ids=["conv3d", "conv_transpose3d"])
def test_gradcheck(rng, cls, args, kwargs, shape):
    layer = _ours(cls, args, kwargs, rng)
    x = cr.tensor(rng.standard_normal(shape), requires_grad=True)
    params = list(layer.parameters())
    assert cr.gradcheck(lambda x, *_: layer(x), [x, *params])


@pytest.mark.kernel_free
def test_weight_layouts(rng):
    assert nn.Conv3d(4, 6, (3, 2, 1), groups=2, rng=rng).weight.shape == (6, 2, 3, 2, 1)
    assert nn.ConvTranspose3d(4, 6, 2, groups=2, rng=rng).weight.shape == (4, 3, 2, 2, 2)


@pytest.mark.kernel_free
def test_wrong_rank_names_the_shape_and_the_rank(rng):
    with pytest.raises(ValueError, match=r"Conv3d: expected a 4-D \(C, D, H, W\) or 5-D "
                                         r"\(N, C, D, H, W\) input, got shape \(4, 4, 4\)"):
        nn.Conv3d(2, 3, 2, rng=rng)(cr.zeros(4, 4, 4))
    with pytest.raises(ValueError, match=r"Conv3d: expected input with 2 channels"):
        nn.Conv3d(2, 3, 2, rng=rng)(cr.zeros(1, 3, 4, 4, 4))
    with pytest.raises(ValueError, match=r"ConvTranspose3d: expected a 4-D .* or 5-D"):
        nn.ConvTranspose3d(2, 3, 2, rng=rng)(cr.zeros(2, 4, 4))
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected input of shape \(N, C, D, H, W\),"
                                         r" got shape \(2, 3, 4, 4\)"):
        nn.BatchNorm3d(3)(cr.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"InstanceNorm3d: expected input of shape"):
        nn.InstanceNorm3d(3)(cr.zeros(3, 4, 4))
