"""``torch.func.replace_all_batch_norm_modules_``: BatchNorm layers that keep no running
statistics, so that ``vmap`` over a model does not update shared buffers per sample."""

from __future__ import annotations

from ..nn.module import Module
from ..nn.normalization import _BatchNorm

__all__ = ["replace_all_batch_norm_modules_"]


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """Set ``running_mean``, ``running_var`` and ``num_batches_tracked`` to None and
    ``track_running_stats`` to False on every BatchNorm layer of ``root`` (``root`` included),
    in place; returns ``root``. The layers then normalize with each batch's statistics, in
    evaluation mode too, as PyTorch's."""
    if not isinstance(root, Module):
        raise TypeError(f"replace_all_batch_norm_modules_: root must be an nn.Module, got "
                        f"{type(root).__name__}")
    for module in root.modules():
        if isinstance(module, _BatchNorm):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
