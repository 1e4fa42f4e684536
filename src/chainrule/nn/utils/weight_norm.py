"""Weight normalization (Salimans & Kingma, 2016) as ``torch.nn.utils.weight_norm``: the classic
hook-based form, with PyTorch's parameter names (``weight_g``, ``weight_v``).

``w = g * v / ||v||``: the direction ``v`` and the length ``g`` are learned separately. The
norm is taken over every dimension but ``dim`` (one length per output unit for ``dim=0``), or
over the whole tensor for ``dim=None`` (or -1, as in PyTorch). A forward pre-hook recomputes
``module.weight`` from ``weight_g`` and ``weight_v`` before each call, so gradients reach both.
"""

from __future__ import annotations

import numbers
import warnings

from ...autograd import Tensor, no_grad
from ..module import Module
from ..parameter import Parameter

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every dimension but ``dim`` (kept, with size-1 others); over
    everything (a 0-d Tensor) for ``dim == -1``, as PyTorch's ``norm_except_dim``."""
    squares = v * v
    if dim == -1:
        return squares.sum().sqrt()
    axis = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != axis)
    return squares.sum(dim=others, keepdim=True).sqrt() if others else squares.sqrt()


class WeightNorm:
    """The forward pre-hook that sets ``module.<name>`` to ``g * v / ||v||`` before each call."""

    def __init__(self, name: str, dim: int):
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))


def _find(module, name: str, kind: type):
    return next(((k, h) for k, h in module._forward_pre_hooks.items()
                 if isinstance(h, kind) and h.name == name), (None, None))


def _parameter(who: str, module, name: str, kind: type) -> Parameter:
    """The parameter ``name`` of ``module`` that a ``kind`` hook is about to reparametrize."""
    if not isinstance(module, Module):
        raise TypeError(f"{who}: module must be an nn.Module, got {type(module).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"{who}: name must be a str, got {type(name).__name__}")
    if _find(module, name, kind)[1] is not None:
        raise RuntimeError(f"{who}: cannot register two {who} hooks on the same parameter "
                           f"{name!r}")
    weight = module._parameters.get(name)
    if weight is None:
        names = [k for k, p in module._parameters.items() if p is not None]
        raise ValueError(f"{who}: {type(module).__name__} has no parameter {name!r} (its "
                         f"parameters: {names})")
    return weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||``; returns ``module``.

    The parameter is replaced by ``<name>_g`` (its norms, shaped like the weight with size 1 in
    every dimension but ``dim``) and ``<name>_v`` (the weight itself, at first), appended to the
    module's parameters as PyTorch does, so state dicts move between the two libraries.

    Args:
        module: the layer (``Linear``, ``ConvTranspose2d``, a custom one...).
        name: the parameter to reparametrize.
        dim: the dimension that keeps its own norm; None (or -1) for one norm of everything.

    As PyTorch's, it gives a FutureWarning: ``parametrizations.weight_norm`` replaces it.

    >>> import warnings
    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FutureWarning)
    ...     m = weight_norm(nn.Linear(4, 3, rng=cr.Generator().manual_seed(0)))
    >>> sorted(m.state_dict())
    ['bias', 'weight_g', 'weight_v']
    """
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    who = "weight_norm"
    weight = _parameter(who, module, name, WeightNorm)
    if dim is None:
        dim = -1
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or not (
            dim == -1 or -weight.ndim <= dim < weight.ndim):
        raise ValueError(f"{who}: dim must be None, -1 or a dimension of {name} (shape "
                         f"{tuple(weight.shape)}), got {dim!r}")
    fn = WeightNorm(name, int(dim))
    with no_grad():
        g = norm_except_dim(weight, fn.dim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(g.detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``module.<name>`` becomes a Parameter again (``g * v / ||v||``)."""
    key, fn = _find(module, name, WeightNorm) if isinstance(module, Module) else (None, None)
    if fn is None:
        raise ValueError(f"remove_weight_norm: weight_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    fn.remove(module)
    del module._forward_pre_hooks[key]
    return module
