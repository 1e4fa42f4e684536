"""Cyclical schedules: ``CyclicLR`` (Smith, 2017) and ``OneCycleLR`` (Smith & Topin, 2018),
each moving the lr (and optionally the momentum, or Adam's beta1, the opposite way) between a
low and a high value; ``lr_scheduler`` re-exports both."""

from __future__ import annotations

import math
import numbers

from ._lr_base import LRScheduler, _check_int, _fn_state, set_lr
from .optimizer import Optimizer, check_number

__all__ = ["CyclicLR", "OneCycleLR"]


def _per_group(who: str, name: str, optimizer, value) -> list[float]:
    """One value per parameter group: ``value`` itself when it is a list or tuple, else repeated."""
    groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
    values = list(value) if isinstance(value, (list, tuple)) else [value] * len(groups)
    if len(values) != len(groups):
        raise ValueError(f"{who}: expected {len(groups)} values for {name} (one per param "
                         f"group), got {len(values)}")
    for v in values:
        check_number(who, name, v)
    return [float(v) for v in values]


class CyclicLR(LRScheduler):
    r"""Cyclical learning rates (Smith, 2017), as PyTorch's ``CyclicLR``; call ``step()`` after
    every batch.

    A cycle is ``step_size_up`` steps rising linearly from ``base_lr`` to ``max_lr`` and
    ``step_size_down`` steps falling back. At step t, with ``L = step_size_up + step_size_down``::

        cycle = floor(1 + t / L)
        x = 1 + t / L - cycle                          (position in the cycle, in [0, 1))
        s = x / r  if x <= r  else (x - 1) / (r - 1)   (r = step_size_up / L; s: 0 -> 1 -> 0)
        lr = base_lr + (max_lr - base_lr) * s * scale

    ``scale`` is 1 for "triangular", ``1 / 2**(cycle - 1)`` for "triangular2" (each cycle's
    amplitude halves) and ``gamma**t`` for "exp_range", or ``scale_fn(cycle)`` /
    ``scale_fn(t)`` (``scale_mode`` "cycle" / "iterations") for a function of your own. With
    ``cycle_momentum`` the momentum (or beta1) moves from ``max_momentum`` down to
    ``base_momentum`` as the lr rises: ``momentum = max_momentum - (max_momentum -
    base_momentum) * s * scale``.

    Args:
        optimizer: the optimizer whose learning rates (and momentum) it sets.
        base_lr, max_lr: the low and high lr, a number or one per parameter group.
        step_size_up: steps of the rising half; step_size_down: of the falling one (None: same).
        mode: "triangular", "triangular2" or "exp_range" (ignored when ``scale_fn`` is given).
        gamma: the decay of "exp_range".
        scale_fn: a function of one argument giving the amplitude's scale, or None.
        scale_mode: "cycle" or "iterations": what ``scale_fn`` is given.
        cycle_momentum: move the momentum (or beta1) too.
        base_momentum, max_momentum: its bounds, a number or one per parameter group.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    def __init__(self, optimizer: Optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn=None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9, last_epoch: int = -1):
        who = "CyclicLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{who}: optimizer must be a chainrule Optimizer, got "
                            f"{type(optimizer).__name__}")
        base_lrs = _per_group(who, "base_lr", optimizer, base_lr)
        self.max_lrs = _per_group(who, "max_lr", optimizer, max_lr)
        check_number(who, "step_size_up", step_size_up, low=0)
        if step_size_up == 0:
            raise ValueError(f"{who}: step_size_up must be > 0, got {step_size_up!r}")
        if step_size_down is not None:
            check_number(who, "step_size_down", step_size_down, low=0)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size, self.step_ratio = up + down, up / (up + down)
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"{who}: mode must be 'triangular', 'triangular2' or 'exp_range' "
                             f"(or pass scale_fn), got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"{who}: scale_fn must be callable or None, got "
                            f"{type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{who}: scale_mode must be 'cycle' or 'iterations', got "
                             f"{scale_mode!r}")
        check_number(who, "gamma", gamma)
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else (
            "iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{who}: optimizer {type(optimizer).__name__} has no momentum "
                                 "or betas to cycle; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(who, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(who, "max_momentum", optimizer, max_momentum)
        if last_epoch == -1:
            for i, group in enumerate(optimizer.param_groups):
                set_lr(group, base_lrs[i])
                if self.cycle_momentum:
                    self._set_momentum(group, self.max_momentums[i])
                    group["max_momentum"] = self.max_momentums[i]
                    group["base_momentum"] = self.base_momentums[i]
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def scale_fn(self, x: float) -> float:
        """The amplitude's scale at ``x`` (the cycle number, or the step for "iterations")."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        if x <= self.step_ratio:
            s = x / self.step_ratio
        else:
            s = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base + (top - base) * s * scale
               for base, top in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums, strict=True):
                self._set_momentum(group, high - (high - low) * s * scale)
        return lrs

    def state_dict(self) -> dict:
        """The schedule's state; of ``scale_fn`` (pass it again to resume), as PyTorch's, None
        for a function and a copy of the attributes of a callable object."""
        state = super().state_dict()
        fn = state.pop("_scale_fn_custom", None)
        state["_scale_fn_custom"] = None if fn is None else _fn_state(fn)
        return state

    def _from_pytorch(self, state_dict: dict) -> dict:
        saved = state_dict.pop("_scale_fn_custom", None)
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved)
        return state_dict


class OneCycleLR(LRScheduler):
    """Smith's one-cycle policy, as PyTorch's ``OneCycleLR``: the lr rises from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of ``total_steps``, then
    falls to ``initial_lr / final_div_factor``; with ``cycle_momentum`` the momentum (or Adam's
    beta1) moves the opposite way between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the optimizer whose learning rates (and momentum) it sets.
        max_lr: the peak lr, a number or one per parameter group.
        total_steps: the steps of the cycle, or ``epochs * steps_per_epoch``.
        pct_start: the share of the steps spent rising.
        anneal_strategy: "cos" or "linear".
        three_phase: rise, fall back to the initial lr, then fall to the minimum.
        base_momentum, max_momentum: a number or one per parameter group.
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85,
                 max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1):
        who = "OneCycleLR"
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError(f"{who}: give total_steps, or epochs and steps_per_epoch")
            _check_int(who, "epochs", epochs, low=1)
            _check_int(who, "steps_per_epoch", steps_per_epoch, low=1)
            total_steps = epochs * steps_per_epoch
        _check_int(who, "total_steps", total_steps, low=1)
        if not isinstance(pct_start, numbers.Real) or not 0 <= pct_start <= 1:
            raise ValueError(f"{who}: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{who}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        p = float(pct_start * total_steps)
        if three_phase:
            self._phases = [(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (2 * p - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (total_steps - 1, "initial_lr", "min_lr", "max_momentum",
                             "max_momentum")]
        else:
            self._phases = [(p - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (total_steps - 1, "max_lr", "min_lr", "base_momentum",
                             "max_momentum")]
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        peaks = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        if len(peaks) != len(groups):
            raise ValueError(f"{who}: expected {len(groups)} max_lr values (one per param "
                             f"group), got {len(peaks)}")
        self.cycle_momentum = bool(cycle_momentum)
        self._use_beta1 = False
        if self.cycle_momentum:
            defaults = getattr(optimizer, "defaults", {})
            if "momentum" not in defaults and "betas" not in defaults:
                raise ValueError(f"{who}: optimizer has no momentum or betas to cycle; pass "
                                 "cycle_momentum=False")
            self._use_beta1 = "betas" in defaults
            # one number, or one per group (as PyTorch's; a list was refused with a TypeError)
            max_momentum = _per_group(who, "max_momentum", optimizer, max_momentum)
            base_momentum = _per_group(who, "base_momentum", optimizer, base_momentum)
        if last_epoch == -1:
            for i, (group, peak) in enumerate(zip(groups, peaks, strict=True)):
                check_number(who, "max_lr", peak)
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if self.cycle_momentum:
                    self._set_momentum(group, max_momentum[i])
                    group["max_momentum"] = max_momentum[i]
                    group["base_momentum"] = base_momentum[i]
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value: float) -> None:
        if self._use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "linear":
            return (end - start) * pct + start
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the cycle has "
                             f"total_steps={self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs

    def _from_pytorch(self, state_dict: dict) -> dict:
        """PyTorch's phases are dicts (end_step, start_lr, end_lr, start_momentum,
        end_momentum), here tuples in that order; two entries have other names here."""
        for theirs, ours in (("_anneal_func_type", "anneal_strategy"), ("use_beta1", "_use_beta1")):
            if theirs in state_dict:
                state_dict[ours] = state_dict.pop(theirs)
        phases = state_dict.pop("_schedule_phases", None)
        if phases is not None:
            keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
            state_dict["_phases"] = [tuple(phase[k] for k in keys) for phase in phases]
        return state_dict
