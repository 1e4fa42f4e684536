"""``chainrule.backends.cudnn``: PyTorch's cuDNN switches, accepted and without effect.

chainrule does not call cuDNN (its convolutions are matrix products on NumPy or CuPy), so
``deterministic``, ``benchmark`` and ``enabled`` only hold what a script assigns, and
``is_available()`` is False. A ported ``torch.backends.cudnn.benchmark = True`` runs unchanged.
"""

from __future__ import annotations

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "is_available", "version"]

deterministic = False
benchmark = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    """False: chainrule does not use cuDNN."""
    return False


def version() -> None:
    """None, as PyTorch's without cuDNN."""
    return None
