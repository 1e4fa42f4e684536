"""Learning-rate schedules: each sets ``group["lr"]`` of an optimizer's groups once per ``step()``.

The schedules are written in closed form (the lr at step t from the initial lr), easy to check
against a formula; their values agree with ``torch.optim.lr_scheduler``. Call ``scheduler.step()``
after ``optimizer.step()``, once per epoch or once per batch as the schedule intends. Where
something else changed the lr (a second schedule stepped on the same steps, a hand-set lr), a
schedule that PyTorch steps recursively goes on from the current lr, as PyTorch's
(``LRScheduler._next_lrs``), so schedules stepped together compose as they do there.

As in PyTorch, constructing ``StepLR``, ``MultiStepLR``, ``ExponentialLR`` or
``CosineAnnealingLR`` leaves the optimizer's current lr as it is (their value at step 0 is the
initial lr, which the current lr is unless another scheduler already changed it): a program that
builds a warm-up ``LambdaLR`` and then a ``CosineAnnealingLR``, and steps the first during the
warm-up, gets PyTorch's learning rates.
"""

from __future__ import annotations

import bisect
import collections
import math
import numbers

from . import _lr_base
from ._lr_base import LRScheduler, _check_group_count, _check_int, _plain, lr_lambdas, set_lr
from .lr_cyclic import CyclicLR, OneCycleLR
from .lr_factors import ChainedScheduler, ConstantLR, MultiplicativeLR, PolynomialLR
from .lr_plateau import ReduceLROnPlateau
from .optimizer import Optimizer, check_number

__all__ = [
    "ChainedScheduler", "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
    "CyclicLR", "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR",
    "MultiplicativeLR", "OneCycleLR", "PolynomialLR", "ReduceLROnPlateau", "SequentialLR",
    "StepLR", "WarmupCosine",
]

_LRScheduler = LRScheduler  # PyTorch's old name, which custom schedules still subclass


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps.

    ``lr_t = lr_0 * gamma ** (t // step_size)``. ``StepLR(opt, 3, 0.5)`` halves the lr every 3
    epochs (as Zhang et al. train their character-level CNN).

    Args:
        optimizer: the optimizer whose learning rates it sets.
        step_size: steps between decays (a positive int, or a float with a whole value).
        gamma: the decay factor.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    _keeps_lr_at_start = True

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        # A whole float is taken as PyTorch takes it (its text-classification tutorial writes
        # StepLR(optimizer, 1.0, gamma=0.1)); 1.5 is refused (PyTorch's decays would fall at
        # the steps that are multiples of 1.5).
        whole = isinstance(step_size, float) and step_size.is_integer()
        _check_int("StepLR", "step_size", int(step_size) if whole else step_size, low=1)
        check_number("StepLR", "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** (self.last_epoch // self.step_size)
        return [base * factor for base in self.base_lrs]

    def _ratio(self, t: int) -> float:
        return self.gamma if t % self.step_size == 0 else 1.0


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone: ``lr_t = lr_0 * gamma ** #{m <= t}``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        milestones: the steps at which to decay (ints; a repeated one decays twice).
        gamma: the decay factor.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    _keeps_lr_at_start = True

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        milestones = [_lr_base._whole("MultiStepLR", f"milestones[{i}]", m, low=0)
                      for i, m in enumerate(milestones)]
        check_number("MultiStepLR", "gamma", gamma)
        self.milestones = sorted(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _first_lrs(self) -> list[float]:  # as PyTorch: a milestone at 0 decays at step 0 too
        factor = self.gamma ** self.milestones.count(0)
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        factor = self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * factor for base in self.base_lrs]

    def _ratio(self, t: int) -> float:
        return self.gamma ** self.milestones.count(t) if t in self.milestones else 1.0

    def state_dict(self) -> dict:
        """The milestones as PyTorch keeps them (a Counter: milestone -> times), which its
        MultiStepLR needs to load the state."""
        return {**super().state_dict(), "milestones": collections.Counter(self.milestones)}

    def _from_pytorch(self, state_dict: dict) -> dict:
        """The sorted list of milestones (repeats kept) from a Counter, or a dict like it."""
        m = state_dict.get("milestones")
        if isinstance(m, dict):
            state_dict["milestones"] = sorted(collections.Counter(m).elements())
        return state_dict


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step: ``lr_t = lr_0 * gamma ** t``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        gamma: the decay factor.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    _keeps_lr_at_start = True

    _keeps_lr_on_resume = True  # PyTorch's constructor keeps the lr when resuming

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        check_number("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]

    def _ratio(self, t: int) -> float:
        return self.gamma


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the initial lr down to ``eta_min`` over ``T_max`` steps.

    ``lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi t / T_max)) / 2`` (SGDR without restarts);
    past ``T_max`` the cosine goes on (rising again), as in PyTorch.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        T_max: the number of steps of the descent (a number >= 1, whole or not).
        eta_min: the lowest learning rate.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    _keeps_lr_at_start = True

    _keeps_lr_on_resume = True  # PyTorch's constructor keeps the lr when resuming

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        check_number("CosineAnnealingLR", "T_max", T_max, low=1)  # a float too, as PyTorch's
        check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]

    def _chained_lr(self) -> list[float]:
        """PyTorch's recursive form: the distance to eta_min shrinks by the cosine's ratio."""
        t, T, eta = self.last_epoch, self.T_max, self.eta_min  # noqa: N806
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if (t - 1 - T) % (2 * T) == 0:
            rise = (1 - math.cos(math.pi / T)) / 2
            return [lr + (base - eta) * rise for lr, base in zip(lrs, self.base_lrs, strict=True)]
        r = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [r * (lr - eta) + eta for lr in lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from the initial lr to ``eta_min`` over ``T_0`` steps, then again from
    the top, each cycle ``T_mult`` times longer than the last (SGDR, Loshchilov & Hutter 2017).

    As in PyTorch, ``step(epoch)`` jumps to ``epoch``, which may be fractional (per batch:
    ``scheduler.step(epoch + i / len(loader))``); a plain ``step()`` after it goes on from there,
    one step further (``last_epoch`` is ``floor(epoch)``, the fraction is kept).
    """

    _checks_step_order = False  # PyTorch's step() is its own, without the check

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1,  # noqa: N803
                 eta_min: float = 0.0, last_epoch: int = -1):
        _check_int("CosineAnnealingWarmRestarts", "T_0", T_0, low=1)
        _check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult, low=1)
        check_number("CosineAnnealingWarmRestarts", "eta_min", eta_min)
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        self._fraction = 0.0  # of the last step(epoch)'s epoch, which the position keeps
        super().__init__(optimizer, last_epoch)

    def _step_to(self, epoch) -> None:
        epoch = epoch.item() if hasattr(epoch, "item") else epoch  # a 0-d Tensor, as PyTorch's
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or not epoch >= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be a number >= 0, "
                             f"got {epoch!r}")
        _check_group_count(self, len(self.base_lrs))
        self.last_epoch = math.floor(epoch)
        self._fraction = float(epoch) - self.last_epoch
        lrs = self.get_lr()
        self._set_lrs(lrs)

    def _position(self) -> tuple[float, int]:
        """(steps into the current cycle, the cycle's length) at step ``last_epoch`` (plus the
        fraction of the last ``step(epoch)``)."""
        t, length = self.last_epoch + self._fraction, self.T_0
        while t >= length:
            t -= length
            length *= self.T_mult
        return t, length

    @property
    def T_cur(self):  # noqa: N802 - PyTorch's name
        """Steps (epochs) into the current cycle, as PyTorch's attribute (0 for a SequentialLR
        member not started yet, whose ``last_epoch`` is -1)."""
        t = max(self._position()[0], 0)
        return t if self._fraction else round(t)

    @property
    def T_i(self) -> int:  # noqa: N802 - PyTorch's name
        """The current cycle's length, as PyTorch's attribute."""
        return self._position()[1]

    def state_dict(self) -> dict:
        """With PyTorch's ``T_cur`` and ``T_i``, so that PyTorch's scheduler loads it."""
        return {**super().state_dict(), "T_cur": self.T_cur, "T_i": self.T_i}

    def _from_pytorch(self, state_dict: dict) -> dict:
        """The position comes from ``last_epoch``; PyTorch's ``T_cur`` gives its fraction."""
        state_dict.pop("T_i", None)
        t = state_dict.pop("T_cur", None)
        if t is not None and "_fraction" not in state_dict:
            state_dict["_fraction"] = float(t) - math.floor(t)
        return state_dict

    def get_lr(self) -> list[float]:
        t, length = self._position()
        c = (1 + math.cos(math.pi * t / length)) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_lrs]


class WarmupCosine(LRScheduler):
    """A linear warmup to the initial lr, then a cosine decay to ``min_lr`` at ``total_steps``.

    ``lr_t = lr_0 (t + 1) / warmup_steps`` for ``t < warmup_steps``, then
    ``lr_t = min_lr + (lr_0 - min_lr) (1 + cos(pi (t - w) / (total_steps - w))) / 2`` with
    ``w = warmup_steps``, held at ``min_lr`` after ``total_steps``. Call ``step()`` once per batch.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        warmup_steps: steps of linear warmup (0 for none).
        total_steps: the step at which the cosine reaches ``min_lr`` (> warmup_steps).
        min_lr: the final learning rate.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, total_steps: int,
                 min_lr: float = 0.0, last_epoch: int = -1):
        _check_int("WarmupCosine", "warmup_steps", warmup_steps, low=0)
        _check_int("WarmupCosine", "total_steps", total_steps, low=warmup_steps + 1,
                   why=f" (more than warmup_steps={warmup_steps})")
        check_number("WarmupCosine", "min_lr", min_lr)
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_lr = min_lr
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, w = self.last_epoch, self.warmup_steps
        if t < w:
            return [base * (t + 1) / w for base in self.base_lrs]
        progress = min(t - w, self.total_steps - w) / (self.total_steps - w)
        c = (1 + math.cos(math.pi * progress)) / 2
        return [self.min_lr + (base - self.min_lr) * c for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """The initial lr times a function of the step: ``lr_t = lr_0 * lr_lambda(t)``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        lr_lambda: a function of the step index, or a list of them (one per parameter group).
        last_epoch: the last step taken (-1 for a new schedule).

    The functions are not part of ``state_dict()``; build the scheduler with them to resume.
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = lr_lambdas("LambdaLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas,
                                                                  strict=True)]


class LinearLR(LRScheduler):
    """Scale the initial lr by a factor moving linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` steps, then constant (a warm-up when ``start_factor < end_factor``).

    ``lr_t = lr_0 * (start + (end - start) * min(t, total_iters) / total_iters)``; as in PyTorch,
    step 0 scales the current lr by ``start_factor``.
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    _keeps_lr_on_resume = True  # PyTorch's constructor keeps the lr when resuming

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        if not isinstance(start_factor, numbers.Real) or not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not isinstance(end_factor, numbers.Real) or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        total_iters = _lr_base._whole("LinearLR", "total_iters", total_iters, low=1)
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _first_lrs(self) -> list[float]:
        return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        done = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]

    def _ratio(self, t: int) -> float:
        if t > self.total_iters:
            return 1.0
        change = self.end_factor - self.start_factor
        return 1.0 + change / (self.total_iters * self.start_factor + (t - 1) * change)


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the steps in ``milestones``.

    As in PyTorch: the optimizer's lr goes back to its initial value, the first scheduler drives
    steps ``0 .. milestones[0] - 1``, and at each milestone the next scheduler starts from its
    own step 0 (its closed form there, e.g. the initial lr for a cosine). ``SequentialLR(opt,
    [LinearLR(opt, 0.1, total_iters=4), CosineAnnealingLR(opt, T_max=96)], milestones=[4])`` is
    a warm-up then a cosine decay.
    """

    def __init__(self, optimizer: Optimizer, schedulers, milestones, last_epoch: int = -1):
        who = "SequentialLR"
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers or not all(isinstance(s, LRScheduler) for s in schedulers):
            raise TypeError(f"{who}: schedulers must be a non-empty list of schedulers, got "
                            f"{[type(s).__name__ for s in schedulers]}")
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError(f"{who}: every scheduler must drive the optimizer given")
        if any(isinstance(s, (ReduceLROnPlateau, SequentialLR, ChainedScheduler))
               for s in schedulers):
            raise TypeError(f"{who}: ReduceLROnPlateau, SequentialLR and ChainedScheduler cannot "
                            "be sequenced (their step is not a schedule's)")
        if (len(milestones) != len(schedulers) - 1 or milestones != sorted(milestones)
                or not all(isinstance(m, numbers.Integral) for m in milestones)):
            raise ValueError(f"{who}: expected {len(schedulers) - 1} increasing milestones "
                             f"(ints, one per switch), got {milestones!r}")
        if last_epoch != -1:
            raise ValueError(f"{who}: resume by load_state_dict, not last_epoch={last_epoch}")
        self.optimizer = optimizer
        self._schedulers, self._milestones = schedulers, milestones
        self.base_lrs = [float(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_epoch = 0
        for group in optimizer.param_groups:
            set_lr(group, group["initial_lr"])
        for s in schedulers:
            s.last_epoch -= 1  # undo the step each took when it was made
        first = schedulers[bisect.bisect_right(milestones, 0)]  # a milestone 0: the next's
        first._step_count = 0  # its step here is its first, as PyTorch's _initial_step
        first.step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler.last_epoch = 0  # its step 0 in closed form, as PyTorch's step(0)
            scheduler._set_lrs(scheduler.get_lr())
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "_milestones": list(self._milestones),
                "_last_lr": list(self._last_lr),
                "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict) -> None:
        inner = state_dict["_schedulers"]
        if len(inner) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: {len(inner)} schedulers saved, "
                             f"{len(self._schedulers)} here")
        for s, d in zip(self._schedulers, inner, strict=True):
            s.load_state_dict(d)
        self.last_epoch = state_dict["last_epoch"]
        self._milestones = list(state_dict["_milestones"])
        self._last_lr = _plain(list(state_dict["_last_lr"]))
