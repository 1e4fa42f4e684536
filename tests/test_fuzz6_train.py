"""Sixth fuzz wave, training: metrics that read float labels as binary scores, and library
functions that train a model for their caller and handed back a diverged run as a result."""

import math
import warnings

import numpy as np
import pytest

from chainrule import nn, ops
from chainrule.bayes import fit_curve, train_ensemble
from chainrule.generative import pretrain_layerwise
from chainrule.models import MLP
from chainrule.train import TrainingDivergedError, accuracy, confusion_matrix


def _nan_loss(output, target):
    return ops.cross_entropy(output, target) * math.nan


@pytest.mark.parametrize("metric", [accuracy, lambda t, p: confusion_matrix(t, p, 3)])
def test_float_predictions_of_multiclass_labels_are_refused(metric):
    y = np.array([0, 2, 1, 2])
    # float labels (argmax(...).astype(float)) were thresholded at 0.5 as binary scores: the
    # accuracy came out 0.5 for a perfect prediction and the confusion matrix moved the 2s to 1
    with pytest.raises(ValueError, match=r"binary scores.*labels other than 0 and 1"):
        metric(y, y.astype(np.float64))


def test_binary_float_scores_are_still_thresholded():
    y = np.array([0, 1, 1, 0])
    scores = np.array([0.2, 0.7, 0.4, 0.9])
    assert accuracy(y, scores) == np.mean(y == (scores > 0.5))
    assert accuracy(y.astype(np.float32), scores[:, None], threshold=0.3) == np.mean(
        y == (scores > 0.3))
    counts = np.zeros((2, 2), np.int64)
    np.add.at(counts, (y, (scores > 0.5).astype(int)), 1)
    np.testing.assert_array_equal(confusion_matrix(y, scores, 2), counts)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def test_train_ensemble_refuses_a_diverged_member():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    with pytest.raises(TrainingDivergedError, match=r"train_ensemble: member 1 of 2.*nan"):
        _quiet(train_ensemble, lambda r: nn.Linear(3, 2, rng=r), (x, y), members=2,
               loss=_nan_loss, epochs=2, rng=0)


def test_fit_curve_refuses_a_diverged_fit():
    x = np.linspace(-1, 1, 8, dtype=np.float32)[:, None]
    y = np.where(np.arange(8) == 3, np.inf, 0.0).astype(np.float32)[:, None]
    with pytest.raises(TrainingDivergedError, match=r"fit_curve: .*loss is"):
        _quiet(fit_curve, (1, 4, 1), (x, y), (x, np.zeros_like(y)), epochs=3, rng=0)


def test_pretrain_layerwise_refuses_a_diverged_autoencoder():
    x = np.random.default_rng(0).random((8, 6)).astype(np.float32)
    mlp = MLP((6, 4, 3), activation="sigmoid", rng=np.random.default_rng(0))
    before = [p.numpy().copy() for p in mlp.parameters()]
    bad = x.copy()
    bad[2, 1] = np.inf  # an infinite input is refused before any training now (6db43bc8)
    with pytest.raises(ValueError, match=r"x must have values in \[0, 1\].*inf"):
        _quiet(pretrain_layerwise, mlp, bad, epochs=1, batch_size=4, rng=0)
    # Adam's step is about lr whatever the gradient: 1e38 overflows float32 weights to inf, nan loss
    with pytest.raises(TrainingDivergedError, match=r"pretrain_layerwise: the autoencoder of "
                                                    r"layer 1"):
        _quiet(pretrain_layerwise, mlp, x, epochs=1, batch_size=4, rng=0, lr=1e38)
    # the diverged encoder's weights were copied into the MLP before the check
    for p, b in zip(mlp.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), b)


def test_experiments_still_export_the_error():
    from chainrule.experiments import checks

    assert checks.TrainingDivergedError is TrainingDivergedError


def test_terminate_on_nan_refuses_a_monitor_no_step_logs():
    from chainrule import optim
    from chainrule.train import TerminateOnNaN, Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = rng.integers(0, 2, 8)
    model = nn.Linear(3, 2, rng=rng)
    # a NaN loss went unnoticed: the monitored "val_loss" is in no batch's logs
    trainer = Trainer(model, _nan_loss, optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[TerminateOnNaN("val_loss")])
    with pytest.raises(ValueError, match=r"monitor names \['val_loss'\].*logs \['loss'\]"):
        trainer.fit((x, y), epochs=1, verbose=0, rng=0)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_integer_one_hot_targets_are_classes(dtype):
    from chainrule.data.transforms import one_hot

    y = np.array([0, 2, 1, 2, 1])
    scores = np.random.default_rng(3).random((5, 3))
    scores /= scores.sum(axis=1, keepdims=True)
    # integer one-hot rows were compared elementwise with the thresholded probabilities (a
    # multi-label accuracy over all 15 entries), float one-hot rows as classes
    expected = np.mean(y == scores.argmax(axis=1))
    assert accuracy(one_hot(y, 3, dtype=dtype), scores) == expected
    np.testing.assert_array_equal(confusion_matrix(one_hot(y, 3, dtype=dtype), scores, 3),
                                  confusion_matrix(y, scores, 3))
