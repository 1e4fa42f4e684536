"""PyTorch's ``torch.signal``: its ``windows`` module (``chainrule.signal.windows.gaussian``)."""

from . import windows

__all__ = ["windows"]
