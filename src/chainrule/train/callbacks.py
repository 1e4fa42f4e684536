"""Callbacks: code that runs at fixed points of ``Trainer.fit`` (Keras-style hooks).

A callback sees the trainer as ``self.trainer`` and may set ``trainer.stop_training = True``. Hooks
run in ascending ``order`` (0 by default), ties in the order given: learning-rate schedulers step
first (-10), so that checkpoints (10) save the stepped schedule, and the progress bar (100) reports
last. A callback prints through ``self.report(text)``: a line of the run's progress output. The two
that report a run, ``ProgressBar`` and ``CSVLogger``, are in ``reporting``; ``EarlyStopping`` is in
``early_stopping`` and ``ModelCheckpoint`` in ``checkpointing`` (both also importable from here).
"""

from __future__ import annotations

import math
import warnings

from ..data.arguments import check_number
from ..optim.lr_scheduler import ReduceLROnPlateau
from ._monitor import Monitor
from ._schedule_function import ScheduleFunction

__all__ = [
    "BEST_WEIGHTS",
    "LAST_STATE",
    "LAST_WEIGHTS",
    "Callback",
    "CallbackList",
    "LearningRateScheduler",
    "TerminateOnNaN",
    "TrainingDivergedError",
    "blew_up",
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


class LearningRateScheduler(Callback):
    """Step a ``chainrule.optim`` learning-rate scheduler once per epoch (or per batch).

    ``ReduceLROnPlateau`` is stepped with the monitored value; the others with no argument.
    Keras' form works too: a function ``schedule(epoch, lr) -> lr`` (or ``schedule(epoch)``),
    called at the start of every epoch (from 0) for each parameter group's lr; the epoch's logs
    then hold its "learning_rate" (the first group's), as Keras'.

    Args:
        scheduler: the scheduler, or a schedule function.
        monitor: the log passed to ``ReduceLROnPlateau.step``.
        interval: "epoch" (after every epoch) or "batch" (after every optimizer step, for
            schedules laid out over the steps, such as ``OneCycleLR``; not ``ReduceLROnPlateau``;
            with ``accumulate_grad_batches=k``, once per k batches and after an epoch's last).
    """

    order = -10

    def __init__(self, scheduler, *, monitor: str = "val_loss", interval: str = "epoch"):
        if callable(scheduler) and not hasattr(scheduler, "step"):
            scheduler = ScheduleFunction(scheduler)
            if interval != "epoch":
                raise ValueError(f"LearningRateScheduler: a schedule function sets the lr of "
                                 f"each epoch (interval='epoch'), got interval={interval!r}")
        if not hasattr(scheduler, "step"):
            raise TypeError(
                "LearningRateScheduler: expected a scheduler with step() or a function "
                f"schedule(epoch, lr) -> lr, got {type(scheduler).__name__}"
            )
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LearningRateScheduler: interval must be 'epoch' or 'batch', got "
                             f"{interval!r}")
        if interval == "batch" and isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError("LearningRateScheduler: ReduceLROnPlateau needs interval='epoch' "
                             "(it watches an epoch's logs)")
        self.scheduler, self.monitor, self.interval = scheduler, monitor, interval
        self._monitor = Monitor("LearningRateScheduler", monitor, "auto", compares=False)
        if isinstance(scheduler, ReduceLROnPlateau):
            _check_plateau_mode(scheduler, monitor, self._monitor.mode)

    def on_train_begin(self, logs=None):
        _check_optimizer(self.scheduler, getattr(self.trainer, "optimizer", None))
        _check_cycle_interval(self.scheduler, self.interval, self.trainer)

    def on_epoch_begin(self, epoch, logs=None):
        if isinstance(self.scheduler, ScheduleFunction):
            self.scheduler.apply(epoch, self.trainer.optimizer)

    def on_epoch_logs(self, epoch, logs=None):
        if isinstance(self.scheduler, ScheduleFunction) and logs is not None:
            logs["learning_rate"] = float(self.trainer.optimizer.param_groups[0]["lr"])

    def on_batch_end(self, batch, logs=None):
        # "batch" counts optimizer steps: none after a batch whose gradients are being summed
        # (Trainer(accumulate_grad_batches=k) steps once per k batches)
        options = getattr(self.trainer, "grad_options", None)
        if self.interval == "batch" and not getattr(options, "deferred", False):
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval == "batch" or isinstance(self.scheduler, ScheduleFunction):
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(self._monitor.value(logs))
        else:
            self.scheduler.step()


def _check_plateau_mode(scheduler, monitor: str, direction) -> None:
    """ReduceLROnPlateau's mode must agree with the direction of the log it is given (a
    mode="max" scheduler fed the default "val_loss" would cut the lr while the loss falls)."""
    if direction is not None and scheduler.mode != direction:
        raise ValueError(
            f"LearningRateScheduler: ReduceLROnPlateau(mode={scheduler.mode!r}) would watch "
            f"monitor={monitor!r}, which is {direction}imized; pass the log it should watch, "
            f"LearningRateScheduler(scheduler, monitor=...) in callbacks (Trainer(scheduler=...) "
            f"watches 'val_loss'), or build it with mode={direction!r}"
        )


def _check_optimizer(scheduler, optimizer) -> None:
    """A scheduler must set the lr of the groups the Trainer's optimizer steps: one built on
    another optimizer (made again after the scheduler) would change lrs nobody reads, and the
    run would train at its first lr throughout (Lightning refuses it too). A composite
    optimizer without ``param_groups`` (a GAN's pair) is not checked."""
    own = getattr(getattr(scheduler, "optimizer", None), "param_groups", None)
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(own, list) or not isinstance(groups, list):
        return
    if not any(g is h for g in own for h in groups):
        raise ValueError(
            f"LearningRateScheduler: the {type(scheduler).__name__} was built on another "
            f"optimizer ({type(scheduler.optimizer).__name__} at {id(scheduler.optimizer):#x}) "
            f"than the Trainer's ({type(optimizer).__name__} at {id(optimizer):#x}), so it "
            "would never change the lr the training uses; build it on the Trainer's optimizer")


def _check_cycle_interval(scheduler, interval: str, trainer) -> None:
    """A cycle laid out over the run's optimizer steps (a ``OneCycleLR`` whose ``total_steps`` is
    epochs x steps per epoch) stepped once per epoch would end the run still in its warm-up, a
    silently wrong schedule (Lightning's default interval is "epoch" too): refuse it."""
    total = getattr(scheduler, "total_steps", None)
    params = getattr(trainer, "params", None) or {}
    epochs, steps = params.get("epochs"), params.get("steps")
    if interval != "epoch" or not isinstance(total, int) or not epochs or not steps:
        return
    per_epoch = -(-steps // getattr(getattr(trainer, "grad_options", None), "accumulate", 1))
    if total == epochs * per_epoch != epochs:
        raise ValueError(
            f"LearningRateScheduler: {type(scheduler).__name__}(total_steps={total}) spans this "
            f"run's {epochs} epochs x {per_epoch} optimizer steps, but is stepped once per epoch "
            "(interval='epoch', as Trainer(scheduler=...) steps it), so the run would end in its "
            "warm-up; pass LearningRateScheduler(scheduler, interval='batch') in callbacks")


def blew_up(name: str, value: float, first: float, growth: float | None = 1e10) -> str | None:
    """Why a finite ``value`` of log ``name`` counts as divergence (None: it does not): its
    magnitude passed ``growth`` times that of the log's ``first`` value (or ``growth`` itself when
    the first was below 1). TerminateOnNaN's rule, shared with the loops that do not use it."""
    if growth is None or not abs(value) > growth * max(abs(first), 1.0):
        return None
    return f"{name} grew from {first:.4g} to {value:.4g} (over {growth:g} times)"


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
    keeps the diverged weights (unless an EarlyStopping restores its best epoch's at the end);
    reload the checkpoint.

    A finite value that blew up counts too: a batch value whose magnitude is more than
    ``growth`` (1e10) times that of the same log's first value in this ``fit`` (or than
    ``growth`` itself when the first was below 1) diverged, e.g. a loss of 1e23 after a first
    of 2.3 (too large a learning rate can keep the numbers finite). Bounded logs (accuracies)
    never trip it, a loss starting near 0 is measured against 1, and no training that is still
    learning grows ten orders of magnitude.

    ``Trainer.fit`` adds one by default (``terminate_on_nan=False`` leaves it out).

    Args:
        monitor: the names of the batch logs to check (a name or a list), and of the epoch logs
            their "val_" forms; None checks them all.
            A name the first step does not log (a typo, or "val_loss", which no training step
            logs) is a ValueError then, not a check that never runs (a GANTrainer's, whose
            "g_loss" comes every ``n_critic``-th step: none of its first ``n_critic`` steps).
        growth: the growth over the first value that counts as divergence (None: NaN and inf
            only).
    """

    order = -100

    def __init__(self, monitor=None, growth: float | None = 1e10):
        growth = check_number("TerminateOnNaN", "growth", growth, above=1, allow_none=True)
        self.monitor = [monitor] if isinstance(monitor, str) else monitor
        self.growth, self._first = growth, {}

    def on_train_begin(self, logs=None):
        self._first, self._seen, self._steps = {}, set(), 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._batch, self._weights_checked = epoch, -1, False

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        self._batch = batch
        self._check_monitor(logs)
        names = logs if self.monitor is None else [n for n in self.monitor if n in logs]
        for name in names:
            if not math.isfinite(logs[name]):
                return self._diverge(f"{name} is {logs[name]}", batch)
            first = self._first.setdefault(name, float(logs[name]))
            blown = blew_up(name, logs[name], first, self.growth)
            if blown:
                return self._diverge(blown, batch)
        steps = self.trainer.params.get("steps")  # None: a stream, whose last batch is unknown
        if steps is None or batch + 1 >= steps or self.trainer.stop_training:
            self._check_weights(batch)

    def _check_monitor(self, logs) -> None:
        """A monitored name no step logs is a typo (or "val_loss"): a ValueError, not a check
        that never runs. A GANTrainer logs "g_loss" on every ``n_critic``-th step only, so the
        names are judged after the fit's first ``n_critic`` steps (1 for other trainers)."""
        if not self.monitor:
            return
        self._steps = getattr(self, "_steps", 0) + 1
        self._seen = getattr(self, "_seen", set()) | {n for n in self.monitor if n in logs}
        absent = [n for n in self.monitor if n not in self._seen]
        if absent and self._steps >= getattr(self.trainer, "n_critic", 1):
            raise ValueError(f"TerminateOnNaN: monitor names {absent}, which no training step "
                             f"logs; the last one logs {sorted(logs)} (None: all of them)")

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
        said = (f"TerminateOnNaN: {message}; training stopped, and the diverged epoch is not "
                "recorded or checkpointed")
        # in the progress output too: a program that silences warnings (many notebooks do)
        # would otherwise show a run that just ended early, as if it had finished
        self.report(said)
        warnings.warn(said, RuntimeWarning, stacklevel=2)
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


def __getattr__(name):
    """``callbacks.EarlyStopping`` and ``callbacks.ModelCheckpoint``, which live in their own
    modules (imported on first use: they build on this one)."""
    if name == "EarlyStopping":
        from .early_stopping import EarlyStopping

        return EarlyStopping
    if name == "ModelCheckpoint":
        from .checkpointing import ModelCheckpoint

        return ModelCheckpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
