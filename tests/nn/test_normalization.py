"""BatchNorm1d, BatchNorm2d and LayerNorm: buffers, train/eval behaviour, PyTorch parity, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm

pytestmark = pytest.mark.kernel_free


def _randomize(module, rng):
    """Random weights and running statistics, so that parity tests do not pass by symmetry."""
    with cr.no_grad():
        for p in module.parameters():
            p.copy_(rng.standard_normal(p.shape))
        if getattr(module, "running_mean", None) is not None:
            module.running_mean.copy_(rng.standard_normal(module.running_mean.shape))
            module.running_var.copy_(rng.uniform(0.5, 2.0, module.running_var.shape))


def test_batchnorm_registers_torch_named_state():
    bn = BatchNorm2d(3)
    assert list(bn.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"
    ]
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert bn.weight.dtype == np.float32 and bn.running_var.dtype == np.float32
    np.testing.assert_array_equal(bn.weight._data, np.ones(3))
    np.testing.assert_array_equal(bn.running_var._data, np.ones(3))
    assert bn.num_batches_tracked._data.dtype == np.int64 and bn.num_batches_tracked.item() == 0
    bare = BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bare.state_dict()) == [] and bare.weight is None and bare.running_mean is None
    assert repr(bn) == (
        "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )


def test_batchnorm_train_updates_and_eval_uses_running_stats(rng):
    bn = BatchNorm1d(4, dtype="float64")
    x = rng.standard_normal((16, 4, 3)) * 2 + 3
    y = bn(cr.tensor(x))
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    np.testing.assert_allclose(bn.running_mean._data, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var._data, 0.9 + 0.1 * var * 48 / 47, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1
    np.testing.assert_allclose(y._data.mean(axis=(0, 2)), 0, atol=1e-12)
    bn.eval()
    before = bn.running_mean._data.copy()
    y = bn(cr.tensor(x))
    np.testing.assert_array_equal(bn.running_mean._data, before)
    assert bn.num_batches_tracked.item() == 1
    expected = (x - before[:, None]) / np.sqrt(bn.running_var._data[:, None] + 1e-5)
    np.testing.assert_allclose(y._data, expected, rtol=1e-12)


def test_batchnorm_momentum_none_is_a_cumulative_average(rng):
    bn = BatchNorm1d(2, momentum=None, dtype="float64")
    batches = [rng.standard_normal((5, 2)) + k for k in range(3)]
    with cr.no_grad():  # running statistics are updated in training mode even without recording
        for b in batches:
            bn(cr.tensor(b))
    np.testing.assert_allclose(bn.running_mean._data, np.mean([b.mean(0) for b in batches], 0))
    np.testing.assert_allclose(
        bn.running_var._data, np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-12
    )


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(rng):
    bn = BatchNorm2d(3, track_running_stats=False, dtype="float64").eval()
    x = rng.standard_normal((2, 3, 4, 4))
    y = bn(cr.tensor(x))
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(y._data, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10)


def test_batchnorm_float64_module_gradcheck(rng):
    bn = BatchNorm2d(2, dtype="float64")
    _randomize(bn, rng)
    x = cr.tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    assert cr.gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])
    bn.eval()
    assert cr.gradcheck(lambda x, w, b: bn(x), [x, bn.weight, bn.bias])


@pytest.mark.torch
@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d"])
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize(("affine", "track"), [(True, True), (False, True), (True, False)])
def test_batchnorm_matches_torch(rng, cls, momentum, affine, track):
    torch = pytest.importorskip("torch")
    ours = {"BatchNorm1d": BatchNorm1d, "BatchNorm2d": BatchNorm2d}[cls](
        3, eps=1e-4, momentum=momentum, affine=affine, track_running_stats=track, dtype="float64"
    )
    theirs = getattr(torch.nn, cls)(3, eps=1e-4, momentum=momentum, affine=affine,
                                    track_running_stats=track, dtype=torch.float64)
    _randomize(ours, rng)
    theirs.load_state_dict({k: torch.tensor(v._data) for k, v in ours.state_dict().items()})
    shapes = [(6, 3), (4, 3, 5)] if cls == "BatchNorm1d" else [(4, 3, 2, 3)]
    for step in range(4):
        if step == 3:
            ours.eval()
            theirs.eval()
        x = rng.standard_normal(shapes[step % len(shapes)]) * 2 + 1
        g = rng.standard_normal(x.shape)
        cx = cr.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        ours.zero_grad()
        theirs.zero_grad()
        y, ty = ours(cx), theirs(tx)
        y.backward(g)
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=1e-9, atol=1e-10)
        for name, p in theirs.named_parameters():
            np.testing.assert_allclose(getattr(ours, name).grad._data, p.grad.numpy(), rtol=1e-9,
                                       atol=1e-10)
        state = theirs.state_dict()
        for key, value in ours.state_dict().items():
            np.testing.assert_allclose(value._data, state[key].numpy(), rtol=1e-12, atol=1e-14)
        assert list(ours.state_dict()) == list(state)


@pytest.mark.torch
def test_batchnorm_output_matches_torch_in_float32(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    _randomize(ours, rng)
    theirs.load_state_dict({k: torch.tensor(v._data) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((8, 4, 5, 5)).astype("float32")
    for _ in range(2):
        np.testing.assert_allclose(ours(cr.tensor(x))._data,
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_var._data, theirs.running_var.numpy(), rtol=1e-5)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(cr.tensor(x))._data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_layernorm_state_and_defaults(rng):
    ln = LayerNorm((2, 3))
    assert ln.normalized_shape == (2, 3)
    assert list(ln.state_dict()) == ["weight", "bias"]
    assert ln.weight.shape == (2, 3) and ln.weight.dtype == np.float32
    assert list(LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert list(LayerNorm(4, elementwise_affine=False).state_dict()) == []
    assert repr(ln) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=True)"
    x = rng.standard_normal((5, 2, 3)).astype("float32")
    y = ln(cr.tensor(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y._data.reshape(5, -1).mean(1), 0, atol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize(("affine", "bias"), [(True, True), (True, False), (False, True)])
def test_layernorm_matches_torch(rng, affine, bias):
    torch = pytest.importorskip("torch")
    ours = LayerNorm((3, 4), eps=1e-3, elementwise_affine=affine, bias=bias, dtype="float64")
    theirs = torch.nn.LayerNorm((3, 4), eps=1e-3, elementwise_affine=affine, bias=bias,
                                dtype=torch.float64)
    _randomize(ours, rng)
    theirs.load_state_dict({k: torch.tensor(v._data) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 5, 3, 4))
    g = rng.standard_normal(x.shape)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(cx), theirs(tx)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cx.grad._data, tx.grad.numpy(), rtol=1e-9, atol=1e-10)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad._data, p.grad.numpy(), rtol=1e-9,
                                   atol=1e-10)


def test_normalization_layer_errors(rng):
    with pytest.raises(ValueError, match="BatchNorm1d: num_features must be at least 1, got 0"):
        BatchNorm1d(0)
    with pytest.raises(ValueError, match=r"BatchNorm2d: momentum must be a number in \[0, 1\]"):
        BatchNorm2d(3, momentum=2.0)
    with pytest.raises(TypeError, match=r"BatchNorm2d: dtype must be floating-point .*got int32"):
        BatchNorm2d(3, dtype="int32")
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input of shape \(N, C, H, W\), "
                                         r"got shape \(2, 3\)"):
        BatchNorm2d(3)(cr.tensor(np.ones((2, 3), "float32")))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 3 channels on axis 1.*\(2, 4\)"):
        BatchNorm1d(3)(cr.tensor(np.ones((2, 4), "float32")))
    with pytest.raises(ValueError, match="BatchNorm1d: eps must be a non-negative number"):
        BatchNorm1d(3, eps=-1.0)
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be a positive int"):
        LayerNorm((3, 0))
    with pytest.raises(ValueError, match=r"layer_norm: .*normalized_shape \(3,\).*\(2, 4\)"):
        LayerNorm(3)(cr.tensor(np.ones((2, 4), "float32")))


@pytest.mark.parametrize("shape", [(0, 3), (2, 3, 0), (0, 3, 2, 2)])
def test_batchnorm_of_nothing_is_empty_and_keeps_the_running_stats(shape):
    # PyTorch: an empty batch (or no positions) gives an empty output, counts a batch, and
    # leaves the running statistics as they were; the weight and bias get zero gradients.
    bn = (BatchNorm2d if len(shape) == 4 else BatchNorm1d)(3)
    with cr.no_grad():
        bn.running_mean.add_(1.0)
    x = cr.ones(*shape, requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.shape == shape and x.grad.shape == shape
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.ones(3))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    assert int(bn.num_batches_tracked.numpy()) == 1
    np.testing.assert_array_equal(bn.weight.grad.numpy(), np.zeros(3))
    np.testing.assert_array_equal(bn.bias.grad.numpy(), np.zeros(3))
    assert cr.ops.batch_norm(cr.ones(0, 0), training=True).shape == (0, 0)
