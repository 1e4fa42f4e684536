"""PyTorch's loss scaling, ``GradScaler``.

Loss scaling keeps small gradients of a low-precision backward pass from rounding to zero: the
loss is multiplied by ``S`` before backward, the gradients divided by ``S`` before the step, and
``S`` adapts (the rule of Micikevicius et al., 2018, as PyTorch's ``GradScaler`` applies it)::

    if any gradient is inf or NaN:  skip the step;   S = S * backoff_factor;   clean = 0
    else:                           step;            clean = clean + 1
                                    if clean == growth_interval:  S = S * growth_factor;  clean = 0

``GradScaler`` does this on whatever gradients backward produced (float32, or float32 gradients
of parameters whose forward ran partly in float16), so a PyTorch loop with
``scaler.scale(loss).backward(); scaler.step(opt); scaler.update()`` runs unchanged and skips the
same steps. As PyTorch's, ``S`` becomes a float32 at the first ``scale()`` (``get_scale()`` is
``init_scale`` as given before that), and ``unscale_``/``step``/``update`` before any ``scale()``
are refused: they would divide gradients that were never multiplied.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections import abc

from ..autograd import Tensor
from ..backend import cuda_available, get_array_module, numpy

__all__ = ["GradScaler"]

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Dynamic loss scaling (see the module docstring), with PyTorch's methods and state dict.

    Args:
        device: ``"cuda"`` or ``"cpu"`` (PyTorch's); the scaler works on the gradients' arrays
            wherever they are.
        init_scale: the first scale ``S``.
        growth_factor: multiplies ``S`` after ``growth_interval`` steps without inf/NaN (> 1).
        backoff_factor: multiplies ``S`` after a step with inf/NaN gradients (in (0, 1)).
        growth_interval: the number of clean steps before ``S`` grows.
        enabled: False makes every method a pass-through (``scale`` returns the loss, ``step``
            calls ``optimizer.step()``), so one script runs with and without scaling. A
            ``"cuda"`` scaler on a machine without CUDA is disabled with a warning, as PyTorch's.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> scaler = GradScaler("cpu", init_scale=1024.0)
    >>> scaler.scale((w * 3).sum()).backward()
    >>> w.grad.tolist()
    [3072.0]
    >>> scaler.step(opt); scaler.update()
    >>> w.grad.tolist(), round(w.item(), 6), scaler.get_scale()
    ([3.0], 0.7, 1024.0)
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if device not in ("cuda", "cpu"):
            raise ValueError(f"GradScaler: device must be 'cuda' or 'cpu', got {device!r}")
        if not isinstance(enabled, bool):
            raise TypeError(f"GradScaler: enabled must be True or False, got {enabled!r}")
        _positive("init_scale", init_scale)
        self._device, self._enabled = device, enabled
        self._init_scale = float(init_scale)
        self.set_growth_factor(growth_factor)
        self.set_backoff_factor(backoff_factor)
        self.set_growth_interval(growth_interval)
        if enabled and device == "cuda" and not cuda_available():
            # as PyTorch's: a CUDA scaler on a machine without CUDA scales nothing
            warnings.warn("GradScaler: enabled for device 'cuda', but CUDA is not available; "
                          "disabling it, as PyTorch does (scale() returns the loss, "
                          "get_scale() is 1.0). Pass device='cpu' to scale on the CPU",
                          UserWarning, stacklevel=2)
            self._enabled = False
        self._scale = None  # PyTorch's float32 S, made at the first scale()
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict] = {}

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        """``outputs`` (a Tensor, or nested lists/tuples/iterables of them) times the scale.

        As PyTorch's, the product with a 0-dim float32 ``S``, so its dtype follows the type
        promotion rules: a 0-dim float16 loss gives a float32 product, a float16 loss with
        dimensions a float16 one (computed in float32 and rounded), a float64 loss a float64 one.
        Lists and tuples come back as such, other iterables as a lazy ``map``.
        """
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._scale = numpy.float32(self._init_scale)
            scale = Tensor(numpy.asarray(self._scale))
            if outputs.dtype == numpy.float16:  # the product in float32
                with numpy.errstate(over="ignore"):  # an overflow is inf, for step() to see
                    product = outputs.float() * scale
                    # rounded back to float16 unless the promotion rules give float32
                    return product if outputs.dim() == 0 else product.half()
            return outputs * scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, abc.Iterable):
            return map(self.scale, outputs)
        raise ValueError(
            f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, got "
            f"{type(outputs).__name__}"
        )

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and note any inf/NaN.

        Call it before clipping gradients; ``step`` calls it when it was not called.
        """
        if not self._enabled:
            return
        self._check_scaled("unscale_")
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = numpy.float32(1.0 / numpy.float64(self._scale))
        found_inf, checked = False, 0
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                sparse = getattr(p.grad, "is_sparse", False)  # Embedding(sparse=True)'s
                g = p.grad._values()._data if sparse else p.grad._data
                if g.dtype == numpy.float16:
                    raise ValueError(
                        "GradScaler.unscale_: a parameter has float16 gradients; keep the "
                        "parameters in float32 (cast activations with .half() inside the "
                        "forward instead), as PyTorch's GradScaler requires"
                    )
                xp = get_array_module(g)
                found_inf = found_inf or not bool(xp.isfinite(g).all())
                checked += 1
                # In place, as PyTorch's: a reference to p.grad taken before sees the unscaled
                # values. A new array: gradient arrays may be shared, so are never written into.
                unscaled = (g * inv_scale).astype(g.dtype, copy=False)
                if sparse:  # the stored values, a new Tensor of them in the same SparseTensor
                    p.grad._vals = Tensor(unscaled)
                else:
                    p.grad.data = unscaled
        state["stage"], state["found_inf"], state["checked"] = _UNSCALED, found_inf, checked

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` unless the gradients hold inf or NaN (skipped).

        Returns:
            What ``optimizer.step`` returned, or None for a skipped step.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scaled("step")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        if not state["checked"]:  # as PyTorch: an optimizer none of whose params has a grad
            raise RuntimeError("GradScaler.step: no inf checks were recorded for this "
                               "optimizer: none of its parameters has a gradient")
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """Adapt the scale after this iteration's steps (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        self._check_scaled("update")
        if new_scale is not None:
            value = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
            _positive("new_scale", value, "GradScaler.update")
            self._scale = numpy.float32(value)
        else:
            # as PyTorch: only optimizers with a gradient checked for inf/NaN count
            checked = [s for s in self._per_optimizer.values() if s["checked"]]
            if not checked:
                raise RuntimeError("No inf checks were recorded prior to update.")
            if any(s["found_inf"] for s in checked):
                # as ATen: the float32 scale times the double factor, rounded to float32 once
                self._scale = numpy.float32(float(self._scale) * self._backoff_factor)
                self._growth_tracker = 0
            elif self._growth_tracker + 1 == self._growth_interval:
                with numpy.errstate(over="ignore"):
                    grown = numpy.float32(float(self._scale) * self._growth_factor)
                if numpy.isfinite(grown):  # as PyTorch: a scale that would overflow stays
                    self._scale = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
        self._per_optimizer = {}

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        _positive("growth_factor", new_factor)
        if new_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {new_factor!r}")
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        _positive("backoff_factor", new_factor)
        if new_factor >= 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be < 1, got {new_factor!r}")
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        if not isinstance(new_interval, int) or isinstance(new_interval, bool) or new_interval < 1:
            raise ValueError(
                f"GradScaler: growth_interval must be an int >= 1, got {new_interval!r}"
            )
        self._growth_interval = new_interval

    def state_dict(self) -> dict:
        """PyTorch's layout: scale, factors, interval and ``_growth_tracker`` ({} when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        _positive("scale", state_dict["scale"], "GradScaler.load_state_dict")
        self.set_growth_factor(state_dict["growth_factor"])
        self.set_backoff_factor(state_dict["backoff_factor"])
        self.set_growth_interval(state_dict["growth_interval"])
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:  # else S is made from it at the first scale(), as PyTorch
            self._scale = numpy.float32(self._init_scale)
        self._growth_tracker = int(state_dict["_growth_tracker"])

    def __getstate__(self) -> dict:
        """Pickling and deepcopy, refused mid-iteration as PyTorch refuses them: the per-optimizer
        unscale/step records of an unfinished iteration would come along."""
        if self._enabled and self._per_optimizer:
            raise RuntimeError("GradScaler: an instance may only be pickled or copied at the "
                               "beginning of an iteration, or at the end after update()")
        return dict(self.__dict__)

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"stage": _READY, "found_inf": False,
                                               "checked": 0})

    def _check_scaled(self, method: str) -> None:
        if self._scale is None:
            raise RuntimeError(
                f"GradScaler.{method}: called before any scale(); the gradients were not "
                "multiplied by the scale, so they must not be divided by it. Use "
                "scaler.scale(loss).backward() earlier in the iteration, as PyTorch requires"
            )


def _positive(name, value, who="GradScaler") -> None:
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{who}: {name} must be a finite number > 0, got {value!r}")


class _CudaGradScaler(GradScaler):
    """``torch.cuda.amp.GradScaler``: ``GradScaler("cuda", ...)``, PyTorch's older spelling."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)




class _CpuGradScaler(GradScaler):
    """``torch.cpu.amp.GradScaler``: ``GradScaler("cpu", ...)``, PyTorch's older spelling."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


for _cls in (_CudaGradScaler, _CpuGradScaler):
    _cls.__name__ = _cls.__qualname__ = "GradScaler"
del _cls
