"""PyTorch's remaining top-level utilities: ``as_tensor``, ``asarray``, ``scalar_tensor``,
``fill``, ``frombuffer``, ``empty_strided``, ``empty_permuted``, ``finfo``, ``iinfo``,
``typename``, ``is_storage``, ``get_rng_state``/``set_rng_state``.

``as_tensor``/``asarray``/``frombuffer`` share memory with a NumPy array or buffer where PyTorch
does (no copy, no cast). The random state is the default generator's (NumPy's PCG64, not
PyTorch's Mersenne Twister), packed into a uint8 tensor that ``set_rng_state`` takes back.
"""

from __future__ import annotations

import numbers

from ..autograd.tensor import Tensor, tensor
from ..backend import asnumpy, config, numpy
from ..backend.random import Generator, default_generator
from ._layout import check_factory_options
from .creation import _dtype, _leaf, _size, empty, full_like, numeric
from .elementwise import cast
from .methods import clone
from .shape import broadcast_to

__all__ = [
    "as_tensor", "asarray", "empty_permuted", "empty_strided", "fill", "finfo", "frombuffer",
    "get_rng_state", "iinfo", "is_storage", "scalar_tensor", "set_rng_state", "typename",
]


def as_tensor(data, *, dtype=None, device=None) -> Tensor:
    """``data`` as a Tensor: a Tensor of that dtype and device itself (cast otherwise, recorded),
    a NumPy array of that dtype without a copy, anything else as ``tensor(data, dtype=...)``.
    A sparse tensor stays itself (converted to ``dtype``), as PyTorch's."""
    if type(data) is not Tensor and hasattr(data, "_nnz"):  # was: wrapped as if an array
        return data if dtype is None else data.to(dtype)
    if isinstance(data, numpy.generic):  # was: Tensor(np.int64(5)), zeros of size 5
        data = numpy.asarray(data)
    if isinstance(data, Tensor):
        out = data if dtype is None or data.dtype == numpy.dtype(dtype) else cast(data, dtype)
        return out if device is None or out.device == device else out.to(device)
    if hasattr(data, "dtype") and hasattr(data, "shape") and (
            dtype is None or data.dtype == numpy.dtype(dtype)):
        data = numeric("as_tensor", data) if isinstance(data, numpy.ndarray) else data
        return _leaf("as_tensor", data, device, False)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad: bool = False) -> Tensor:
    """``obj`` as a Tensor, sharing memory with a Tensor or array where no conversion is needed
    (``copy=True`` always copies; ``copy=False`` refuses a conversion that would copy). A
    sparse tensor stays sparse, as PyTorch's (was: wrapped as if it were an array)."""
    if type(obj) is not Tensor and hasattr(obj, "_nnz"):
        out = obj if dtype is None else obj.to(dtype)
        out = out.clone() if copy and out is obj else out
        return out.requires_grad_() if requires_grad else out
    if isinstance(obj, numpy.generic):  # a NumPy scalar: 0-d (was: zeros of its value's size)
        obj = numpy.asarray(obj)
    if isinstance(obj, Tensor) or (hasattr(obj, "dtype") and hasattr(obj, "shape")):
        arr = obj._data if isinstance(obj, Tensor) else obj
        same = dtype is None or arr.dtype == numpy.dtype(dtype)
        if copy is False and not same:
            raise ValueError(f"asarray: copy=False, but converting dtype {arr.dtype} to "
                             f"{numpy.dtype(dtype)} needs a copy")
        if same and not copy:
            if isinstance(obj, Tensor) and not requires_grad:
                return obj
            arr = numeric("asarray", arr) if isinstance(arr, numpy.ndarray) else arr
            return _leaf("asarray", arr, device, requires_grad)
        return tensor(arr, dtype=dtype, device=device, requires_grad=requires_grad)
    if copy is False:
        raise ValueError(f"asarray: copy=False, but a {type(obj).__name__} must be copied")
    return tensor(obj, dtype=dtype, device=device, requires_grad=requires_grad)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False,
                  requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s``, of the default dtype unless ``dtype`` is given."""
    check_factory_options("scalar_tensor", layout, pin_memory)
    if not isinstance(s, numbers.Number):
        raise TypeError(f"scalar_tensor: s must be a number, got {type(s).__name__}")
    return _leaf("scalar_tensor", numpy.asarray(s, dtype=_dtype("scalar_tensor", dtype)),
                 device, requires_grad)


def fill(input, value) -> Tensor:  # noqa: A002
    """A tensor like ``input`` filled with ``value`` (a number, or a 0-d tensor, which then gets
    the gradient of every entry)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fill: input must be a Tensor, got {type(input).__name__}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(f"fill: value must be a number or a 0-d tensor, got shape "
                             f"{tuple(value.shape)}")
        return clone(broadcast_to(cast(value, input.dtype), tuple(input.shape)))
    return full_like(input, value)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D tensor over the bytes of ``buffer`` (no copy: it shares the memory)."""
    arr = numpy.frombuffer(buffer, dtype=numpy.dtype(dtype), count=count, offset=offset)
    return _leaf("frombuffer", arr, "cpu", requires_grad)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``empty(size)``: chainrule's tensors are dense, so ``stride`` is not kept."""
    check_factory_options("empty_strided", layout, pin_memory)
    if len(tuple(stride)) != len(tuple(size)):
        raise ValueError(f"empty_strided: size {tuple(size)} and stride {tuple(stride)} must "
                         "have the same length")
    return empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``empty(size)``: chainrule's tensors are dense, so the memory order is not kept."""
    check_factory_options("empty_permuted", layout, pin_memory)
    if sorted(physical_layout) != list(range(len(tuple(size)))):
        raise ValueError(f"empty_permuted: physical_layout {tuple(physical_layout)} must be a "
                         f"permutation of the {len(tuple(size))} dimensions")
    return empty(_size("empty_permuted", (tuple(size),)), dtype=dtype, device=device,
                 requires_grad=requires_grad)


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype (the default dtype without one): ``bits``, ``eps``,
    ``max``, ``min``, ``tiny`` = ``smallest_normal``, ``resolution``, ``dtype``."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        dt = numpy.dtype(config.default_dtype if type is None else type)
        if dt.kind != "f":
            raise TypeError(f"finfo: needs a floating point dtype, got {dt}; use iinfo")
        info = numpy.finfo(dt)
        self.bits, self.dtype = int(info.bits), str(dt)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # PyTorch's: a power of ten

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype: ``bits``, ``max``, ``min``, ``dtype``."""

    def __init__(self, type):  # noqa: A002 - PyTorch's argument name
        dt = numpy.dtype(type)
        if dt.kind not in "iu":
            raise TypeError(f"iinfo: needs an integer dtype, got {dt}; use finfo")
        info = numpy.iinfo(dt)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), \
            int(info.min), str(dt)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def typename(obj) -> str:
    """The type's name: ``"chainrule.FloatTensor"`` (``Tensor.type()``) for a Tensor, else the
    dotted module path and class name (a builtin's bare name)."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = "" if cls.__module__ in ("builtins", None) else cls.__module__ + "."
    return module + cls.__qualname__


def is_storage(obj) -> bool:
    """False: chainrule has no storage objects (a tensor's memory is its array)."""
    return False


# PCG64: 16 (state) + 16 (increment) + 1 (has_uint32) + 4 (uinteger), then the seed's 8 bytes
# (PyTorch's state holds the seed: set_rng_state puts initial_seed() back too). A state of the
# first 37 bytes alone, as written before the seed was added, is still taken.
_STATE_BYTES, _PCG64_BYTES = 45, 37


def _pcg64(name, gen=None):
    gen = default_generator() if gen is None else gen
    if not isinstance(gen.bit_generator, numpy.random.PCG64):
        raise TypeError(f"{name}: the generator must be NumPy's PCG64, got "
                        f"{type(gen.bit_generator).__name__}")
    return gen


def get_rng_state() -> Tensor:
    """The default generator's state as a uint8 tensor, for ``set_rng_state``."""
    return _state_of(None, "get_rng_state")


def set_rng_state(new_state) -> None:
    """Put back a state from ``get_rng_state`` into the default generator."""
    _put_state(None, new_state, "set_rng_state")


def _state_of(generator, who: str) -> Tensor:
    gen = _pcg64(who, generator)
    state = gen.bit_generator.state
    inner = state["state"]
    raw = (inner["state"].to_bytes(16, "little") + inner["inc"].to_bytes(16, "little")
           + bytes([state["has_uint32"]]) + int(state["uinteger"]).to_bytes(4, "little")
           + int(getattr(gen, "_seed", 0)).to_bytes(8, "little"))
    return Tensor(numpy.frombuffer(raw, dtype=numpy.uint8).copy())


def _put_state(generator, new_state, who: str) -> None:
    if not isinstance(new_state, Tensor) or new_state.dtype != numpy.uint8 \
            or new_state.shape not in ((_STATE_BYTES,), (_PCG64_BYTES,)):
        raise TypeError(f"{who}: new_state must be the uint8 tensor of {_STATE_BYTES} "
                        f"entries (or {_PCG64_BYTES}, without the seed) that "
                        "get_rng_state/get_state returns, got "
                        f"{getattr(new_state, 'dtype', type(new_state).__name__)} "
                        f"{tuple(getattr(new_state, 'shape', ()))}")
    raw = bytes(asnumpy(new_state._data))
    gen = _pcg64(who, generator)
    gen.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int.from_bytes(raw[:16], "little"),
                  "inc": int.from_bytes(raw[16:32], "little")},
        "has_uint32": raw[32], "uinteger": int.from_bytes(raw[33:37], "little")}
    if len(raw) == _STATE_BYTES and hasattr(gen, "_seed"):
        gen._seed = int.from_bytes(raw[37:], "little")


def _clone_state(self) -> Generator:
    """A new generator on the same device with a copy of this one's state."""
    twin = Generator(self.device)
    twin.bit_generator.state = self.bit_generator.state
    twin._seed = self._seed
    return twin


# torch.Generator's state methods, on chainrule's (a numpy Generator, in backend/random.py).
Generator.get_state = lambda self: _state_of(self, "Generator.get_state")
Generator.get_state.__doc__ = "This generator's state as a uint8 tensor, for ``set_state``."
Generator.set_state = lambda self, new_state: _put_state(self, new_state,
                                                         "Generator.set_state") or self
Generator.set_state.__doc__ = "Put back a state from ``get_state``; returns the generator."
Generator.clone_state = _clone_state
