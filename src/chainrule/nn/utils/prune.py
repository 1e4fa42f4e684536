"""Pruning as ``torch.nn.utils.prune``: masks on a module's parameters, kept by a forward pre-hook.

``l1_unstructured(layer, "weight", amount=0.3)`` moves ``layer.weight`` to the Parameter
``weight_orig``, stores a 0/1 buffer ``weight_mask`` and, before every forward, sets
``layer.weight = weight_orig * weight_mask``: the pruned entries stay zero through training
(their gradient is zero) and the state dict holds ``weight_orig`` and ``weight_mask``, PyTorch's
keys, so pruned models move between the two libraries. Pruning a parameter again prunes only
what is left; ``remove`` makes the pruning permanent. An optimizer must be given the
parameters after pruning (``weight_orig``), or it must hold the same Parameter objects (it
does: ``weight_orig`` is the Parameter that was ``weight``).

``amount`` is a count of entries (or of channels, for the structured methods) when it is an
int, a share of them when it is a float. Among entries of equal magnitude (or channels of equal
norm) the one of lower index is kept longer: ``L1Unstructured`` prunes the lower index first,
``LnStructured`` the higher index first, in chainrule, whereas ``torch.topk``'s order among
ties is unspecified (docs/pytorch.md).

The lecture's own pruning (magnitude, unit and Optimal Brain Damage pruning, with a Trainer
callback) is ``chainrule.explain``'s; it uses the same ranking (``lowest_indices``).

>>> import chainrule as cr
>>> from chainrule import nn
>>> layer = nn.Linear(3, 2, rng=cr.Generator().manual_seed(0))
>>> _ = l1_unstructured(layer, "weight", amount=2)
>>> sorted(layer.state_dict()), int((layer.weight.numpy() == 0).sum())
(['bias', 'weight_mask', 'weight_orig'], 2)
>>> _ = remove(layer, "weight")
>>> sorted(layer.state_dict()), is_pruned(layer)
(['bias', 'weight'], False)
"""

from __future__ import annotations

from collections.abc import Iterable

from ...autograd import Tensor, no_grad
from ...backend import get_array_module
from ..module import Module
from ._prune_methods import (
    BasePruningMethod,
    CustomFromMask,
    Identity,
    L1Unstructured,
    LnStructured,
    PruningContainer,
    RandomStructured,
    RandomUnstructured,
    _hook_of,
    lowest_indices,
)

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
           "PruningContainer", "RandomStructured", "RandomUnstructured", "custom_from_mask",
           "global_unstructured", "identity", "is_pruned", "l1_unstructured", "ln_structured",
           "lowest_indices", "random_structured", "random_unstructured", "remove"]


def identity(module, name):
    """Prune nothing, but set up ``name_orig`` and ``name_mask`` (all ones); returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` random entries (int) or that share of them (float); returns ``module``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries (int) or the share (float) of smallest magnitude (of
    ``importance_scores`` when given, shaped like the parameter); returns ``module``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels (int), or that share (float), along ``dim``; returns
    ``module``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels (int) or share (float) along ``dim`` of smallest ``n``-norm
    (``n``: a number, ``inf``, ``-inf``, ``"fro"`` or ``"nuc"``, the nuclear norm of each
    channel's matrix; as in PyTorch, "fro" takes a parameter of at most 3 dims, "nuc" one of
    exactly 3, and others raise RuntimeError); returns ``module``."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune where ``mask`` (shaped like the parameter) is 0; returns ``module``."""
    CustomFromMask.apply(module, name, mask)
    return module


def _current(module, name: str) -> Tensor:
    """``module.<name>`` as it is now: recomputed from ``name_orig`` and the mask if pruned."""
    method = _hook_of(module, name)[1]
    if method is not None:
        with no_grad():
            return method.apply_mask(module)
    value = getattr(module, name, None)
    if not isinstance(value, Tensor):
        raise ValueError(f"global_unstructured: {type(module).__name__} has no tensor {name!r}")
    return value


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune the entries of several parameters ranked together (one threshold for all of them).

    Args:
        parameters: an iterable of ``(module, name)`` pairs.
        pruning_method: an unstructured method class, e.g. ``L1Unstructured``; ``kwargs`` go to
            it (``amount=``: a count or share of all the entries together).
        importance_scores: ``{(module, name): scores shaped like the parameter}`` for some of
            them; the others are ranked by their own values.
    """
    who = "global_unstructured()"
    if not isinstance(parameters, Iterable):
        raise TypeError(f"{who}: parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError(f"{who}: importance_scores must be of type dict")
    if not parameters:
        raise ValueError(f"{who}: parameters is empty; expected (module, name) pairs")
    for i, pair in enumerate(parameters):
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], Module)
                and isinstance(pair[1], str)):
            raise TypeError(f"{who}: parameters[{i}] must be a (module, name) pair, got {pair!r}")
    if not (isinstance(pruning_method, type) and issubclass(pruning_method, BasePruningMethod)):
        raise TypeError(f"{who}: pruning_method must be a BasePruningMethod subclass, got "
                        f"{pruning_method!r}")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    values = [_current(m, n) for m, n in parameters]
    xp = get_array_module(values[0]._data)
    scores, masks = [], []
    for (module, name), value in zip(parameters, values):
        score = importance_scores.get((module, name), value)
        score = score._data if isinstance(score, Tensor) else xp.asarray(score)
        if tuple(score.shape) != tuple(value.shape):
            raise ValueError(f"{who}: the importance scores of {name!r} must have its shape "
                             f"{tuple(value.shape)}, got {tuple(score.shape)}")
        mask = module._buffers.get(name + "_mask")
        scores.append(score.reshape(-1))
        masks.append(xp.ones(value.numel(), dtype=value.dtype) if mask is None
                     else mask._data.reshape(-1).astype(value.dtype))
    method._tensor_name = "temp"
    container = PruningContainer(method)
    final = container.compute_mask(Tensor(xp.concatenate(scores)),
                                   Tensor(xp.concatenate(masks)))._data
    start = 0
    for (module, name), value in zip(parameters, values):
        size = value.numel()
        custom_from_mask(module, name, Tensor(final[start:start + size].reshape(value.shape)))
        start += size


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent: ``<name>`` is a Parameter again, holding
    the pruned values, and ``name_orig``, ``name_mask`` and the hook go; returns ``module``."""
    key, method = _hook_of(module, name) if isinstance(module, Module) else (None, None)
    if method is None:
        raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned "
                         "before pruning can be removed")
    method.remove(module)
    del module._forward_pre_hooks[key]
    return module


def is_pruned(module) -> bool:
    """Whether ``module`` or a module inside it has a pruning hook."""
    return any(isinstance(h, BasePruningMethod)
               for m in module.modules() for h in m._forward_pre_hooks.values())
