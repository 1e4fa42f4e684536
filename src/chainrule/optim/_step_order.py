"""The check PyTorch's schedules make that ``optimizer.step()`` came before ``scheduler.step()``.

As in PyTorch, making a schedule routes its optimizer's ``step`` through a wrapper that records
the call (``optimizer._opt_called``); the schedule's first ``step()`` after its construction warns
(a UserWarning, PyTorch's text) where the optimizer has not stepped yet, since then the schedule's
first learning rate is never used; or where ``optimizer.step`` was replaced after the schedule was
made, so that the calls can no longer be seen. An optimizer without a schedule steps unwrapped.
"""

from __future__ import annotations

import types
import warnings

from .hooks import _hooked_step

__all__ = ["note_scheduler_step", "track_step_called"]

_OVERRIDDEN = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
    "initialization. Please, make sure to call `optimizer.step()` before "
    "`lr_scheduler.step()`. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")
_BEFORE = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. "
    "See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")


def _counted_step(self, *args, **kwargs):
    self._opt_called = True
    return _hooked_step(self, *args, **kwargs)  # the step with this optimizer's hooks, if any


# A bound method of this name, so that a deepcopy of the optimizer gets one bound to the copy,
# and a pickled one is restored as the class's step.
_counted_step.__name__ = _counted_step.__qualname__ = "step"
_counted_step._wrapped_by_lr_sched = True


def track_step_called(opt) -> None:
    """Route ``opt.step`` through the wrapper that records its calls (once per optimizer)."""
    if hasattr(opt.step, "_wrapped_by_lr_sched"):
        return
    own = opt.__dict__.get("step")
    if own is None or getattr(own, "__func__", None) is _hooked_step:
        opt.__dict__["step"] = types.MethodType(_counted_step, opt)
        return

    def step(*args, **kwargs):  # a step the program put on the optimizer itself: kept
        opt._opt_called = True
        return own(*args, **kwargs)

    step._wrapped_by_lr_sched = True
    opt.__dict__["step"] = step


def note_scheduler_step(scheduler) -> None:
    """Count a ``step()`` of ``scheduler`` and warn as PyTorch's at its first after construction
    (``_step_count`` is 1 once the scheduler is made) where the optimizer has not stepped."""
    count = getattr(scheduler, "_step_count", None)
    if count is None:  # a subclass whose __init__ did not run LRScheduler's
        return
    if count == 1:
        if not hasattr(scheduler.optimizer.step, "_wrapped_by_lr_sched"):
            warnings.warn(_OVERRIDDEN, UserWarning, stacklevel=3)
        elif not getattr(scheduler.optimizer, "_opt_called", False):
            warnings.warn(_BEFORE, UserWarning, stacklevel=3)
    scheduler._step_count += 1
