"""``ParameterList`` and ``ParameterDict``: containers that register their Parameters, so that
``parameters()``, optimizers and ``state_dict`` see them under PyTorch's keys ("0", "1"... for a
list, the dict's own keys for a dict)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

from ..autograd.tensor import Tensor
from ..ops.torch_misc import typename
from .containers import _int_index
from .module import Module
from .parameter import Parameter

__all__ = ["ParameterDict", "ParameterList"]


def _as_parameter(who: str, value) -> Parameter:
    """A Parameter as is; another Tensor or array becomes one (as PyTorch wraps plain tensors)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor) or hasattr(value, "dtype"):
        return Parameter(value)
    raise TypeError(f"{who}: values must be Parameters or Tensors, got {type(value).__name__}")


def _repr(key, p, kind: str) -> str:
    """One line of PyTorch's repr: the list shows the dtype, the dict the tensor type name
    (``chainrule.FloatTensor``); sizes as ``2x3``; lines indented two more spaces, as PyTorch's."""
    size = "x".join(str(n) for n in p.shape)
    device = f" ({p.device})" if str(p.device).startswith("cuda") else ""
    return f"  ({key}): Parameter containing: [{kind} of size {size}{device}]"


class ParameterList(Module):
    """A list of Parameters, registered as "0", "1", ... (``nn.ParameterList``).

    >>> import chainrule as cr
    >>> pl = ParameterList([cr.zeros(2), cr.zeros(3)])
    >>> [name for name, _ in pl.named_parameters()]
    ['0', '1']
    """

    def __init__(self, values: Iterable | None = None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, index) -> int:
        n = len(self)
        index = _int_index("ParameterList", index)
        if not -n <= index < n:
            raise IndexError(f"ParameterList: index {index} is out of range for {n} parameters")
        return index % n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList(list(self._parameters.values())[index])
        return self._parameters[str(self._index(index))]

    def __setitem__(self, index, value) -> None:
        self._parameters[str(self._index(index))] = _as_parameter("ParameterList", value)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(list(self._parameters.values()))

    def __iadd__(self, values: Iterable) -> ParameterList:
        return self.extend(values)

    def append(self, value) -> ParameterList:
        """Add ``value`` at the end (a Tensor is wrapped as a Parameter)."""
        self.register_parameter(str(len(self)), _as_parameter("ParameterList", value))
        return self

    def extend(self, values: Iterable) -> ParameterList:
        """Append each of ``values``."""
        if isinstance(values, (Tensor, str)) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList: extend needs an iterable of Parameters, got "
                            f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_repr(k, p, p.dtype) for k, p in self._parameters.items())


class ParameterDict(Module):
    """An ordered dict of Parameters, registered under its keys (``nn.ParameterDict``); a plain
    dict given to it is added in sorted key order, as PyTorch does."""

    def __init__(self, parameters: Mapping | Iterable | None = None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _key(self, key) -> str:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {key!r}")
        return key

    def __getitem__(self, key: str) -> Parameter:
        if key not in self._parameters:
            raise KeyError(key)
        return self._parameters[key]

    def __setitem__(self, key: str, value) -> None:
        key = self._key(key)
        value = _as_parameter("ParameterDict", value)
        if key in self._parameters:
            self._parameters[key] = value
        else:
            self.register_parameter(key, value)

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(list(self._parameters))

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key: str, default=None):
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Parameter:
        return self._parameters.pop(key)

    def popitem(self) -> tuple[str, Parameter]:
        """Remove and return the last (key, Parameter) pair."""
        if not self._parameters:
            raise KeyError("popitem(): ParameterDict is empty")
        return self._parameters.popitem()

    def setdefault(self, key: str, default=None) -> Parameter:
        """``self[key]``, first setting it to ``default`` (made a Parameter) when absent."""
        if key not in self._parameters:
            self[key] = default
        return self[key]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same Parameter objects, in the same order."""
        return ParameterDict(OrderedDict(self._parameters))

    def fromkeys(self, keys: Iterable[str], default=None) -> ParameterDict:
        """A new ParameterDict with each of ``keys`` set to ``default`` (a Tensor)."""
        return ParameterDict([(k, default) for k in keys])

    def __reversed__(self):
        return reversed(list(self._parameters))

    def __or__(self, other: ParameterDict) -> ParameterDict:
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other: ParameterDict) -> ParameterDict:
        merged = other.copy() if isinstance(other, ParameterDict) else ParameterDict(other)
        merged.update(self)
        return merged

    def __ior__(self, other: ParameterDict) -> ParameterDict:
        self.update(other)
        return self

    def clear(self) -> None:
        self._parameters.clear()

    def update(self, parameters: Mapping | Iterable) -> None:
        """Add or replace entries from a mapping or an iterable of (key, value) pairs. As in
        PyTorch, a plain dict's entries are added in sorted key order; an OrderedDict's,
        ParameterDict's or pair list's in their own order."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            items = parameters.items()
        elif isinstance(parameters, Mapping):
            items = sorted(parameters.items(), key=lambda kv: kv[0])
        else:
            items = parameters
        for pair in items:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"ParameterDict: update needs a mapping or (key, value) pairs, "
                                f"got an element {pair!r}")
            self[pair[0]] = pair[1]

    def extra_repr(self) -> str:
        return "\n".join(_repr(k, p, typename(p)) for k, p in self._parameters.items())
