"""Fuzz wave 25: the Trainer's named class metrics read PyTorch's (N, C, d1, ...) scores, the
layout its cross_entropy and nll_loss take, with the classes on axis 1 (they took the last axis:
an error, or with C == d1 a silently wrong accuracy)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train import Trainer


class _PerStep(nn.Module):
    """(N, T, 3) inputs -> (N, C, T) scores, a sequence tagger in PyTorch's layout."""

    def __init__(self, classes):
        super().__init__()
        self.linear = nn.Linear(3, classes, rng=np.random.default_rng(0))

    def forward(self, x):
        return self.linear(x).permute(0, 2, 1)


@pytest.mark.parametrize(("classes", "steps", "loss"), [
    (5, 5, "cross_entropy"), (4, 6, "cross_entropy"), (3, 3, nn.CrossEntropyLoss()),
    (4, 4, "nll_loss")])
def test_class_metrics_read_the_classes_on_axis_1(classes, steps, loss):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, steps, 3)).astype(np.float32)
    y = rng.integers(0, classes, (8, steps))
    model = _PerStep(classes)
    trainer = Trainer(model, loss, None, metrics=["accuracy", "top_2_accuracy", "macro_recall"])
    logs = trainer.evaluate(x, y, batch_size=None)
    scores = model(cr.tensor(x)).numpy()  # (N, C, T)
    predicted = scores.argmax(axis=1)
    top2 = np.argsort(-scores, axis=1, kind="stable")[:, :2]
    recalls = [np.mean(predicted[y == c] == c) for c in range(classes) if (y == c).any()]
    assert logs["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert logs["top_2_accuracy"] == pytest.approx(np.mean((top2 == y[:, None]).any(axis=1)))
    assert logs["macro_recall"] == pytest.approx(np.mean(recalls))


def test_probability_targets_and_two_dimensional_scores_are_unchanged():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 4, 3)).astype(np.float32)
    y = rng.integers(0, 4, (6, 4))
    soft = np.moveaxis(np.eye(4, dtype=np.float32)[y], -1, 1)  # (N, C, T) one-hot targets
    model = _PerStep(4)
    trainer = Trainer(model, "cross_entropy", None, metrics=["accuracy"])
    predicted = model(cr.tensor(x)).numpy().argmax(axis=1)
    assert trainer.evaluate(x, soft)["accuracy"] == pytest.approx(np.mean(predicted == y))
    flat = nn.Linear(3, 4, rng=np.random.default_rng(0))
    with cr.reference_mode():  # the plain kernels: no compiled one to load for this check
        logs = Trainer(flat, "cross_entropy", None, metrics=["accuracy"]).evaluate(x[:, 0],
                                                                                   y[:, 0])
    assert logs["accuracy"] == pytest.approx(
        np.mean(flat(cr.tensor(x[:, 0])).numpy().argmax(1) == y[:, 0]))
