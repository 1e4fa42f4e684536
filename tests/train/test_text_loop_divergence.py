"""The bag-of-n-grams loop (``chainrule train ngram|fasttext``) has its own training loop: it
stops on a NaN loss or one that grew over 1e10 times its first value, as the Trainer's
TerminateOnNaN, with TrainingDivergedError (exit code 3 on the command line); before, a run at
--lr 1e12 with losses near 1e23 finished as a success."""

import math

import pytest

from chainrule.experiments.text import fit_text_model
from chainrule.train import TrainingDivergedError
from chainrule.train.callbacks import blew_up

TEXTS = ["free prize call now", "win cash now", "see you at lunch", "meeting moved to noon",
         "claim your free cash", "lunch tomorrow?"] * 4
LABELS = [1, 1, 0, 0, 1, 0] * 4


def test_huge_lr_is_divergence():
    with pytest.raises(TrainingDivergedError, match=r"training diverged: loss grew from \S+ to "
                                                    r"\S+ \(over 1e\+10 times\) at epoch 1, batch "
                                                    r"\d+; lower the learning rate \(--lr, it was "
                                                    r"1e\+12\)"):
        fit_text_model("fasttext", TEXTS, LABELS, 2, epochs=3, batch_size=4, lr=1e12)


def test_ordinary_lr_trains():
    net, _, history = fit_text_model("fasttext", TEXTS, LABELS, 2, epochs=3, batch_size=4)
    assert len(history["loss"]) == 3 and all(math.isfinite(v) for v in history["loss"])


def test_blew_up_rule():
    assert blew_up("loss", 2e10, 2.3) is None and blew_up("loss", -3e10, 2.0) is not None
    assert blew_up("loss", 9e9, 1e-12) is None  # a first value below 1 is measured against 1
    assert blew_up("loss", 1e23, 0.69, None) is None
    assert blew_up("loss", 1e23, 0.69) == "loss grew from 0.69 to 1e+23 (over 1e+10 times)"
