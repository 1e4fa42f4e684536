"""``ExponentialFamily`` (distributions/exp_family.py): the families PyTorch derives from it derive
from it here too; the generic entropy and the Bregman-divergence KL, computed through autograd
from ``_natural_params`` and ``_log_normalizer``, agree with the closed forms and with PyTorch's
(values, and gradients in float64 through the KL). chainrule had no ExponentialFamily before."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as C
from chainrule.distributions.exp_family import ExponentialFamily, kl_expfamily_expfamily

torch = pytest.importorskip("torch")
T = torch.distributions

# name -> (params of p, params of q), float64
PAIRS = {
    "Normal": ({"loc": [0.3, -1.0], "scale": [0.7, 2.0]}, {"loc": [1.0, 0.5], "scale": [1.5, 0.4]}),
    "Exponential": ({"rate": [0.5, 3.0]}, {"rate": [2.0, 0.7]}),
    "Bernoulli": ({"logits": [0.3, -2.0]}, {"logits": [1.2, 0.1]}),
    "Gamma": ({"concentration": [0.8, 3.0], "rate": [1.5, 0.4]},
              {"concentration": [2.0, 1.1], "rate": [0.6, 2.5]}),
    "Beta": ({"concentration1": [0.8, 3.0], "concentration0": [1.5, 0.4]},
             {"concentration1": [2.0, 1.1], "concentration0": [0.6, 2.5]}),
    "Dirichlet": ({"concentration": [[0.8, 3.0, 1.2]]}, {"concentration": [[2.0, 1.1, 0.5]]}),
    "Poisson": ({"rate": [0.5, 3.0]}, {"rate": [2.0, 0.7]}),
    # the second logit is inside the Taylor-series band about 0.5 for p, not for q
    "ContinuousBernoulli": ({"logits": [0.3, 0.0004, -2.0]}, {"logits": [1.0, 0.5, 0.0]}),
}


def _make(lib, name, params):
    mod = C if lib is cr else T
    leaves = {k: lib.tensor(np.array(v, dtype=np.float64), requires_grad=True)
              for k, v in params.items()}
    return getattr(mod, name)(**leaves), leaves


@pytest.mark.kernel_free
def test_subclasses_agree_with_pytorch():
    for name in T.__all__:
        theirs = getattr(T, name)
        if isinstance(theirs, type) and issubclass(theirs, T.Distribution) and hasattr(C, name):
            ours = getattr(C, name)
            assert issubclass(ours, C.ExponentialFamily) == issubclass(
                theirs, T.ExponentialFamily), name
    assert C.ExponentialFamily is ExponentialFamily
    assert C.exp_family.ExponentialFamily is ExponentialFamily
    assert isinstance(C.Chi2(cr.tensor(2.0)), ExponentialFamily)
    assert not isinstance(C.Laplace(0.0, 1.0), ExponentialFamily)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["Normal", "Exponential", "Bernoulli"])
def test_generic_entropy_matches_closed_form_and_pytorch(name):
    ours, _ = _make(cr, name, PAIRS[name][0])
    theirs, _ = _make(torch, name, PAIRS[name][0])
    generic = ExponentialFamily.entropy(ours)
    np.testing.assert_allclose(generic.numpy(), ours.entropy().detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(generic.numpy(),
                               T.ExponentialFamily.entropy(theirs).detach().numpy(), rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_bregman_kl_matches_closed_form_and_pytorch_with_gradients(name):
    from torch.distributions.kl import _kl_expfamily_expfamily

    p, p_leaves = _make(cr, name, PAIRS[name][0])
    q, q_leaves = _make(cr, name, PAIRS[name][1])
    tp, tp_leaves = _make(torch, name, PAIRS[name][0])
    tq, tq_leaves = _make(torch, name, PAIRS[name][1])
    ours = kl_expfamily_expfamily(p, q)
    theirs = _kl_expfamily_expfamily(tp, tq)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.detach().numpy(), C.kl_divergence(p, q).detach().numpy(),
                               rtol=1e-10, atol=1e-14)
    # gradients reach q's parameters (p's are detached, as in PyTorch)
    g = np.cos(np.arange(ours.numel()) + 0.3).reshape(ours.shape)
    leaves, tleaves = list(q_leaves.values()), list(tq_leaves.values())
    grads = cr.grad(ours, leaves, cr.tensor(g))
    tgrads = torch.autograd.grad(theirs, tleaves, torch.tensor(g))
    for a, b in zip(grads, tgrads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta"])
def test_bregman_kl_gradcheck(name):
    p, _ = _make(cr, name, PAIRS[name][0])
    keys = list(PAIRS[name][1])

    def kl(*values):
        return kl_expfamily_expfamily(p, getattr(C, name)(**dict(zip(keys, values))))

    inputs = [cr.tensor(np.array(PAIRS[name][1][k]), requires_grad=True) for k in keys]
    assert cr.gradcheck(kl, inputs)


@pytest.mark.kernel_free
def test_wishart_kl_is_pytorchs_bregman_divergence_with_gradients():
    s1 = np.array([[2.0, 0.3], [0.3, 1.0]])
    s2 = np.array([[1.0, -0.2], [-0.2, 0.5]])

    def make(lib, mod):
        df_p = lib.tensor([3.5, 4.0], dtype=lib.float64, requires_grad=True)
        cov_q = lib.tensor(s2, requires_grad=True)
        p = mod.Wishart(df_p, covariance_matrix=lib.tensor(s1))
        q = mod.Wishart(lib.tensor([2.5, 5.0], dtype=lib.float64), covariance_matrix=cov_q)
        return mod.kl_divergence(p, q), cov_q

    ours, cov = make(cr, C)
    theirs, tcov = make(torch, T)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
    (g,) = cr.grad(ours.sum(), [cov])
    (tg,) = torch.autograd.grad(theirs.sum(), [tcov])
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-9, atol=1e-12)


class _MyNormal(C.Normal):
    """A subclass with no KL of its own: the (ExponentialFamily, ExponentialFamily) rule."""


@pytest.mark.kernel_free
def test_dispatch_uses_bregman_for_a_family_without_closed_form():
    p = _MyNormal(cr.tensor([0.3], dtype=cr.float64), cr.tensor([0.7], dtype=cr.float64))
    q = _MyNormal(cr.tensor([1.0], dtype=cr.float64), cr.tensor([1.5], dtype=cr.float64))
    # Normal's closed form is nearer in the MRO than the generic rule, as in PyTorch
    np.testing.assert_allclose(C.kl_divergence(p, q).numpy(),
                               kl_expfamily_expfamily(p, q).detach().numpy(), rtol=1e-12)

    class Fam(ExponentialFamily):
        def __init__(self, eta):
            self.eta = eta
            super().__init__(eta.shape, (), validate_args=False)

        @property
        def _natural_params(self):
            return (self.eta,)

        def _log_normalizer(self, x):
            return cr.exp(x)

    a = Fam(cr.tensor([0.2], dtype=cr.float64))
    b = Fam(cr.tensor([1.0], dtype=cr.float64))
    expected = C.kl_divergence(C.Poisson(a.eta.exp()), C.Poisson(b.eta.exp()))
    np.testing.assert_allclose(C.kl_divergence(a, b).numpy(), expected.numpy(), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="_mean_carrier_measure"):
        a.entropy()


@pytest.mark.kernel_free
def test_different_families_and_missing_forms_raise_as_pytorch():
    n = C.Normal(0.0, 1.0)
    g = C.Gamma(1.0, 1.0)
    with pytest.raises(NotImplementedError, match="different exponential families"):
        kl_expfamily_expfamily(n, g)
    with pytest.raises(NotImplementedError):
        C.Poisson(cr.tensor([1.0])).entropy()  # PyTorch's Poisson has no entropy either
    with pytest.raises(NotImplementedError):
        T.Poisson(torch.tensor([1.0])).entropy()
