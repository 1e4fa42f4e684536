"""Array backends: NumPy on the CPU, CuPy on NVIDIA GPUs (optional).

This is the only package of chainrule that names NumPy or CuPy for array code; everything above it
asks ``get_array_module(x)`` for the module that owns an array, so the same op runs on either
device.

It also holds chainrule's configuration (``settings.py``: ``chainrule.config``, the one reader of
the environment) and the choice of BLAS threads (``threads.py``: ``chainrule.set_num_threads``).
"""

from __future__ import annotations

import contextlib

import numpy

try:  # CuPy is optional: chainrule runs on the CPU without it.
    import cupy  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the machine
    cupy = None

from .device import device as _device
from .dtypes import bool_condition
from .linalg_errors import LinAlgError, lapack
from .memory import apply_malloc_tuning
from .meta import META_FACTORIES, NO_DATA, CopyOutError, MetaArray
from .settings import config, reference_mode, set_reference_mode
from .threads import apply_configured_threads, get_num_threads, set_num_threads

# The two things importing chainrule changes outside it: BLAS threads for the machine as it is,
# and glibc's malloc thresholds (backend/memory.py), each a documented setting.
apply_configured_threads()
if config.malloc_tuning:
    apply_malloc_tuning(True)
config._on_change("malloc_tuning", apply_malloc_tuning)

__all__ = [
    "DEVICES",
    "GPU_POSSIBLE",
    "LinAlgError",
    "MetaArray",
    "asnumpy",
    "bool_condition",
    "config",
    "cuda_available",
    "device_of",
    "ensure_array",
    "from_dlpack",
    "get_array_module",
    "get_num_threads",
    "lapack",
    "numpy",
    "quiet",
    "reference_mode",
    "set_num_threads",
    "set_reference_mode",
    "to_device",
    "validate_device",
]

DEVICES = ("cpu", "cuda", "meta")
# Without CuPy every array is a NumPy array, so device checks can be skipped on hot paths.
GPU_POSSIBLE = cupy is not None


def cuda_available() -> bool:
    """True when CuPy is importable and sees at least one GPU."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - CUDA runtime errors vary by driver
        return False


def get_array_module(*arrays):
    """Return the array module (numpy or cupy) that owns ``arrays``.

    Non-array arguments (Python scalars, None) are ignored; with no CuPy array among them it is
    NumPy.
    """
    if cupy is not None:
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                return cupy
    if not arrays and config.default_device == "meta":  # a new layer's arrays: no memory
        return META_FACTORIES
    return numpy


def device_of(array) -> str:
    """The device name ("cpu", "cuda" or "meta") an array lives on."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return "cuda"
    return "meta" if type(array) is MetaArray else "cpu"


def validate_device(device: str) -> str:
    """Normalize a device name ("cpu", "cuda", "cuda:0", "meta") and check that it is usable."""
    if isinstance(device, _device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {device!r}")
    name = device.split(":", 1)[0].lower()
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    if name == "cuda" and not cuda_available():
        raise RuntimeError(
            "device 'cuda' was requested but CuPy with a visible GPU is not available; "
            "install chainrule[cuda] on a machine with an NVIDIA GPU"
        )
    return name


def to_device(array, device: str):
    """Return ``array`` on ``device`` (a no-op when it is already there).

    To "meta": an array of the same shape and dtype holding nothing (backend/meta.py); from
    "meta" to another device: NotImplementedError, there are no values to copy (PyTorch's
    ``Module.to_empty`` gives a meta module fresh memory instead).
    """
    name = validate_device(device)
    if name == "meta":
        return array if type(array) is MetaArray else MetaArray(array.shape, array.dtype)
    if type(array) is MetaArray:
        raise CopyOutError(f"{NO_DATA} Use Module.to_empty() instead of Module.to() to "
                                  "give a module on the meta device memory on another device")
    if name == "cpu":
        return asnumpy(array)
    return cupy.asarray(array)


def ensure_array(a):
    """``a`` as an ndarray.

    NumPy turns 0-d results into scalars (numpy.float32), which we do not keep.
    """
    if isinstance(a, numpy.generic):
        return numpy.asarray(a)
    return a


def asnumpy(array):
    """Return a NumPy array with the contents of ``array`` (copying from the GPU if needed)."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy.asnumpy(array)
    return numpy.asarray(array)


class _Capsule:
    """A bare DLPack capsule (``to_dlpack``'s result) dressed as a producer for ``from_dlpack``."""

    def __init__(self, capsule, device):
        self.capsule, self.device = capsule, device

    def __dlpack__(self, **_):
        return self.capsule

    def __dlpack_device__(self):
        return self.device


def from_dlpack(obj):
    """The array that shares ``obj``'s memory through DLPack: NumPy's for a CPU producer, CuPy's
    for a CUDA one (an object with ``__dlpack__``, or a capsule, taken as CPU memory unless only
    CuPy can read it)."""
    if type(obj).__name__ == "PyCapsule":
        try:
            return numpy.from_dlpack(_Capsule(obj, (1, 0)))
        except (BufferError, RuntimeError, TypeError):
            if cupy is None:
                raise
            return cupy.from_dlpack(obj)
    kind = obj.__dlpack_device__()[0]
    if kind in (2, 3, 13) and cupy is not None:  # CUDA, CUDA host, CUDA managed memory
        return cupy.from_dlpack(obj)
    return numpy.from_dlpack(obj)


def quiet(xp):
    """A context in which the array module's floating-point warnings are off, for ops whose inf
    and nan results PyTorch gives silently (log(0) = -inf); CuPy warns of none and has no
    errstate."""
    return xp.errstate(all="ignore") if hasattr(xp, "errstate") else contextlib.nullcontext()
