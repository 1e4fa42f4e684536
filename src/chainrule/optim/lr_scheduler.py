"""Learning-rate schedules: each sets ``group["lr"]`` of an optimizer's groups once per ``step()``.

The schedules are written in closed form (the lr at step t from the initial lr), easy to check
against a formula; their values agree with ``torch.optim.lr_scheduler``. Call ``scheduler.step()``
after ``optimizer.step()``, once per epoch or once per batch as the schedule intends. One scheduler
drives an optimizer at a time (a second one would overwrite the first's lr).

As in PyTorch, constructing ``StepLR``, ``MultiStepLR``, ``ExponentialLR`` or
``CosineAnnealingLR`` leaves the optimizer's current lr as it is (their value at step 0 is the
initial lr, which the current lr is unless another scheduler already changed it): a program that
builds a warm-up ``LambdaLR`` and then a ``CosineAnnealingLR``, and steps the first during the
warm-up, gets PyTorch's learning rates.
"""

from __future__ import annotations

import bisect
import math
import numbers

from .optimizer import Optimizer, check_number

__all__ = [
    "CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR",
    "ReduceLROnPlateau", "SequentialLR", "StepLR", "WarmupCosine",
]


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
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise ValueError(
                    f"{name}: param group {i} has no 'initial_lr', so last_epoch={last_epoch} "
                    "cannot resume a schedule; load the optimizer's state first, or pass -1"
                )
        self.optimizer = optimizer
        self.base_lrs = [float(group["initial_lr"]) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list[float]:  # pragma: no cover - abstract
        """The lr of each group at step ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__}.get_lr is not implemented")

    def step(self) -> None:
        """Advance one step (an epoch or a batch) and set the optimizer's learning rates for it."""
        _check_group_count(self, len(self.base_lrs))
        self.last_epoch += 1
        lrs = self._first_lrs() if self.last_epoch == 0 else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = list(lrs)

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """The scheduler's state: every attribute but the optimizer (and lr functions)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
                if k not in ("optimizer", "lr_lambdas")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict()`` of the same kind of scheduler."""
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: unexpected keys {unknown}; was the state "
                "saved from another kind of scheduler?"
            )
        self.__dict__.update({k: (list(v) if isinstance(v, list) else v)
                              for k, v in state_dict.items()})


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` steps.

    ``lr_t = lr_0 * gamma ** (t // step_size)``. ``StepLR(opt, 3, 0.5)`` halves the lr every 3
    epochs (as Zhang et al. train their character-level CNN).

    Args:
        optimizer: the optimizer whose learning rates it sets.
        step_size: steps between decays (a positive int).
        gamma: the decay factor.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _keeps_lr_at_start = True

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        _check_int("StepLR", "step_size", step_size, low=1)
        check_number("StepLR", "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** (self.last_epoch // self.step_size)
        return [base * factor for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone: ``lr_t = lr_0 * gamma ** #{m <= t}``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        milestones: the steps at which to decay (ints; a repeated one decays twice).
        gamma: the decay factor.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _keeps_lr_at_start = True

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        milestones = list(milestones)
        for i, m in enumerate(milestones):
            _check_int("MultiStepLR", f"milestones[{i}]", m, low=0)
        check_number("MultiStepLR", "gamma", gamma)
        self.milestones = sorted(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * factor for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every step: ``lr_t = lr_0 * gamma ** t``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        gamma: the decay factor.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _keeps_lr_at_start = True

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        check_number("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the initial lr down to ``eta_min`` over ``T_max`` steps.

    ``lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi t / T_max)) / 2`` (SGDR without restarts);
    past ``T_max`` the cosine goes on (rising again), as in PyTorch.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        T_max: the number of steps of the descent (a positive int).
        eta_min: the lowest learning rate.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _keeps_lr_at_start = True

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1):
        _check_int("CosineAnnealingLR", "T_max", T_max, low=1)
        check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
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

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        n = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if isinstance(lr_lambda, (list, tuple)) and len(lambdas) != n:
            raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per param group), got "
                             f"{len(lambdas)}")
        for i, fn in enumerate(lambdas):
            if not callable(fn):
                raise TypeError(
                    f"LambdaLR: lr_lambda[{i}] must be callable, got {type(fn).__name__}"
                )
        self.lr_lambdas = lambdas
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

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1):
        if not isinstance(start_factor, numbers.Real) or not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not isinstance(end_factor, numbers.Real) or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        _check_int("LinearLR", "total_iters", total_iters, low=1)
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _first_lrs(self) -> list[float]:
        return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        done = min(self.last_epoch, self.total_iters) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


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
        if any(isinstance(s, (ReduceLROnPlateau, SequentialLR)) for s in schedulers):
            raise TypeError(f"{who}: ReduceLROnPlateau and SequentialLR cannot be chained")
        if len(milestones) != len(schedulers) - 1 or milestones != sorted(milestones):
            raise ValueError(f"{who}: expected {len(schedulers) - 1} increasing milestones "
                             f"(one per switch), got {milestones!r}")
        if last_epoch != -1:
            raise ValueError(f"{who}: resume by load_state_dict, not last_epoch={last_epoch}")
        self.optimizer = optimizer
        self._schedulers, self._milestones = schedulers, milestones
        self.base_lrs = [float(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_epoch = 0
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1  # undo the step each took when it was made
        first = schedulers[0]
        first.step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler.last_epoch = 0  # its step 0 in closed form, as PyTorch's step(0)
            lrs = scheduler.get_lr()
            for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr
            scheduler._last_lr = list(lrs)
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
        self._last_lr = list(state_dict["_last_lr"])


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for ``patience`` steps.

    A value ``a`` improves on the best ``b`` when ``a < b (1 - threshold)`` (mode "min",
    threshold_mode "rel"), ``a < b - threshold`` ("abs"), or the mirror images for mode "max".
    After more than ``patience`` steps without improvement, ``lr <- max(lr * factor, min_lr)``,
    then ``cooldown`` steps pass before bad steps count again. Call ``step(metric)`` after each
    evaluation.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        mode: "min" (a loss) or "max" (an accuracy).
        factor: the decay factor, in [0, 1).
        patience: how many steps without improvement to tolerate.
        threshold: the least change that counts as an improvement.
        threshold_mode: "rel" (relative to the best) or "abs".
        cooldown: steps to wait after a reduction before counting bad steps again.
        min_lr: the lowest lr, a number or one per parameter group.
        eps: reductions smaller than this are skipped.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0.0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: optimizer must be a chainrule Optimizer, got "
                            f"{type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}"
            )
        check_number(name, "factor", factor, high=1.0, high_open=True)
        _check_int(name, "patience", patience, low=0)
        check_number(name, "threshold", threshold)
        _check_int(name, "cooldown", cooldown, low=0)
        check_number(name, "eps", eps)
        n = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"{name}: expected {n} min_lr values (one per param group), got "
                             f"{len(min_lrs)}")
        for i, v in enumerate(min_lrs):
            check_number(name, f"min_lr[{i}]", v)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lrs, self.eps = cooldown, min_lrs, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self, metric) -> None:  # type: ignore[override]
        """Record one value of the monitored metric (a number or a one-element Tensor/array)."""
        current = float(metric.item() if hasattr(metric, "item") else metric)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            _check_group_count(self, len(self.min_lrs))
            for group, low in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _is_better(self, a: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < self.best * (1.0 - self.threshold)
            return a < self.best - self.threshold
        if self.threshold_mode == "rel":
            return a > self.best * (1.0 + self.threshold)
        return a > self.best + self.threshold


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
