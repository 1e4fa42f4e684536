"""History: what ``Trainer.fit`` returns, one list per logged quantity with one entry per epoch."""

from __future__ import annotations

import math

__all__ = ["History"]


class History:
    """Per-epoch logs of a run, as in Keras: ``history["val_loss"][i]`` belongs to ``epoch[i]``.

    Every list has one entry per epoch; a quantity missing from an epoch's logs is NaN there.

    Attributes:
        epoch: the indices (from 0) of the epochs recorded.
        history: dict name -> list of floats ("loss", "val_loss", metric names...).

    >>> h = History()
    >>> h.append(0, {"loss": 0.9}); h.append(1, {"loss": 0.5, "val_loss": 0.7})
    >>> h.history
    {'loss': [0.9, 0.5], 'val_loss': [nan, 0.7]}
    """

    def __init__(self):
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, logs: dict) -> None:
        """Record the logs of ``epoch``."""
        for name in logs:
            self.history.setdefault(name, [math.nan] * len(self.epoch))
        self.epoch.append(int(epoch))
        for name, values in self.history.items():
            values.append(float(logs.get(name, math.nan)))

    def __getitem__(self, name: str) -> list[float]:
        return self.history[name]

    def __len__(self) -> int:
        return len(self.epoch)

    def state_dict(self) -> dict:
        """A JSON-serializable copy, saved in checkpoints so that a resumed run continues it."""
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = [int(e) for e in state["epoch"]]
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
