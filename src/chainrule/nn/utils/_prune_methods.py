"""The pruning methods of ``nn.utils.prune``: how a mask is computed and kept on a module.

A method's ``compute_mask(t, default_mask)`` returns a 0/1 mask shaped like ``t`` that keeps
``default_mask``'s zeros; ``apply`` moves the parameter ``name`` to ``name + "_orig"``, stores the
mask as the buffer ``name + "_mask"`` and registers the method as a forward pre-hook that sets
``module.<name> = <name>_orig * <name>_mask`` before every forward, so the gradient reaches the
unpruned entries of ``<name>_orig`` only. Pruning the same parameter again gathers the methods
in a ``PruningContainer``, whose newest method sees only the entries (or, for a structured
method, the channels) still unpruned.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod

from ...autograd import Tensor, no_grad
from ...autograd.tracing import invalidate_traces
from ...backend import asnumpy, get_array_module
from ...backend.random import resolve_rng
from ..module import Module

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
           "PruningContainer", "RandomStructured", "RandomUnstructured", "lowest_indices"]


def lowest_indices(scores, k: int):
    """The indices of the ``k`` smallest entries of the 1-D array ``scores``; among equal scores
    the lower index goes first (a stable sort, so that a run repeats exactly)."""
    return get_array_module(scores).argsort(scores, kind="stable")[:k]


def _validate_amount_init(amount) -> None:
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _count(amount, size: int) -> int:
    """How many of ``size`` entries (or channels) to prune: ``amount`` itself, or its share."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return int(amount)
    return round(amount * size)


def _structured_dim(who: str, t, dim) -> int:
    if t.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {tuple(t.shape)} with {t.ndim} dims")
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"{who}: dim must be an int, got {dim!r}")
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")
    return int(dim) % t.ndim


def _array(t):
    return t._data if isinstance(t, Tensor) else t


class BasePruningMethod(ABC):
    """The base of every pruning method: a forward pre-hook that recomputes the pruned tensor.

    Subclasses define ``compute_mask`` and ``PRUNING_TYPE`` ("unstructured", "structured" with
    a ``dim`` attribute, or "global"), which tells a ``PruningContainer`` what part of an
    already pruned tensor the method may prune further.
    """

    _tensor_name: str | None = None
    PRUNING_TYPE = "unstructured"

    def __call__(self, module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """A mask shaped like ``t`` that prunes more of it, keeping ``default_mask``'s zeros."""

    def _name(self, module) -> str:
        if self._tensor_name is None:
            raise RuntimeError(f"{type(self).__name__}: module {type(module).__name__} has to be "
                               "pruned (the method applied to one of its parameters) first")
        return self._tensor_name

    def apply_mask(self, module) -> Tensor:
        """``<name>_orig * <name>_mask`` of ``module``: the pruned tensor, differentiable in
        ``<name>_orig``."""
        name = self._name(module)
        mask, orig = getattr(module, name + "_mask"), getattr(module, name + "_orig")
        if mask.dtype != orig.dtype:
            mask = mask.to(orig.dtype)
        return orig * mask

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``; returns the method hooked.

        ``importance_scores`` (shaped like the parameter) rank its entries instead of the
        parameter's own (pruned) values.
        """
        if not isinstance(module, Module):
            raise TypeError(f"{cls.__name__}.apply: module must be an nn.Module, got "
                            f"{type(module).__name__}")
        if not isinstance(name, str):
            raise TypeError(f"{cls.__name__}.apply: name must be a str, got {name!r}")
        old_key, old = _hook_of(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is None:
            orig = module._parameters.get(name)
            if orig is None:
                names = [k for k, p in module._parameters.items() if p is not None]
                raise ValueError(f"{cls.__name__}.apply: {type(module).__name__} has no "
                                 f"parameter {name!r} (its parameters: {names})")
            current, default_mask = orig, None
        else:
            with no_grad():
                current = old.apply_mask(module)  # never the value of the last forward: fresh
            default_mask = getattr(module, name + "_mask").detach().clone()
            if isinstance(old, PruningContainer):
                container = old
            else:
                container = PruningContainer(old)
            container.add_pruning_method(method)
            method = container
        scores = current if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(current.shape):
            raise ValueError(f"{cls.__name__}.apply: importance_scores must have the shape of "
                             f"{name} {tuple(current.shape)}, got {tuple(scores.shape)}")
        if default_mask is None:
            default_mask = Tensor(get_array_module(current._data).ones_like(current._data))
        mask = method.compute_mask(scores if isinstance(scores, Tensor) else Tensor(scores),
                                   default_mask=default_mask)
        if old is None:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
        else:
            del module._forward_pre_hooks[old_key]
        module.register_buffer(name + "_mask", mask.detach())
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        invalidate_traces()  # a trace holding the unpruned parameter must not replay it
        return method

    def prune(self, t, default_mask=None, importance_scores=None) -> Tensor:
        """``t`` times the mask this method computes for it (nothing is registered anywhere)."""
        scores = t if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(t.shape):
            raise ValueError(f"{type(self).__name__}.prune: importance_scores must have the "
                             f"shape of t {tuple(t.shape)}, got {tuple(scores.shape)}")
        if default_mask is None:
            default_mask = Tensor(get_array_module(t._data).ones_like(t._data))
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes the Parameter ``<name>_orig`` (the same
        object, now holding the pruned values); the mask goes."""
        name = self._name(module)
        with no_grad():
            weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = weight.detach()
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)
        invalidate_traces()


def _hook_of(module, name):
    """(key, method) of the pruning hook of ``module.<name>``, or (None, None)."""
    found = [(k, h) for k, h in module._forward_pre_hooks.items()
             if isinstance(h, BasePruningMethod) and h._tensor_name == name]
    if len(found) > 1:
        raise RuntimeError(f"{type(module).__name__} has {len(found)} pruning hooks on {name!r}; "
                           "one PruningContainer must gather them")
    return found[0] if found else (None, None)


class PruningContainer(BasePruningMethod):
    """Several pruning methods applied in turn to one tensor; each new one prunes only what the
    masks before it left (the unpruned entries, or channels for a structured method)."""

    def __init__(self, *args):
        self._pruning_methods: tuple = ()
        if len(args) == 1 and isinstance(args[0], BasePruningMethod):
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        """Append ``method`` (acting on the same tensor name) as the newest one."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask) -> Tensor:
        """The newest method's mask, computed on the part of ``t`` that ``default_mask`` left."""
        method = self._pruning_methods[-1]
        data, mask = _array(t), _array(default_mask)
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            where = mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have '
                                     "the attribute `dim` defined.")
            dim = _structured_dim(type(method).__name__, data, method.dim)
            alive = mask.sum(axis=tuple(d for d in range(data.ndim) if d != dim)) != 0
            where = (slice(None),) * dim + (alive,)
        elif kind == "global":
            where = (slice(None),) * data.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        new = mask.astype(data.dtype)  # a copy
        part = method.compute_mask(Tensor(data[where]), default_mask=Tensor(mask[where]))
        new[where] = _array(part).astype(new.dtype)
        return Tensor(new)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (``name_orig``/``name_mask`` without a change)."""

    def compute_mask(self, t, default_mask) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries (an int) or that share of them (a float), chosen at random
    from chainrule's default generator (seeded by ``chainrule.manual_seed``)."""

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask) -> Tensor:
        data = _array(t)
        k = _count(self.amount, data.size)
        mask = _array(default_mask).copy()
        if k:
            picked = resolve_rng(None, "RandomUnstructured").permutation(data.size)[:k]
            mask.reshape(-1)[get_array_module(mask).asarray(picked)] = 0
        return Tensor(mask)

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries (int) or share of entries (float) of smallest magnitude;
    among equal magnitudes, the lower (flat) index first."""

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask) -> Tensor:
        data = _array(t)
        k = _count(self.amount, data.size)
        mask = _array(default_mask).copy()
        if k:
            xp = get_array_module(data)
            mask.reshape(-1)[lowest_indices(xp.abs(data).reshape(-1), k)] = 0
        return Tensor(mask)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _channel_mask(t, dim: int, keep):
    """A mask shaped like ``t``: ones in the channels ``keep`` of ``dim``, zeros elsewhere."""
    xp = get_array_module(t)
    mask = xp.zeros_like(t)
    mask[(slice(None),) * dim + (xp.asarray(keep),)] = 1
    return mask


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` channels (int) or that share of channels (float) along ``dim``, chosen
    at random from chainrule's default generator."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask) -> Tensor:
        data = _array(t)
        dim = _structured_dim("RandomStructured", data, self.dim)
        n = data.shape[dim]
        k = _count(self.amount, n)
        if not k:
            return default_mask
        keep = resolve_rng(None, "RandomStructured").permutation(n)[k:]
        return Tensor(_channel_mask(data, dim, keep) * _array(default_mask).astype(data.dtype))

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


def _norm(data, n, dim: int):
    """The ``n``-norm of each channel along ``dim`` (over every other dimension)."""
    xp = get_array_module(data)
    axes = tuple(d for d in range(data.ndim) if d != dim)
    a = xp.abs(data)
    if (n == "fro" and len(axes) > 2) or (n == "nuc" and len(axes) != 2):
        # PyTorch's torch.norm(p="fro") is a matrix norm over two dims at most, "nuc" over two
        hint = "; n=2 is the same norm over any dims" if n == "fro" else ""
        raise RuntimeError(f"LnStructured: n={n!r} takes a parameter of {'at most ' * (n == 'fro')}"
                           f"3 dims, got a {data.ndim}-D tensor: linalg.matrix_norm: dim must be "
                           f"a 2-tuple. Got {' '.join(map(str, axes))}{hint}")
    if n == "nuc":  # the sum of the singular values of each channel's matrix
        return xp.linalg.svd(xp.moveaxis(data, dim, 0), compute_uv=False).sum(axis=-1)
    if n == "fro":
        n = 2
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or math.isnan(n):
        raise ValueError(f"LnStructured: n must be a number (inf and -inf included), 'fro' or "
                         f"'nuc', got {n!r}")
    if n == math.inf:
        return a.max(axis=axes)
    if n == -math.inf:
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(data.dtype)
    return (a ** n).sum(axis=axes) ** (1.0 / n)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels (int) or share of channels (float) along ``dim`` whose
    ``n``-norm is smallest; among equal norms, the higher index is pruned first."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask) -> Tensor:
        data = _array(t)
        dim = _structured_dim("LnStructured", data, self.dim)
        size = data.shape[dim]
        k = _count(self.amount, size)
        norm = _norm(data, self.n, dim)
        if not k:
            return default_mask
        keep = lowest_indices(-norm, size - k)  # the largest norms, lower index first
        return Tensor(_channel_mask(data, dim, keep) * _array(default_mask).astype(data.dtype))

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0 (a Tensor or array shaped like the parameter)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask) -> Tensor:
        base = _array(default_mask)
        mine = _array(self.mask)
        if tuple(base.shape) != tuple(mine.shape):
            raise ValueError(f"CustomFromMask: the mask must have the shape {tuple(base.shape)} "
                             f"of the tensor it prunes, got {tuple(mine.shape)}")
        xp = get_array_module(base)
        if xp is not get_array_module(mine):
            mine = xp.asarray(asnumpy(mine))
        return Tensor(base * mine.astype(base.dtype))

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)
