"""The Trainer's gradient options: clipping (by global norm or by value) and accumulation.

``GradOptions`` is what the default ``Trainer.train_step`` calls instead of ``zero_grad();
backward(); step()``. With ``accumulate_grad_batches=k`` each batch's loss is scaled by 1/k before
its backward pass, the gradients of k batches add up, and the optimizer steps once per k batches
(the gradients are zeroed at the start of each group). An epoch whose batch count is not a
multiple of k ends with a shorter group that still steps, as Lightning's does, with the same 1/k
scaling (its gradient is the sum of its r < k batches' gradients over k); groups never span two
epochs, so a checkpoint (taken at an epoch's end) never holds a half-summed gradient. The
clipping applies to the parameters of the optimizer's groups, after the group's last backward
pass and just before the step: ``nn.utils.clip_grad_norm_`` (the norm of all those gradients
together, PyTorch's ``clip_grad_norm_``, Lightning's ``gradient_clip_val`` with
``gradient_clip_algorithm="norm"``, Keras' ``global_clipnorm``) or ``nn.utils.clip_grad_value_``.
"""

from __future__ import annotations

import math
import warnings

from ..autograd import Tensor
from ..backend import get_array_module
from ..data.arguments import check_int, check_number
from ..nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_

__all__ = ["GradOptions"]


def _bound(name: str, value):
    """None, or a finite number > 0 (0 would zero every gradient: a run that never learns)."""
    return check_number("Trainer", name, value, above=0, allow_none=True, type_error=TypeError)


class GradOptions:
    """Clip and accumulate the gradients of ``Trainer.train_step`` (see the module's docstring).

    Args:
        clip_grad_norm: None, or the largest total (L2) norm of the gradients at a step.
        clip_grad_value: None, or the largest magnitude of a gradient entry at a step.
        accumulate_grad_batches: the number k of batches whose gradients make one step (1: none).
        overridden: the trainer's class overrides ``train_step``, which would not apply them.
    """

    def __init__(
        self,
        clip_grad_norm=None,
        clip_grad_value=None,
        accumulate_grad_batches=1,
        *,
        overridden: str | None = None,
    ):
        self.clip_norm = _bound("clip_grad_norm", clip_grad_norm)
        self.clip_value = _bound("clip_grad_value", clip_grad_value)
        k = accumulate_grad_batches
        check_int("Trainer", "accumulate_grad_batches", k,
                  why="the batches per optimizer step; 1: no accumulation")
        if self.clip_norm is not None and self.clip_value is not None:
            raise ValueError(
                f"Trainer: pass clip_grad_norm or clip_grad_value, not both (got "
                f"{clip_grad_norm!r} and {clip_grad_value!r}); as Keras and "
                "Lightning, one kind of clipping per run"
            )
        self.accumulate = int(k)
        if overridden and self.active:
            raise ValueError(
                f"Trainer: {overridden} overrides train_step, which does not apply "
                f"{self._names()}: they belong to the default train_step. Clip in your "
                "train_step (nn.utils.clip_grad_norm_ between backward and step) instead"
            )
        self.pending = 0  # batches whose gradients are summed but not yet stepped
        self.deferred = False  # the last train_step left its gradients for a later step
        self.closes = False  # the current batch ends its epoch: its group steps, however short
        self.batch, self.guard = 0, None  # batch index in the epoch, the fit's TerminateOnNaN
        self.warned = False  # non-finite gradients stepped (no TerminateOnNaN) this epoch

    @property
    def active(self) -> bool:
        return self.clip_norm is not None or self.clip_value is not None or self.accumulate > 1

    def _names(self) -> str:
        names = [
            f"clip_grad_norm={self.clip_norm!r}" if self.clip_norm is not None else "",
            f"clip_grad_value={self.clip_value!r}" if self.clip_value is not None else "",
            f"accumulate_grad_batches={self.accumulate}" if self.accumulate > 1 else "",
        ]
        return " and ".join(n for n in names if n)

    def signature(self) -> dict:
        """What a checkpoint records of them: a resume with other options is another run."""
        clip = (
            ("norm", self.clip_norm)
            if self.clip_norm is not None
            else (("value", self.clip_value) if self.clip_value is not None else ("none", 0.0))
        )
        return {"accumulate_grad_batches": self.accumulate, "clipping": f"{clip[0]} {clip[1]!r}"}

    def batches(self, loader, callbacks):
        """``enumerate(loader)`` for one epoch of ``fit``, telling ``backward_step`` which batch
        ends the epoch. With k > 1 the loader is read one batch ahead: its length may be unknown
        (a stream) or wrong (a stream's ``__len__``), and a last group left unstepped would
        silently drop its batches' gradients."""
        from .callbacks import TerminateOnNaN

        self.pending, self.deferred, self.closes, self.warned = 0, False, False, False
        self.guard = next(
            (
                c
                for c in getattr(callbacks, "callbacks", callbacks)
                if isinstance(c, TerminateOnNaN)
            ),
            None,
        )
        if self.accumulate == 1:  # every batch steps
            for step, batch in enumerate(loader):
                self.batch = step
                yield step, batch
        else:
            iterator, done = iter(loader), object()
            ahead, step = next(iterator, done), 0
            while ahead is not done:
                batch, ahead = ahead, next(iterator, done)
                self.batch, self.closes = step, ahead is done
                yield step, batch
                step += 1
        self.closes = False

    def backward_step(self, trainer, loss) -> None:
        """``loss.backward()`` and, at the end of a group, clip and step ``trainer.optimizer``."""
        optimizer = trainer.optimizer
        if self.pending == 0:
            optimizer.zero_grad()
        (loss if self.accumulate == 1 else loss / self.accumulate).backward()
        self.pending += 1
        self.deferred = self.pending < self.accumulate and not self.closes
        if self.deferred:
            return
        self.pending = 0
        if not self._clip(trainer, loss):
            self.deferred = True  # no step: the run stops as diverged
            return
        optimizer.step()

    def _clip(self, trainer, loss) -> bool:
        """Clip the gradients; False when they are not finite and the run's ``TerminateOnNaN``
        stops it (then nothing is stepped): clipping would hide an inf (value) or make every
        gradient NaN or 0 (norm). Without one (``terminate_on_nan=False``, or ``train_step``
        called outside ``fit``) they are clipped and stepped as PyTorch's functions would, with
        a RuntimeWarning (once an epoch): never a silent step."""
        if self.clip_norm is None and self.clip_value is None:
            return True
        groups = getattr(trainer.optimizer, "param_groups", None)  # a composite one: the model's
        params = (
            [p for group in groups for p in group["params"]]
            if isinstance(groups, list)
            else list(trainer.model.parameters())
        )
        bad = 0
        for p in params:
            if isinstance(p.grad, Tensor) and p.grad._data.size:  # sparse: clip refuses
                g = p.grad._data
                bad += int(g.size - get_array_module(g).isfinite(g).sum())
        if bad and not self._tolerate(
            f"{bad} gradient value(s) are not finite before clipping", math.isfinite(loss.item())
        ):
            return False
        if self.clip_norm is not None:
            total = float(clip_grad_norm_(params, self.clip_norm))
            if not bad and not math.isfinite(total):  # finite values whose norm overflowed
                return self._tolerate(f"the gradients' total norm is {total} (it overflowed)")
        else:
            clip_grad_value_(params, self.clip_value)
        return True

    def _tolerate(self, what: str, report: bool = True) -> bool:
        """Non-finite gradients: stop the run (False) under ``TerminateOnNaN``, which reports
        ``what`` (unless ``report`` is False: it reports the non-finite loss itself), or warn
        once an epoch and go on (True)."""
        if self.guard is not None:
            if report:
                self.guard._diverge(what, self.batch)
            return False
        if not self.warned:
            self.warned = True
            warnings.warn(
                f"Trainer: {what} at batch {self.batch + 1}; clipped and stepped as "
                "PyTorch's clip functions would (fit(terminate_on_nan=True) stops the "
                "run instead)",
                RuntimeWarning,
                stacklevel=4,
            )
        return True
