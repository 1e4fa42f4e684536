"""integrated_gradients(multiply_by_inputs=False): Captum's IntegratedGradients option for the
integral of the gradients alone (the global attribution), refused before (TypeError)."""

import numpy as np
import pytest

from chainrule import explain, nn


def test_multiply_by_inputs_false_against_captum():
    torch = pytest.importorskip("torch")
    ca = pytest.importorskip("captum.attr")
    m = nn.Sequential(nn.Linear(4, 5, rng=np.random.default_rng(1)), nn.Tanh(),
                      nn.Linear(5, 3, rng=np.random.default_rng(2))).double()
    tm = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    tm = tm.double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4))
    base = x[::-1] * 0.5
    got, delta = explain.integrated_gradients(m, x, [0, 2, 1], baseline=base, steps=4,
                                              method="riemann_right", multiply_by_inputs=False,
                                              return_convergence_delta=True)
    want, want_delta = ca.IntegratedGradients(tm, multiply_by_inputs=False).attribute(
        torch.tensor(x), baselines=torch.tensor(base.copy()), target=[0, 2, 1], n_steps=4,
        method="riemann_right", return_convergence_delta=True)
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta, want_delta.detach().numpy(), rtol=1e-8, atol=1e-10)
    # times the inputs' change, the usual attributions
    full = explain.integrated_gradients(m, x, [0, 2, 1], baseline=base, steps=4,
                                        method="riemann_right").attributions
    np.testing.assert_allclose(full, (x - base) * got, rtol=1e-12)
