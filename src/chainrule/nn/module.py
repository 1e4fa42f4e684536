"""Module, Parameter and Buffer: the bookkeeping that turns a function with weights into a layer.

A ``Module`` registers every ``Parameter``, ``Buffer`` and sub-``Module`` assigned to one of its
attributes, in assignment order, so that ``parameters()``, ``state_dict()``, ``train()``/``eval()``
and ``to(device)`` reach all of them. Keys and orders follow PyTorch, so a model built the same
way in both libraries exchanges state dicts unchanged.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator, Mapping

from ..autograd.tensor import Tensor
from ..autograd.zero_grad import zero_grad_in_place
from ..backend import get_array_module, validate_device
from ..backend.device import device as _device_type
from ..ops.memory_format import check_format
from .factory import add_factory_kwargs
from .hooks import ANY_GLOBAL, Hooks, RemovableHandle
from .module_access import Access
from .parameter import Buffer, Parameter
from .state import ArgumentKindError, IncompatibleKeys, buffer_of, check_name, is_saved
from .state_hooks import StateHooks, collect_state, load_state
from .summary import summarize

__all__ = ["Buffer", "IncompatibleKeys", "Module", "Parameter", "RemovableHandle"]

class Module(Hooks, StateHooks, Access):
    """Base class of every layer and model: subclass it, assign layers, define forward.

    >>> import chainrule as cr
    >>> class Scale(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.factor = Parameter(cr.tensor([2.0]))
    ...     def forward(self, x):
    ...         return x * self.factor
    >>> m = Scale()
    >>> m(cr.tensor([1.0, 3.0])).tolist()
    [2.0, 6.0]
    >>> [name for name, _ in m.named_parameters()]
    ['factor']
    """

    training: bool

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        add_factory_kwargs(cls)  # device= and dtype= on chainrule's layers (nn/factory.py)

    def __init__(self):
        # object.__setattr__ because our own __setattr__ needs these dictionaries to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_forward_hooks", {})

    def _stores(self, name: str):
        stores = self.__dict__.get("_parameters"), self.__dict__.get("_buffers")
        if stores[0] is None:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() has run; call super().__init__() "
                f"first in {type(self).__name__}.__init__"
            )
        return stores[0], stores[1], self.__dict__["_modules"]

    def _forget(self, name: str, keep=None) -> None:
        # ``keep`` (the store ``name`` goes to) keeps its place: PyTorch's order when replacing.
        self.__dict__.pop(name, None)
        for store in self._stores(name):
            if store is not keep:
                store.pop(name, None)

    def _unclaimed(self, who: str, name, store: dict) -> None:
        """Refuse (KeyError, as PyTorch) a name that is another attribute, e.g. "training"."""
        check_name(who, name)
        if name not in store and hasattr(self, name):
            raise KeyError(f"{who}: attribute {name!r} already exists on {type(self).__name__}")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params, buffers, modules = (d.get(k) or {} for k in ("_parameters", "_buffers", "_modules"))
        kind = type(self).__name__
        taken = "parameter" if name in params else "submodule" if name in modules else None
        if isinstance(value, (Buffer, Module)) and taken and not isinstance(value, Parameter) and (
                taken == "parameter" or isinstance(value, Buffer)):
            raise TypeError(  # PyTorch: only a Parameter replaces a parameter, None empties it
                f"{kind}: cannot assign {type(value).__name__} to {taken} {name!r}; delete it first"
            )
        if isinstance(value, (Parameter, Buffer, Module)):
            params, buffers, modules = self._stores(name)
            store = params if isinstance(value, Parameter) else (
                buffers if isinstance(value, Buffer) else modules)
            self._forget(name, keep=store)
            if store is not modules:  # as PyTorch: a class attribute such as "forward" is refused
                self._unclaimed(f"{kind}.{name} =", name, store)
            store[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"{kind}: cannot assign {type(value).__name__} to parameter {name!r}; "
                    "expected a Parameter or None (wrap the value in nn.Parameter)"
                )
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{kind}: cannot assign {type(value).__name__} to buffer {name!r}; "
                    "expected a Tensor or None"
                )
            old = buffers[name]
            persistent = is_saved(self, name, old)  # a None one remembers register_buffer's
            buffers[name] = None if value is None else buffer_of(value, persistent)
            self._persist(name, persistent)
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"{kind}: cannot assign {type(value).__name__} to submodule {name!r}; "
                    "expected a Module or None"
                )
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        d = self.__dict__  # never self._parameters here: that would recurse before __init__ has run
        for key in ("_parameters", "_buffers", "_modules"):
            store = d.get(key)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for key in ("_parameters", "_buffers", "_modules"):
            store = self.__dict__.get(key)
            if store is not None and name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def __dir__(self):
        extra = itertools.chain(self._parameters, self._buffers, self._modules)
        return sorted(set(super().__dir__()) | set(extra))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a declared but absent parameter such as ``bias=False``)."""
        self._unclaimed("register_parameter", name, self._stores(name)[0])
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter or None, "
                f"got {type(param).__name__}"
            )
        self._stores(name)[0][name] = param

    def _persist(self, name: str, persistent: bool) -> None:
        # Kept by name too, so that a buffer emptied (None) and refilled keeps it, as PyTorch.
        if persistent:
            self.__dict__.get("_unsaved", set()).discard(name)
        else:
            self.__dict__.setdefault("_unsaved", set()).add(name)

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register ``tensor`` (Tensor, array or None) as a buffer; ``persistent=False``: not
        saved."""
        self._unclaimed("register_buffer", name, self._stores(name)[1])
        if tensor is not None and not (isinstance(tensor, Tensor) or (
                hasattr(tensor, "shape") and hasattr(tensor, "dtype"))):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor, an array or None, got "
                            f"{type(tensor).__name__}")  # as PyTorch's (this kept a number)
        buffer = None if tensor is None else buffer_of(tensor, persistent)
        self._persist(name, persistent)
        self._stores(name)[1][name] = buffer

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (the same as assigning it to an attribute)."""
        self._unclaimed("add_module", name, self._stores(name)[2])
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module: {name!r} must be a Module or None, got {type(module).__name__}"
            )
        self._stores(name)[2][name] = module

    register_module = add_module

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or ANY_GLOBAL):  # nn/hooks.py: global hooks
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)  # nn/hooks.py

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and all below it as (dotted name, module), depth first; shared ones once.
        ``memo``: PyTorch's set of modules to skip, filled as it goes."""
        if isinstance(memo, str):  # chainrule's earlier positional form: named_modules(prefix)
            memo, prefix = None, memo
        memo = set() if memo is None else memo
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                path = f"{prefix}.{name}" if prefix else name
                yield from child.named_modules(memo, path, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool):
        memo = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if (
            recurse) else [(prefix, self)]
        for path, m in mods:
            for name, t in getattr(m, store).items():
                if t is None or (remove_duplicate and id(t) in memo):
                    continue
                memo.add(id(t))
                yield (f"{path}.{name}" if path else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True, *,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs: each module's own in assignment order, then children's.

        A Parameter reachable under several names (weight sharing) comes once, under its first name.
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every Parameter of this module (and below it with ``recurse``), each shared one once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, *,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Buffer]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Buffer]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on each submodule (children first), then on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def train(self, mode: bool = True) -> Module:
        """Set training (``mode=True``) or evaluation mode here and below; returns self."""
        if not isinstance(mode, bool):
            raise ArgumentKindError(f"train: mode must be a bool, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, normalization uses running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``.grad = None``), or fill it with zeros (False)."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            else:  # in place, as PyTorch: a held reference sees the zeros
                zero_grad_in_place(p)

    def num_parameters(self, *, trainable_only: bool = False) -> int:
        """Number of parameter elements (shared parameters counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def state_dict(self, *args, destination=None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """Dotted name -> Tensor: each module's parameters, then its persistent buffers and extra
        state, then its children's; state-dict hooks run as PyTorch's (nn/state_hooks.py).

        The Tensors are detached but share memory with the model (as in PyTorch): copy them to keep
        a snapshot that later training steps do not change. ``keep_vars=True`` returns the
        Parameters and Buffers themselves; ``destination``: a mapping to fill.
        """
        if args:  # PyTorch's deprecated positional form: destination, prefix, keep_vars
            destination, prefix, keep_vars = (*args, *(destination, prefix, keep_vars)[len(args):])
        return collect_state(self, destination, prefix, keep_vars)

    def _state_items(self, prefix: str):
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and is_saved(self, name, b):
                yield prefix + name, b
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_items(f"{prefix}{name}.")

    def load_state_dict(self, state_dict: Mapping, strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy ``state_dict`` (dotted name -> Tensor or array) into the parameters and buffers.

        Values are copied into the existing arrays, cast to their dtype and moved to their device,
        so optimizers that hold the Parameters keep working. Nothing is copied unless every check
        passes.

        Args:
            state_dict: a mapping such as the result of ``state_dict()`` (ours or PyTorch's).
            strict: when True, missing and unexpected keys are errors; shape mismatches always are.
            assign: True adopts the given tensors (their dtype, device and memory) as the new
                Parameters (keeping ``requires_grad``) and Buffers, as PyTorch's: a model built
                on the meta device, then given its checkpoint.

        Returns:
            ``(missing_keys, unexpected_keys)`` as lists.

        Raises:
            ValueError: listing every missing key, unexpected key and shape mismatch at once.

        Load pre-hooks may rename keys first; load post-hooks may forgive missing or unexpected
        keys (then the values are copied before the strict check, as in PyTorch).
        """
        return load_state(self, state_dict, strict, assign)  # nn/state_hooks.py

    def to(self, device=None, dtype=None, non_blocking=False, *, memory_format=None) -> Module:
        """Move parameters, buffers and gradients to ``device`` and/or cast to ``dtype``.

        As PyTorch's: ``dtype`` is a floating-point or complex dtype, and it applies to the
        floating-point and complex entries (a complex one cast to a real dtype keeps its real
        part, with PyTorch's warning); integer entries keep theirs. Parameters keep their identity;
        returns self. ``to(device, dtype)``, ``to(dtype)``, ``to(tensor)`` (its dtype) as PyTorch;
        ``non_blocking``, a ``memory_format`` (``channels_last``) are accepted.
        """
        if memory_format is not None:
            check_format("Module.to", memory_format)
        if device is not None and not isinstance(device, (str, _device_type)) and (
                dtype is None or isinstance(dtype, bool)):  # to(dtype or tensor[, non_blocking])
            device, dtype = None, device
        if dtype is not None:
            dtype = get_array_module().dtype(dtype)
            if dtype.kind not in "fc":
                raise TypeError(f"Module.to: dtype must be floating-point or complex, got {dtype}")
        return self._cast(None if device is None else validate_device(device), dtype, "fc")

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        return self.to("cuda")

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (its hyperparameters)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [
            f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()
        ]
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        return type(self).__name__ + "(\n  " + "\n  ".join(lines + children) + "\n)"

    def summary(self, input_shape, *, dtype="float32"):
        """Run a zero input through the model and tabulate each layer's output shape and parameters.

        The forward pass runs under ``no_grad`` in evaluation mode (running statistics are left
        alone), and the training flags are restored afterwards.

        Args:
            input_shape: shape of one input batch, e.g. ``(1, 784)``, or of one sample, e.g.
                ``(1, 28, 28)`` for a LeNet: a shape the model rejects is retried with a batch
                axis of 1 in front (as Keras and torchinfo take it).
            dtype: dtype of the zero input ("int64" for models that start with an Embedding).

        Returns:
            A ``ModelSummary``; its text is the table (``print(model.summary((1, 784)))``).
        """
        return summarize(self, input_shape, dtype)

