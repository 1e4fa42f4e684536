"""``EarlyStopping``: end ``fit`` when a monitored log has stopped improving (Keras' callback)."""

from __future__ import annotations

from ..data.arguments import check_int, check_number
from ._callback_state import check_early_stopping_state
from ._monitor import Monitor
from .callbacks import Callback

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving; keep the best weights.

    Args:
        monitor: the log to watch ("val_loss", "val_accuracy", "loss"...).
        patience: epochs without improvement after which training stops; as Keras' (2 and 3),
            never at epoch 0, so ``patience=0`` with a baseline the first epoch misses stops
            after epoch 1, not 0.
        min_delta: the least change that counts as an improvement.
        mode: "min", "max", or "auto": Keras 3's rule (losses and errors min, accuracies, "auc",
            "precision", "recall", "f1"... max; any other name raises ValueError asking for mode).
        restore_best_weights: load the weights of the best epoch when training ends, whether by
            this callback, by running out of epochs, or by another callback stopping it (as
            Keras 3; Keras 2 restored them only when this callback stopped the run).
        verbose: 1 says, through the progress output, when it stops training and when it
            restores the weights of an earlier epoch; 0 says nothing. A silent run (``fit``'s
            verbose=0) prints nothing either way.
        baseline: None, or a value the monitored quantity must beat (by more than
            ``min_delta``): an epoch that improves on the best so far but not on the baseline
            still counts as one without improvement, so a run that never beats the baseline stops
            after ``patience`` epochs. The best of them is still the one restored.
        start_from_epoch: epochs (from the first) to train before watching: a warm-up whose
            values are neither counted as waiting nor candidates for the best weights.

    Attributes:
        best, best_epoch: the best value seen and its epoch; stopped_epoch: the epoch it stopped at.

    A checkpoint of the Trainer holds its state (the best value and epoch, the epochs waited,
    the best weights), so a run killed and resumed stops where it would have, with the same
    best weights; a fresh ``fit`` starts its count afresh.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True, verbose: int = 1, *,
                 baseline: float | None = None, start_from_epoch: int = 0):
        patience = check_int("EarlyStopping", "patience", patience, low=0)
        if verbose not in (0, 1):
            raise ValueError(f"EarlyStopping: verbose must be 0 or 1, got {verbose!r}")
        if not isinstance(restore_best_weights, bool):  # "no" would be truthy
            raise TypeError(f"EarlyStopping: restore_best_weights must be True or False, got "
                            f"{restore_best_weights!r}")
        start_from_epoch = check_int("EarlyStopping", "start_from_epoch", start_from_epoch, low=0)
        self._monitor = Monitor("EarlyStopping", monitor, mode, min_delta)
        self.baseline = check_number("EarlyStopping", "baseline", baseline, allow_none=True)
        self.monitor, self.patience, self.min_delta = monitor, patience, self._monitor.min_delta
        self.mode, self.restore_best_weights, self.verbose = mode, restore_best_weights, verbose
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.best = self.best_epoch = self.stopped_epoch = self.best_weights = None
        self.wait, self._last_epoch = 0, None

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        current = self._monitor.value(logs)  # a missing log is an error in the warm-up too
        if epoch < self.start_from_epoch:
            return
        if self._monitor.better(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                # state_dict shares memory with the model: copy, or later steps change the snapshot.
                self.best_weights = {k: v._data.copy()
                                     for k, v in self.trainer.model.state_dict().items()}
            if self.baseline is None or self._monitor.better(current, self.baseline):
                self.wait = 0
                return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:  # as Keras: never at the first epoch
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        # Said here, not when deciding to stop, so that it follows the last epoch's summary line.
        if self.stopped_epoch is not None and self.verbose:
            by = f" by more than {self.min_delta:g}" if self.min_delta else ""
            on = "" if self.baseline is None else f" on the baseline {self.baseline:g}"
            best = ("no finite value" if self.best is None
                    else f"best {self.best:.4g} at epoch {self.best_epoch + 1}")
            self.report(f"EarlyStopping: {self.monitor} did not improve{on}{by} for {self.wait} "
                        f"epoch{'s' if self.wait != 1 else ''} ({best}); stopping after epoch "
                        f"{self.stopped_epoch + 1}")
        if self.best_weights is not None:
            self.trainer.model.load_state_dict(self.best_weights)
            if self.verbose and self.best_epoch != self._last_epoch:
                self.report(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1} "
                            f"({self.monitor}: {self.best:.4g})")

    def state_dict(self) -> dict:
        return {"monitor": self.monitor, "best": self.best, "best_epoch": self.best_epoch,
                "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "last_epoch": self._last_epoch, "best_weights": self.best_weights}

    def check_state(self, state) -> None:
        """Refuse a saved state of the wrong form, or of another monitored log."""
        check_early_stopping_state(state, self.monitor, self.restore_best_weights)

    def load_state_dict(self, state: dict) -> None:
        """Continue a resumed run's count; one it had stopped stops again before any epoch."""
        self.check_state(state)
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch, self._last_epoch = state["stopped_epoch"], state["last_epoch"]
        self.best_weights = state["best_weights"]
        if self.stopped_epoch is not None:
            self.trainer.stop_training = True
