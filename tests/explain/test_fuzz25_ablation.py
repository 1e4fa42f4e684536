"""feature_ablation with Captum's tuple of inputs, per-input baselines and feature masks (a group
number used in two inputs' masks is one group across them), and additional_forward_args; it
refused all of them (TypeError), as if it took one batch only."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import explain, nn

torch = pytest.importorskip("torch")
ca = pytest.importorskip("captum.attr")

R = np.random.default_rng(0)
X1, X2 = R.standard_normal((3, 3)), R.standard_normal((3, 2, 2))
SCALE = np.array([[1.0], [2.0], [-1.0]])


class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4, rng=np.random.default_rng(1))
        self.b = nn.Linear(4, 4, rng=np.random.default_rng(2))
        self.h = nn.Linear(4, 2, rng=np.random.default_rng(3))

    def forward(self, x1, x2, scale=1.0):
        return self.h((self.a(x1) + self.b(x2.reshape(x2.shape[0], -1))).tanh() * scale)


class TorchTwo(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.h = (torch.nn.Linear(3, 4), torch.nn.Linear(4, 4),
                                  torch.nn.Linear(4, 2))

    def forward(self, x1, x2, scale=1.0):
        return self.h(torch.tanh(self.a(x1) + self.b(x2.reshape(x2.shape[0], -1))) * scale)


def _models():
    m, tm = Two().double(), TorchTwo().double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    return m, tm


def _same(ours, theirs, rtol=1e-10):
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=rtol, atol=rtol * 1e-2)


def test_a_tuple_of_inputs_against_captum():
    m, tm = _models()
    t1, t2 = torch.tensor(X1), torch.tensor(X2)
    fa = ca.FeatureAblation(tm)
    _same(explain.feature_ablation(m, (X1, X2), [0, 1, 1]),
          fa.attribute((t1, t2), target=[0, 1, 1]))
    m1, m2 = np.array([0, 1, 1]), np.array([[1, 2], [2, 3]])  # group 1 spans both inputs
    _same(explain.feature_ablation(m, (X1, X2), 1, feature_mask=(m1, m2),
                                   baseline=(0.5, cr.tensor(X2[0]))),
          fa.attribute((t1, t2), target=1, baselines=(0.5, t2[:1]),
                       feature_mask=(torch.tensor(m1)[None], torch.tensor(m2)[None])))
    per_sample = np.stack([m1, m1[::-1], m1])
    _same(explain.feature_ablation(m, (X1, X2), 0, feature_mask=(per_sample, m2),
                                   additional_forward_args=(SCALE,)),
          fa.attribute((t1, t2), target=0, additional_forward_args=(torch.tensor(SCALE),),
                       feature_mask=(torch.tensor(per_sample),
                                     torch.tensor(m2)[None].expand(3, 2, 2))))


def test_one_input_with_additional_forward_args_against_captum():
    m, tm = _models()
    got = explain.feature_ablation(m, X1, 0, additional_forward_args=(X2, SCALE))
    want = ca.FeatureAblation(tm).attribute(torch.tensor(X1), target=0, additional_forward_args=(
        torch.tensor(X2), torch.tensor(SCALE)))
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"one mask per input \(2\), got 3"):
        explain.feature_ablation(m, (X1, X2), 0, feature_mask=(None, None, None))


def test_shapley_values_of_a_tuple_of_inputs_against_captum():
    """shapley_values and shapley_value_sampling refused the tuple too."""
    m, tm = _models()
    t1, t2 = torch.tensor(X1), torch.tensor(X2)
    m1, m2 = np.array([0, 1, 1]), np.array([[1, 2], [2, 0]])
    _same(explain.shapley_values(m, (X1, X2), [1, 0, 1], feature_mask=(m1, m2),
                                 baseline=(0.2, 0.0), additional_forward_args=(SCALE,)),
          ca.ShapleyValues(tm).attribute(
              (t1, t2), target=[1, 0, 1], baselines=(0.2, 0.0),
              feature_mask=(torch.tensor(m1)[None], torch.tensor(m2)[None]),
              additional_forward_args=(torch.tensor(SCALE),)), rtol=1e-6)  # Captum's float32
    # every ordering of the 3 groups given as the samples: the exact values again
    orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
    _same(explain.shapley_value_sampling(m, (X1, X2), 0, feature_mask=(m1, m2),
                                         permutations=orders),
          ca.ShapleyValues(tm).attribute((t1, t2), target=0, feature_mask=(
              torch.tensor(m1)[None], torch.tensor(m2)[None])), rtol=1e-6)


def test_feature_permutation_of_a_tuple_of_inputs_against_captum():
    """feature_permutation refused the tuple too. Captum shuffles with the perm_func given."""
    m, tm = _models()
    p = np.array([2, 0, 1])

    def perm_func(x, mask):  # the same shuffle for every group, as permutations= below
        return torch.where(mask, x[torch.tensor(p)], x)

    m1, m2 = np.array([0, 1, 1]), np.array([[1, 2], [2, 0]])
    got = explain.feature_permutation(m, (X1, X2), [1, 0, 1], feature_mask=(m1, m2),
                                      permutations=[p] * 3, additional_forward_args=(SCALE,))
    want = ca.FeaturePermutation(tm, perm_func=perm_func).attribute(
        (torch.tensor(X1), torch.tensor(X2)), target=[1, 0, 1],
        feature_mask=(torch.tensor(m1)[None], torch.tensor(m2)[None]),
        additional_forward_args=(torch.tensor(SCALE),))
    _same(got, want, rtol=1e-6)  # Captum's float32
    with pytest.raises(ValueError, match="one grouping for the whole batch"):
        explain.feature_permutation(m, (X1, X2), 0, feature_mask=(np.stack([m1] * 3), m2))


@pytest.mark.filterwarnings("ignore:Setting forward, backward hooks:UserWarning")
def test_deeplift_shap_of_a_tuple_of_inputs_against_captum():
    """deeplift_shap refused the tuple and additional_forward_args (DeepLiftShap takes them)."""
    m, tm = _models()
    b1, b2 = R.standard_normal((2, 3)), R.standard_normal((2, 2, 2))
    got, delta = explain.deeplift_shap(m, (X1, X2), [1, 0, 1], baselines=(b1, cr.tensor(b2)),
                                       additional_forward_args=(SCALE,),
                                       return_convergence_delta=True)
    want, want_delta = ca.DeepLiftShap(tm).attribute(
        (torch.tensor(X1), torch.tensor(X2)), target=[1, 0, 1],
        baselines=(torch.tensor(b1), torch.tensor(b2)),
        additional_forward_args=(torch.tensor(SCALE),), return_convergence_delta=True)
    _same(got, want)
    np.testing.assert_allclose(delta, want_delta.detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match=r"same number of samples, got \[2, 1\]"):
        explain.deeplift_shap(m, (X1, X2), 0, baselines=(b1, b2[:1]))


class Linear2(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2, rng=np.random.default_rng(4))
        self.b = nn.Linear(4, 2, rng=np.random.default_rng(5))

    def forward(self, x1, x2, scale):
        return (self.a(x1) + self.b(x2.reshape(x2.shape[0], -1))) * scale


def test_gradient_shap_of_a_tuple_of_inputs_against_captum():
    """gradient_shap refused the tuple and additional_forward_args (GradientShap takes them).
    On a model linear in its inputs, with one baseline and no noise, the draws cannot matter."""
    m = Linear2().double()

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(3, 2), torch.nn.Linear(4, 2)

        def forward(self, x1, x2, scale):
            return (self.a(x1) + self.b(x2.reshape(x2.shape[0], -1))) * scale

    tm = T().double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    b1, b2 = R.standard_normal((1, 3)), R.standard_normal((1, 2, 2))
    got = explain.gradient_shap(m, (X1, X2), [1, 0, 1], baselines=(b1, b2), n_samples=3,
                                rng=0, additional_forward_args=(SCALE,))
    want = ca.GradientShap(tm).attribute(
        (torch.tensor(X1), torch.tensor(X2)), target=[1, 0, 1], n_samples=3,
        baselines=(torch.tensor(b1), torch.tensor(b2)),
        additional_forward_args=(torch.tensor(SCALE),))
    _same(got, want)
    w1 = m.a.weight.numpy()[[1, 0, 1]] * SCALE  # by hand: (x - b) * df/dx
    np.testing.assert_allclose(got[0], (X1 - b1) * w1, rtol=1e-12)


class TwoRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4, rng=np.random.default_rng(6))
        self.b = nn.Linear(4, 4, rng=np.random.default_rng(7))
        self.relu = nn.ReLU()
        self.h = nn.Linear(4, 2, rng=np.random.default_rng(8))

    def forward(self, x1, x2, scale):
        return self.h(self.relu(self.a(x1) + self.b(x2.reshape(x2.shape[0], -1))) * scale)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Captum's notes on hooks and grads
def test_gradient_methods_of_a_tuple_of_inputs_against_captum():
    """gradient_x_input, guided_backprop and deconvnet refused the tuple and
    additional_forward_args (InputXGradient, GuidedBackprop, Deconvolution take them)."""
    m = TwoRelu().double()

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(4, 4)
            self.relu, self.h = torch.nn.ReLU(), torch.nn.Linear(4, 2)

        def forward(self, x1, x2, scale):
            return self.h(self.relu(self.a(x1) + self.b(x2.reshape(x2.shape[0], -1))) * scale)

    tm = T().double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    inputs = (torch.tensor(X1), torch.tensor(X2))
    extra = (torch.tensor(SCALE),)
    for ours, theirs in ((explain.gradient_x_input, ca.InputXGradient),
                         (explain.guided_backprop, ca.GuidedBackprop),
                         (explain.deconvnet, ca.Deconvolution)):
        _same(ours(m, (X1, X2), [1, 0, 1], additional_forward_args=(SCALE,)),
              theirs(tm).attribute(inputs, target=[1, 0, 1], additional_forward_args=extra))
