"""PyTorch's ``torch.optim.swa_utils``: ``AveragedModel``, ``SWALR``, ``update_bn`` and the
averaging functions, so that ``from chainrule.optim.swa_utils import AveragedModel, SWALR,
update_bn`` ports a stochastic weight averaging (SWA) or EMA loop unchanged.

SWA (Izmailov et al., 2018) averages the weights visited late in training with a constant or
cyclic lr; EMA keeps an exponential moving average. With ``n`` snapshots averaged so far::

    SWA:  avg = avg + (p - avg) / (n + 1)          (get_swa_avg_fn / get_swa_multi_avg_fn)
    EMA:  avg = decay avg + (1 - decay) p          (get_ema_avg_fn / get_ema_multi_avg_fn)

the first update copies ``p``. BatchNorm statistics of the averaged weights are recomputed by one
pass over the training data (``update_bn``). ``optim.AveragedModel`` (``averaging.py``) is
chainrule's own lighter averager (of Tensors or a model, not a Module); this one is PyTorch's.
"""

from __future__ import annotations

import copy
import math

from ..autograd import Tensor, no_grad
from ..backend import get_array_module, numpy
from ..nn import Module
from ..nn.normalization import _BatchNorm  # PyTorch's update_bn also finds them by this base
from ._lr_base import LRScheduler
from .optimizer import Optimizer

__all__ = ["SWALR", "AveragedModel", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn", "update_bn"]


def get_ema_multi_avg_fn(decay: float = 0.999):
    """EMA over lists of Tensors, in place: ``avg = avg + (1 - decay) (p - avg)``."""
    def ema_update(ema_param_list, current_param_list, _num_averaged):
        with no_grad():
            for ema, p in zip(ema_param_list, current_param_list, strict=True):
                if ema._data.dtype.kind in "iu":  # num_batches_tracked: truncated, as PyTorch's
                    value = ema * decay + p * (1 - decay)
                    ema.copy_(Tensor(value._data.astype(ema._data.dtype)))
                else:
                    ema.copy_(ema + (1 - decay) * (p - ema))

    return ema_update


def get_swa_multi_avg_fn():
    """SWA over lists of Tensors, in place: ``avg = avg + (p - avg) / (n + 1)``."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = float(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)
        with no_grad():
            for avg, p in zip(averaged_param_list, current_param_list, strict=True):
                avg.add_((p - avg) / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999):
    """EMA of one Tensor: returns ``decay avg + (1 - decay) p``."""
    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """SWA of one Tensor: returns ``avg + (p - avg) / (n + 1)``."""
    def swa_update(averaged_param, current_param, num_averaged):
        n = float(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)
        return averaged_param + (current_param - averaged_param) / (n + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters hold the average of the snapshots given to
    ``update_parameters``; calling it runs the copy.

    Args:
        model: the model to average (deep-copied).
        device: move the copy there (``"cpu"``, ``"cuda"``), as PyTorch's.
        avg_fn: ``avg_fn(averaged, current, n_averaged) -> new average`` per Tensor.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n_averaged)`` in place.
            Neither given: SWA's equal-weight running mean.
        use_buffers: average the buffers too (and parameters and buffers together); otherwise
            the buffers are copied from ``model`` at each update.

    Attributes:
        module: the averaged copy.
        n_averaged: a buffer, the number of snapshots averaged (int64).
    """

    def __init__(self, model: Module, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers=False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a chainrule Module, got "
                            f"{type(model).__name__}")
        if not isinstance(use_buffers, bool):
            raise TypeError(f"AveragedModel: use_buffers must be True or False, got "
                            f"{use_buffers!r}")
        for name, fn in (("avg_fn", avg_fn), ("multi_avg_fn", multi_avg_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"AveragedModel: {name} must be callable or None, got "
                                f"{type(fn).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:  # PyTorch's AssertionError
            raise ValueError("AveragedModel: only one of avg_fn and multi_avg_fn should be "
                             "provided, got both (multi_avg_fn would have been used alone)")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        tensors = [*self.module.parameters(), *self.module.buffers()]
        xp = get_array_module(tensors[0]._data) if tensors else numpy
        self.register_buffer("n_averaged", Tensor(xp.zeros((), dtype=xp.int64)))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Average one more snapshot of ``model``'s parameters (and buffers with use_buffers)."""
        ours = list(self.module.parameters()) + (list(self.module.buffers())
                                                 if self.use_buffers else [])
        theirs = list(model.parameters()) + (list(model.buffers()) if self.use_buffers else [])
        if len(ours) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"tensors to average, the average {len(ours)}")
        for i, (a, p) in enumerate(zip(ours, theirs, strict=True)):
            if tuple(a.shape) != tuple(p.shape):
                raise ValueError(f"AveragedModel.update_parameters: tensor {i} has shape "
                                 f"{tuple(p.shape)}, the average {tuple(a.shape)}")
        current = [p.detach() for p in theirs]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, p in zip(ours, current, strict=True):
                    a.copy_(p)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn(ours, current, self.n_averaged)
            else:
                avg_fn = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
                for a, p in zip(ours, current, strict=True):
                    value = avg_fn(a.detach(), p, self.n_averaged)
                    if a._data.dtype.kind in "iu":  # num_batches_tracked: cast, as PyTorch's copy_
                        value = Tensor(value._data.astype(a._data.dtype))
                    a.copy_(value)
            if not self.use_buffers:  # the buffers follow the model (e.g. BN statistics)
                for b, mb in zip(self.module.buffers(), model.buffers(), strict=False):
                    b.copy_(mb.detach())
            self.n_averaged.add_(1)


class SWALR(LRScheduler):
    """Anneal each group's lr to its ``swa_lr`` over ``anneal_epochs`` steps, then hold it.

    As PyTorch's (recursive in the current lr): at step t, with ``alpha = a(min(1, t / E))``,
    ``a(t) = (1 - cos(pi t)) / 2`` ("cos") or ``t`` ("linear"), the lr is
    ``swa_lr alpha + lr_0 (1 - alpha)``, where ``lr_0`` is recovered from the current lr.

    Args:
        optimizer: the optimizer.
        swa_lr: the final lr, one number or one per parameter group.
        anneal_epochs: the number of steps of the annealing (0: ``swa_lr`` at once).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        last_epoch: -1 starts; see ``LRScheduler``.
    """

    def __init__(self, optimizer: Optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SWALR: optimizer must be a chainrule Optimizer, got "
                            f"{type(optimizer).__name__}")
        groups = optimizer.param_groups
        swa_lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(swa_lrs) != len(groups):
            raise ValueError(f"SWALR: expected {len(groups)} values for swa_lr, got "
                             f"{len(swa_lrs)}")
        # a one-element Tensor, as PyTorch's takes it (the group keeps its value)
        swa_lrs = [float(lr) if isinstance(lr, Tensor) and lr.numel() == 1 else lr
                   for lr in swa_lrs]
        for lr in swa_lrs:
            if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr >= 0:
                raise ValueError(f"SWALR: swa_lr must be a number >= 0 (or one per group), got "
                                 f"{swa_lr!r}")
        for group, lr in zip(groups, swa_lrs, strict=True):
            group["swa_lr"] = float(lr)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy!r}")
        if not isinstance(anneal_epochs, int) or isinstance(anneal_epochs, bool) \
                or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs!r}")
        # PyTorch's attribute name, which its state dicts carry (and load into this one)
        self._anneal_strategy, self.anneal_epochs = anneal_strategy, anneal_epochs
        super().__init__(optimizer, last_epoch)

    @property
    def anneal_strategy(self) -> str:
        return self._anneal_strategy

    def _from_pytorch(self, state_dict: dict) -> dict:
        if "anneal_strategy" in state_dict:  # this library's state dicts before PyTorch's name
            state_dict["_anneal_strategy"] = state_dict.pop("anneal_strategy")
        return state_dict

    def _anneal(self, t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    def get_lr(self) -> list[float]:
        # As PyTorch's: the steps taken since construction, not last_epoch (a schedule made
        # with last_epoch >= 0 still anneals over its first anneal_epochs steps).
        step = self._step_count - 1
        step = step if self.anneal_epochs else max(1, step)
        prev_alpha = self._anneal(max(0.0, min(1.0, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self._anneal(max(0.0, min(1.0, step / max(1, self.anneal_epochs))))
        lrs = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            lr_0 = swa_lr if prev_alpha == 1 else \
                (group["lr"] - prev_alpha * swa_lr) / (1 - prev_alpha)
            lrs.append(swa_lr * alpha + lr_0 * (1 - alpha))
        return lrs


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` in one pass over ``loader``.

    Each BatchNorm's statistics are reset and become the plain average over the batches
    (momentum None for the pass, then restored); a batch that is a list or tuple gives its first
    element as the input. Does nothing for a model without BatchNorm. Runs without recording.
    """
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        model.train(was_training)
