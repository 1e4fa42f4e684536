"""RBM state dicts hold PCD's persistent chains and the momentum's velocities: a run saved after k
updates, loaded into a fresh RBM and continued is bit for bit the run that was not interrupted
(before, the chains and velocities were plain attributes, lost on saving)."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule.generative import RBM, train_rbm
from chainrule.io import load_weights, save_weights


def _data(n=36, nv=10, seed=0):
    g = np.random.default_rng(seed)
    return (g.random((n, nv)) < g.random(nv)).astype("float64")


def _snapshot(rbm):
    return {k: v._data.copy() for k, v in rbm.state_dict().items()}


def _same(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _resume(rbm, tmp_path, how):
    """A fresh RBM (other initial weights) given ``rbm``'s saved state."""
    fresh = RBM(rbm.n_visible, rbm.n_hidden, rng=123, dtype=rbm.weight.dtype)
    if how == "save":
        cr.save(rbm.state_dict(), tmp_path / "rbm.pt")
        fresh.load_state_dict(cr.load(tmp_path / "rbm.pt"))
    else:
        load_weights(fresh, save_weights(rbm, tmp_path / "rbm.safetensors"))
    return fresh


@pytest.mark.parametrize(
    "dtype, options, how",
    [
        ("float64", dict(persistent=True, k=1), "save"),
        ("float32", dict(persistent=True, k=2, sample_visible=True), "safetensors"),
        ("float64", dict(persistent=False, k=1), "safetensors"),
    ],
)
def test_train_rbm_resumed_from_its_state_dict_is_bit_for_bit(tmp_path, dtype, options, how):
    x = _data().astype(dtype)
    kwargs = dict(batch_size=8, lr=0.1, momentum=0.9, weight_decay=1e-3, **options)
    straight = RBM(10, 6, rng=0, dtype=dtype)
    train_rbm(straight, x, epochs=3, rng=np.random.default_rng(5), **kwargs)

    first = RBM(10, 6, rng=0, dtype=dtype)
    g = np.random.default_rng(5)
    train_rbm(first, x, epochs=2, rng=g, **kwargs)
    resumed = _resume(first, tmp_path, how)
    assert float(abs(resumed.weight_velocity).sum()) > 0  # the momentum came along
    if options["persistent"]:
        np.testing.assert_array_equal(resumed.chain, first.chain)
    else:
        assert resumed.chain is None
    train_rbm(resumed, x, epochs=1, rng=copy.deepcopy(g), init_bias=False, **kwargs)
    _same(_snapshot(resumed), _snapshot(straight))


def test_contrastive_divergence_resumed_and_reset_chain():
    x = _data(seed=1)
    straight, first = RBM(10, 6, rng=0), RBM(10, 6, rng=0)
    for rbm, steps in ((straight, 5), (first, 3)):
        g = np.random.default_rng(2)
        for i in range(steps):
            rbm.contrastive_divergence(
                x[i * 6 : i * 6 + 6], lr=0.5, momentum=0.8, persistent=True, rng=g
            )
    fresh = RBM(10, 6, rng=9)
    fresh.load_state_dict(first.state_dict())
    for i in range(3, 5):
        fresh.contrastive_divergence(
            x[i * 6 : i * 6 + 6], lr=0.5, momentum=0.8, persistent=True, rng=g
        )
    _same(_snapshot(fresh), _snapshot(straight))
    assert fresh.state_dict()["_extra_state"].shape == (6, 6)

    fresh.reset_chain()  # forgets the chains and the momentum, in the state dict too
    state = fresh.state_dict()
    assert state["_extra_state"].shape == (0, 6)
    assert all(not state[k].numpy().any() for k in state if k.endswith("_velocity"))
    first.load_state_dict(state)
    assert first.chain is None


@pytest.mark.parametrize("bad", [np.zeros((3, 5)), np.full((2, 6), 0.5), np.zeros(6)])
def test_load_refuses_chains_that_are_not_binary_n_hidden_rows(bad):
    rbm = RBM(4, 6, rng=0)
    state = {**rbm.state_dict(), "_extra_state": cr.tensor(bad)}
    with pytest.raises(ValueError, match=r"_extra_state must be the persistent chains"):
        rbm.load_state_dict(state)
