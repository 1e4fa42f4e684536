"""``chainrule.amp``: PyTorch's loss scaling (``GradScaler``) and its ``autocast`` switch.

Loss scaling keeps small gradients of a low-precision backward pass from rounding to zero: the
loss is multiplied by ``S`` before backward, the gradients divided by ``S`` before the step, and
``S`` adapts (the rule of Micikevicius et al., 2018, as PyTorch's ``GradScaler`` applies it)::

    if any gradient is inf or NaN:  skip the step;   S = S * backoff_factor;   clean = 0
    else:                           step;            clean = clean + 1
                                    if clean == growth_interval:  S = S * growth_factor;  clean = 0

``GradScaler`` does this on whatever gradients backward produced (float32, or float32 gradients
of parameters whose forward ran partly in float16), so a PyTorch loop with
``scaler.scale(loss).backward(); scaler.step(opt); scaler.update()`` runs unchanged and skips the
same steps. ``autocast`` has no automatic casting behind it: chainrule's ops compute in their
inputs' dtype and do not choose one per op, so ``autocast(..., enabled=False)`` is accepted (a
no-op, as in a script with an AMP switch) and ``enabled=True`` raises, naming what to do
instead, rather than silently computing in float32. So ``is_autocast_available`` is False, and
the decorators ``custom_fwd``/``custom_bwd`` of a custom Function's forward and backward find
autocast always off: they run them as they are, as PyTorch's do outside an autocast region.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import types
import warnings

from .autograd import Tensor
from .backend import cuda_available, get_array_module, numpy

__all__ = ["GradScaler", "autocast", "cuda_amp", "custom_bwd", "custom_fwd",
           "is_autocast_available", "is_autocast_enabled"]

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
        self._scale = numpy.float32(init_scale)  # PyTorch keeps S in a float32 tensor
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict] = {}

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        """``outputs`` (a Tensor, or nested lists/tuples of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if outputs.dtype == numpy.float16:  # as PyTorch: the product in float32, rounded
                with numpy.errstate(over="ignore"):  # an overflow is inf, for step() to see
                    return (outputs.float() * float(self._scale)).half()
            return outputs * float(self._scale)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(
            f"GradScaler.scale: outputs must be a Tensor or a list/tuple of Tensors, got "
            f"{type(outputs).__name__}"
        )

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, in place, and note any inf/NaN.

        Call it before clipping gradients; ``step`` calls it when it was not called.
        """
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = numpy.float32(1.0 / numpy.float64(self._scale))
        found_inf = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                if g.dtype == numpy.float16:
                    raise ValueError(
                        "GradScaler.unscale_: a parameter has float16 gradients; keep the "
                        "parameters in float32 (cast activations with .half() inside the "
                        "forward instead), as PyTorch's GradScaler requires"
                    )
                xp = get_array_module(g)
                found_inf = found_inf or not bool(xp.isfinite(g).all())
                # A new array: gradient arrays may be shared, so they are never written into.
                p.grad = Tensor((g * inv_scale).astype(g.dtype, copy=False))
        state["stage"], state["found_inf"] = _UNSCALED, found_inf

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` unless the gradients hold inf or NaN (skipped).

        Returns:
            What ``optimizer.step`` returned, or None for a skipped step.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """Adapt the scale after this iteration's steps (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            value = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
            _positive("new_scale", value, "GradScaler.update")
            self._scale = numpy.float32(value)
        else:
            checked = [s for s in self._per_optimizer.values() if s["stage"] != _READY]
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
        return float(self._scale) if self._enabled else 1.0

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
        self._scale = numpy.float32(state_dict["scale"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"stage": _READY, "found_inf": False})


def _positive(name, value, who="GradScaler") -> None:
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f"{who}: {name} must be a finite number > 0, got {value!r}")


class autocast(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name; a decorator too
    """PyTorch's ``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``.

    With ``enabled=False`` it is a no-op ``with`` block or decorator. Enabled, it raises
    ``ValueError``: chainrule's ops compute in their inputs' dtype, with no per-op casting, so an
    enabled autocast would silently compute in float32 (bfloat16, the CPU default, does not
    exist in NumPy at all). Cast yourself where you want float16 (``x.half()``), keep float32
    parameters, and pass ``enabled=False`` (e.g. ``enabled=use_amp``) to keep the script's block.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str) or device_type not in ("cpu", "cuda"):
            raise ValueError(
                f"autocast: device_type must be 'cpu' or 'cuda', got {device_type!r}"
            )
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: enabled must be True or False, got {enabled!r}")
        self.device, self.fast_dtype = device_type, dtype
        self._enabled, self._cache_enabled = enabled, cache_enabled
        if not enabled:
            return
        default = "bfloat16" if device_type == "cpu" else "float16"
        name = default if dtype is None else _dtype_name(dtype)
        if name == "bfloat16":
            raise ValueError(
                "autocast: chainrule cannot compute in bfloat16 (NumPy has no bfloat16 type; it "
                f"is autocast({device_type!r})'s default dtype); pass enabled=False to run the "
                "block in float32"
            )
        raise ValueError(
            f"autocast: chainrule has no automatic mixed precision, so autocast(dtype={name}) "
            "would silently compute in the inputs' dtype; pass enabled=False, and cast to "
            "float16 yourself (x.half()) where you want it"
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def is_autocast_available(device_type: str) -> bool:
    """False: chainrule has no automatic mixed precision on any device (see the module
    docstring); PyTorch answers True for "cpu" and "cuda"."""
    if not isinstance(device_type, str):
        raise TypeError(f"is_autocast_available: device_type must be a str, got "
                        f"{type(device_type).__name__}")
    return False


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: no autocast region is ever on in chainrule (PyTorch's ``torch.is_autocast_enabled``,
    with or without a device type)."""
    if device_type is not None and not isinstance(device_type, str):
        raise TypeError(f"is_autocast_enabled: device_type must be a str or None, got "
                        f"{type(device_type).__name__}")
    return False


def _device_type(who, device_type) -> None:
    if not isinstance(device_type, str):
        raise ValueError(f"{who}: expected device_type of type str, got {device_type!r} "
                         f"({type(device_type).__name__})")


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorate a custom Function's ``forward`` as PyTorch's ``torch.amp.custom_fwd``:
    ``@custom_fwd(device_type="cuda", cast_inputs=torch.float32)``.

    PyTorch casts the floating inputs to ``cast_inputs`` and turns autocast off inside
    ``forward`` when it runs in an autocast region, and does nothing outside one; chainrule's
    autocast is never on, so ``forward`` runs as it is. The context records that autocast was
    off, for ``custom_bwd``.
    """
    _device_type("custom_fwd", device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    if not callable(fwd):
        raise TypeError(f"custom_fwd: expected a forward function, got {type(fwd).__name__}")

    @functools.wraps(fwd)
    def forward(ctx, *args, **kwargs):
        ctx._fwd_used_autocast, ctx._dtype = False, None
        return fwd(ctx, *args, **kwargs)

    return forward


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate a custom Function's ``backward`` as PyTorch's ``torch.amp.custom_bwd``: run it in
    the autocast state ``forward`` ran in, which in chainrule is always off, so it runs as it
    is."""
    _device_type("custom_bwd", device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    if not callable(bwd):
        raise TypeError(f"custom_bwd: expected a backward function, got {type(bwd).__name__}")

    @functools.wraps(bwd)
    def backward(ctx, *grads):
        return bwd(ctx, *grads)

    return backward


def _dtype_name(dtype) -> str:
    try:
        return numpy.dtype(dtype).name
    except TypeError:  # not a NumPy dtype (e.g. a torch.dtype): its own name
        return str(getattr(dtype, "name", dtype)).removeprefix("torch.")


class _CudaGradScaler(GradScaler):
    """``torch.cuda.amp.GradScaler``: ``GradScaler("cuda", ...)``, PyTorch's older spelling."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


def _cuda_autocast(enabled: bool = True, dtype=numpy.float16, cache_enabled: bool = True):
    """``torch.cuda.amp.autocast``: ``autocast("cuda", ...)``, PyTorch's older spelling."""
    return autocast("cuda", dtype, enabled, cache_enabled)


_CudaGradScaler.__name__ = _CudaGradScaler.__qualname__ = "GradScaler"
_cuda_autocast.__name__ = _cuda_autocast.__qualname__ = "autocast"

cuda_amp = types.SimpleNamespace(GradScaler=_CudaGradScaler, autocast=_cuda_autocast)
cuda_amp.__doc__ = "``chainrule.cuda.amp``: PyTorch's older ``torch.cuda.amp`` spellings."
