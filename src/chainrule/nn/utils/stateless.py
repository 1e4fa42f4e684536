"""``functional_call``: run a module with other tensors in place of its parameters and buffers.

``functional_call(model, {"0.weight": w, ...}, (x,))`` is ``model(x)`` computed with ``w`` where
``model[0].weight`` was: gradients flow to ``w`` (it need not be a Parameter), and the model is
left exactly as it was, even when the forward pass raises. This is how a model becomes a function
of its weights, for ``chainrule.func.grad``/``vmap`` (per-sample gradients, ensembles).

The substitution is done in the modules' own registries (``_parameters``/``_buffers``), which are
what every layer reads its weights from, so it reaches fused layers (``nn.fuse`` keeps a layer's
own Parameters) and parametrized ones (``"parametrizations.weight.original"`` names the
original). A ``cr.trace`` is not a module: it replays the Parameter objects it recorded, so trace
the module again for other weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from ...autograd import Tensor
from ..module import Module

__all__ = ["functional_call"]


def _merged(dicts) -> dict:
    if isinstance(dicts, Mapping):
        return dict(dicts)
    if not isinstance(dicts, (tuple, list)) or not all(isinstance(d, Mapping) for d in dicts):
        raise TypeError("functional_call: parameter_and_buffer_dicts must be a dict or a "
                        f"tuple/list of dicts, got {type(dicts).__name__}")
    merged: dict = {}
    for d in dicts:
        for key, value in d.items():
            if key in merged:
                raise ValueError(f"functional_call: {key!r} appears in more than one of "
                                 "parameter_and_buffer_dicts")
            merged[key] = value
    return merged


def _slots(module: Module) -> dict:
    """Dotted name -> (owning module, store dict, attribute name), for every parameter and
    buffer, shared ones under each of their names."""
    slots = {}
    for path, m in module.named_modules(remove_duplicate=False):
        for store in (m._parameters, m._buffers):
            for name in store:
                slots[f"{path}.{name}" if path else name] = (m, store, name)
    return slots


def _with_ties(given: dict, slots: dict) -> dict:
    """``given`` extended to every other name of a tied (shared) tensor that was given once."""
    names_of: dict = {}
    for key, (_, store, name) in slots.items():
        t = store[name]
        if t is not None:
            names_of.setdefault(id(t), []).append(key)
    result = dict(given)
    for key, value in given.items():
        if key not in slots or slots[key][1][slots[key][2]] is None:
            continue
        for other in names_of[id(slots[key][1][slots[key][2]])]:
            if other in given and given[other] is not value:
                raise ValueError(f"functional_call: {key!r} and {other!r} are tied (one tensor "
                                 "in the module) but were given different values; give one, or "
                                 "pass tie_weights=False")
            result[other] = value
    return result


def _original_of(key: str) -> str:
    """The name of the original of ``key`` had it been parametrized (``parametrize``)."""
    path, _, name = key.rpartition(".")
    return f"{path}.parametrizations.{name}.original".lstrip(".")


def _functional_call(module: Module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """``module(*args, **kwargs)`` with the given tensors in place of its parameters/buffers.

    Args:
        module: the ``nn.Module`` to run.
        parameter_and_buffer_dicts: dotted name (``"0.weight"``, as in ``state_dict``) ->
            Tensor, or a tuple/list of such dicts (their keys must not overlap). Names left out
            keep the module's own tensors.
        args: the positional arguments (a single non-tuple value is one argument).
        kwargs: the keyword arguments.
        tie_weights: a tensor the module shares under several names (tied weights) is replaced
            under all of them when given under one.
        strict: every parameter and buffer must be given.

    Returns:
        What ``module`` returns.

    Raises:
        ValueError: a name the module has no parameter or buffer under (PyTorch ignores such
            names unless ``strict``; a misspelt name would silently keep the old weight), or,
            with ``strict``, a missing one.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> lin = nn.Linear(2, 1, rng=cr.Generator().manual_seed(0))
    >>> w = {"weight": cr.tensor([[1.0, 2.0]]), "bias": cr.tensor([0.5])}
    >>> cr.func.functional_call(lin, w, (cr.tensor([[1.0, 1.0]]),)).tolist()
    [[3.5]]
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: module must be an nn.Module, got "
                        f"{type(module).__name__}")
    given = _merged(parameter_and_buffer_dicts)
    for key, value in given.items():
        if not isinstance(key, str):
            raise TypeError(f"functional_call: names must be strings, got {key!r}")
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"functional_call: {key!r} must be a Tensor, got "
                            f"{type(value).__name__}")
    slots = _slots(module)
    unknown = [k for k in given if k not in slots]
    missing = [k for k in slots if k not in given and slots[k][1][slots[k][2]] is not None]
    if tie_weights:
        given = _with_ties(given, slots)
        missing = [k for k in missing if k not in given]
    if unknown or (strict and missing):
        parts = [f"unexpected key(s) {unknown}"] if unknown else []
        hints = [_original_of(k) for k in unknown if _original_of(k) in slots]
        parts += [f"a parametrized tensor is given by its original(s), e.g. {hints[0]!r}"] if (
            hints) else []
        parts += [f"missing key(s) {missing}"] if strict and missing else []
        raise ValueError(f"functional_call: {type(module).__name__}: " + "; ".join(parts))
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    saved = []
    try:
        for key, value in given.items():
            _, store, name = slots[key]
            saved.append((store, name, store[name]))
            store[name] = value
        return module(*args, **(kwargs or {}))
    finally:
        for store, name, old in reversed(saved):
            store[name] = old


def functional_call(module: Module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """``torch.nn.utils.stateless.functional_call``: ``chainrule.func.functional_call``, with
    PyTorch's FutureWarning (deprecated since PyTorch 2.0)."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameter_and_buffer_dicts, args, kwargs,
                            tie_weights=tie_weights, strict=strict)
