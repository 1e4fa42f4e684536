"""The schedules' base class ``LRScheduler`` and the checks they share (``lr_scheduler``
re-exports it; the schedules themselves live there and in ``lr_plateau``)."""

from __future__ import annotations

import numbers
import types
import warnings

from ..autograd import Tensor, no_grad
from ._step_order import note_scheduler_step, track_step_called
from .optimizer import Optimizer

__all__ = ["LRScheduler"]


class LRScheduler:
    """Base class: ``get_lr()`` gives each group's lr for step ``last_epoch`` from its ``base_lrs``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        last_epoch: the index of the last step taken; -1 starts a new schedule (each group's lr
            becomes its ``initial_lr``). Constructing the scheduler takes step 0 and sets its lr.
    """

    # True where PyTorch's schedule is "chainable" (computed from the current lr): its step 0
    # keeps the current lr instead of setting the closed form's initial lr.
    _keeps_lr_at_start = False

    def _first_lrs(self) -> list[float]:
        """The learning rates of step 0, which constructing the scheduler sets."""
        if self._keeps_lr_at_start:
            return [group["lr"] for group in self.optimizer.param_groups]
        return self.get_lr()

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: optimizer must be a chainrule Optimizer, got "
                            f"{type(optimizer).__name__}")
        if not isinstance(last_epoch, int) or isinstance(last_epoch, bool) or last_epoch < -1:
            raise ValueError(f"{name}: last_epoch must be an int >= -1, got {last_epoch!r}")
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                lr = group["lr"]  # a Tensor lr is filled in place by the steps: keep a copy
                group.setdefault("initial_lr", lr.clone() if isinstance(lr, Tensor) else lr)
            elif "initial_lr" not in group:
                raise ValueError(
                    f"{name}: param group {i} has no 'initial_lr', so last_epoch={last_epoch} "
                    "cannot resume a schedule; load the optimizer's state first, or pass -1"
                )
        self.optimizer = optimizer
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        track_step_called(optimizer)  # PyTorch's check of the order of the steps (_step_order)
        self._step_count = 0
        self._initial_step()
        self._step_count = 1

    # True where PyTorch's constructor keeps the current lr when it resumes (last_epoch >= 0):
    # its schedules that check ``_is_initial`` (ExponentialLR, CosineAnnealingLR, LinearLR,
    # PolynomialLR); StepLR, MultiStepLR and ConstantLR take their recursive step there.
    _keeps_lr_on_resume = False

    def _has_recursive_form(self) -> bool:
        """Whether PyTorch's ``step()`` takes this schedule from the current lr."""
        return (getattr(self, "_ratio", None) is not None
                or type(self)._chained_lr is not LRScheduler._chained_lr)

    def _initial_step(self) -> None:
        """The step constructing the scheduler takes (to ``last_epoch + 1``): ``step()``; a
        schedule resumed with ``last_epoch >= 0`` takes PyTorch's constructor's step instead,
        from the optimizer's current lr (the loaded one), where PyTorch's has a recursive form."""
        if self.last_epoch < 0 or not self._has_recursive_form():
            self.step()
            return
        _check_group_count(self, len(self.base_lrs))
        self.last_epoch += 1
        if self._keeps_lr_on_resume:
            lrs = [group["lr"] for group in self.optimizer.param_groups]
        else:
            lrs = self._chained_lr()
        self._set_lrs(lrs)

    def _set_lrs(self, lrs) -> None:
        """Set each group's lr (a Tensor lr filled in place, as PyTorch's) and ``_last_lr``."""
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            set_lr(group, lr)
        self._last_lr = [float(lr) for lr in lrs]

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        """The lr of each group at step ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__}.get_lr is not implemented")

    def step(self, epoch=None) -> None:
        """Advance one step (an epoch or a batch) and set the optimizer's learning rates for it.

        ``step(epoch)`` (PyTorch's form that jumps to a step) is taken by
        ``CosineAnnealingWarmRestarts`` alone, whose epoch may be fractional.
        """
        if self._checks_step_order:
            note_scheduler_step(self)
        if epoch is not None:
            self._step_to(epoch)
            return
        _check_group_count(self, len(self.base_lrs))
        self.last_epoch += 1
        lrs = self._first_lrs() if self.last_epoch == 0 else self._next_lrs()
        self._set_lrs(lrs)

    def _next_lrs(self) -> list[float]:
        """The lrs of step ``last_epoch`` (> 0). PyTorch's ``step()`` takes most schedules in
        their recursive form, from the current lr; the closed form here is the same number as
        long as each group's lr is the closed form's of the step before. Where it is not (another
        schedule stepped on the same steps, as PyTorch's docs chain ``ExponentialLR`` and
        ``MultiStepLR``; ReduceLROnPlateau; a hand-set lr; a schedule made after a warm-up that
        ended elsewhere), a schedule with a recursive form goes on from the current lr, as
        PyTorch's."""
        lrs = self.get_lr()
        if not self._has_recursive_form():
            return lrs
        self.last_epoch -= 1
        try:
            before = self.get_lr()
        finally:
            self.last_epoch += 1
        groups = self.optimizer.param_groups
        if all(group["lr"] == lr for group, lr in zip(groups, before, strict=True)):
            return lrs
        return self._chained_lr()

    # Whether get_lr is PyTorch's closed form, which its deprecated step(epoch) uses: then
    # step(epoch) jumps to that step (``for epoch in ...: scheduler.step(epoch)``, older code).
    _closed_form = False

    def _step_to(self, epoch) -> None:
        name = type(self).__name__
        if not self._closed_form:
            raise TypeError(
                f"{name}.step: epoch={epoch!r} is not taken (PyTorch deprecated step(epoch) "
                "and has no closed form for this schedule); call step() once per step, or "
                "resume with load_state_dict")
        _check_int(f"{name}.step", "epoch", epoch, low=0)
        warnings.warn("The epoch parameter in `scheduler.step()` was not necessary and is being "
                      "deprecated where possible. Please use `scheduler.step()` to step the "
                      "scheduler. During the deprecation, if epoch is different from None, the "
                      "closed form is used (as PyTorch warns)", UserWarning, stacklevel=3)
        _check_group_count(self, len(self.base_lrs))
        self.last_epoch = epoch
        lrs = self.get_lr()
        self._set_lrs(lrs)

    def _chained_lr(self) -> list[float]:
        """The lrs of step ``last_epoch`` inside a ``ChainedScheduler``: PyTorch's recursive form,
        the current lr (which the schedules before this one in the chain set) times ``_ratio(t)``,
        this schedule's factor at t over its factor at t - 1. A schedule without ``_ratio``
        (closed-form in PyTorch too: LambdaLR, OneCycleLR, CyclicLR...) sets its own value."""
        ratio = getattr(self, "_ratio", None)
        if ratio is None:
            return self.get_lr()
        # A factor is never negative; a ratio that rounding took below 0 (LinearLR's last step
        # to end_factor=0 gives -4e-16) would leave a negative lr that load_state_dict refuses.
        r = max(ratio(self.last_epoch), 0.0)
        return [group["lr"] * r for group in self.optimizer.param_groups]

    # False where PyTorch's step() is its own, without the warning of a step taken before the
    # optimizer's (CosineAnnealingWarmRestarts).
    _checks_step_order = True

    def _step_in_chain(self) -> None:
        """Advance one step as a member of a ``ChainedScheduler``."""
        if self._checks_step_order:
            note_scheduler_step(self)
        _check_group_count(self, len(self.base_lrs))
        self.last_epoch += 1
        lrs = self._chained_lr()
        self._set_lrs(lrs)

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """The scheduler's state: every attribute but the optimizer; of lr functions, as
        PyTorch's, None for a function and a copy of the attributes of a callable object."""
        state = {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
                 if k not in ("optimizer", "lr_lambdas")}
        if "lr_lambdas" in self.__dict__:
            state["lr_lambdas"] = [_fn_state(fn) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict()`` of the same kind of scheduler, this
        library's or PyTorch's (whose bookkeeping entries are left out, not needed here)."""
        state_dict = {k: v for k, v in self._from_pytorch(dict(state_dict)).items()
                      if k not in _PYTORCH_ONLY}
        for fn, saved in zip(self.__dict__.get("lr_lambdas", ()),
                             state_dict.pop("lr_lambdas", None) or (), strict=False):
            if saved is not None:  # a callable object's attributes, as PyTorch restores them
                fn.__dict__.update(saved)
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unexpected keys {unknown}; was the state "
                "saved from another kind of scheduler?"
            )
        self.__dict__.update({k: _plain(v) for k, v in state_dict.items()})

    def _from_pytorch(self, state_dict: dict) -> dict:
        """A state dict with PyTorch's form of this scheduler's entries in this library's."""
        return state_dict


# Entries of PyTorch's scheduler state dicts that the closed-form schedules here do not use (its
# step bookkeeping, what they work out from their arguments); its ``_step_count`` is kept.
_PYTORCH_ONLY = frozenset({"_is_initial", "_get_lr_called_within_step", "_scale_fn_ref"})


def _plain(value):
    """A saved entry with its float Tensors as numbers: PyTorch's schedules over a Tensor lr save
    ``base_lrs``, ``_last_lr`` (and a plateau's ``best``) as 0-d Tensors; lists are copied."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if (hasattr(value, "item") and "float" in str(getattr(value, "dtype", ""))
            and not isinstance(value, float)):
        return float(value.item())
    return value


def _fn_state(fn):
    """PyTorch's saved form of an lr function: None for a function (or lambda), else a copy of
    the callable object's attributes."""
    return None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)


def set_lr(group: dict, lr) -> None:
    """``group["lr"] = lr``; an lr given as a Tensor keeps its Tensor, filled with the value in
    place, as PyTorch's schedules keep it (a program that holds it sees the schedule)."""
    current = group["lr"]
    if isinstance(current, Tensor):
        with no_grad():
            current.fill_(float(lr))
    else:
        group["lr"] = float(lr) if isinstance(lr, Tensor) else lr


def _check_group_count(scheduler, n: int) -> None:
    groups = len(scheduler.optimizer.param_groups)
    if groups != n:
        raise RuntimeError(
            f"{type(scheduler).__name__}: the optimizer has {groups} parameter groups but had {n} "
            "when the scheduler was made; make the scheduler after the last add_param_group()"
        )


def _check_int(who: str, name: str, value, *, low: int, why: str = "") -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{who}: {name} must be an int >= {low}{why}, got {value!r}")


def _whole(who: str, name: str, value, *, low: int) -> int:
    """A count of steps as an int: a float with a whole value is taken, as PyTorch takes
    ``total_iters=4.0`` (``steps / accumulation``); 4.5 is refused (PyTorch's schedule would
    change at no step a program can name)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    _check_int(who, name, value, low=low, why=" (or a float with a whole value)")
    return int(value)


def lr_lambdas(who: str, optimizer, lr_lambda) -> list:
    """``lr_lambda`` as one callable per parameter group (a single one serves every group)."""
    n = len(optimizer.param_groups) if hasattr(optimizer, "param_groups") else 0
    lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if isinstance(lr_lambda, (list, tuple)) and len(lambdas) != n:
        raise ValueError(f"{who}: expected {n} lr_lambdas (one per param group), got "
                         f"{len(lambdas)}")
    for i, fn in enumerate(lambdas):
        if not callable(fn):
            raise TypeError(f"{who}: lr_lambda[{i}] must be callable, got {type(fn).__name__}")
    return lambdas
