"""Callbacks: code that runs at fixed points of ``Trainer.fit`` (Keras-style hooks).

A callback sees the trainer as ``self.trainer`` and may set ``trainer.stop_training = True``. Hooks
run in ascending ``order`` (0 by default), ties in the order given: learning-rate schedulers step
first (-10), so that checkpoints (10) save the stepped schedule, and the progress bar (100) reports
last. A callback prints through ``self.report(text)``: a line of the run's progress output. The two
that report a run, ``ProgressBar`` and ``CSVLogger``, are in ``reporting``.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from ..io import save_weights
from ..optim.lr_scheduler import ReduceLROnPlateau
from ._callback_state import check_early_stopping_state

__all__ = [
    "BEST_WEIGHTS",
    "LAST_STATE",
    "LAST_WEIGHTS",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "TerminateOnNaN",
    "TrainingDivergedError",
    "raise_if_diverged",
]

BEST_WEIGHTS = "best.safetensors"
LAST_WEIGHTS = "last.safetensors"
LAST_STATE = "last.state.safetensors"


class Callback:
    """Base class: override the hooks you need; ``logs`` is a dict name -> float."""

    order = 0
    trainer = None
    _say = None  # the ProgressBar's write, set by CallbackList
    prints_reports = False  # True for the one whose ``write`` prints reports (ProgressBar)

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    def state_dict(self) -> dict | None:
        """What a resumed run needs of this callback (saved with the Trainer's checkpoints, and
        given back to ``load_state_dict`` after ``on_train_begin``); None: nothing. A callback
        that overrides it makes a resume without it (or with it, where the run had none) an
        error, since the resumed run would not be the saved one."""
        return None

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (called when ``fit`` resumes a checkpoint)."""

    def report(self, text: str) -> None:
        """Print ``text`` as a line of the run's progress output (the ProgressBar's).

        Nothing is printed when the run is silent (verbose=0) or the callback runs outside
        ``fit``. A bar on the screen is redrawn below the line.
        """
        if self._say is not None:
            self._say(text)

    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch: int, logs=None): ...

    def on_epoch_logs(self, epoch: int, logs=None):
        """The epoch's logs are complete (validation included) but not yet recorded: a callback
        that finds them unusable sets ``trainer.diverged`` and the epoch is dropped."""

    def on_epoch_end(self, epoch: int, logs=None): ...

    def on_batch_begin(self, batch: int, logs=None): ...

    def on_batch_end(self, batch: int, logs=None): ...


class CallbackList:
    """The callbacks of one ``fit``, sorted by ``order``; each hook calls all of them in turn."""

    def __init__(self, callbacks, trainer):
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        bars = [c for c in self.callbacks if c.prints_reports]
        for c in self.callbacks:
            c.set_trainer(trainer)
            c._say = bars[-1].write if bars else None

    def on_train_begin(self, logs=None):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for c in self.callbacks:
            c.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_begin(epoch, logs)

    def on_epoch_logs(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_logs(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        for c in self.callbacks:
            c.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        for c in self.callbacks:
            c.on_batch_end(batch, logs)


class _Monitor:
    """The value a callback watches in the epoch logs, and when a new value counts as better."""

    def __init__(self, who: str, monitor: str, mode: str, min_delta: float = 0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ValueError(f"{who}: min_delta must be a number >= 0, got {min_delta!r}")
        self.who, self.name, self.min_delta = who, monitor, float(min_delta)
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode

    def value(self, logs) -> float:
        if not logs or self.name not in logs:
            hint = "; pass validation_data to fit" if self.name.startswith("val_") else ""
            raise ValueError(
                f"{self.who}: monitored quantity {self.name!r} is not in the epoch logs "
                f"{sorted(logs or {})}{hint}"
            )
        return float(logs[self.name])

    def better(self, current: float, best: float | None) -> bool:
        if best is None:
            return not math.isnan(current)
        if self.mode == "min":
            return current < best - self.min_delta
        return current > best + self.min_delta

    def best_of(self, values) -> float | None:
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return None
        return min(values) if self.mode == "min" else max(values)


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving; keep the best weights.

    Args:
        monitor: the log to watch ("val_loss", "val_accuracy", "loss"...).
        patience: epochs without improvement after which training stops.
        min_delta: the least change that counts as an improvement.
        mode: "min", "max", or "auto" (max for names containing "acc", else min).
        restore_best_weights: load the weights of the best epoch when training ends, whether by
            this callback, by running out of epochs, or by another callback stopping it.
        verbose: 1 says, through the progress output, when it stops training and when it
            restores the weights of an earlier epoch; 0 says nothing. A silent run (``fit``'s
            verbose=0) prints nothing either way.

    Attributes:
        best, best_epoch: the best value seen and its epoch; stopped_epoch: the epoch it stopped at.

    A checkpoint of the Trainer holds its state (the best value and epoch, the epochs waited,
    the best weights), so a run killed and resumed stops where it would have, with the same
    best weights; a fresh ``fit`` starts its count afresh.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True, verbose: int = 1):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if verbose not in (0, 1):
            raise ValueError(f"EarlyStopping: verbose must be 0 or 1, got {verbose!r}")
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode, self.restore_best_weights, self.verbose = mode, restore_best_weights, verbose

    def on_train_begin(self, logs=None):
        self.best = self.best_epoch = self.stopped_epoch = self.best_weights = None
        self.wait, self._last_epoch = 0, None

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        current = self._monitor.value(logs)
        if self._monitor.better(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                # state_dict shares memory with the model: copy, or later steps change the snapshot.
                self.best_weights = {k: v._data.copy()
                                     for k, v in self.trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs=None):
        # Said here, not when deciding to stop, so that it follows the last epoch's summary line.
        if self.stopped_epoch is not None and self.verbose:
            by = f" by more than {self.min_delta:g}" if self.min_delta else ""
            best = ("no finite value" if self.best is None
                    else f"best {self.best:.4g} at epoch {self.best_epoch + 1}")
            self.report(f"EarlyStopping: {self.monitor} did not improve{by} for {self.wait} "
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


class ModelCheckpoint(Callback):
    """Save weights into a folder after epochs: the best so far, or the last with a resumable state.

    Args:
        directory: the folder to write into (created if needed).
        monitor, mode: what "best" means, as for EarlyStopping.
        save_best_only: True writes ``best.safetensors`` whenever the monitored value improves.
            False writes ``last.safetensors`` (weights) and ``last.state.safetensors`` (weights,
            optimizer, scheduler, epoch, history, random states) after every epoch: what
            ``fit(..., resume_from=directory)`` needs.
        config: the model's architecture config, stored in the files (see ``io.save_weights``).
    """

    order = 10

    def __init__(self, directory, *, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = True, config: dict | None = None):
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode)
        self.directory = Path(directory)
        self.monitor, self.mode, self.save_best_only, self.config = (
            monitor, mode, save_best_only, config)

    def on_train_begin(self, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        # A resumed run starts from the best value of the epochs before it.
        self.best = self._monitor.best_of(self.trainer.history.history.get(self.monitor, []))

    def on_epoch_end(self, epoch, logs=None):
        if not self.save_best_only:
            save_weights(self.trainer.model, self.directory / LAST_WEIGHTS, config=self.config)
            self.trainer.save_checkpoint(self.directory / LAST_STATE, config=self.config)
            return
        current = self._monitor.value(logs)
        if self._monitor.better(current, self.best):
            self.best = current
            save_weights(self.trainer.model, self.directory / BEST_WEIGHTS, config=self.config)


class LearningRateScheduler(Callback):
    """Step a ``chainrule.optim`` learning-rate scheduler once per epoch (or per batch).

    ``ReduceLROnPlateau`` is stepped with the monitored value; the others with no argument.

    Args:
        scheduler: the scheduler.
        monitor: the log passed to ``ReduceLROnPlateau.step``.
        interval: "epoch" (after every epoch) or "batch" (after every training step, for
            schedules laid out over the steps, such as ``OneCycleLR``; not ``ReduceLROnPlateau``).
    """

    order = -10

    def __init__(self, scheduler, *, monitor: str = "val_loss", interval: str = "epoch"):
        if not hasattr(scheduler, "step"):
            raise TypeError(
                "LearningRateScheduler: expected a scheduler with step(), got "
                f"{type(scheduler).__name__}"
            )
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LearningRateScheduler: interval must be 'epoch' or 'batch', got "
                             f"{interval!r}")
        if interval == "batch" and isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError("LearningRateScheduler: ReduceLROnPlateau needs interval='epoch' "
                             "(it watches an epoch's logs)")
        self.scheduler, self.monitor, self.interval = scheduler, monitor, interval
        self._monitor = _Monitor("LearningRateScheduler", monitor, "auto")

    def on_batch_end(self, batch, logs=None):
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval == "batch":
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(self._monitor.value(logs))
        else:
            self.scheduler.step()


class TerminateOnNaN(Callback):
    """Stop training at the first NaN or infinite loss (or other logged value): the run diverged.

    After every batch it checks the values the step logged (the loss, the metrics, a GAN's
    ``d_loss`` and ``g_loss``), and after an epoch's last batch the model's weights too (a step
    can turn them NaN while the loss it logged was still finite); when the number of batches is
    not known (a loader over an ``IterableDataset`` without a length), after every batch. At the
    first non-finite one it warns (a RuntimeWarning naming the epoch, the batch and the value)
    and sets the trainer's ``diverged`` (True), ``stop_reason`` (that line) and
    ``stop_training``. ``Trainer.fit`` then ends at once: the diverged epoch is not validated,
    not recorded in the History and its ``on_epoch_end`` hooks do not run, so ModelCheckpoint
    keeps the last finite epoch's files and CSVLogger writes no NaN row. The epoch's validation
    logs are checked the same way before the epoch is recorded (an infinite ``val_loss`` is no
    best epoch), and so are the weights when another callback stopped the epoch early. The model
    keeps the diverged weights; reload the checkpoint.

    ``Trainer.fit`` adds one by default (``terminate_on_nan=False`` leaves it out).

    Args:
        monitor: the names of the batch logs to check (a name or a list), and of the epoch logs
            their "val_" forms; None checks them all.
            A name the first step does not log (a typo, or "val_loss", which no training step
            logs) is a ValueError then, not a check that never runs.
    """

    order = -100

    def __init__(self, monitor=None):
        self.monitor = [monitor] if isinstance(monitor, str) else monitor

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._batch, self._weights_checked = epoch, -1, False

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        self._batch = batch
        absent = [n for n in self.monitor or () if n not in logs]
        if absent:
            raise ValueError(f"TerminateOnNaN: monitor names {absent}, which the training step "
                             f"does not log; it logs {sorted(logs)} (None: all of them)")
        names = logs if self.monitor is None else self.monitor
        for name in names:
            if not math.isfinite(logs[name]):
                return self._diverge(f"{name} is {logs[name]}", batch)
        steps = self.trainer.params.get("steps")  # None: a stream, whose last batch is unknown
        if steps is None or batch + 1 >= steps or self.trainer.stop_training:
            self._check_weights(batch)

    def _check_weights(self, batch) -> None:
        self._weights_checked = True
        weights = getattr(self.trainer, "non_finite_weights", None)
        bad = weights() if weights is not None else {}
        if bad:
            name, count = next(iter(bad.items()))
            self._diverge(f"{count} value(s) of weight {name} are not finite after the step", batch)

    def on_epoch_logs(self, epoch, logs=None):
        # A callback after this one may have stopped the epoch early, before the weights were
        # checked; and the validation logs (an infinite val_loss) are only known now.
        if not getattr(self, "_weights_checked", True):
            self._check_weights(self._batch)
        names = (logs or {}) if self.monitor is None else [
            n for m in self.monitor for n in (m, f"val_{m}") if n in (logs or {})]
        for name in names:
            if not self.trainer.diverged and not math.isfinite(logs[name]):
                self._diverge(f"{name} is {logs[name]}", None)

    def _diverge(self, what: str, batch) -> None:
        epoch = getattr(self, "_epoch", 0)
        where = "after its last batch" if batch is None else f"batch {batch + 1}"
        message = f"training diverged: {what} at epoch {epoch + 1}, {where}"
        warnings.warn(f"TerminateOnNaN: {message}; training stopped, and the diverged epoch is "
                      "not recorded or checkpointed", RuntimeWarning, stacklevel=2)
        self.trainer.stop_training = self.trainer.diverged = True
        self.trainer.stop_reason = message


class TrainingDivergedError(RuntimeError):
    """Training met a non-finite loss (or weights) and stopped; the last finite checkpoint stays.

    Attributes:
        epoch: the epoch it happened in (0-based); last_epoch: the last completed epoch (-1: none).
    """

    def __init__(self, message: str, *, epoch: int, last_epoch: int):
        super().__init__(message)
        self.epoch, self.last_epoch = epoch, last_epoch


def raise_if_diverged(who: str, trainer, hint: str = "") -> None:
    """Raise ``TrainingDivergedError`` when ``trainer``'s last ``fit`` diverged (its
    ``TerminateOnNaN`` stopped it), so a caller that trains a model for its user never hands
    back the diverged weights, or results computed from them, as a finished run."""
    if getattr(trainer, "diverged", False):
        reason = getattr(trainer, "stop_reason", None) or "training diverged"
        raise TrainingDivergedError(f"{who}: {reason}{'; ' + hint if hint else ''}",
                                    epoch=trainer.epoch + 1, last_epoch=trainer.epoch)
