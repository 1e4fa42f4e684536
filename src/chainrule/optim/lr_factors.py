"""Schedules that scale the initial lr by a factor (``ConstantLR``, ``PolynomialLR``), that
multiply the current lr (``MultiplicativeLR``), and ``ChainedScheduler``, which steps several
schedules together so that their factors compose, as PyTorch's; ``lr_scheduler`` re-exports them.
"""

from __future__ import annotations

from ._lr_base import LRScheduler, _check_group_count, _plain, _whole, lr_lambdas
from .lr_plateau import ReduceLROnPlateau
from .optimizer import Optimizer, check_number

__all__ = ["ChainedScheduler", "ConstantLR", "MultiplicativeLR", "PolynomialLR"]


class ConstantLR(LRScheduler):
    """Scale the initial lr by ``factor`` for the first ``total_iters`` steps, then not.

    ``lr_t = lr_0 * factor`` for ``t < total_iters``, ``lr_0`` from then on (as in PyTorch,
    ``total_iters=0`` keeps the factor for good, and step 0 scales the current lr).

    Args:
        optimizer: the optimizer whose learning rates it sets.
        factor: the scale, in [0, 1].
        total_iters: steps during which it applies (an int >= 0).
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        check_number("ConstantLR", "factor", factor, high=1.0)
        total_iters = _whole("ConstantLR", "total_iters", total_iters, low=0)
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def _first_lrs(self) -> list[float]:
        return [group["lr"] * self.factor for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        if self.total_iters == 0 and self.last_epoch > 0:  # PyTorch's recursive form: the lr
            return [group["lr"] for group in self.optimizer.param_groups]  # of step 0, kept
        over = self.last_epoch >= self.total_iters
        return [base * (1.0 if over else self.factor) for base in self.base_lrs]

    def _ratio(self, t: int) -> float:
        return 1.0 / self.factor if t == self.total_iters else 1.0


class PolynomialLR(LRScheduler):
    """Decay the initial lr to 0 over ``total_iters`` steps along a polynomial of ``power``.

    ``lr_t = lr_0 * (1 - min(t, total_iters) / total_iters) ** power`` (``power=1`` is a linear
    decay to 0, reached at step ``total_iters`` and kept).

    Args:
        optimizer: the optimizer whose learning rates it sets.
        total_iters: steps of the decay (a positive int).
        power: the polynomial's power.
        last_epoch: the last step taken (-1 for a new schedule).
    """

    _closed_form = True  # step(epoch) jumps to the step, as PyTorch's

    _keeps_lr_at_start = True

    _keeps_lr_on_resume = True  # PyTorch's constructor keeps the lr when resuming

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        total_iters = _whole("PolynomialLR", "total_iters", total_iters, low=1)
        check_number("PolynomialLR", "power", power)
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [base * factor for base in self.base_lrs]

    def _ratio(self, t: int) -> float:
        if t > self.total_iters:
            return 1.0
        n = self.total_iters
        return ((1.0 - t / n) / (1.0 - (t - 1) / n)) ** self.power


class MultiplicativeLR(LRScheduler):
    """Multiply the current lr by ``lr_lambda(t)`` at every step t >= 1.

    ``lr_t = lr_{t-1} * lr_lambda(t)``, so ``lr_t = lr_0 * lr_lambda(1) * ... * lr_lambda(t)``.

    Args:
        optimizer: the optimizer whose learning rates it sets.
        lr_lambda: a function of the step index, or a list of them (one per parameter group).
        last_epoch: the last step taken (-1 for a new schedule).

    The functions are not part of ``state_dict()``; build the scheduler with them to resume.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = lr_lambdas("MultiplicativeLR", optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    # Its own step 0 keeps the lr; a SequentialLR milestone that starts it at step 0 multiplies
    # by lr_lambda(0), as PyTorch's.
    _keeps_lr_at_start = True

    def _initial_step(self) -> None:
        """Construction keeps the current lr at any ``last_epoch``, as PyTorch's: a schedule
        resumed with ``last_epoch=t`` over a loaded optimizer (whose lr is already step t + 1's)
        goes on from it rather than multiply by ``lr_lambda(t + 1)`` a second time."""
        _check_group_count(self, len(self.base_lrs))
        self.last_epoch += 1
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return [lr * fn(self.last_epoch) for lr, fn in zip(lrs, self.lr_lambdas, strict=True)]


class ChainedScheduler(LRScheduler):
    """Step several schedules of one optimizer together, each on the lr the previous one set.

    As PyTorch's: ``ChainedScheduler([ConstantLR(opt, 0.1, total_iters=2), ExponentialLR(opt,
    0.9)])`` gives ``lr_0 * 0.1 * 0.9**t`` for ``t < 2``, then ``lr_0 * 0.9**t``. Each member
    steps in PyTorch's recursive form (its factor's change applied to the current lr, see
    ``LRScheduler._chained_lr``); a closed-form one (``LambdaLR``, ``CyclicLR``...) sets its own
    value, overriding those before it.

    Args:
        schedulers: the schedules, stepped in this order.
        optimizer: their optimizer (None: the first schedule's).
    """

    def __init__(self, schedulers, optimizer: Optimizer | None = None):
        who = "ChainedScheduler"
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError(f"{who}: expects at least one scheduler to chain, got none")
        optimizer = optimizer if optimizer is not None else schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{who}: ReduceLROnPlateau (schedulers[{i}]) cannot be chained: "
                                 "its step needs the metric")
            if not isinstance(s, LRScheduler) or type(s).step is not LRScheduler.step:
                raise TypeError(f"{who}: schedulers[{i}] must be a schedule such as StepLR or "
                                f"ConstantLR (not SequentialLR or ChainedScheduler), got "
                                f"{type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"{who}: every scheduler must drive the same optimizer; "
                                 f"schedulers[{i}] ({type(s).__name__}) drives another one")
        self._schedulers, self.optimizer = schedulers, optimizer
        self.base_lrs = list(schedulers[0].base_lrs)
        self._last_lr = [float(group["lr"]) for group in optimizer.param_groups]

    def step(self) -> None:
        for s in self._schedulers:
            s._step_in_chain()
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"_last_lr": list(self._last_lr),
                "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict) -> None:
        inner = state_dict["_schedulers"]
        if len(inner) != len(self._schedulers):
            raise ValueError(f"ChainedScheduler.load_state_dict: {len(inner)} schedulers saved, "
                             f"{len(self._schedulers)} here")
        for s, d in zip(self._schedulers, inner, strict=True):
            s.load_state_dict(d)
        self._last_lr = _plain(list(state_dict["_last_lr"]))
