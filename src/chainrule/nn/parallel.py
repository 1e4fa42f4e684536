"""PyTorch's one-process forms of its multi-device modules: ``SyncBatchNorm``, ``DataParallel``
and ``DistributedDataParallel``.

chainrule trains in one process on one device (``chainrule.distributed`` is PyTorch's API for a
world of that one process). In one process PyTorch's ``SyncBatchNorm`` has no other process to
share batch statistics with and computes what ``BatchNorm`` computes, so this one does, over
inputs (N, C, ...) of any rank >= 2. ``DataParallel`` wraps a module and runs it on the whole
batch: it does not split the batch across devices (there is one); what it keeps of PyTorch's is
the ``.module`` attribute and the ``module.`` prefix of the state-dict keys, so a checkpoint saved
from a ``DataParallel`` model loads here the same way, and the reverse.
"""

from __future__ import annotations

import contextlib
import numbers

from ..autograd.mode import no_grad
from ..backend.world import default_group
from .module import Module
from .normalization import _BatchNorm

__all__ = ["DataParallel", "DistributedDataParallel", "SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalization per channel over inputs (N, C, ...) of any rank >= 2, PyTorch's
    ``SyncBatchNorm`` in one process (see the module docstring): ``BatchNorm`` over N and every
    dimension after C.

    Args:
        num_features, eps, momentum, affine, track_running_stats, dtype: as ``BatchNorm2d``.
        process_group: PyTorch's group of processes to share statistics with; one process here,
            so only None is accepted.

    Shape:
        (N, C, *) -> same
    """

    _ranks = tuple(range(2, 33))
    _layout = "(N, C, ...) with at least 2 dimensions"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None, *, bias: bool = True):
        if process_group is not None:
            raise ValueError(f"SyncBatchNorm: chainrule runs in one process, so process_group "
                             f"must be None, got {process_group!r}")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype,
                         bias=bias)
        if device is not None:
            self.to(device)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every ``BatchNorm1d/2d/3d`` in it replaced by a ``SyncBatchNorm`` that
        shares its parameters and buffers (the same objects) and training mode; ``module`` itself
        when it is none, the new layer when it is one.
        """
        if not isinstance(module, Module):
            raise TypeError(f"convert_sync_batchnorm: module must be an nn.Module, got "
                            f"{type(module).__name__}")
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group,
                      dtype=_dtype_of(module))
            with no_grad():
                for name in ("weight", "bias"):
                    if name in module._parameters:
                        setattr(out, name, module._parameters[name])
                for name in ("running_mean", "running_var", "num_batches_tracked"):
                    if name in module._buffers:
                        setattr(out, name, module._buffers[name])
            out.train(module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                new = cls.convert_sync_batchnorm(child, process_group)
                if new is not child:
                    out.add_module(name, new)
        return out


def _dtype_of(module):
    for t in list(module._parameters.values()) + list(module._buffers.values()):
        if t is not None and t.dtype.kind == "f":
            return t.dtype
    return None


class DataParallel(Module):
    """PyTorch's ``DataParallel`` on one device: ``forward`` calls ``module`` on the whole batch
    (see the module docstring); the wrapped module is ``.module`` and its state-dict keys start
    with ``module.``.

    Args:
        module: the module to wrap.
        device_ids, output_device: PyTorch's devices to split over and gather on; None, or a
            single device, is accepted.
        dim: the batch dimension PyTorch would split (an int; recorded).
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: module must be an nn.Module, got "
                            f"{type(module).__name__}")
        if device_ids is not None and len(list(device_ids)) > 1:
            raise ValueError(f"DataParallel: chainrule runs on one device and does not split "
                             f"batches, so device_ids must name at most one, got "
                             f"{list(device_ids)}")
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"DataParallel: dim must be an int, got {dim!r}")
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device = output_device
        self.dim = int(dim)

    def forward(self, *inputs, **kwargs):
        """``self.module(*inputs, **kwargs)``, on the whole batch."""
        return self.module(*inputs, **kwargs)


class DistributedDataParallel(DataParallel):
    """PyTorch's ``DistributedDataParallel`` in a world of one process (``chainrule.distributed``):
    it needs ``init_process_group`` first, as PyTorch's, and then runs ``module`` as it is (the
    all-reduce of one rank's gradients changes nothing). ``no_sync()`` and
    ``require_backward_grad_sync`` (nanoGPT's gradient accumulation) are accepted; the wrapped
    module is ``.module`` and the state-dict keys start with ``module.``, as PyTorch's.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers=None, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, **kwargs):
        default_group("DistributedDataParallel")
        super().__init__(module, device_ids, output_device, dim)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True

    @contextlib.contextmanager
    def no_sync(self):
        """Skip the gradient all-reduce inside the block (there is none to skip here)."""
        old, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old
