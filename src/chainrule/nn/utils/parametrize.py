"""Parametrizations, PyTorch's ``torch.nn.utils.parametrize``: a tensor of a module computed from
learned originals at every access.

After ``register_parametrization(layer, "weight", Symmetric())``, ``layer.weight`` is
``Symmetric()(original)``, recomputed (and recorded for backward) each time it is read; the learned
tensor is ``layer.parametrizations.weight.original`` (``original0``, ``original1``... when the
parametrization's ``right_inverse`` returns a tuple). Several parametrizations of one tensor are
applied in the order they were registered. The state dict keys are PyTorch's
(``parametrizations.weight.original``), so state dicts move between the two libraries.

How ``layer.weight`` computes: as in PyTorch, the module's class is swapped for a subclass made
for this one module (``ParametrizedLinear``) that has a ``property`` per parametrized name. A
property is found by Python's ordinary attribute lookup before ``Module.__getattr__`` is
consulted, so the layer's own code (``self.weight``) reads the parametrized value unchanged, while
every other module keeps its class, its ``__getattr__`` and its ``__call__`` exactly as fast as
before. Assigning ``layer.weight = value`` goes through the property too: it sets the originals to
``right_inverse(value)``. ``type_before_parametrizations(layer)`` is the class before the swap;
removing the last parametrization restores it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from ...autograd import Tensor, no_grad
from ..containers import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Buffer, Parameter

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "transfer_parametrizations_and_params",
           "type_before_parametrizations"]

# Inside ``cached()``: (id(module), name) -> the value computed on first access.
_cache: ContextVar[dict | None] = ContextVar("chainrule_parametrize_cache", default=None)


@contextmanager
def cached():
    """Inside the block, each parametrized tensor is computed once, on first access, and reused
    (PyTorch's ``parametrize.cached``): for a weight read many times in one forward pass, as an
    RNN's is at every step. Nested blocks share the outer cache."""
    if _cache.get() is not None:
        yield
        return
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _is_tensor_like(x) -> bool:
    return isinstance(x, Tensor)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor and its originals (``original``, or ``original0``,
    ``original1``... when ``right_inverse`` returns a tuple); calling it computes the tensor."""

    def __init__(self, modules, original, unsafe: bool = False):
        super().__init__(modules)
        object.__setattr__(self, "unsafe", unsafe)
        first = modules[0]
        shape, dtype = tuple(original.shape), original.dtype
        new = original
        with no_grad():
            if hasattr(first, "right_inverse"):
                try:
                    new = first.right_inverse(original)
                except NotImplementedError:  # as PyTorch: the original is kept as it is
                    pass
        is_tensor = _is_tensor_like(new)
        object.__setattr__(self, "is_tensor", is_tensor)
        object.__setattr__(self, "ntensors", 1 if is_tensor else len(new))
        if is_tensor:
            if not unsafe and new.dtype != dtype:
                raise ValueError(f"register_parametrization: right_inverse must keep the dtype "
                                 f"{dtype}, got {new.dtype}")
            with no_grad():
                if new is not original:  # the same object, so that optimizers keep working
                    original.data = new.detach()._data.copy()
            self._keep("original", original)
        else:
            if not isinstance(new, (tuple, list)) or not all(_is_tensor_like(t) for t in new):
                raise ValueError("register_parametrization: right_inverse must return a Tensor "
                                 f"or a tuple/list of Tensors, got {type(new).__name__}")
            for i, t in enumerate(new):
                kind = Parameter if isinstance(original, Parameter) else Buffer
                value = kind(t.detach()._data.copy())
                if kind is Parameter:
                    value.requires_grad_(original.requires_grad)
                self._keep(f"original{i}", value)
        if not unsafe:
            with no_grad():
                z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"register_parametrization: the parametrization must return a "
                                 f"Tensor, got {type(z).__name__}")
            if tuple(z.shape) != shape or z.dtype != dtype:
                raise ValueError(f"register_parametrization: the parametrization may not change "
                                 f"the shape or dtype of the tensor (unless unsafe=True): "
                                 f"{shape} {dtype} became {tuple(z.shape)} {z.dtype}")

    def _keep(self, name, value) -> None:
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        else:
            self.register_buffer(name, value)

    def _originals(self):
        if self.is_tensor:
            return (self._parameters.get("original", self._buffers.get("original")),)
        return tuple(self._parameters.get(f"original{i}", self._buffers.get(f"original{i}"))
                     for i in range(self.ntensors))

    def forward(self):
        mods = list(self)
        x = mods[0](*self._originals())
        for m in mods[1:]:
            x = m(x)
        return x

    def right_inverse(self, value) -> None:
        """Set the originals so that the parametrized tensor is ``value`` (through each
        parametrization's ``right_inverse``, last to first; each must have one)."""
        with no_grad():
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(f"parametrize: parametrization {type(m).__name__} does "
                                       "not implement right_inverse, so the tensor cannot be "
                                       "assigned to")
                value = m.right_inverse(value)
            values = (value,) if self.is_tensor else tuple(value)
            if len(values) != self.ntensors:
                raise ValueError(f"parametrize: right_inverse returned {len(values)} tensor(s), "
                                 f"the parametrization has {self.ntensors} original(s)")
            for orig, v in zip(self._originals(), values):
                if tuple(v.shape) != tuple(orig.shape):
                    raise ValueError(f"parametrize: right_inverse gave shape {tuple(v.shape)}, "
                                     f"the original has shape {tuple(orig.shape)}")
                orig.copy_(v.detach())


def _get(module, name):
    cache = _cache.get()
    if cache is None:
        return module.parametrizations[name]()
    key = (id(module), name)
    if key not in cache:
        cache[key] = module.parametrizations[name]()
    return cache[key]


def _property(name):
    def get(self):
        return _get(self, name)

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(get, set_, doc=f"``{name}``, computed by its parametrizations")


def _parametrized_setattr(self, name, value):
    if name in type(self).__dict__.get("_parametrized_names", ()):
        object.__setattr__(self, name, value)  # the property's setter: right_inverse
    else:
        Module.__setattr__(self, name, value)


def _swap_class(module) -> None:
    cls = type(module)
    new = type(f"Parametrized{cls.__name__}", (cls,), {
        "_parametrized_names": set(), "__setattr__": _parametrized_setattr,
        "__module__": cls.__module__, "__qualname__": f"Parametrized{cls.__qualname__}"})
    object.__setattr__(module, "__class__", new)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has any parametrization (or one of ``tensor_name``)."""
    plist = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(plist, ModuleDict) or "_parametrized_names" not in type(module).__dict__:
        return False
    return True if tensor_name is None else tensor_name in plist


def type_before_parametrizations(module: Module) -> type:
    """The class of ``module`` before it was parametrized (its class if it is not)."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (a Module); returns
    ``module``.

    The first parametrization of a tensor moves the Parameter (or buffer) to
    ``module.parametrizations.<tensor_name>.original`` (set to ``right_inverse(value)`` when the
    parametrization defines it, the same Parameter object so that an optimizer keeps it); a
    further one is applied to the previous one's output.

    Args:
        module: the module that owns the tensor.
        tensor_name: the name of a parameter or buffer of ``module`` (or of one already
            parametrized).
        parametrization: a Module whose ``forward`` maps the original(s) to the tensor, with an
            optional ``right_inverse`` mapping a tensor back to the original(s).
        unsafe: skip the checks that the parametrization keeps the shape and dtype.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class Symmetric(nn.Module):
    ...     def forward(self, x):
    ...         return x.triu() + x.triu(1).transpose(0, 1)
    >>> layer = register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    >>> bool((layer.weight.numpy() == layer.weight.numpy().T).all())
    True
    >>> sorted(layer.state_dict())
    ['bias', 'parametrizations.weight.original']
    """
    if not isinstance(module, Module):
        raise TypeError(f"register_parametrization: module must be an nn.Module, got "
                        f"{type(module).__name__}")
    if not isinstance(parametrization, Module):
        raise TypeError(f"register_parametrization: parametrization must be an nn.Module, got "
                        f"{type(parametrization).__name__}")
    parametrization.train(module.training)  # as PyTorch: it starts in the module's mode
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            with no_grad():
                before = plist()
                after = parametrization(before)
            if not isinstance(after, Tensor) or tuple(after.shape) != tuple(before.shape) or (
                    after.dtype != before.dtype):
                got = (f"{tuple(after.shape)} {after.dtype}" if isinstance(after, Tensor)
                       else type(after).__name__)
                raise ValueError(f"register_parametrization: the parametrization may not change "
                                 f"the shape or dtype of {tensor_name!r} (unless unsafe=True): "
                                 f"{tuple(before.shape)} {before.dtype} became {got}")
        plist.append(parametrization)
        object.__setattr__(plist, "unsafe", plist.unsafe or unsafe)
        return module
    params, buffers = module._parameters, module._buffers
    original = params.get(tensor_name, buffers.get(tensor_name))
    if original is None:
        names = [k for k, v in {**params, **buffers}.items() if v is not None]
        raise ValueError(f"register_parametrization: {type(module).__name__} has no parameter or "
                         f"buffer {tensor_name!r} (it has {names})")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    (params if tensor_name in params else buffers).pop(tensor_name)
    if not is_parametrized(module):
        _swap_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    type(module)._parametrized_names.add(tensor_name)
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo the parametrizations of ``module.<tensor_name>``; returns ``module``.

    With ``leave_parametrized`` the tensor keeps its current (parametrized) value, else it goes
    back to the original. It is the original Parameter object again where there was one
    original; several originals (``original0``...) need ``leave_parametrized=True``.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    (first,) = plist._originals()[:1]
    if plist.is_tensor:
        original = first
        if leave_parametrized:
            with no_grad():
                value = plist()
                original.data = value.detach()._data.copy()
    else:
        if not leave_parametrized:
            raise ValueError("remove_parametrizations: a parametrization with several originals "
                             "can only be removed with leave_parametrized=True")
        with no_grad():
            value = plist().detach()
        original = (Parameter(value._data.copy(), requires_grad=first.requires_grad)
                    if isinstance(first, Parameter) else Buffer(value._data.copy()))
    cls = type(module)
    delattr(cls, tensor_name)
    cls._parametrized_names.discard(tensor_name)
    del module.parametrizations[tensor_name]
    if not cls._parametrized_names:
        del module._modules["parametrizations"]
        object.__setattr__(module, "__class__", cls.__bases__[0])
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    return module


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Register ``from_module``'s parametrizations (all, or of ``tensor_name``) on
    ``to_module``, with the same originals' values; returns ``to_module``."""
    if not is_parametrized(from_module):
        raise ValueError(f"transfer_parametrizations_and_params: {type(from_module).__name__} "
                         "is not parametrized")
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        plist = from_module.parametrizations[name]
        if not is_parametrized(to_module, name):
            if name not in to_module._parameters and name not in to_module._buffers:
                to_module.register_parameter(name, Parameter(plist().detach()._data.copy()))
            for m in plist:
                register_parametrization(to_module, name, m, unsafe=plist.unsafe)
        with no_grad():
            for mine, theirs in zip(to_module.parametrizations[name]._originals(),
                                    plist._originals()):
                mine.copy_(theirs)
    return to_module
