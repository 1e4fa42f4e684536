"""nn.fuse: explicit, visible fusion of a layer with the ReLU after it (nothing fused silently)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import F, nn
from chainrule.train import Trainer


def _cnn(rng):
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 5, 3, rng=rng),
                         nn.ReLU(), nn.Flatten(), nn.Linear(5 * 2 * 2, 8, rng=rng), nn.ReLU(),
                         nn.Linear(8, 3, rng=rng))


def _node_kinds(out):
    kinds, stack = [], [out._ctx]
    while stack:
        fn = stack.pop()
        kinds.append(type(fn).__name__)
        stack += [t._ctx for t in fn.inputs if t._ctx is not None]
    return kinds


def _grads(model, x, t):
    model.zero_grad()
    out = model(cr.tensor(x))
    F.cross_entropy(out, cr.tensor(t)).backward()
    return [out.numpy()] + [p.grad.numpy().copy() for p in model.parameters()]


def test_a_sequential_runs_its_layers_as_they_are(rng):
    model = _cnn(rng)
    out = model(cr.tensor(rng.standard_normal((2, 2, 8, 8)).astype(np.float32)))
    kinds = _node_kinds(out)
    assert kinds.count("ReLU") == 3 and "ConvReLUNd" not in kinds and "LinearReLU" not in kinds


def test_fuse_replaces_pairs_visibly_and_keeps_parameters_and_state_dict(rng):
    model = _cnn(rng)
    params = list(model.parameters())
    keys = list(model.state_dict())
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    assert nn.fuse(model) is model
    assert [type(m).__name__ for m in model] == [
        "Conv2d", "Identity", "MaxPool2dReLU", "Conv2dReLU", "Identity", "Flatten", "LinearReLU",
        "Identity", "Linear"]
    assert "(2): MaxPool2dReLU(kernel_size=2" in repr(model)
    assert "(3): Conv2dReLU(4, 5, kernel_size=(3, 3)" in repr(model)
    assert isinstance(model[3], nn.Conv2d) and isinstance(model[6], nn.Linear)
    assert isinstance(model[2], nn.MaxPool2d)
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    assert list(model.state_dict()) == keys
    assert opt.param_groups[0]["params"][2] is model[3].weight
    assert [type(m).__name__ for m in nn.fuse(model)] == [type(m).__name__ for m in model]
    out = model(cr.tensor(rng.standard_normal((2, 2, 8, 8)).astype(np.float32)))
    kinds = _node_kinds(out)
    assert kinds.count("ConvReLUNd") == 1 and kinds.count("LinearReLU") == 1
    assert kinds.count("_MaxPoolReLU") == 1 and "ReLU" not in kinds


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_model_gives_the_same_values_and_gradients(rng, dtype):
    plain = _cnn(rng).to(dtype=dtype)
    fused = nn.fuse(copy.deepcopy(plain))
    x = rng.standard_normal((6, 2, 8, 8)).astype(dtype)
    t = rng.integers(0, 3, 6)
    for a, b in zip(_grads(plain, x, t), _grads(fused, x, t), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fused_state_dict_loads_into_an_unfused_model(rng):
    fused = nn.fuse(_cnn(rng))
    plain = _cnn(np.random.default_rng(1))
    plain.load_state_dict(fused.state_dict(), strict=True)
    x = cr.tensor(rng.standard_normal((2, 2, 8, 8)).astype(np.float32))
    with cr.no_grad():
        np.testing.assert_array_equal(plain(x).numpy(), fused(x).numpy())


def test_a_relu_between_a_layer_and_a_max_pool_goes_to_the_pool(rng):
    model = nn.fuse(nn.Sequential(nn.Conv1d(2, 3, 3, rng=rng), nn.ReLU(), nn.MaxPool1d(2)))
    assert [type(m).__name__ for m in model] == ["Conv1d", "Identity", "MaxPool1dReLU"]
    x = cr.tensor(rng.standard_normal((4, 2, 12)).astype(np.float32))
    plain = F.max_pool1d(F.relu(F.conv1d(x, model[0].weight, model[0].bias)), 2)
    np.testing.assert_array_equal(model(x).numpy(), plain.numpy())


def test_hooks_and_overridden_forward_are_left_alone(rng):
    hooked = nn.Sequential(nn.Linear(4, 5, rng=rng), nn.ReLU(), nn.Linear(5, 5, rng=rng), nn.ReLU())
    seen = []
    hooked[1].register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0]._ctx))
    nn.fuse(hooked)
    assert [type(m).__name__ for m in hooked] == ["Linear", "ReLU", "LinearReLU", "Identity"]
    hooked(cr.tensor(rng.standard_normal((3, 4)).astype(np.float32)))
    assert type(seen[0]).__name__ == "Linear"

    class Shifted(nn.Conv1d):
        def forward(self, x):
            return super().forward(x) + 1.0

    shifted = nn.fuse(nn.Sequential(Shifted(3, 4, 3, rng=rng), nn.ReLU()))
    assert type(shifted[0]) is Shifted and type(shifted[1]) is nn.ReLU


def test_fuse_reaches_nested_sequentials_and_models(rng):
    model = cr.models.LeNet5("modern", rng=rng)
    nn.fuse(model)
    out = model(cr.tensor(rng.standard_normal((2, 1, 28, 28)).astype(np.float32)))
    kinds = _node_kinds(out)
    assert kinds.count("ConvReLUNd") == 1 and kinds.count("_MaxPoolReLU") == 2
    assert kinds.count("LinearReLU") == 1 and "ReLU" not in kinds
    with pytest.raises(TypeError, match="fuse: model must be a chainrule nn.Module, got list"):
        nn.fuse([model])


@pytest.mark.kernel_free
def test_trainer_fuses_by_default_and_not_when_asked(rng):
    model = nn.Sequential(nn.Linear(4, 5, rng=rng), nn.ReLU(), nn.Linear(5, 2, rng=rng))
    Trainer(model, "cross_entropy", cr.optim.SGD(model.parameters(), lr=0.1))
    assert type(model[0]) is nn.LinearReLU
    kept = nn.Sequential(nn.Linear(4, 5, rng=rng), nn.ReLU(), nn.Linear(5, 2, rng=rng))
    Trainer(kept, "cross_entropy", cr.optim.SGD(kept.parameters(), lr=0.1), fuse=False)
    assert type(kept[0]) is nn.Linear and type(kept[1]) is nn.ReLU
    with pytest.raises(TypeError, match="fuse must be True or False, got 1"):
        Trainer(kept, "cross_entropy", cr.optim.SGD(kept.parameters(), lr=0.1), fuse=1)


def test_unfuse_gives_the_layers_back(rng):
    model = _cnn(rng)
    names = [type(m).__name__ for m in model]
    keys, params = list(model.state_dict()), list(model.parameters())
    x = cr.tensor(rng.standard_normal((2, 2, 8, 8)).astype(np.float32))
    with cr.no_grad():
        before = model(x).numpy()
    nn.unfuse(nn.fuse(model))
    assert [type(m).__name__ for m in model] == names
    assert list(model.state_dict()) == keys
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    with cr.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), before)
    lone = nn.Sequential(nn.LinearReLU(3, 2, rng=rng))  # no Identity beside it
    with pytest.raises(ValueError, match="no Identity holding its ReLU's place"):
        nn.unfuse(lone)
