"""The learning-rate schedules of ``chainrule train --schedule``.

"constant" keeps ``--lr``; "cosine" anneals it to 0 over the epochs; "step" multiplies it by 0.3
every third of the epochs; "cyclic" is the triangular one-cycle schedule of Wong, Rice & Kolter
(2020, "Fast is better than free"): it rises linearly from 0 to ``--lr`` over the first 2/5 of the
training steps and falls linearly back to 0 at the last one, updated after every step. Their code
sets step ``i`` (0-based, of ``T``) to the triangle at ``(i + 1) / T`` of the way, so the first
step already has a small positive rate and the last one has 0; ``triangular_factor`` does the same.
"""

from __future__ import annotations

from .. import optim
from ..train.callbacks import LearningRateScheduler

__all__ = ["EPOCH_SCHEDULES", "SCHEDULES", "check_epoch_schedule", "scheduler_callback",
           "triangular_factor"]

EPOCH_SCHEDULES = ("constant", "cosine", "step")
SCHEDULES = (*EPOCH_SCHEDULES, "cyclic")

# Where the triangle peaks, as a share of the steps (Wong et al.'s 2/5 of the epochs).
CYCLIC_PEAK = 0.4


def triangular_factor(step: int, total_steps: int, peak: float = CYCLIC_PEAK) -> float:
    """The share of the peak lr at 0-based training step ``step`` of ``total_steps``.

    Linear from 0 (at position 0) up to 1 at ``peak * total_steps``, then down to 0 at
    ``total_steps``, evaluated at position ``step + 1``; 0 past the end.
    """
    t, top = step + 1, peak * total_steps
    if t <= 0 or t >= total_steps:
        return 0.0
    return t / top if t <= top else (total_steps - t) / (total_steps - top)


def check_epoch_schedule(name: str) -> str:
    """``name`` when it is one of EPOCH_SCHEDULES, else a ValueError (``cyclic`` is laid out
    over the training steps, which only the image classifiers' Trainer runs)."""
    if name in SCHEDULES and name not in EPOCH_SCHEDULES:
        raise ValueError(f"schedule {name!r} is laid out over the training steps; only image "
                         f"classifiers support it (expected one of {EPOCH_SCHEDULES} here)")
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; expected one of {SCHEDULES}")
    return name


def epoch_scheduler(name: str, opt, epochs: int):
    """The scheduler of an epoch-wise schedule (stepped after each epoch), or None (constant)."""
    check_epoch_schedule(name)
    if name == "constant":
        return None
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
    return optim.lr_scheduler.StepLR(opt, step_size=max(epochs // 3, 1), gamma=0.3)


def scheduler_callback(name: str, opt, epochs: int, steps_per_epoch: int):
    """The Trainer callback that applies schedule ``name`` to ``opt``, or None (constant).

    "cyclic" is stepped after every batch (``epochs * steps_per_epoch`` steps in all); its
    position is part of the scheduler's state, so a resumed run continues the same triangle.
    """
    if name != "cyclic":
        sched = epoch_scheduler(name, opt, epochs)
        return None if sched is None else LearningRateScheduler(sched)
    total = epochs * steps_per_epoch
    sched = optim.lr_scheduler.LambdaLR(opt, lambda step: triangular_factor(step, total))
    return LearningRateScheduler(sched, interval="batch")
