"""PyTorch's legacy typed constructors: ``FloatTensor``, ``DoubleTensor``, ``LongTensor``...

Old programs (char-rnn, the WGAN-GP toy script, early tutorials) call them in two ways:
``torch.LongTensor(batch, length)`` makes a tensor of that size (PyTorch leaves it
uninitialized; here it is zeros) and ``torch.FloatTensor([1, 2])`` makes one from data. Each is a
class only so that ``isinstance(x, torch.FloatTensor)`` asks for that dtype and
``x.type(torch.LongTensor)`` can name it; calling one returns a plain Tensor.
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.tensor import Size, Tensor, tensor
from ..backend import validate_device
from ..backend.defaults import set_default_device, set_default_dtype
from .creation import zeros

__all__ = ["BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor",
           "HalfTensor", "IntTensor", "LongTensor", "ShortTensor", "set_default_tensor_type"]


class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and str(obj.dtype) == cls._dtype

    def __call__(cls, *args, device=None):
        name = cls.__name__
        if device is not None and validate_device(device) != "cpu":
            raise RuntimeError(f"{name}: legacy constructors make CPU tensors; got device "
                               f"{device!r}")
        if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
            return zeros(*(args or (0,)), dtype=cls._dtype)  # () -> an empty tensor, as PyTorch's
        if len(args) != 1:
            raise TypeError(f"{name}() takes sizes (ints) or one sequence of data, got "
                            f"{tuple(type(a).__name__ for a in args)}")
        data = args[0]
        if isinstance(data, Size):
            return zeros(*data, dtype=cls._dtype)
        if isinstance(data, Tensor):
            if str(data.dtype) != cls._dtype:
                raise TypeError(f"{name}(tensor): expected a {cls._dtype} tensor, got "
                                f"{data.dtype} (use tensor.to(dtype) to convert)")
            return data
        if isinstance(data, numbers.Number):
            raise TypeError(f"{name}(data): data must be a sequence, got "
                            f"{type(data).__name__} {data!r}")
        return tensor(data, dtype=cls._dtype)


def _legacy(name: str, dtype: str):
    doc = (f"``{name}(*sizes)``: zeros of that size; ``{name}(data)``: "
           f"``tensor(data, dtype={dtype})``.")
    return _LegacyType(name, (), {"_dtype": dtype, "__doc__": doc, "__module__": "chainrule"})


FloatTensor = _legacy("FloatTensor", "float32")
DoubleTensor = _legacy("DoubleTensor", "float64")
HalfTensor = _legacy("HalfTensor", "float16")
LongTensor = _legacy("LongTensor", "int64")
IntTensor = _legacy("IntTensor", "int32")
ShortTensor = _legacy("ShortTensor", "int16")
CharTensor = _legacy("CharTensor", "int8")
ByteTensor = _legacy("ByteTensor", "uint8")
BoolTensor = _legacy("BoolTensor", "bool")
_BY_NAME = {t.__name__: t for t in (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor,
                                    ShortTensor, CharTensor, ByteTensor, BoolTensor)}


def set_default_tensor_type(t) -> None:
    """PyTorch's deprecated ``set_default_tensor_type``: ``set_default_dtype`` of a floating
    legacy type (``DoubleTensor``, or its name ``"torch.DoubleTensor"``), and for a name with
    ``.cuda.`` also ``set_default_device("cuda")``; with PyTorch's deprecation warning."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    name = t if isinstance(t, str) else getattr(t, "__name__", None)
    if not isinstance(t, (str, _LegacyType)) or name.rsplit(".", 1)[-1] not in _BY_NAME:
        raise TypeError(f"set_default_tensor_type: expected a legacy tensor type such as "
                        f"DoubleTensor or 'torch.DoubleTensor', got {t!r}")
    dtype = _BY_NAME[name.rsplit(".", 1)[-1]]._dtype
    if dtype not in ("float16", "float32", "float64"):
        raise TypeError(f"set_default_tensor_type: only floating-point types are supported as "
                        f"the default type, got {name}")
    if ".cuda." in f".{name}":  # first: without a GPU this raises and nothing changes
        set_default_device("cuda")
    set_default_dtype(dtype)
