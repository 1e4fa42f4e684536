"""Ensemble: the averaging math, behaving as one model (Trainer, save/load), training helpers."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.bayes import Ensemble, Snapshots, snapshot_ensemble, softmax_probs, train_ensemble
from chainrule.bayes import nll as nll_of
from chainrule.data.datasets import digits
from chainrule.io import load_weights, save_weights
from chainrule.models import MLP
from chainrule.train import Trainer


def members(k=3, sizes=(5, 8, 4)):
    return [MLP(sizes, rng=np.random.default_rng(i)).to(dtype="float64") for i in range(k)]


def test_output_is_the_log_of_the_averaged_probabilities(rng):
    ms = members()
    x = rng.standard_normal((6, 5))
    out = Ensemble(ms)(cr.Tensor(x))._data
    expected = np.mean([softmax_probs(m(cr.Tensor(x))._data) for m in ms], axis=0)
    assert np.allclose(np.exp(out), expected, atol=1e-12)
    assert np.allclose(softmax_probs(out), expected, atol=1e-12)  # softmax of it is itself
    mean = Ensemble(ms, output="mean")(cr.Tensor(x))._data
    assert np.allclose(mean, np.mean([m(cr.Tensor(x))._data for m in ms], axis=0))


def test_an_ensemble_of_identical_members_is_that_member(rng):
    one = members(1)[0]
    x = rng.standard_normal((6, 5))
    ens = Ensemble([copy.deepcopy(one) for _ in range(4)])
    assert np.allclose(softmax_probs(ens(cr.Tensor(x))._data),
                       softmax_probs(one(cr.Tensor(x))._data), atol=1e-12)


def test_trainer_evaluates_the_nll_of_the_average_and_saves_as_one(rng, tmp_path):
    ms = members()
    ens = Ensemble(ms)
    x, y = rng.standard_normal((10, 5)), rng.integers(0, 4, 10)
    loss = Trainer(ens, "cross_entropy", None).evaluate((x, y), batch_size=4)["loss"]
    assert loss == pytest.approx(nll_of(np.exp(ens(cr.Tensor(x))._data), y), rel=1e-9)
    assert sorted(ens.state_dict())[0] == "members.0.layers.1.bias"
    path = save_weights(ens, tmp_path / "ensemble.safetensors")
    other = Ensemble(members(3)[::-1])  # different weights, same shapes
    load_weights(other, path)
    assert np.array_equal(other(cr.Tensor(x))._data, ens(cr.Tensor(x))._data)


def test_bad_members_are_refused():
    with pytest.raises(ValueError, match="non-empty sequence of Modules"):
        Ensemble([])
    with pytest.raises(ValueError, match="output must be one of"):
        Ensemble(members(1), output="median")


@pytest.fixture(scope="module")
def small_digits():
    (x, y), (xt, yt) = digits(seed=0)
    return (x[:400], y[:400]), (xt, yt)


def build(rng):
    return MLP((64, 32, 10), rng=rng)


def test_train_ensemble_repeats_and_beats_its_average_member_on_nll(small_digits):
    train, (xt, yt) = small_digits
    ens = train_ensemble(build, train, members=4, epochs=15, lr=1e-2, rng=7)
    again = train_ensemble(build, train, members=4, epochs=15, lr=1e-2, rng=7)
    xt32 = xt.astype(np.float32)
    p = np.exp(Trainer(ens, "cross_entropy", None).predict(xt32))
    assert np.array_equal(p, np.exp(Trainer(again, "cross_entropy", None).predict(xt32)))
    member_nll = [nll_of(softmax_probs(Trainer(m, "cross_entropy", None).predict(xt32)), yt)
                  for m in ens.members]
    # Jensen: the NLL of averaged probabilities is at most the members' mean NLL
    assert nll_of(p, yt) < np.mean(member_nll)
    assert (p.argmax(1) == yt).mean() > 0.86


def test_bagging_gives_members_different_data(small_digits):
    train, _ = small_digits
    ens = train_ensemble(build, train, members=2, bagging=True, epochs=1, rng=3)
    w0, w1 = (m.layers[1].weight._data for m in ens.members)
    assert not np.allclose(w0, w1)


def test_snapshots_become_an_ensemble(small_digits):
    train, (xt, yt) = small_digits
    model = build(np.random.default_rng(0))
    snaps = Snapshots(every=2)
    Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
            callbacks=[snaps]).fit(train, epochs=6, rng=0, verbose=0)
    assert len(snaps.states) == 3  # after the 2nd, 4th and 6th epochs
    ens = snapshot_ensemble(model, snaps.states)
    assert np.array_equal(ens.members[-1].layers[1].weight._data, model.layers[1].weight._data)
    assert not np.array_equal(ens.members[0].layers[1].weight._data, model.layers[1].weight._data)
    with pytest.raises(ValueError, match="states is empty"):
        snapshot_ensemble(model, [])
    assert isinstance(ens.members[0], nn.Module)
