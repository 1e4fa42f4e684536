"""The value a callback watches in the epoch logs (EarlyStopping, ModelCheckpoint...), and when a
new value counts as better: Keras' ``monitor``, ``mode`` and ``min_delta``."""

from __future__ import annotations

import math

from ..data.arguments import check_choice, check_number

__all__ = ["Monitor", "auto_mode"]

# Names whose direction "auto" knows (after a "val_" prefix is dropped), as Keras 3's metrics'
# own directions; anything else needs an explicit mode.
_MAX = frozenset({"accuracy", "acc", "auc", "prc", "precision", "recall", "f1", "f1_score",
                  "fbeta_score", "iou", "mean_iou", "r2", "r2_score", "cosine_similarity"})
_MIN = frozenset({"loss", "mse", "mae", "mape", "msle", "rmse", "mean_squared_error",
                  "mean_absolute_error", "mean_absolute_percentage_error",
                  "mean_squared_logarithmic_error", "root_mean_squared_error", "hinge",
                  "squared_hinge", "categorical_hinge", "crossentropy", "kl_divergence",
                  "kullback_leibler_divergence", "poisson", "logcosh", "perplexity", "error"})


def auto_mode(who: str, monitor: str) -> str:
    """"min" or "max" for a log name, as Keras 3's ``mode="auto"``: losses ("loss", "*_loss") and
    errors ("mse", "mae", "*_error", "*crossentropy"...) are minimized; accuracies ("accuracy",
    "acc", "*_accuracy", "*_acc") and "auc", "precision", "recall", "f1"... maximized. A "val_"
    prefix is ignored. Any other name raises ValueError (Keras 2 minimized everything without "acc"
    in its name, so a custom "f1" was silently minimized)."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name in _MAX or name.endswith(("accuracy", "_acc", "_precision", "_recall", "_f1",
                                       "_f1_score")):
        return "max"
    if name in _MIN or name.endswith(("loss", "_error", "crossentropy")):
        return "min"
    raise ValueError(f"{who}: cannot tell whether monitor={monitor!r} should be minimized or "
                     f"maximized (mode='auto' knows losses, errors and accuracy-like metrics); "
                     f"pass mode='min' or mode='max'")


class Monitor:
    """Watch ``monitor`` in the epoch logs; ``mode`` "auto" is resolved by ``auto_mode`` (Keras
    3's rule). ``compares=False`` (a callback that only reads the value) leaves an unknown name's
    direction unset instead of raising."""

    def __init__(self, who: str, monitor: str, mode: str, min_delta: float = 0.0, *,
                 compares: bool = True):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"{who}: monitor must be the name of a log, such as 'val_loss', "
                             f"got {monitor!r}")
        check_choice(who, "mode", mode, ("auto", "min", "max"))
        self.who, self.name = who, monitor
        self.min_delta = check_number(who, "min_delta", min_delta, low=0)
        if mode != "auto":
            self.mode = mode
        elif compares:
            self.mode = auto_mode(who, monitor)
        else:
            try:
                self.mode = auto_mode(who, monitor)
            except ValueError:
                self.mode = None

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
        if not values or self.mode is None:
            return None
        return min(values) if self.mode == "min" else max(values)

