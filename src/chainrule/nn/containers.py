"""Containers: Sequential (a chain of layers), ModuleList and ModuleDict (registered groups)."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .module import Module

__all__ = ["ModuleDict", "ModuleList", "Sequential"]


def _check_module(who: str, module) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{who}: expected a Module, got {type(module).__name__}")
    return module


def _int_index(who: str, index, expected: str = "an int or a slice") -> int:
    """``index`` as a Python int: an int, a NumPy int or a 0-d integer tensor, as PyTorch's
    containers take (``operator.index``); a bool is refused (PyTorch would read True as 1)."""
    try:
        if isinstance(index, bool):
            raise TypeError
        return operator.index(index)
    except TypeError:
        raise TypeError(f"{who}: index must be {expected}, got {type(index).__name__} "
                        f"{index!r}") from None


def _position(who: str, index, n: int) -> int:
    """``index`` (negative counts from the end) as a position in ``range(n)``."""
    index = _int_index(who, index)
    if not -n <= index < n:
        raise IndexError(f"{who}: index {index} is out of range for {n} modules")
    return index % n


class _IndexedModules(Module):
    """Modules registered under the keys "0", "1", ...: what Sequential and ModuleList share."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return type(self)._from_items(items[index])
        return items[_position(type(self).__name__, index, len(items))][1]

    def __setitem__(self, index, module: Module) -> None:
        who = type(self).__name__
        key = list(self._modules)[_position(who, index, len(self))]
        self._modules[key] = _check_module(who, module)  # in place: the order must not change

    def __delitem__(self, index) -> None:
        keys = list(self._modules)
        targets = keys[index] if isinstance(index, slice) else [
            keys[_position(type(self).__name__, index, len(keys))]]
        for key in targets:
            del self._modules[key]
        self._renumber(always=True)

    def _renumber(self, always: bool = False) -> None:
        # Keep the keys "0".."n-1" (state-dict names) after a deletion or insertion, as in PyTorch;
        # a deletion renumbers named (OrderedDict) layers too, as PyTorch's (they kept their names).
        if always or all(k.isdigit() for k in self._modules):
            modules = list(self._modules.values())
            self._modules.clear()
            self._modules.update((str(i), m) for i, m in enumerate(modules))

    @classmethod
    def _from_items(cls, items):
        return cls(m for _, m in items)

    def append(self, module: Module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(type(self).__name__, module))
        return self

    def extend(self, modules: Iterable[Module]):
        """Append every module of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module):
        """Insert ``module`` before position ``index`` (``-len <= index <= len``); returns self."""
        who = type(self).__name__
        index = _int_index(f"{who}.insert", index, "an int")
        items = list(self._modules.items())
        if not -len(items) <= index <= len(items):  # PyTorch's IndexError, not list's clamping
            raise IndexError(f"{who}.insert: index {index} is out of range for {len(items)} "
                             "modules")
        key = str(len(items))
        while key in self._modules:  # named (OrderedDict) layers keep their names: avoid a clash
            key = "_" + key
        items.insert(index, (key, _check_module(who, module)))
        self._modules.clear()
        self._modules.update(items)
        self._renumber()
        return self

    def __add__(self, other: Iterable[Module]):
        """A new container of this one's modules then ``other``'s (renumbered, as PyTorch)."""
        return type(self)().extend(self).extend(other)

    def __iadd__(self, other: Iterable[Module]):
        return self.extend(other)

    def pop(self, index=-1):
        """Remove and return the module at ``index`` (a slice: those modules, as a container)."""
        module = self[index]
        del self[index]
        return module


class Sequential(_IndexedModules):
    """Layers applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Layers are named "0", "1", ... (or by the keys of an OrderedDict passed as the only argument),
    which become their state-dict prefixes, as in PyTorch. Each layer runs as it is:
    ``nn.fuse(model)`` is the explicit call that fuses a layer with the ReLU after it.

    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Identity(), nn.Identity())
    >>> len(model), model[-1]
    (2, Identity())
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            super().__init__()
            for name, m in modules[0].items():
                self.add_module(name, _check_module("Sequential", m))
        else:
            super().__init__(modules)

    @classmethod
    def _from_items(cls, items):
        return cls(OrderedDict(items))

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def _times(self, count) -> list:
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError(f"unsupported operand type(s) for *: 'Sequential' and "
                            f"'{type(count).__name__}'")
        if count <= 0:
            raise ValueError(f"Sequential * {count}: the factor must be positive")
        return list(self) * count

    def __mul__(self, count: int) -> Sequential:
        """A new Sequential of these layers ``count`` times over (the same layer objects, so
        their parameters are shared), as PyTorch's."""
        return Sequential(*self._times(count))

    __rmul__ = __mul__

    def __imul__(self, count: int) -> Sequential:
        return self.extend(self._times(count)[len(self):])


class ModuleList(_IndexedModules):
    """A list of modules whose parameters belong to the parent (a plain list would hide them).

    >>> from chainrule import nn
    >>> layers = nn.ModuleList([nn.Identity() for _ in range(3)])
    >>> len(layers)
    3
    >>> layers
    ModuleList(
      (0-2): 3 x Identity()
    )
    """

    def __repr__(self) -> str:
        """PyTorch's: a run of equal entries is one line, ``(first-last): count x entry``."""
        runs: list[list] = []  # [first index, last index, repr]
        for i, module in enumerate(self):
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        if not runs:
            return f"{type(self).__name__}()"
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + text.replace(
            "\n", "\n  ") for a, b, text in runs]
        return type(self).__name__ + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules (string keys, insertion order) whose parameters belong to the parent.

    >>> from chainrule import nn
    >>> heads = nn.ModuleDict({"a": nn.Identity()})
    >>> "a" in heads, list(heads)
    (True, ['a'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module {key!r}; keys are {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if key in self._modules:
            self._modules[key] = _check_module("ModuleDict", module)
        else:
            self.add_module(key, _check_module("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules) -> None:
        """Add or replace modules from a mapping or an iterable of (key, module) pairs."""
        items = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for entry in items:
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise TypeError(f"ModuleDict.update: expected (key, module) pairs, got {entry!r}")
            self[entry[0]] = entry[1]

    def pop(self, key: str) -> Module:
        module = self[key]
        del self._modules[key]
        return module

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()
