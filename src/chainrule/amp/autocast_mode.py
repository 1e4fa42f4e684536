"""PyTorch's ``autocast`` switch, its queries and the ``custom_fwd``/``custom_bwd`` decorators.

``autocast`` has no automatic casting behind it: chainrule's ops compute in their inputs' dtype
and do not choose one per op. So an autocast that PyTorch would run enabled raises, naming what
to do instead, rather than silently computing in float32; one that PyTorch runs disabled runs
disabled here too: ``enabled=False`` (a script's AMP switch), a ``"cuda"`` autocast on a machine
without CUDA and a CPU autocast of a dtype other than bfloat16/float16 (both with PyTorch's
warning). A block records its dtype, as PyTorch's does even when disabled, for
``get_autocast_dtype``; ``is_autocast_enabled`` is always False.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import types
import warnings

from ..backend import cuda_available, numpy
from ..backend.dtypes import bfloat16

__all__ = ["autocast", "clear_autocast_cache", "custom_bwd", "custom_fwd", "get_autocast_cpu_dtype",
           "get_autocast_dtype", "get_autocast_gpu_dtype", "is_autocast_available",
           "is_autocast_cache_enabled", "is_autocast_cpu_enabled", "is_autocast_enabled"]

_DEFAULT_DTYPES = {"cpu": bfloat16, "cuda": numpy.dtype(numpy.float16)}
_state = threading.local()  # PyTorch's autocast state is per thread


def _dtypes() -> dict:
    """This thread's autocast dtype per device, and under ``"cache"`` its cache switch."""
    if not hasattr(_state, "dtypes"):
        _state.dtypes = {**_DEFAULT_DTYPES, "cache": True}
    return _state.dtypes


def _check_device(who: str, device_type, allow_none: bool = False) -> None:
    if device_type is None and allow_none:
        return
    if not isinstance(device_type, str):
        raise ValueError(f"{who}: expected device_type of type str, got {device_type!r} "
                         f"({type(device_type).__name__})")
    if device_type not in _DEFAULT_DTYPES:
        raise ValueError(f"{who}: device_type must be 'cpu' or 'cuda', got {device_type!r}")


class autocast(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name; a decorator too
    """PyTorch's ``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``.

    Runs disabled, as a no-op ``with`` block or decorator, wherever PyTorch's would be disabled
    (see the module docstring). Otherwise it raises ``ValueError``: an enabled autocast would
    silently compute in float32 (bfloat16, the CPU default, does not exist in NumPy at all).
    Cast yourself where you want float16 (``x.half()``), keep float32 parameters, and pass
    ``enabled=False`` (e.g. ``enabled=use_amp``) to keep the script's block.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        _check_device("autocast", device_type)
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: enabled must be True or False, got {enabled!r}")
        if cache_enabled is not None and not isinstance(cache_enabled, bool):
            raise TypeError(f"autocast: cache_enabled must be True, False or None, got "
                            f"{cache_enabled!r}")
        self.device = device_type
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = (is_autocast_cache_enabled() if cache_enabled is None
                               else cache_enabled)
        name = _dtype_name(self.fast_dtype)
        if enabled and device_type == "cuda" and not cuda_available():
            warnings.warn("autocast: device_type 'cuda', but CUDA is not available; disabling "
                          "autocast, as PyTorch does", UserWarning, stacklevel=2)
            enabled = False
        elif enabled and device_type == "cpu" and name not in ("bfloat16", "float16"):
            warnings.warn(f"autocast: CPU autocast supports bfloat16 and float16, got {name}; "
                          "disabling autocast, as PyTorch does", UserWarning, stacklevel=2)
            enabled = False
        self._enabled = enabled
        if not enabled:
            return
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
        dtypes = _dtypes()
        # saved per thread (blocks nest within a thread), so that one decorator instance
        # can run in several threads at once
        _state.saved = getattr(_state, "saved", [])
        _state.saved.append((dtypes[self.device], dtypes["cache"]))
        # as PyTorch: set even by a disabled block
        dtypes[self.device], dtypes["cache"] = self.fast_dtype, self._cache_enabled
        return self

    def __exit__(self, *exc) -> None:
        dtypes = _dtypes()
        dtypes[self.device], dtypes["cache"] = _state.saved.pop()
        return None


def get_autocast_dtype(device_type: str):
    """PyTorch's ``torch.get_autocast_dtype``: the dtype of the innermost ``autocast`` block of
    ``device_type`` in this thread (enabled or not), else its default (``bfloat16`` on the CPU,
    ``float16`` on CUDA)."""
    if isinstance(device_type, str):  # "cuda:0": PyTorch reads the type, ignores the index
        device_type = device_type.split(":")[0]
    _check_device("get_autocast_dtype", device_type)
    return _dtypes()[device_type]


def get_autocast_cpu_dtype():
    """PyTorch's older ``torch.get_autocast_cpu_dtype()``: ``get_autocast_dtype("cpu")``."""
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    """PyTorch's older ``torch.get_autocast_gpu_dtype()``: ``get_autocast_dtype("cuda")``."""
    return get_autocast_dtype("cuda")


def is_autocast_cpu_enabled() -> bool:
    """PyTorch's older ``torch.is_autocast_cpu_enabled()``: False, as ``is_autocast_enabled``."""
    return False


def is_autocast_cache_enabled() -> bool:
    """PyTorch's ``torch.is_autocast_cache_enabled()``: True unless the innermost ``autocast``
    block of this thread passed ``cache_enabled=False`` (there is no cast cache here)."""
    return _dtypes()["cache"]


def clear_autocast_cache() -> None:
    """PyTorch's ``torch.clear_autocast_cache()``: nothing to clear (no casts are cached)."""


def is_autocast_available(device_type: str) -> bool:
    """False: chainrule has no automatic mixed precision on any device (see the module
    docstring); PyTorch answers True for "cpu" and "cuda"."""
    if not isinstance(device_type, str):
        raise TypeError(f"is_autocast_available: device_type must be a str, got "
                        f"{type(device_type).__name__}")
    _check_torch_device("is_autocast_available", device_type)
    return False


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: no autocast region is ever on in chainrule (PyTorch's ``torch.is_autocast_enabled``,
    with or without a device type)."""
    if device_type is not None and not isinstance(device_type, str):
        raise TypeError(f"is_autocast_enabled: device_type must be a str or None, got "
                        f"{type(device_type).__name__}")
    if device_type is not None:
        _check_torch_device("is_autocast_enabled", device_type)
    return False


def _check_torch_device(who: str, device_type: str) -> None:
    if device_type.split(":")[0] not in _TORCH_DEVICE_TYPES:
        # as PyTorch: a typo ("gpu", "CPU") is an error, not a quiet False
        raise RuntimeError(f"{who}: device_type must be one of "
                           f"{', '.join(_TORCH_DEVICE_TYPES)}, got {device_type!r}")


_TORCH_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip",
                       "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                       "privateuseone")


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorate a custom Function's ``forward`` as PyTorch's ``torch.amp.custom_fwd``:
    ``@custom_fwd(device_type="cuda", cast_inputs=torch.float32)``.

    PyTorch casts the floating inputs to ``cast_inputs`` and turns autocast off inside
    ``forward`` when it runs in an autocast region, and does nothing outside one; chainrule's
    autocast is never on, so ``forward`` runs as it is. The context records that autocast was
    off, for ``custom_bwd``.
    """
    _check_type("custom_fwd", device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    if not callable(fwd):
        raise TypeError(f"custom_fwd: expected a forward function, got {type(fwd).__name__}")

    @functools.wraps(fwd)
    def forward(ctx, *args, **kwargs):
        # as PyTorch: the autocast dtype of forward's time, for custom_bwd
        ctx._fwd_used_autocast = False
        ctx._dtype = _dtypes()[device_type] if device_type in _DEFAULT_DTYPES else None
        return fwd(ctx, *args, **kwargs)

    return forward


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate a custom Function's ``backward`` as PyTorch's ``torch.amp.custom_bwd``: run it in
    the autocast state ``forward`` ran in, which in chainrule is always off (with forward's
    ``get_autocast_dtype``), so it runs as it is."""
    _check_type("custom_bwd", device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    if not callable(bwd):
        raise TypeError(f"custom_bwd: expected a backward function, got {type(bwd).__name__}")

    @functools.wraps(bwd)
    def backward(ctx, *grads):
        dtype = getattr(ctx, "_dtype", None)
        if device_type not in _DEFAULT_DTYPES or dtype is None:
            return bwd(ctx, *grads)
        with autocast(device_type, dtype=dtype, enabled=False):  # forward's dtype, as PyTorch
            return bwd(ctx, *grads)

    return backward


def _check_type(who, device_type) -> None:
    if not isinstance(device_type, str):
        raise ValueError(f"{who}: expected device_type of type str, got {device_type!r} "
                         f"({type(device_type).__name__})")


def _dtype_name(dtype) -> str:
    try:
        return numpy.dtype(dtype).name
    except TypeError:  # not a NumPy dtype (bfloat16, a torch.dtype): its own name
        return str(getattr(dtype, "name", dtype)).removeprefix("torch.")


def _cuda_autocast(enabled: bool = True, dtype=numpy.float16, cache_enabled: bool = True):
    """``torch.cuda.amp.autocast``: ``autocast("cuda", ...)``, PyTorch's older spelling."""
    return autocast("cuda", dtype, enabled, cache_enabled)


def _cpu_autocast(enabled: bool = True, dtype=bfloat16, cache_enabled: bool = True):
    """``torch.cpu.amp.autocast``: ``autocast("cpu", ...)``, PyTorch's older spelling."""
    return autocast("cpu", dtype, enabled, cache_enabled)


for _f in (_cuda_autocast, _cpu_autocast):
    _f.__name__ = _f.__qualname__ = "autocast"
del _f

def _cuda_custom_fwd(fwd=None, *, cast_inputs=None):
    """``torch.cuda.amp.custom_fwd``: ``custom_fwd(device_type="cuda", ...)``, the older
    spelling, bare (``@custom_fwd``) or called (``@custom_fwd(cast_inputs=torch.float32)``)."""
    return custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def _cuda_custom_bwd(bwd):
    """``torch.cuda.amp.custom_bwd``: ``custom_bwd(device_type="cuda")``, the older spelling."""
    return custom_bwd(bwd, device_type="cuda")


_cuda_custom_fwd.__name__ = _cuda_custom_fwd.__qualname__ = "custom_fwd"
_cuda_custom_bwd.__name__ = _cuda_custom_bwd.__qualname__ = "custom_bwd"
legacy = types.SimpleNamespace(cuda=_cuda_autocast, cpu=_cpu_autocast,
                               cuda_custom_fwd=_cuda_custom_fwd, cuda_custom_bwd=_cuda_custom_bwd)
