"""The relaxed distributions' bases ``LogitRelaxedBernoulli`` and ``ExpRelaxedCategorical`` under
PyTorch's module paths (they were in relaxed.py but reachable from neither
``distributions.relaxed_bernoulli`` nor ``distributions.relaxed_categorical``), checked against
PyTorch; and ``distributions.utils.tril_matrix_to_vec`` / ``vec_to_tril_matrix`` (missing
before)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions.utils import euler_constant, tril_matrix_to_vec, vec_to_tril_matrix

torch = pytest.importorskip("torch")
LogitRelaxedBernoulli = cr.distributions.relaxed_bernoulli.LogitRelaxedBernoulli
ExpRelaxedCategorical = cr.distributions.relaxed_categorical.ExpRelaxedCategorical

LOGITS = np.array([[0.3, -1.2, 2.0], [0.0, 0.5, -0.4]])


def _pair(name, temperature=0.7):
    td = torch.distributions
    ours_cls, theirs_cls = (
        (LogitRelaxedBernoulli, td.relaxed_bernoulli.LogitRelaxedBernoulli) if name == "bernoulli"
        else (ExpRelaxedCategorical, td.relaxed_categorical.ExpRelaxedCategorical))
    lo = cr.tensor(LOGITS, requires_grad=True)
    t = cr.tensor(temperature, dtype=cr.float64, requires_grad=True)
    tlo = torch.tensor(LOGITS, requires_grad=True)
    tt = torch.tensor(temperature, dtype=torch.float64, requires_grad=True)
    return ours_cls(t, logits=lo), theirs_cls(tt, logits=tlo), (lo, t), (tlo, tt)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
def test_log_prob_values_and_gradients_match_pytorch(name):
    ours, theirs, leaves, tleaves = _pair(name)
    x = np.array([[0.5, -2.0, 1.0], [-0.3, 0.2, -1.5]])
    lp, tlp = ours.log_prob(cr.tensor(x)), theirs.log_prob(torch.tensor(x))
    np.testing.assert_allclose(lp.detach().numpy(), tlp.detach().numpy(), rtol=1e-12)
    grads = cr.grad(lp.sum(), list(leaves))
    tgrads = torch.autograd.grad(tlp.sum(), list(tleaves))
    for a, b in zip(grads, tgrads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-13)
    assert repr(ours.support) == repr(theirs.support)
    # PyTorch's LogitRelaxedBernoulli leaves has_rsample False though it has rsample
    assert ours.has_rsample
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    np.testing.assert_allclose(ours.probs.detach().numpy(), theirs.probs.detach().numpy(),
                               rtol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["bernoulli", "categorical"])
def test_rsample_under_shared_noise_and_its_gradients(name):
    ours, theirs, leaves, tleaves = _pair(name)
    shape = (4,) + tuple(LOGITS.shape)
    u = np.random.default_rng(3).random(shape)
    z = ours.rsample((4,), rng=np.random.default_rng(3))
    tu = torch.tensor(u).clamp(min=np.finfo(np.float64).eps, max=1 - np.finfo(np.float64).eps)
    tlo, tt = tleaves
    if name == "bernoulli":
        tz = (tlo + tu.log() - (-tu).log1p()) / tt
    else:  # PyTorch's formula for its draws
        s = (tlo - (-tu.log()).log()) / tt
        tz = s - s.logsumexp(-1, keepdim=True)
    np.testing.assert_allclose(z.detach().numpy(), tz.detach().numpy(), rtol=1e-12)
    g = np.cos(np.arange(z.numel())).reshape(z.shape)
    grads = cr.grad(z, list(leaves), cr.tensor(g))
    tgrads = torch.autograd.grad(tz, list(tleaves), torch.tensor(g))
    for a, b in zip(grads, tgrads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.kernel_free
@pytest.mark.parametrize("cls", [LogitRelaxedBernoulli, ExpRelaxedCategorical])
def test_log_prob_gradcheck_and_expand(cls):
    x = cr.tensor(np.array([[0.5, -2.0, 1.0], [-0.3, 0.2, -1.5]]))

    def f(lo, t):
        return cls(t, logits=lo).log_prob(x)

    assert cr.gradcheck(f, [cr.tensor(LOGITS, requires_grad=True),
                            cr.tensor(0.7, dtype=cr.float64, requires_grad=True)])
    d = cls(0.7, logits=cr.tensor(LOGITS[0]))
    e = d.expand((5,) + tuple(d.batch_shape))
    assert tuple(e.batch_shape) == (5,) + tuple(d.batch_shape)
    assert e.temperature is d.temperature
    assert tuple(e.rsample((2,)).shape) == (2, 5) + tuple(LOGITS[0].shape)


@pytest.mark.kernel_free
def test_validation_names_the_distribution_as_pytorch():
    with pytest.raises(ValueError, match="probs .* LogitRelaxedBernoulli"):
        LogitRelaxedBernoulli(0.5, probs=cr.tensor([1.5]), validate_args=True)
    with pytest.raises(ValueError, match="logits .* ExpRelaxedCategorical"):
        ExpRelaxedCategorical(0.5, logits=cr.tensor([0.5, float("nan")]), validate_args=True)
    with pytest.raises(ValueError, match="support"):
        LogitRelaxedBernoulli(0.5, logits=cr.tensor([0.5]), validate_args=True).log_prob(
            cr.tensor([float("nan")]))
    with pytest.raises(ValueError, match="exactly one of probs or logits"):
        LogitRelaxedBernoulli(0.5)
    # probs are normalised before they are checked, as in PyTorch
    p = ExpRelaxedCategorical(0.5, probs=cr.tensor([0.5, 0.5, 1.0]), validate_args=True).probs
    np.testing.assert_allclose(p.numpy(), [0.25, 0.25, 0.5], rtol=1e-6)


@pytest.mark.kernel_free
@pytest.mark.parametrize("diag", [-3, -1, 0, 1, 3])
def test_tril_packing_matches_pytorch_and_round_trips(diag):
    from torch.distributions.utils import tril_matrix_to_vec as tv
    from torch.distributions.utils import vec_to_tril_matrix as tm

    a = np.random.default_rng(0).standard_normal((2, 4, 4))
    v = tril_matrix_to_vec(cr.tensor(a), diag)
    np.testing.assert_array_equal(v.numpy(), tv(torch.tensor(a), diag).numpy())
    m = vec_to_tril_matrix(v, diag)
    np.testing.assert_array_equal(m.numpy(), tm(torch.tensor(v.numpy()), diag).numpy())
    np.testing.assert_array_equal(tril_matrix_to_vec(m, diag).numpy(), v.numpy())


def test_tril_packing_gradcheck():
    a = cr.tensor(np.random.default_rng(1).standard_normal((3, 3)), requires_grad=True)
    assert cr.gradcheck(lambda x: tril_matrix_to_vec(x, -1), [a])
    v = cr.tensor(np.random.default_rng(2).standard_normal((2, 6)), requires_grad=True)
    assert cr.gradcheck(lambda x: vec_to_tril_matrix(x), [v])
    assert cr.gradcheck(lambda x: vec_to_tril_matrix(x, 1), [cr.tensor(
        np.random.default_rng(3).standard_normal(8), requires_grad=True)])


@pytest.mark.kernel_free
def test_tril_packing_refuses_bad_input():
    with pytest.raises(ValueError, match=r"diag \(4\) provided is outside \[-4, 3\]"):
        tril_matrix_to_vec(cr.zeros(4, 4), 4)
    with pytest.raises(ValueError, match="last dimension is 5"):
        vec_to_tril_matrix(cr.zeros(5))
    with pytest.raises(ValueError, match="square"):
        tril_matrix_to_vec(cr.zeros(3, 4))
    with pytest.raises(TypeError, match="mat must be a Tensor"):
        tril_matrix_to_vec(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="diag must be an int"):
        vec_to_tril_matrix(cr.zeros(3), 0.5)


@pytest.mark.kernel_free
def test_utils_module_is_pytorchs():
    import torch.distributions.utils as tu

    import chainrule.distributions.utils as cu

    assert set(tu.__all__) <= set(cu.__all__)
    assert euler_constant == tu.euler_constant
