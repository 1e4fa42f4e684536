"""A Module's state dict with PyTorch's hooks and extra state.

``state_dict()`` walks the module tree as PyTorch's does: for each module (parents first) its
state-dict pre-hooks run, its parameters and persistent buffers are added, then its
``_extra_state`` (when its class defines ``get_extra_state``), then its children's entries (by
their ``state_dict``, which a class may override), and last its post-hooks, which may edit the
dictionary in place.

``load_state_dict()`` copies the given mapping (so that hooks may rename keys without touching
the caller's), runs every module's load pre-hooks (parents first: the place to rename the keys
of an old checkpoint; each module's hooks see the keys under its prefix only, as PyTorch's
recursion hands them out), checks the result against the model, copies the values, hands each
``_extra_state`` to ``set_extra_state`` and runs the load post-hooks (each module's after its
children's, on the key lists filled so far, as PyTorch's), which may remove entries from the
missing and unexpected key lists. Without post-hooks nothing is copied unless every check
passes. With post-hooks the values are copied first and the strict check comes after them, as
in PyTorch, since a hook may forgive a missing key. Unlike PyTorch's single recursion, every
pre-hook runs before the first post-hook, and a value that does not fit stops the load before
the post-hooks (PyTorch runs them, then raises).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from ..autograd.mode import no_grad
from ..autograd.tensor import Tensor
from ..backend import numpy
from .parameter import Buffer, Parameter
from .state import IncompatibleKeys, check_state, is_saved

__all__ = ["StateHooks", "collect_state", "load_state"]

EXTRA = "_extra_state"


class StateHooks:
    """The state-dict hook registrations and extra-state methods of ``Module`` (a base class)."""

    # PyTorch's: a state dict's ``_metadata`` gives each module's version to its load, so that
    # a class that changed its layout converts older checkpoints (``local_metadata["version"]``).
    _version: int = 1

    def register_state_dict_pre_hook(self, hook):
        """Call ``hook(module, prefix, keep_vars)`` before this module's entries are collected."""
        return self._add_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after this module's entries
        (and its children's) were collected; it may edit ``state_dict`` in place and must return
        None."""
        return self._add_hook("_state_dict_hooks", hook)

    def register_load_state_dict_pre_hook(self, hook):
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before loading; it may edit ``state_dict`` (a copy of the
        caller's) and append messages to ``error_msgs``, which make the load fail."""
        return self._add_hook("_load_state_dict_pre_hooks", hook)

    def register_load_state_dict_post_hook(self, hook):
        """Call ``hook(module, incompatible_keys)`` after loading; it may remove entries from
        ``incompatible_keys.missing_keys`` and ``.unexpected_keys`` (strict mode checks them
        after the hooks) and must return None."""
        return self._add_hook("_load_state_dict_post_hooks", hook)

    def _register_state_dict_hook(self, hook):
        """PyTorch's older form of ``register_state_dict_post_hook``, whose hook may also return
        a state dict: the module's ``state_dict()`` then returns that one (a child's, as in
        PyTorch, is not passed up to its parent)."""
        if not callable(hook):
            return self.register_state_dict_post_hook(hook)  # its error
        return self._add_hook("_state_dict_hooks", _MayReplace(hook))

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False):
        """PyTorch's older form: ``hook(state_dict, prefix, local_metadata, strict,
        missing_keys, unexpected_keys, error_msgs)``, with the module first if ``with_module``."""
        return self.register_load_state_dict_pre_hook(
            hook if with_module else (lambda module, *args: hook(*args)))

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """PyTorch's per-module step of ``state_dict()``: this module's parameters, persistent
        buffers and extra state (not its children's) into ``destination``. Subclasses may
        override it (and call it through ``super()``) to add or convert entries."""
        own = [(prefix + n, p) for n, p in self._parameters.items() if p is not None]
        own += [(prefix + n, b) for n, b in self._buffers.items()
                if b is not None and is_saved(self, n, b)]
        for key, t in own:  # a lazy module's uninitialized one as it is, as PyTorch's
            destination[key] = t if keep_vars or hasattr(t, "materialize") else t.detach()
        if _has_extra(self):
            destination[prefix + EXTRA] = self.get_extra_state()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """PyTorch's per-module step of ``load_state_dict``, for subclasses that override it to
        convert an old checkpoint (rename, reshape or drop ``state_dict``'s keys under
        ``prefix``, then ``super()._load_from_state_dict(...)``). chainrule calls an override
        before the load pre-hooks, on the keys under the module's prefix; the values are loaded
        afterwards for the whole model. An override that does not call this one loads its own
        entries itself: they are then neither missing nor unexpected, as in PyTorch."""
        self.__dict__["_default_load_ran"] = True

    def get_extra_state(self):
        """Override to save something that is not a parameter or buffer in ``state_dict()``
        under ``"<prefix>_extra_state"``; ``set_extra_state`` gets it back on loading."""
        raise RuntimeError(f"{type(self).__name__}.get_extra_state() is not defined: override "
                           "it (and set_extra_state) to keep extra state in the state dict")

    def set_extra_state(self, state) -> None:
        """Override to take back what ``get_extra_state`` returned."""
        raise RuntimeError(f"{type(self).__name__}.set_extra_state() is not defined: override "
                           "it (and get_extra_state) to load extra state from the state dict")


def _has_extra(module) -> bool:
    return type(module).get_extra_state is not StateHooks.get_extra_state


def _hooks(module, store: str):
    return tuple(module.__dict__.get(store, {}).values())


def _tree(module, prefix: str = ""):
    """(prefix, module) for ``module`` and every descendant, parents first, as PyTorch's
    recursion visits them (a module reached twice is visited twice, under both prefixes)."""
    yield prefix, module
    for name, child in module._modules.items():
        if child is not None:
            yield from _tree(child, f"{prefix}{name}.")


def _direct(tree, prefix: str, key: str) -> bool:
    """Whether ``key`` is an entry of the module at ``prefix`` itself (not of a descendant)."""
    return key.startswith(prefix) and max((p for p, _ in tree if key.startswith(p)),
                                          key=len) == prefix


def _by_owner(tree, keys) -> dict:
    """``keys`` grouped by the prefix of the module that reports them in PyTorch's recursion
    (the deepest whose prefix they start with), in their order."""
    groups: dict = {}
    for key in keys:
        owner = max((p for p, _ in tree if key.startswith(p)), key=len)
        groups.setdefault(owner, []).append(key)
    return groups


def _post_hooked(module, prefix, missing, unexpected, result) -> None:
    """Fill ``result``'s lists as PyTorch's recursion does (each module's keys when it is
    reached, parents first) and run each module's load post-hooks after its children's, on the
    lists as they stand then (a hook may remove what is there so far)."""
    result.missing_keys.extend(missing.get(prefix, ()))
    result.unexpected_keys.extend(unexpected.get(prefix, ()))
    for name, child in module._modules.items():
        if child is not None:
            _post_hooked(child, f"{prefix}{name}.", missing, unexpected, result)
    for hook in _hooks(module, "_load_state_dict_post_hooks"):
        if hook(module, result) is not None:
            raise RuntimeError(f"load_state_dict: a post-hook of {type(module).__name__} "
                               "returned a value; it must edit the incompatible keys in place")


def _local(metadata, prefix: str) -> dict:
    """The ``local_metadata`` of the module at ``prefix``, as PyTorch's load hands it out."""
    return {} if metadata is None else metadata.get(prefix[:-1], {})


def _pre_hooked(module, state, prefix, errors, missing, unexpected, handled, metadata=None):
    """The state after the load pre-hooks, as PyTorch's recursion gives it: each module's hooks
    see and edit a dictionary of the keys under its prefix only (the root's: a copy of all),
    and its children's dictionaries are taken from it after its hooks ran (a renamed key reaches
    the child that owns it; a key a child's hook moves out of its prefix is dropped)."""
    if type(module)._load_from_state_dict is not StateHooks._load_from_state_dict:
        module.__dict__.pop("_default_load_ran", None)
        module._load_from_state_dict(state, prefix, _local(metadata, prefix), True, missing,
                                     unexpected, errors)
        if not module.__dict__.pop("_default_load_ran", False):
            handled.append(prefix)  # the override loaded this module's own entries itself
    for hook in _hooks(module, "_load_state_dict_pre_hooks"):
        hook(module, state, prefix, _local(metadata, prefix), True, [], [], errors)  # True too
    kids = [(f"{prefix}{name}.", c) for name, c in module._modules.items() if c is not None]
    out = OrderedDict((k, v) for k, v in state.items() if k.startswith(prefix)
                      and not any(k.startswith(p) for p, _ in kids))
    if not prefix:
        out = OrderedDict((k, v) for k, v in state.items()
                          if not any(k.startswith(p) for p, _ in kids))
    for p, child in kids:
        sub = OrderedDict((k, v) for k, v in state.items() if k.startswith(p))
        out.update(_pre_hooked(child, sub, p, errors, missing, unexpected, handled, metadata))
    return out


def collect_state(module, destination, prefix: str, keep_vars: bool):
    """``module.state_dict()``: see the module docstring."""
    out = destination
    if destination is None:  # PyTorch's: each module's version, which load_state_dict passes on
        out = OrderedDict()
        out._metadata = OrderedDict()
    if not isinstance(out, Mapping):
        raise TypeError(f"state_dict: destination must be a mapping or None, got "
                        f"{type(out).__name__}")
    return _collect(module, out, prefix, keep_vars)


class _MayReplace:
    """A ``_register_state_dict_hook`` hook: its result, when not None, replaces the state."""

    def __init__(self, hook):
        self.hook = hook

    def __call__(self, *args):
        return self.hook(*args)


def _collect(module, out, prefix, keep_vars):
    for hook in _hooks(module, "_state_dict_pre_hooks"):
        hook(module, prefix, keep_vars)
    local_metadata = {"version": module._version}
    if hasattr(out, "_metadata"):
        out._metadata[prefix[:-1]] = local_metadata
    module._save_to_state_dict(out, prefix, keep_vars)
    for name, child in module._modules.items():
        if child is not None:  # as PyTorch's: through its state_dict, which a class may override
            child.state_dict(destination=out, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
    for hook in _hooks(module, "_state_dict_hooks"):
        result = hook(module, out, prefix, local_metadata)
        if result is not None and isinstance(hook, _MayReplace):
            out = result
        elif result is not None:
            raise RuntimeError(f"state_dict: a post-hook of {type(module).__name__} returned "
                               "a value; it must edit the state dict in place and return None")
    return out


def load_state(module, state_dict, strict: bool, assign: bool = False) -> IncompatibleKeys:
    """``module.load_state_dict(state_dict, strict, assign)``: see the module docstring."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: state must be a mapping, got "
                        f"{type(state_dict).__name__}")
    tree = list(_tree(module))
    errors, told_missing, told_unexpected, handled = [], [], [], []
    state = _pre_hooked(module, OrderedDict(state_dict), "", errors, told_missing,
                        told_unexpected, handled, getattr(state_dict, "_metadata", None))
    if errors:
        raise ValueError("load_state_dict: a load pre-hook reported (nothing was loaded):\n  "
                         + "\n  ".join(map(str, errors)))
    extras = {prefix + EXTRA: m for prefix, m in tree if _has_extra(m)}
    extra_values = {k: state.pop(k) for k in list(extras) if k in state}
    missing_extra = [k for k in extras if k not in extra_values]
    post = any(_hooks(m, "_load_state_dict_post_hooks") for _, m in tree)
    own = OrderedDict(module._state_items(""))
    for prefix in handled:  # what an override of _load_from_state_dict loaded itself
        for key in [k for k in (*own, *state) if _direct(tree, prefix, k)]:
            own.pop(key, None), state.pop(key, None)
    owner = type(module).__name__
    if strict and missing_extra and not post:
        raise ValueError(f"load_state_dict: the state does not fit {owner} (nothing was loaded):"
                         f"\n  missing keys (in the model, not in the state): "
                         + ", ".join(missing_extra))
    values, missing, unexpected = check_state(own, state, strict and not post, owner)
    with no_grad():  # counted in-place changes: a graph recorded before cannot use them
        for key, value in values.items():
            if assign:
                _assign(module, key, own[key], state[key])
                continue
            if hasattr(own[key], "materialize"):  # an UninitializedParameter (lazy modules)
                own[key].materialize(value.shape)
            own[key].copy_(value)
    for key, value in extra_values.items():
        extras[key].set_extra_state(value)
    result = IncompatibleKeys([], [])
    _post_hooked(module, "", _by_owner(tree, missing + missing_extra + told_missing),
                 _by_owner(tree, unexpected + told_unexpected), result)
    if strict and (result.missing_keys or result.unexpected_keys):
        raise ValueError(
            f"load_state_dict: the state does not fit {owner} (the values were loaded before "
            "the load post-hooks ran):\n  missing keys: " + ", ".join(result.missing_keys)
            + "\n  unexpected keys: " + ", ".join(result.unexpected_keys))
    return result


def _assign(module, key, target, given) -> None:
    """``load_state_dict(assign=True)``: the state's values (their dtype and device, their memory)
    take ``target``'s place, as a Parameter keeping its ``requires_grad`` (a given Parameter
    itself) or a Buffer keeping its persistence, as PyTorch's (a model built on the meta device,
    then given the checkpoint)."""
    path, _, name = key.rpartition(".")
    owner = module.get_submodule(path) if path else module
    data = given._data if isinstance(given, Tensor) else numpy.asarray(given)
    lazy = hasattr(target, "materialize")  # a lazy module's: it has no shape yet
    if not lazy and target.shape == () and data.shape == (1,):  # as check_state (nn/state.py)
        data = data.reshape(())
    if isinstance(target, Parameter) and isinstance(given, Parameter) and given._data is data:
        given.requires_grad_(target.requires_grad)  # PyTorch's: the state's Parameter itself
        owner._parameters[name] = given  # (keep_vars=True's: the two models share it)
    elif isinstance(target, Parameter):
        owner._parameters[name] = Parameter(data, requires_grad=target.requires_grad)
    else:
        owner._buffers[name] = Buffer(data, persistent=getattr(target, "persistent", True))
