"""Fuzz wave 25: a batch field the Trainer cannot hand to the model (a dict sample's batch, the
names a dataset returns beside its arrays) is a TypeError naming the field, where fit, evaluate
and predict failed with "'dict' object has no attribute 'dtype'"."""

import collections
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import Dataset
from chainrule.train import Trainer

_X = np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32)
_Y = np.array([0, 1, 1, 0, 1, 0])
_Pair = collections.namedtuple("_Pair", "x y")


class _Samples(Dataset):
    def __init__(self, make):
        self.make = make

    def __len__(self):
        return len(_X)

    def __getitem__(self, i):
        return self.make(_X[i], _Y[i], f"img{i}.png")


def _trainer():
    model = nn.Linear(2, 2, rng=np.random.default_rng(1))
    return Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize(("make", "field"), [
    (lambda x, y, name: {"x": x, "y": y}, "field 0 is a dict with keys ['x', 'y']"),
    (lambda x, y, name: (x, y, name), "field 2 is a tuple of str")])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_a_field_that_is_not_an_array_is_named(make, field, call):
    trainer, data = _trainer(), _Samples(make)
    run = {"fit": lambda: trainer.fit(data, epochs=1, verbose=0),
           "evaluate": lambda: trainer.evaluate(data), "predict": lambda: trainer.predict(data)}
    with pytest.raises(TypeError, match=f"Trainer: a batch must be a tuple .*{re.escape(field)}"):
        run[call]()


def test_namedtuple_samples_still_train():
    trainer = _trainer()
    with cr.reference_mode():  # the plain kernels: no compiled one to load for a 6-sample check
        logs = trainer.evaluate(_Samples(lambda x, y, name: _Pair(x, y)))
        expected = cr.ops.cross_entropy(trainer.model(cr.tensor(_X)), cr.tensor(_Y)).item()
    assert logs["loss"] == pytest.approx(expected, rel=1e-6)
