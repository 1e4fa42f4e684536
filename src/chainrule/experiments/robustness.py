"""The robustness runs behind `chainrule attack | patch | shift | ood` and `train --adversarial`.

Each run reads a classifier's run folder (from ``chainrule train``), evaluates it on the test set
and writes a run folder of its own with ``results.json`` and ``figures/``.
"""

from __future__ import annotations

from ..robust import AdversarialTraining

__all__ = ["adversarial_training"]


def adversarial_training(settings: dict | None, rng):
    """The Trainer's ``perturb`` hook for ``settings`` (None: plain training)."""
    if not settings:
        return None
    return AdversarialTraining(**settings, rng=rng[0])
