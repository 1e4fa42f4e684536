"""Seventeenth fuzz wave, explain: ``lrp`` (the epsilon rule), new in this wave, against Captum
0.9's ``LRP`` on the same float64 weights: MLPs with ReLU, Tanh and Dropout, and CNNs with
convolution, max and average pooling, adaptive average pooling and batch norm; Captum's models
reshape in ``forward`` (it has no rule for ``Flatten``), ours may use ``nn.Flatten``."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import gradient_x_input, lrp

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]


class _TorchNet(torch.nn.Module):
    def __init__(self, features, head):
        super().__init__()
        self.features, self.head = features, head

    def forward(self, x):
        return self.head(self.features(x).reshape(len(x), -1))


def _twins(kind, seed):
    rng = np.random.default_rng(seed)
    T = torch.nn
    if kind == "mlp":
        act = ("ReLU", "Tanh")[seed % 2]
        ours = nn.Sequential(nn.Sequential(nn.Linear(6, 8, rng=rng), getattr(nn, act)(),
                                           nn.Dropout(0.3)),
                             nn.Sequential(nn.Linear(8, 5, rng=rng), nn.ReLU(),
                                           nn.Linear(5, 3, rng=rng)))
        theirs = _TorchNet(T.Sequential(T.Linear(6, 8), getattr(T, act)(), T.Dropout(0.3)),
                           T.Sequential(T.Linear(8, 5), T.ReLU(), T.Linear(5, 3)))
        shape = (4, 6)
    else:
        pool = [(nn.MaxPool2d(2), T.MaxPool2d(2)), (nn.AvgPool2d(2), T.AvgPool2d(2)),
                (nn.AdaptiveAvgPool2d(4), T.AdaptiveAvgPool2d(4))][seed % 3]
        ours = nn.Sequential(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng),
                                           nn.BatchNorm2d(3), nn.ReLU(), pool[0]),
                             nn.Sequential(nn.Flatten(), nn.Linear(48, 5, rng=rng), nn.ReLU(),
                                           nn.Linear(5, 3, rng=rng)))
        theirs = _TorchNet(T.Sequential(T.Conv2d(2, 3, 3, padding=1), T.BatchNorm2d(3),
                                        T.ReLU(), pool[1]),
                           T.Sequential(T.Linear(48, 5), T.ReLU(), T.Linear(5, 3)))
        shape = (3, 2, 8, 8)
    ours = ours.to(dtype="float64")
    state = {k: v.numpy() for k, v in ours.state_dict().items()}
    for k in state:  # batch norm's statistics and scale, not the defaults
        if kind == "cnn" and k.startswith("0.1.") and k.endswith(("mean", "var", "weight")):
            state[k] = rng.uniform(0.5, 1.5, state[k].shape)
    ours.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    theirs = theirs.double()
    shift = 1 if kind == "cnn" else 0  # ours has a Flatten first in the head

    def torch_key(k):
        part, i, name = k.split(".", 2)
        return (f"features.{i}.{name}" if part == "0" else f"head.{int(i) - shift}.{name}")

    theirs.load_state_dict({torch_key(k): torch.tensor(v) for k, v in state.items()})
    return ours, theirs.eval(), rng.standard_normal(shape), rng.integers(0, 3, shape[0])


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("epsilon", [1e-9, 0.1])
def test_lrp_matches_captum(kind, seed, epsilon):
    ours, theirs, x, target = _twins(kind, seed)
    got, delta = lrp(ours, x, target, epsilon=epsilon, batch_size=2,
                     return_convergence_delta=True)
    model = captum_attr.LRP(theirs)
    for layer in model.model.modules():
        if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.BatchNorm2d,
                              torch.nn.MaxPool2d, torch.nn.AvgPool2d,
                              torch.nn.AdaptiveAvgPool2d)):
            layer.rule = captum_attr._utils.lrp_rules.EpsilonRule(epsilon)
    want, want_delta = model.attribute(torch.tensor(x), target=torch.tensor(target),
                                       return_convergence_delta=True)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(delta, want_delta.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_lrp_of_a_bias_free_relu_net_is_gradient_times_input():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(5, 6, bias=False, rng=rng), nn.ReLU(),
                          nn.Linear(6, 3, bias=False, rng=rng)).to(dtype="float64")
    x = rng.standard_normal((4, 5))
    got, delta = lrp(model, x, 1, epsilon=1e-12, return_convergence_delta=True)
    np.testing.assert_allclose(got, gradient_x_input(model, x, 1), rtol=1e-9, atol=1e-12)
    assert np.abs(delta).max() < 1e-9  # conserved: nothing absorbed by biases


def test_lrp_refuses_layers_without_a_rule_and_bad_epsilon():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.Sigmoid(), nn.Linear(3, 2, rng=rng))
    x = rng.standard_normal((2, 4)).astype(np.float32)
    with pytest.raises(TypeError, match=r"layer '1' \(Sigmoid\) has no relevance rule"):
        lrp(model, x, 0)
    fine = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.ReLU(inplace=True))
    with pytest.raises(ValueError, match=r"ReLU\(inplace=True\)\) overwrites the input"):
        lrp(fine, x, 0)
    with pytest.raises(ValueError, match="epsilon must be a finite number > 0, got 0"):
        lrp(nn.Linear(4, 2, rng=rng), x, 0, epsilon=0)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
