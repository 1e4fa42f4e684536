"""Keras' ``LearningRateScheduler(schedule)``: a function ``schedule(epoch, lr) -> lr`` (or
``schedule(epoch) -> lr``) that sets the learning rate at the start of every epoch."""

from __future__ import annotations

import inspect
import math
import numbers

from ..optim.lr_scheduler import set_lr

__all__ = ["ScheduleFunction"]


def _arity(fn) -> int:
    """How many positional arguments ``fn`` takes here: 2 (epoch, lr) or 1 (epoch)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: Keras' two arguments
        return 2
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params) or len(positional) >= 2:
        return 2
    required = [p for p in positional if p.default is p.empty]
    if len(positional) == 1 or len(required) == 1:
        return 1
    raise TypeError(f"LearningRateScheduler: the schedule function {_name(fn)} must take "
                    "(epoch, lr) or (epoch), as Keras'")


def _name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


class ScheduleFunction:
    """A schedule function in a scheduler's clothes: ``apply(epoch, optimizer)`` at the start of
    each epoch sets every parameter group's lr to ``fn(epoch, its lr)`` (epochs from 0). It holds
    no state of its own (the lr is the optimizer's, which checkpoints keep), so a resumed run
    continues it exactly."""

    def __init__(self, fn):
        self.fn, self._arity = fn, _arity(fn)

    def apply(self, epoch: int, optimizer) -> None:
        if optimizer is None or not hasattr(optimizer, "param_groups"):
            raise ValueError("LearningRateScheduler: a schedule function sets the optimizer's lr, "
                             "and this Trainer has no optimizer with param_groups")
        for group in optimizer.param_groups:
            lr = float(group["lr"])
            new = self.fn(epoch, lr) if self._arity == 2 else self.fn(epoch)
            if (isinstance(new, bool) or not isinstance(new, numbers.Real)
                    or not math.isfinite(new) or new < 0):
                raise ValueError(f"LearningRateScheduler: the schedule function {_name(self.fn)} "
                                 f"returned {new!r} for epoch {epoch} (lr {lr:g}); expected a "
                                 "finite number >= 0")
            set_lr(group, float(new))

    def step(self, *args) -> None:
        """Nothing: the function is applied at the start of an epoch (``apply``)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"LearningRateScheduler: a schedule function keeps no state, the "
                             f"checkpoint holds {sorted(state)}")
