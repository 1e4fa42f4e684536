"""PyTorch's switches for determinism and matmul precision, and ``chainrule.backends.cudnn``.

chainrule computes on NumPy (CuPy on a GPU) without autotuned or atomics-based kernels, so its
results are already the same from run to run on the CPU: these switches are recorded, so that a
PyTorch training script that sets them runs unchanged, and change no result.
``torch.backends.cudnn.deterministic = True``, ``torch.backends.cuda.matmul.allow_tf32 = True``
and the like are accepted the same way (``backends.cudnn``, ``backends.cuda``); the device probes
``backends.mps.is_available()``, ``backends.cudnn.is_available()`` are False.

>>> import chainrule as cr
>>> cr.use_deterministic_algorithms(True)
>>> cr.are_deterministic_algorithms_enabled()
True
>>> cr.use_deterministic_algorithms(False)
>>> cr.get_float32_matmul_precision()
'highest'
"""

from __future__ import annotations

from . import cuda, cudnn, mps

__all__ = ["are_deterministic_algorithms_enabled", "cuda", "cudnn", "get_deterministic_debug_mode",
           "get_float32_matmul_precision", "is_deterministic_algorithms_warn_only_enabled", "mps",
           "set_deterministic_debug_mode", "set_float32_matmul_precision",
           "use_deterministic_algorithms"]

_switches = {"deterministic": False, "warn_only": False, "matmul_precision": "highest"}
_PRECISIONS = ("highest", "high", "medium")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record PyTorch's determinism switch (chainrule's CPU ops are deterministic already).

    Args:
        mode: True to ask for deterministic algorithms.
        warn_only: PyTorch warns instead of raising for an op without a deterministic version;
            chainrule has no such op.
    """
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, bool):
            raise TypeError(
                f"use_deterministic_algorithms: {name} must be True or False, got {value!r}"
            )
    _switches["deterministic"], _switches["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    """The ``mode`` last given to ``use_deterministic_algorithms`` (False at first)."""
    return _switches["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` last given to ``use_deterministic_algorithms`` (False at first)."""
    return _switches["warn_only"]


_DEBUG_MODES = ("default", "warn", "error")


def set_deterministic_debug_mode(debug_mode) -> None:
    """PyTorch's other spelling of ``use_deterministic_algorithms``: 0 or "default" turns it off,
    1 or "warn" is ``(True, warn_only=True)``, 2 or "error" is ``(True)``."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise ValueError(f"set_deterministic_debug_mode: debug_mode must be 'default', "
                             f"'warn' or 'error', got {debug_mode!r}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif isinstance(debug_mode, bool) or not isinstance(debug_mode, int):
        raise TypeError(f"set_deterministic_debug_mode: debug_mode must be a str or an int, got "
                        f"{debug_mode!r} ({type(debug_mode).__name__})")
    if debug_mode not in (0, 1, 2):
        raise ValueError(f"set_deterministic_debug_mode: debug_mode must be 0, 1 or 2, got "
                         f"{debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 when deterministic algorithms are off, 1 when on with ``warn_only``, else 2."""
    if not _switches["deterministic"]:
        return 0
    return 1 if _switches["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """Record PyTorch's float32 matmul precision: ``"highest"``, ``"high"`` or ``"medium"``.

    PyTorch may then use TF32 or bfloat16 inside float32 products on GPUs that have them;
    chainrule's float32 products are always full float32 ("highest"), whatever is recorded.
    """
    if precision not in _PRECISIONS:
        raise ValueError(
            "set_float32_matmul_precision: precision must be 'highest', 'high' or 'medium', got "
            f"{precision!r}"
        )
    _switches["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    """The precision last given to ``set_float32_matmul_precision`` ("highest" at first)."""
    return _switches["matmul_precision"]
