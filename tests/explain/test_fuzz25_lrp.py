"""lrp with Captum's tuple of inputs and additional_forward_args (LRP takes them), refused before
(TypeError); rules named by layer reach the model's own layers."""

import numpy as np
import pytest

from chainrule import explain, nn

torch = pytest.importorskip("torch")
ca = pytest.importorskip("captum.attr")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Captum's note on grads

R = np.random.default_rng(0)
X1, X2 = R.standard_normal((3, 3)), R.standard_normal((3, 3))
SCALE = np.array([[1.0], [2.0], [0.5]])


class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4, rng=np.random.default_rng(1))
        self.relu = nn.ReLU()
        self.h = nn.Linear(4, 2, rng=np.random.default_rng(3))

    def forward(self, x1, x2, scale):
        return self.h(self.relu(self.a(x1 * x2 * scale)))


class TorchTwo(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.relu, self.h = torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)

    def forward(self, x1, x2, scale):
        return self.h(self.relu(self.a(x1 * x2 * scale)))


def test_lrp_of_a_tuple_of_inputs_against_captum():
    m, tm = Two().double(), TorchTwo().double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    tm.a.rule = ca._utils.lrp_rules.EpsilonRule(epsilon=0.25)
    got, delta = explain.lrp(m, (X1, X2), [1, 0, 1], rules={"a": explain.EpsilonRule(0.25)},
                             additional_forward_args=(SCALE,), return_convergence_delta=True)
    want, want_delta = ca.LRP(tm).attribute(
        (torch.tensor(X1), torch.tensor(X2)), target=[1, 0, 1],
        additional_forward_args=(torch.tensor(SCALE),), return_convergence_delta=True)
    assert isinstance(got, tuple) and len(got) == 2
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta, want_delta.detach().numpy(), rtol=1e-8, atol=1e-12)
