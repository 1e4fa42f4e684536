"""``ReduceLROnPlateau``: lower the lr when a metric stops improving (``lr_scheduler`` re-exports
it)."""

from __future__ import annotations

import math
import warnings

from ._lr_base import LRScheduler, _check_group_count, _check_int, _whole, set_lr
from .optimizer import Optimizer, check_number

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for ``patience`` steps.

    A value ``a`` improves on the best ``b`` when ``a < b (1 - threshold)`` (mode "min",
    threshold_mode "rel"), ``a < b - threshold`` ("abs"), or the mirror images for mode "max".
    After more than ``patience`` steps without improvement, ``lr <- max(lr * factor, min_lr)``,
    then ``cooldown`` steps pass before bad steps count again. Call ``step(metric)`` after each
    evaluation.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        mode: "min" (a loss) or "max" (an accuracy).
        factor: the decay factor, in [0, 1).
        patience: how many steps without improvement to tolerate.
        threshold: the least change that counts as an improvement.
        threshold_mode: "rel" (relative to the best) or "abs".
        cooldown: steps to wait after a reduction before counting bad steps again.
        min_lr: the lowest lr, a number or one per parameter group.
        eps: reductions smaller than this are skipped.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: optimizer must be a chainrule Optimizer, got "
                            f"{type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        check_number(name, "factor", factor, high=1.0, high_open=True)
        patience = _whole(name, "patience", patience, low=0)
        check_number(name, "threshold", threshold)
        cooldown = _whole(name, "cooldown", cooldown, low=0)
        check_number(name, "eps", eps)
        n = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"{name}: expected {n} min_lr values (one per param group), got "
                             f"{len(min_lrs)}")
        for i, v in enumerate(min_lrs):
            check_number(name, f"min_lr[{i}]", v)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lrs, self.eps = cooldown, min_lrs, eps
        # PyTorch's: a single min_lr also serves the groups added later (add_param_group)
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.best = self.mode_worse = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [float(group["lr"]) for group in optimizer.param_groups]

    def step(self, metrics, epoch=None) -> None:  # type: ignore[override]
        """Record one value of the monitored metric (a number or a one-element Tensor/array);
        ``metrics`` is PyTorch's name (``scheduler.step(metrics=val_loss)``). ``epoch``, as
        PyTorch's deprecated argument (older ``step(val_loss, epoch)``), sets ``last_epoch``."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        if epoch is None:
            self.last_epoch += 1
        else:
            _check_int("ReduceLROnPlateau.step", "epoch", epoch, low=0)
            warnings.warn("The epoch parameter in `scheduler.step()` was not necessary and is "
                          "being deprecated where possible. Please use `scheduler.step()` to "
                          "step the scheduler (as PyTorch warns)", UserWarning, stacklevel=2)
            self.last_epoch = epoch
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            n = len(self.optimizer.param_groups)
            if n != len(self.min_lrs) and self.default_min_lr is not None:
                self.min_lrs = [self.default_min_lr] * n  # groups added since, as PyTorch's
            _check_group_count(self, len(self.min_lrs))
            for group, low in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    set_lr(group, new)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    @property
    def in_cooldown(self) -> bool:
        """True while the steps after a reduction do not count as bad ones."""
        return self.cooldown_counter > 0

    def _is_better(self, a: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < self.best * (1.0 - self.threshold)
            return a < self.best - self.threshold
        if self.threshold_mode == "rel":
            return a > self.best * (1.0 + self.threshold)
        return a > self.best + self.threshold
