"""PyTorch's top-level constants, runtime switches and queries, and two samplers:
``e``, ``pi``, ``inf``, ``nan``, ``newaxis``; ``get/set_num_interop_threads``,
``set_warn_always``/``is_warn_always_enabled``, ``set_flush_denormal``, ``OutOfMemoryError``,
``get_device``; ``poisson`` and ``binomial``.

chainrule runs one op at a time on NumPy, so the switches that tune PyTorch's C++ runtime are
recorded and change nothing: ``set_num_interop_threads`` (chainrule has no pool that runs
independent ops side by side; ``set_num_threads`` sets the matrix-product threads) and
``set_warn_always`` (chainrule warns through Python's ``warnings``, whose filters decide how
often). ``set_flush_denormal`` cannot change the processor's floating-point mode from NumPy, so it
returns False, as PyTorch does on a processor without the mode, and denormals stay.
"""

from __future__ import annotations

import math
import numbers

from ..autograd.tensor import Tensor
from ..backend import asnumpy, device_of, get_array_module, to_device
from ..backend.random import resolve_rng
from ..backend.threads import machine

__all__ = ["OutOfMemoryError", "binomial", "e", "get_device", "get_num_interop_threads", "inf",
           "is_warn_always_enabled", "nan", "newaxis", "pi", "poisson", "set_flush_denormal",
           "set_num_interop_threads", "set_warn_always"]

e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None


class OutOfMemoryError(RuntimeError):
    """PyTorch's ``torch.OutOfMemoryError`` (also ``torch.cuda.OutOfMemoryError``): a
    RuntimeError, so ``except RuntimeError`` catches it. chainrule raises NumPy's ``MemoryError``
    or CuPy's ``OutOfMemoryError`` where memory runs out; this class is for code that names
    PyTorch's."""


_state = {"interop": None, "warn_always": False}


def _flag(who, value):
    if not isinstance(value, bool):
        raise TypeError(f"{who}: expects a bool, got {value!r} ({type(value).__name__})")
    return value


def get_num_interop_threads() -> int:
    """The number last given to ``set_num_interop_threads``; at first the CPUs this process may
    use (PyTorch's default is the physical cores). Recorded only, see the module docstring."""
    if _state["interop"] is None:
        return machine().cpus
    return _state["interop"]


def set_num_interop_threads(num: int) -> None:
    """Record PyTorch's inter-op thread count (a positive int); chainrule has no inter-op pool."""
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 1:
        raise ValueError(f"set_num_interop_threads: num must be a positive int, got {num!r}")
    _state["interop"] = int(num)


def set_warn_always(b: bool) -> None:
    """Record PyTorch's switch that makes its once-only C++ warnings warn every time; chainrule's
    warnings go through Python's ``warnings`` filters, which decide how often."""
    _state["warn_always"] = _flag("set_warn_always", b)


def is_warn_always_enabled() -> bool:
    """The value last given to ``set_warn_always`` (False at first)."""
    return _state["warn_always"]


def set_flush_denormal(mode: bool) -> bool:
    """PyTorch's switch to flush denormal floats to zero. NumPy leaves the processor's
    floating-point mode alone and chainrule cannot set it, so this returns False (the mode is not
    supported here, as PyTorch answers on a processor without it) and nothing changes."""
    _flag("set_flush_denormal", mode)
    return False


def get_device(input) -> int:  # noqa: A002 - PyTorch's name
    """The GPU index of ``input``'s memory, -1 on the CPU (``input.get_device()``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"get_device: input must be a Tensor, got {type(input).__name__}")
    return input.get_device()


def _float_tensor(who, name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor, got {type(value).__name__}")
    if value._data.dtype.kind != "f":
        raise TypeError(f"{who}: {name} must be a floating-point tensor, got dtype "
                        f"{value._data.dtype}")
    return asnumpy(value._data)


def _result(draws, like: Tensor) -> Tensor:
    return Tensor(to_device(draws.astype(like._data.dtype), device_of(like._data)))


def poisson(input, generator=None) -> Tensor:  # noqa: A002 - PyTorch's name
    """Poisson draws, one per entry, with the rates ``input`` (a float tensor, rates >= 0), in
    its dtype. The draws carry no gradient (PyTorch's gradient of them is zero).

    ``generator``: a ``chainrule.Generator`` (or any numpy.random.Generator), None the default.
    """
    rates = _float_tensor("poisson", "input", input)
    xp = get_array_module(rates)
    if rates.size and not bool(xp.all(rates >= 0)):  # NaN fails too
        raise ValueError(f"poisson: rates must be non-negative, got values from "
                         f"{float(rates.min())} to {float(rates.max())}")
    rng = resolve_rng(generator, "poisson")
    return _result(rng.poisson(rates), input)


def binomial(count, prob, generator=None) -> Tensor:
    """Binomial draws: the number of successes in ``count`` trials of probability ``prob``
    (float tensors of one dtype that broadcast; counts whole and >= 0, probabilities in [0, 1]), in
    ``count``'s dtype. The draws carry no gradient, as in PyTorch (which has none to give).

    ``generator``: a ``chainrule.Generator`` (or any numpy.random.Generator), None the default.
    """
    n = _float_tensor("binomial", "count", count)
    p = _float_tensor("binomial", "prob", prob)
    if n.dtype != p.dtype:  # as PyTorch's ("Found dtype Double but expected Float")
        raise TypeError(f"binomial: count and prob must have one dtype, got {n.dtype} and "
                        f"{p.dtype}")
    if n.size and not bool(((n >= 0) & (n == n.round())).all()):
        raise ValueError(f"binomial: count must hold whole numbers >= 0, got values from "
                         f"{float(n.min())} to {float(n.max())}")
    if p.size and not bool(((p >= 0) & (p <= 1)).all()):
        raise ValueError(f"binomial: prob must lie in [0, 1], got values from {float(p.min())} "
                         f"to {float(p.max())}")
    rng = resolve_rng(generator, "binomial")
    return _result(rng.binomial(n.astype("int64"), p), count)
