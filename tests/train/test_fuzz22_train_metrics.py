"""Fuzz wave 22: the Trainer's named binary metrics on logits.

With a loss on logits (``binary_cross_entropy_with_logits``, ``nn.BCEWithLogitsLoss``) the named
"accuracy", "precision", "recall" and "f1" cut the scores at 0 (sigmoid 0.5); they cut the logits
at 0.5 before, so a logit in (0, 0.5] (a probability up to 0.62) was silently a negative. The
oracle is PyTorch: ``torch.sigmoid(logits) > 0.5`` counted by hand.
"""

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule import F, nn  # noqa: E402
from chainrule.train import Trainer  # noqa: E402

RNG = np.random.default_rng(7)


def _oracle(logits, y):
    pred = (torch.sigmoid(torch.tensor(logits)) > 0.5).numpy()
    true = y > 0.5
    tp, fp, fn = (pred & true).sum(), (pred & ~true).sum(), (~pred & true).sum()
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return {
        "accuracy": (pred == true).mean(),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
    }


@pytest.mark.parametrize(
    "loss",
    [
        F.binary_cross_entropy_with_logits,
        nn.BCEWithLogitsLoss(),
        functools.partial(F.binary_cross_entropy_with_logits, reduction="mean"),
        "binary_cross_entropy_with_logits",
        # torch.binary_cross_entropy_with_logits' form, whose reduction defaults to "none"
        functools.partial(cr.binary_cross_entropy_with_logits, reduction=1),
    ],
)
def test_named_binary_metrics_cut_logits_at_zero_as_a_sigmoid_does(loss):
    x = RNG.normal(size=(64, 2)).astype(np.float32)
    y = (RNG.random((64, 1)) < 0.5).astype(np.float32)
    model = nn.Linear(2, 1, rng=np.random.default_rng(0))
    # logits spread around 0.25, many in (0, 0.5]
    model.load_state_dict(
        {"weight": np.array([[0.4, -0.3]], np.float32), "bias": np.array([0.25], np.float32)}
    )
    trainer = Trainer(model, loss, None, metrics=["accuracy", "precision", "recall", "f1"])
    got = trainer.evaluate((x, y), batch_size=16)
    logits = trainer.predict(x)
    assert ((logits > 0) & (logits <= 0.5)).sum() >= 5  # the cases the old cut got wrong
    for name, value in _oracle(logits, y).items():
        np.testing.assert_allclose(got[name], value, rtol=1e-12, err_msg=name)


def test_probabilities_keep_the_cut_at_one_half():
    x = RNG.random((40, 1)).astype(np.float32)
    y = (RNG.random((40, 1)) < 0.5).astype(np.float32)

    class Identity(nn.Module):
        def forward(self, v):
            return v * 1.0

    got = Trainer(Identity(), F.binary_cross_entropy, None, metrics=["acc"]).evaluate((x, y))
    np.testing.assert_allclose(got["acc"], ((x > 0.5) == (y > 0.5)).mean(), rtol=1e-12)


@pytest.mark.parametrize("loss", [F.binary_cross_entropy_with_logits, nn.BCELoss()])
def test_multi_label_targets_are_scored_per_entry_whatever_the_batching(loss):
    """A batch whose multi-label rows each held one 1 was read as one-hot classes (argmax), so
    the named accuracy depended on the batch size and precision refused some batches."""
    x = RNG.normal(size=(40, 4)).astype(np.float32)
    y = np.zeros((40, 3), np.float32)
    y[np.arange(40), RNG.integers(0, 3, 40)] = 1
    y[:8, 0] = 1  # the first batch of 8 is multi-label, the others hold one 1 per row
    layer = nn.Linear(4, 3, rng=np.random.default_rng(1))
    probs = isinstance(loss, nn.BCELoss)
    model = nn.Sequential(layer, nn.Sigmoid()) if probs else layer
    trainer = Trainer(model, loss, None, metrics=["accuracy", "precision", "recall"])
    scores = trainer.predict(x)
    pred = scores > 0.5 if probs else (torch.sigmoid(torch.tensor(scores)) > 0.5).numpy()
    true = y > 0.5
    tp = (pred & true).sum()
    expected = {
        "accuracy": (pred == true).mean(),
        "precision": tp / pred.sum(),
        "recall": tp / true.sum(),
    }
    for batch_size in (8, 40):
        got = trainer.evaluate((x, y), batch_size=batch_size)
        for name, value in expected.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-12, err_msg=name)
