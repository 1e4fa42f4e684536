"""Gradient clipping for ``chainrule.optim.clip_grad_norm_``; it lives in ``nn.utils``."""

from ..nn.utils import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
