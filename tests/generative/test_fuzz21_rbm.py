"""Wave 21: the RBM checks hidden states, init_visible_bias's eps and train_rbm's settings up front,
and saves its chains in the dtype of its weights.

``visible_probabilities`` and ``energy`` took nan or values outside [0, 1] for h and returned
numbers (lists failed with AttributeError); ``init_visible_bias(eps=0)`` gave -inf biases for units
never on and eps >= 0.5 swapped the clip's bounds; ``train_rbm`` with momentum=(0.5, 1.0) trained
five epochs before failing on the 1.0; after ``rbm.to(dtype=float64)`` the saved chains stayed
float32.
"""

import numpy as np
import pytest

from chainrule.generative import RBM, cd_statistics, train_rbm


def _data(n=6, nv=5, seed=0):
    v = (np.random.default_rng(seed).random((n, nv)) < 0.5).astype(np.float64)
    v[:, 0] = 0  # a unit that is never on
    return v


def _sig(a):
    return 1 / (1 + np.exp(-a))


@pytest.mark.parametrize("bad", [np.full((2, 3), np.nan), np.full((2, 3), 1.5), -np.ones((2, 3))])
def test_hidden_states_outside_the_unit_interval_raise(bad):
    rbm = RBM(5, 3, rng=0, dtype="float64")
    for call in (lambda h: rbm.visible_probabilities(h), lambda h: rbm.energy(_data(2), h)):
        with pytest.raises(
            ValueError, match=r"h must hold hidden states or probabilities in \[0, 1\]"
        ):
            call(bad)
    with pytest.raises(ValueError, match=r"RBM.energy: h must be \(2, 3\)"):
        rbm.energy(_data(2), np.zeros((3, 3)))
    h = [[0, 1, 0.25], [1, 1, 0]]  # nested lists work
    W, b, c = (p._data for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias))
    np.testing.assert_allclose(
        rbm.visible_probabilities(h), _sig(np.array(h) @ W.T + b), rtol=1e-13
    )
    v = _data(2)
    want = -(v @ b) - (np.array(h) @ c) - ((v @ W) * np.array(h)).sum(1)
    np.testing.assert_allclose(rbm.energy(v, h)._data, want, rtol=1e-13)


@pytest.mark.parametrize("eps", [0, 0.0, 0.5, 0.6, -0.1, float("nan"), True])
def test_init_visible_bias_rejects_eps_outside_0_half(eps):
    rbm = RBM(5, 3, rng=0)
    with pytest.raises(ValueError, match=r"eps must be a number in \(0, 0.5\)"):
        rbm.init_visible_bias(_data(), eps=eps)
    assert not np.any(rbm.visible_bias._data)  # untouched


def test_init_visible_bias_log_odds_of_clipped_means():
    rbm = RBM(5, 3, rng=0, dtype="float64")
    x = _data()
    rbm.init_visible_bias(x, eps=0.01)
    p = np.clip(x.mean(0), 0.01, 0.99)
    np.testing.assert_allclose(rbm.visible_bias._data, np.log(p / (1 - p)), rtol=1e-13)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(momentum=(0.5, 1.0)), "momentum must be a number in"),
        (dict(lr=-1.0), "lr must be a finite number >= 0"),
        (dict(weight_decay=float("nan")), "weight_decay must be a finite number >= 0"),
        (dict(k=0), "k \\(Gibbs steps\\) must be an int >= 1"),
    ],
)
def test_train_rbm_checks_its_settings_before_any_update(kwargs, match):
    rbm = RBM(5, 3, rng=0)
    before = {k: v._data.copy() for k, v in rbm.state_dict().items()}
    with pytest.raises((ValueError, TypeError), match=match):
        train_rbm(rbm, _data(), epochs=8, batch_size=3, rng=0, **kwargs)
    for key, value in rbm.state_dict().items():
        np.testing.assert_array_equal(value._data, before[key], err_msg=key)


def test_saved_chains_follow_the_weights_dtype():
    rbm = RBM(5, 3, rng=0)
    rbm.contrastive_divergence(_data(), persistent=True, rng=1)
    rbm.to(dtype="float64")
    state = rbm.state_dict()
    assert state["_extra_state"].dtype == np.float64 == state["weight"].dtype
    np.testing.assert_array_equal(state["_extra_state"]._data, rbm.chain)


def test_log_likelihood_needs_binary_data():
    rbm = RBM(4, 3, rng=0, dtype="float64")
    grey = np.full((2, 4), 0.5)
    with pytest.raises(ValueError, match=r"log_likelihood: v must be binary \(0 or 1\)"):
        rbm.log_likelihood(grey)
    # binary data: the exact mean log p(v) over all 16 states sums to log 1 = 0
    states = ((np.arange(16)[:, None] >> np.arange(4)) & 1).astype(np.float64)
    logp = [rbm.log_likelihood(s[None]) for s in states]
    assert np.log(np.exp(logp).sum()) == pytest.approx(0.0, abs=1e-12)


def test_cd_statistics_checks_k_shapes_and_takes_a_seed():
    rbm = RBM(5, 3, rng=0, dtype="float64")
    W, b, c = (p._data for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias))
    v = _data(4)
    with pytest.raises(ValueError, match=r"k \(Gibbs steps\) must be an int >= 1, got 0"):
        cd_statistics(W, b, c, v, 0, np.random.default_rng(0))  # was UnboundLocalError
    for args in ((W, b, c, v[:, :4]), (W, b[:4], c, v), (W, b, c, v[0])):
        with pytest.raises(ValueError, match=r"cd_statistics: expected W \(n_visible, n_hidden\)"):
            cd_statistics(*args, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"chain \(2, 4\)"):
        cd_statistics(W, b, c, v, 1, 0, persistent=True, chain=np.zeros((2, 4)))
    seeded = cd_statistics(W, b, c, v, 2, 7)
    for a, want in zip(seeded[:4], cd_statistics(W, b, c, v, 2, np.random.default_rng(7))[:4]):
        np.testing.assert_array_equal(a, want)
