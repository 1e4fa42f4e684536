"""Catastrophic overfitting of fast (FGSM) adversarial training, watched and stopped.

Wong, Rice & Kolter (2020) found that FGSM training can, within a few steps, learn to defeat the
one-step attack it trains on while becoming defenceless against a multi-step one: the PGD accuracy
falls to near 0 while the FGSM (training) accuracy keeps rising. Their remedy is early stopping:
check the PGD accuracy on a small fixed set of training images as training goes, and when it
drops sharply, stop and keep the weights of the last check before the drop.
"""

from __future__ import annotations

import math
import numbers

from ..backend import asnumpy
from ..train.callbacks import Callback
from ._core import check_eps, check_int
from .evaluate import robust_accuracy

__all__ = ["OverfittingCheck"]


def check_state(state, settings: dict) -> None:
    """Refuse a saved OverfittingCheck state of the wrong form, or of other settings."""
    keys = {"settings", "best", "best_epoch", "collapsed_at", "weights"}
    if not isinstance(state, dict) or set(state) != keys:
        got = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"OverfittingCheck: the checkpoint's state has entries {got}, expected "
                         f"{sorted(keys)}")
    if state["settings"] != settings:
        raise ValueError(f"OverfittingCheck: the checkpoint's run checked with "
                         f"{state['settings']}, this one with {settings}; resume with the run's "
                         "own settings")
    best = state["best"]
    if isinstance(best, bool) or not isinstance(best, numbers.Real) or math.isnan(best):
        raise ValueError(f"OverfittingCheck: the checkpoint's best accuracy is {best!r}, "
                         "expected a number")
    for field in ("best_epoch", "collapsed_at"):
        value = state[field]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise ValueError(f"OverfittingCheck: the checkpoint's {field} is {value!r}, "
                             "expected None or an int >= 0")
    weights = state["weights"]
    if weights is not None and not isinstance(weights, dict):
        raise ValueError(f"OverfittingCheck: the checkpoint's weights are a "
                         f"{type(weights).__name__}, expected a dict of arrays or None")


class OverfittingCheck(Callback):
    """Log PGD accuracy on fixed training images after every epoch; stop at a collapse.

    Args:
        x, y: the images (N, ...) and labels (N,) to check on, e.g. the first 1,000 of the
            training set.
        eps: the attack's L-infinity radius (the training eps).
        steps: PGD's steps of 2.5 eps / steps, from one random start. Wong et al. use 5 (on
            CIFAR-10); on MNIST a gradient-masking model keeps 45 % against PGD-5 but 23 %
            against PGD-10 and 12 % against PGD-20, where a robust one keeps 94-95 % against all
            three (docs/robustness.md), so the default is 10.
        drop: a fall of the accuracy by more than this below the best check so far is a collapse:
            training stops and, with ``restore``, the weights of the best check are put back.
        restore: put the best check's weights back at a collapse.
        seed: seeds PGD's random starts, the same at every check (so the check holds no state
            the Trainer would need to checkpoint).

    Each epoch's logs and the Trainer's history get ``pgd_accuracy`` (the CSVLogger writes it to
    metrics.csv).
    ``collapsed_at`` is the epoch of the collapse (None: none) and ``best_epoch`` that of the
    weights kept. Each ``fit`` starts the watch afresh; the Trainer's checkpoints keep its state
    (``state_dict``: the best accuracy, its epoch and weights, the collapse), so a resumed run
    compares with the saved run's best and a run that had collapsed stays stopped.
    """

    order = -5  # after the lr scheduler, before the CSVLogger and the checkpoint see the logs

    def __init__(self, x, y, *, eps: float, steps: int = 10, drop: float = 0.2,
                 restore: bool = True, seed: int = 0):
        who = "OverfittingCheck"
        self.x, self.y = asnumpy(x), asnumpy(y)
        if len(self.x) != len(self.y) or len(self.x) == 0:
            raise ValueError(f"{who}: x and y must hold the same number (>= 1) of examples, got "
                             f"{len(self.x)} and {len(self.y)}")
        self.eps = check_eps(who, eps, positive=True)
        self.steps = check_int(who, "steps", steps)
        self.drop = check_eps(who, drop, name="drop", positive=True)
        self.restore, self.seed = bool(restore), check_int(who, "seed", seed, low=0)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.collapsed_at, self._weights = -1.0, None, None, None

    def _settings(self) -> dict:
        return {"eps": self.eps, "steps": self.steps, "drop": self.drop,
                "restore": self.restore, "seed": self.seed, "examples": len(self.x)}

    def state_dict(self) -> dict:
        """The watch so far: settings, best accuracy and epoch, collapse epoch, kept weights."""
        return {"settings": self._settings(), "best": self.best, "best_epoch": self.best_epoch,
                "collapsed_at": self.collapsed_at, "weights": self._weights}

    def load_state_dict(self, state: dict) -> None:
        """Continue a saved watch (a resume); one that had collapsed stops the run again."""
        check_state(state, self._settings())
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]
        self.collapsed_at, self._weights = state["collapsed_at"], state["weights"]
        if self.collapsed_at is not None and self.trainer is not None:
            self.trainer.stop_training = True

    def accuracy(self, model) -> float:
        """The model's PGD accuracy on the check images (in eval mode; its mode is kept)."""
        res = robust_accuracy(model, (self.x, self.y), "pgd", eps=self.eps, steps=self.steps,
                              rng=self.seed, verbose=0)  # it runs the model in eval mode
        return res["robust_accuracy"]

    def on_epoch_end(self, epoch, logs=None):
        model = self.trainer.model
        acc = self.accuracy(model)
        if logs is not None:
            logs["pgd_accuracy"] = acc
        history = self.trainer.history  # it recorded the epoch's logs before its callbacks ran
        if history.epoch and history.epoch[-1] == epoch:
            history.history.setdefault("pgd_accuracy", [math.nan] * len(history.epoch))[-1] = acc
        if acc >= self.best:
            self.best, self.best_epoch = acc, epoch
            if self.restore:
                self._weights = {k: v._data.copy() for k, v in model.state_dict().items()}
        elif acc < self.best - self.drop:
            self.collapsed_at = epoch
            self.trainer.stop_training = True
            kept = ""
            if self.restore:
                model.load_state_dict(self._weights)
                kept = f"; the weights of epoch {self.best_epoch + 1} are kept"
            self.report(f"catastrophic overfitting: PGD accuracy on the check images fell from "
                        f"{self.best:.3f} (epoch {self.best_epoch + 1}) to {acc:.3f} (epoch "
                        f"{epoch + 1}); training stops{kept}")
