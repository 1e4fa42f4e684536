"""The Trainer checks its optimizer against the model and takes Keras' fit(x, y), evaluate(x, y)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.data import ArrayDataset, DataLoader
from chainrule.train import Trainer

from .conftest import make_blobs, make_mlp


def test_an_optimizer_over_another_model_is_refused():
    model, other = make_mlp(), make_mlp(seed=1)
    with pytest.raises(ValueError, match="optimizer holds none of the model's 4 parameters"):
        Trainer(model, "cross_entropy", optim.SGD(other.parameters(), lr=0.1))


def test_an_optimizer_missing_trainable_parameters_warns_with_their_names():
    model = make_mlp()
    head = model[2]
    with pytest.warns(UserWarning, match=r"leaves out 2 trainable parameter\(s\) of the model: "
                                         r"0\.weight, 0\.bias"):
        Trainer(model, "cross_entropy", optim.SGD(head.parameters(), lr=0.1))


def test_frozen_parameters_left_out_of_the_optimizer_are_fine():
    model = make_mlp()
    for p in model[0].parameters():
        p.requires_grad = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(model, "cross_entropy",
                optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1))


def test_fit_without_an_optimizer_is_a_clear_error_and_evaluate_still_works():
    x, y = make_blobs(40)
    trainer = Trainer(make_mlp(), "cross_entropy", None, metrics=["accuracy"])
    with pytest.raises(ValueError, match=r"fit: this Trainer has no optimizer \(Trainer\(model, "
                                         r"loss, None\) can only evaluate and predict\)"):
        trainer.fit((x, y), epochs=1, verbose=0, rng=0)
    assert set(trainer.evaluate((x, y))) == {"loss", "accuracy"}
    assert trainer.predict(x).shape == (40, 2)


def test_fit_without_a_loss_is_a_clear_error():
    model = make_mlp()
    x, y = make_blobs(40)
    trainer = Trainer(model, None, optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="fit: this Trainer has no loss"):
        trainer.fit((x, y), verbose=0, rng=0)
    with pytest.raises(ValueError, match="evaluate: this Trainer has no loss"):
        trainer.evaluate((x, y))


def _run(call):
    model = make_mlp()
    trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=0.05),
                      metrics=["accuracy"])
    history = call(trainer)
    return trainer, history


def test_fit_x_y_is_fit_of_the_tuple():
    (x, y), (xv, yv) = make_blobs(90), make_blobs(30, seed=1)
    a, ha = _run(lambda t: t.fit((x, y), validation_data=(xv, yv), epochs=2, rng=0, verbose=0))
    b, hb = _run(lambda t: t.fit(x, y, epochs=2, validation_data=(xv, yv), rng=0, verbose=0))
    c, hc = _run(lambda t: t.fit(x, y, (xv, yv), epochs=2, rng=0, verbose=0))
    d, hd = _run(lambda t: t.fit(cr.tensor(x), list(y), epochs=2, rng=0, verbose=0))
    assert ha.history == hb.history == hc.history
    assert hd.history["loss"] == ha.history["loss"]
    for t in (b, c, d):
        for p, q in zip(a.model.parameters(), t.model.parameters(), strict=True):
            np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert a.evaluate(xv, yv) == a.evaluate((xv, yv))


def test_the_older_fit_train_val_form_still_works():
    (x, y), (xv, yv) = make_blobs(60), make_blobs(20, seed=1)
    loader = DataLoader(ArrayDataset(xv, yv), 10)
    for val in ((xv, yv), [xv, yv], ArrayDataset(xv, yv), loader):
        _, history = _run(lambda t, val=val: t.fit((x, y), val, epochs=1, rng=0, verbose=0))
        assert "val_loss" in history.history


def test_fit_x_y_rejects_mixed_forms():
    x, y = make_blobs(40)
    model = make_mlp()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="validation data given twice"):
        trainer.fit((x, y), (x, y), validation_data=(x, y), verbose=0, rng=0)
    with pytest.raises(TypeError, match="a DataLoader brings its own targets"):
        trainer.fit(DataLoader(ArrayDataset(x, y), 8), y, verbose=0)
