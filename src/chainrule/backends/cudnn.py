"""``chainrule.backends.cudnn``: PyTorch's cuDNN switches, accepted and without effect.

chainrule does not call cuDNN (its convolutions are matrix products on NumPy or CuPy), so
``deterministic``, ``benchmark`` and ``enabled`` only hold what a script assigns, and
``is_available()`` is False. A ported ``torch.backends.cudnn.benchmark = True`` runs unchanged.
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "flags", "is_available",
           "version"]

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


@contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True, fp32_precision="none", depthwise_kernel="auto"):
    """PyTorch's ``with torch.backends.cudnn.flags(enabled=False):`` (around a double backward
    through a recurrent layer, which cuDNN cannot do): inside the block the switches hold the
    values given, after it their old ones; as the switches, they change no result."""
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    old = {name: globals()[name] for name in names}
    globals().update(zip(names, (enabled, benchmark, deterministic, allow_tf32), strict=True))
    try:
        yield
    finally:
        globals().update(old)
