"""Fuzz wave 17: restricted Boltzmann machines over random sizes, dtypes and CD/PCD settings.

Each seed draws a tiny RBM (1 to 6 visible, 1 to 5 hidden units, float32 or float64), checks its
free energy and exact log Z against sums over every joint state, and runs CD-k/PCD-k updates
(k from 1 to 4, sampled or mean-field visible units, momentum and weight decay) against a NumPy
version written from Hinton's guide with the same uniform draws. The CD statistic must equal
minus the autograd gradient of mean F(data) - mean F(negative particles).
"""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.generative import RBM, cd_statistics, free_energy, train_rbm

from ._case_loop import each_case, grid

SEEDS = range(12)


def _logistic(a):
    return np.exp(-np.logaddexp(0.0, -a))


def _random_rbm(g, dtype):
    nv, nh = int(g.integers(1, 7)), int(g.integers(1, 6))
    rbm = RBM(nv, nh, rng=g, dtype=dtype)
    with cr.no_grad():
        for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias):
            p.copy_(cr.tensor(g.normal(0, 1.5, p.shape).astype(dtype)))
    return rbm


def _params(rbm):
    return [p._data.astype("float64") for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias)]


def _numpy_chain(W, b, c, v0, k, g, sample_visible, persistent, chain):
    """CD-k/PCD-k statistics, unit by unit in the loops' order of draws."""
    ph0 = _logistic(c + v0 @ W)
    h = np.where(g.random(ph0.shape) < ph0, 1.0, 0.0)
    if persistent and chain is not None:
        h = chain
    for step in range(k):
        pv = _logistic(b + h @ W.T)
        v = np.where(g.random(pv.shape) < pv, 1.0, 0.0) if sample_visible else pv
        ph = _logistic(c + v @ W)
        if persistent or step + 1 < k:
            h = np.where(g.random(ph.shape) < ph, 1.0, 0.0)
    pos = np.einsum("ni,nj->ij", v0, ph0) / len(v0)
    neg = np.einsum("ni,nj->ij", v, ph) / len(v)
    return pos - neg, (v0.mean(0) - v.mean(0)), (ph0.mean(0) - ph.mean(0)), v, h


def _free_energy_and_log_z_brute_force_case(seed):
    g = np.random.default_rng(seed)
    rbm = _random_rbm(g, "float64")
    W, b, c = _params(rbm)
    vs = np.array(list(itertools.product([0.0, 1.0], repeat=rbm.n_visible)))
    hs = np.array(list(itertools.product([0.0, 1.0], repeat=rbm.n_hidden)))
    neg_e = (vs @ b)[:, None] + (hs @ c)[None] + vs @ W @ hs.T
    np.testing.assert_allclose(rbm.free_energy(vs)._data,
                               -np.logaddexp.reduce(neg_e, axis=1), rtol=1e-12, atol=1e-12)
    assert rbm.log_partition() == pytest.approx(np.logaddexp.reduce(neg_e.ravel()), rel=1e-12,
                                                abs=1e-12)


def test_free_energy_and_log_z_brute_force():
    each_case(_free_energy_and_log_z_brute_force_case, grid(("seed", SEEDS)))


@pytest.mark.parametrize("seed", SEEDS)
def test_cd_and_pcd_updates_against_numpy(seed):
    g = np.random.default_rng(seed)
    dtype = ("float32", "float64")[seed % 2]
    rbm = _random_rbm(g, dtype)
    k, sample_visible, persistent = int(g.integers(1, 5)), bool(g.random() < 0.5), seed % 3 == 0
    lr, mom, wd = 0.1 * g.random(), 0.9 * g.random(), 0.01 * g.random()
    velocity, chain = [0.0, 0.0, 0.0], None
    for step in range(3):
        n = int(g.integers(1, 6))
        v0 = np.where(g.random((n, rbm.n_visible)) < 0.5, 1.0, 0.0)
        W, b, c = _params(rbm)
        ref = _numpy_chain(W, b, c, v0, k, np.random.default_rng(1000 + step), sample_visible,
                           persistent, chain)
        rbm.contrastive_divergence(v0.astype(dtype), k=k, lr=lr, momentum=mom, weight_decay=wd,
                                   persistent=persistent, sample_visible=sample_visible,
                                   rng=np.random.default_rng(1000 + step))
        grads = (ref[0] - wd * W, ref[1], ref[2])
        velocity = [mom * u + lr * d for u, d in zip(velocity, grads)]
        tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
        for got, p, u in zip(_params(rbm), (W, b, c), velocity):
            np.testing.assert_allclose(got, p + u, **tol)
        if persistent:
            chain = ref[4]
            np.testing.assert_array_equal(rbm.chain, chain)
        else:
            assert rbm.chain is None


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_cd_statistic_is_a_free_energy_difference(seed):
    g = np.random.default_rng(seed)
    rbm = _random_rbm(g, "float64")
    W, b, c = _params(rbm)
    v0 = np.where(g.random((4, rbm.n_visible)) < 0.5, 1.0, 0.0)
    dW, db, dc, *_ = cd_statistics(W, b, c, v0, 2, np.random.default_rng(seed))
    vk = _numpy_chain(W, b, c, v0, 2, np.random.default_rng(seed), False, False, None)[3]
    params = [cr.tensor(a, requires_grad=True) for a in (W, b, c)]
    (free_energy(v0, *params).mean() - free_energy(vk, *params).mean()).backward()
    for got, want in zip((dW, db, dc), params):
        np.testing.assert_allclose(got, -want.grad._data, rtol=1e-12, atol=1e-13)


def test_default_generator_repeats_with_manual_seed():
    x = np.where(np.random.default_rng(0).random((40, 5)) < 0.3, 1.0, 0.0)
    runs = []
    for _ in range(2):
        cr.manual_seed(3)
        rbm = RBM(5, 3, dtype="float64")
        runs.append((train_rbm(rbm, x, epochs=2, batch_size=8, persistent=True, k=2),
                     rbm.weight._data.copy(), rbm.chain.copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    np.testing.assert_array_equal(runs[0][2], runs[1][2])


def test_inputs_of_other_shapes_and_bad_values():
    rbm = RBM(4, 2, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(rbm.hidden_probabilities(np.zeros((3, 2, 2))),
                                  rbm.hidden_probabilities(np.zeros((3, 4))))
    assert rbm.hidden_probabilities(np.ones(4)).shape == (1, 2)
    assert rbm.free_energy(np.array([[True, False, True, True]])).shape == (1,)
    with pytest.raises(ValueError, match=r"4 values per sample.*\(3,\)"):
        rbm.free_energy(np.zeros(3))
    with pytest.raises(ValueError, match="at least one sample"):
        rbm.free_energy(np.zeros((0, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\].*nan"):
        rbm.contrastive_divergence(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="dtype"):
        rbm.free_energy(np.array([["a"] * 4]))
    with pytest.raises(TypeError, match="k .* int >= 1, got True"):
        rbm.contrastive_divergence(np.zeros((2, 4)), k=True)
    with pytest.raises(ValueError, match="lr .* got -0.1"):
        rbm.contrastive_divergence(np.zeros((2, 4)), lr=-0.1)
    with pytest.raises(TypeError, match="rng"):
        rbm.contrastive_divergence(np.zeros((2, 4)), rng="seed")
    with pytest.raises(ValueError, match=r"h must be \(2, 2\)"):
        rbm.energy(np.zeros((2, 4)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="dtype"):
        RBM(4, 2, dtype="int32")
    with pytest.raises(ValueError, match="at most 20 units"):
        RBM(21, 22).log_partition()
