"""The value a callback watches in the epoch logs (EarlyStopping, ModelCheckpoint...), and when a
new value counts as better: Keras' ``monitor``, ``mode`` and ``min_delta``."""

from __future__ import annotations

import math
import numbers

__all__ = ["Monitor", "check_threshold"]


class Monitor:
    """Watch ``monitor`` in the epoch logs; ``mode`` "auto" is "max" for names containing "acc"
    (accuracy, val_acc, top_k_accuracy), else "min" (losses and errors), as Keras' rule."""

    def __init__(self, who: str, monitor: str, mode: str, min_delta: float = 0.0):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{who}: monitor must be the name of a log, such as 'val_loss', "
                             f"got {monitor!r}")
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
        """``current`` improves on ``best`` by more than ``min_delta`` (None: anything not NaN)."""
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


def check_threshold(who: str, name: str, value) -> float | None:
    """None, or a finite number (a baseline, an initial best value), as a float."""
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value)):
        raise ValueError(f"{who}: {name} must be None or a finite number, got {value!r}")
    return float(value)
