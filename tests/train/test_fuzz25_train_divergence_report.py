"""Fuzz wave 25: a diverged run says so in its progress output, not only in a RuntimeWarning: a
program that silences warnings (many notebooks do) saw a run that just ended early, as if done."""

import io
import warnings

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import ProgressBar, Trainer


def _run(verbose):
    x = np.ones((8, 2), np.float32)
    x[5] = 1e30  # its squared error overflows in the second batch
    y = np.eye(2, dtype=np.float32)[np.arange(8) % 2]
    model = nn.Linear(2, 2, rng=np.random.default_rng(0))
    out = io.StringIO()
    trainer = Trainer(model, "mse_loss", optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[ProgressBar(verbose, file=out)])
    with warnings.catch_warnings(), cr.reference_mode():
        warnings.simplefilter("ignore")  # as a notebook that silences them
        history = trainer.fit((x, y), epochs=2, batch_size=4, shuffle=False)
    return trainer, history, out.getvalue()


def test_the_progress_output_says_the_run_diverged():
    trainer, history, printed = _run(2)
    assert trainer.diverged and len(history) == 0
    assert printed == ("TerminateOnNaN: training diverged: loss is inf at epoch 1, batch 2; "
                       "training stopped, and the diverged epoch is not recorded or "
                       "checkpointed\n")  # before: nothing at all


def test_a_silent_run_prints_nothing():
    trainer, _, printed = _run(0)
    assert trainer.diverged and printed == ""
