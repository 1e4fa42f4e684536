"""Wave 19: precision, recall and F1, against scikit-learn, exact over an epoch of batches."""

import numpy as np
import pytest

from chainrule import nn
from chainrule.train import EarlyStopping, MeanTracker, Trainer, f1_score, precision, recall
from chainrule.train.metrics import get_metric

METRICS = [(precision, "precision_score"), (recall, "recall_score"), (f1_score, "f1_score")]


@pytest.mark.parametrize("seed", range(4))
def test_precision_recall_f1_equal_scikit_learns_on_a_batch_and_over_an_epoch(seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    classes, n = 2 + seed % 3, 30 + seed
    y = rng.integers(0, classes, n)
    scores = np.round(rng.normal(size=(n, classes)))  # ties, and classes never predicted
    cuts = [0, 4, 5, 17, n]  # batches of unequal size
    for average in ["micro", "macro", "weighted"] + (["binary"] if classes == 2 else []):
        for zero_division in (0.0, 1.0, np.nan):
            for ours, name in METRICS:
                want = getattr(skm, name)(
                    y, scores.argmax(1), average=average, zero_division=zero_division
                )
                kw = {"average": average, "zero_division": zero_division}
                np.testing.assert_allclose(ours(y, scores, **kw), want, rtol=1e-15)
                tracker = MeanTracker()
                for a, b in zip(cuts, cuts[1:]):
                    tracker.update({"m": ours(y[a:b], scores[a:b], **kw)}, weight=b - a)
                np.testing.assert_allclose(tracker.result()["m"], want, rtol=1e-15)


def test_the_trainers_epoch_f1_is_the_f1_of_the_epoch_not_a_mean_of_batches():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(53, 4)).astype("float32"), rng.integers(0, 3, 53)
    model = nn.Sequential(nn.Linear(4, 3, rng=rng))
    names = ["macro_f1", "weighted_precision", "micro_recall", "accuracy"]
    logs = Trainer(model, "cross_entropy", None, metrics=names).evaluate(x, y, batch_size=7)
    pred = model(x).numpy().argmax(1)
    assert logs["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-15)
    assert logs["weighted_precision"] == pytest.approx(
        skm.precision_score(y, pred, average="weighted", zero_division=0.0), abs=1e-15
    )
    assert logs["micro_recall"] == pytest.approx(logs["accuracy"], abs=1e-15)
    batches = [
        skm.f1_score(y[i : i + 7], pred[i : i + 7], average="macro") for i in range(0, 53, 7)
    ]
    sizes = [len(y[i : i + 7]) for i in range(0, 53, 7)]
    assert abs(np.average(batches, weights=sizes) - logs["macro_f1"]) > 1e-3
    assert EarlyStopping("val_macro_f1")._monitor.mode == "max"
    assert get_metric("f1")[1](np.array([0, 1, 1]), np.array([0.1, 0.9, 0.2])) == pytest.approx(
        2 / 3
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: f1_score([0, 2, 1], [0, 1, 1]),
            r"average='binary'.*labels go up to 2.*'macro_f1_score'",
        ),
        (lambda: precision([0, 1], [0, 1], average="samples"), "average must be one of"),
        (
            lambda: recall([0, 1], [0, 1], zero_division="warn"),
            "zero_division must be 0.0, 1.0 or nan",
        ),
        (lambda: recall([0, -1], [0, 1], average="macro"), r"y_true must hold class labels"),
        (lambda: precision(np.zeros(0, int), np.zeros(0, int)), "empty"),
        (lambda: f1_score([0, 5], np.eye(2), average="macro"), r"class labels in \[0, 2\)"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
