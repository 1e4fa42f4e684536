"""PyTorch's device vocabulary over chainrule's backends: ``device``, ``cuda``, ``accelerator``.

A ``chainrule.device("cuda")`` names CuPy arrays on the GPU, ``device("cpu")`` NumPy arrays. The
``cuda`` and ``accelerator`` namespaces answer what PyTorch programs ask before choosing one.
"""

from __future__ import annotations

from types import SimpleNamespace

__all__ = ["accelerator", "check_pin_memory", "cuda", "device"]


class device(str):  # noqa: N801 - PyTorch's name
    """A device: ``device("cpu")``, ``device("cuda")``, ``device("cuda", 0)``, ``device("cuda:0")``,
    ``device("meta")`` (tensors with a shape and dtype but no values, backend/meta.py).

    It is also the string of its name (``"cuda:0"``), so code that treats a tensor's ``device``
    as a string keeps working; it compares equal to another device of the same type and index,
    and to its string. ``with device("meta"):`` makes it the default device of the tensors and
    layers made inside (PyTorch's context manager).
    """

    def __new__(cls, type, index=None):  # noqa: A002 - PyTorch's argument name
        spec = type
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda', got {spec!r}")
        name, _, idx = spec.partition(":")
        name = name.lower()
        if name not in ("cpu", "cuda", "meta"):
            raise ValueError(f"device: unknown device type {spec!r}; expected 'cpu', 'cuda' or "
                             "'meta'")
        if idx:
            if index is not None:
                raise ValueError(f"device: index given twice ({spec!r} and {index!r})")
            if not idx.isdigit():
                raise ValueError(f"device: invalid index in {spec!r}")
            index = int(idx)
        self = super().__new__(cls, name if index is None else f"{name}:{index}")
        self.type = name
        self.index = index
        return self

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"

    def __reduce__(self):
        return device, (self.type, self.index)

    def __eq__(self, other) -> bool:
        if isinstance(other, str) and not isinstance(other, device):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __ne__(self, other) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __enter__(self):
        from .settings import config

        self.__dict__.setdefault("_outer", []).append(config.default_device)
        from . import validate_device

        config.default_device = validate_device(self)
        return self

    def __exit__(self, *exc) -> None:
        from .settings import config

        config.default_device = self._outer.pop()


def _cuda_available() -> bool:
    from . import cuda_available

    return cuda_available()


def check_pin_memory(op: str, pin_memory, gpu=None) -> None:
    """Refuse a factory's ``pin_memory=True`` where no GPU is visible (``gpu()`` is False), with
    PyTorch's message (``gpu`` defaults to ``cuda.is_available``); a value that is no bool is a
    TypeError. With a GPU it is accepted: the
    tensor is an ordinary host array (chainrule allocates no page-locked memory)."""
    if pin_memory is None or pin_memory is False:
        return
    if not isinstance(pin_memory, bool):
        raise TypeError(f"{op}: pin_memory must be True or False, got {pin_memory!r}")
    if not (gpu or _cuda_available)():
        raise RuntimeError(f"{op}: pin_memory=True requires a CUDA or other accelerator "
                           "backend; no pinned memory allocator is available on this system.")


def _device_count() -> int:
    return 1 if _cuda_available() else 0


def _current_accelerator():
    return device("cuda") if _cuda_available() else None


def _cupy():
    """CuPy when it sees a GPU, else None (then the calls below have nothing to do)."""
    from . import cupy

    return cupy if _cuda_available() else None


def _synchronize(device=None) -> None:
    """Wait until the GPU has finished its queued work (nothing to wait for without one)."""
    cupy = _cupy()
    if cupy is not None:
        cupy.cuda.runtime.deviceSynchronize()


def _empty_cache() -> None:
    """Hand CuPy's cached, unused GPU (and pinned host) blocks back to the driver."""
    cupy = _cupy()
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()


def _cuda_manual_seed(seed) -> None:
    """Seed what GPU tensors' random draws come from. chainrule draws every random number on
    the host from its one default generator (backend/random.py), so with a GPU this seeds that
    generator (CPU draws included); without one it does nothing, as PyTorch's."""
    from .random import manual_seed, seed_argument

    seed = seed_argument("cuda.manual_seed", seed)
    if _cupy() is not None:
        manual_seed(seed)


cuda = SimpleNamespace(
    is_available=_cuda_available,
    device_count=_device_count,
    manual_seed=_cuda_manual_seed,
    manual_seed_all=_cuda_manual_seed,  # one device: the same
    synchronize=_synchronize,
    empty_cache=_empty_cache,
    is_bf16_supported=lambda including_emulation=True: False,  # NumPy/CuPy have no bfloat16
)
cuda.__doc__ = ("``cuda.is_available()``: True when CuPy sees a GPU; ``device_count()``, "
                "``synchronize()``, ``empty_cache()``, ``manual_seed(_all)`` (no-ops without one); "
                "``is_bf16_supported()`` is False.")

accelerator = SimpleNamespace(
    is_available=_cuda_available,
    current_accelerator=_current_accelerator,
    device_count=_device_count,
)
accelerator.__doc__ = "``accelerator.is_available()`` / ``current_accelerator()``: the GPU, if any."
