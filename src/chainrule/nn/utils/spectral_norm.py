"""Spectral normalization (Miyato et al., 2018) as ``torch.nn.utils.spectral_norm``: the classic
hook-based form, with PyTorch's names (``weight_orig``, and buffers ``weight_u``, ``weight_v``).

``w = w_orig / sigma(w_orig)``, where sigma, the largest singular value of the weight viewed as a
matrix (``dim`` first), is estimated by power iteration. In training mode each call first runs
``n_power_iterations`` steps that refine ``u`` and ``v`` in place (not differentiated)::

    v = normalize(W^T u)        (normalize(x) = x / max(||x||, eps))
    u = normalize(W v)
    sigma = u . (W v)           (differentiated through W, with u and v held fixed)

In eval mode the stored ``u`` and ``v`` are used as they are. It keeps a GAN discriminator
1-Lipschitz per layer.
"""

from __future__ import annotations

import numbers

from ...autograd import Tensor, no_grad
from ...backend import get_array_module, numpy
from ...backend.random import resolve_rng
from ..module import Module
from ..parameter import Parameter
from .weight_norm import _find, _parameter

__all__ = ["SpectralNorm", "remove_spectral_norm", "spectral_norm"]


def _normalize(x, eps: float):
    xp = get_array_module(x)
    return x / max(xp.linalg.norm(x), eps)


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name>`` to ``weight_orig / sigma`` before each
    call (refining the singular vectors first in training mode)."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12):
        self.name, self.n_power_iterations, self.dim, self.eps = (
            name, n_power_iterations, dim, eps)

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """The weight as a matrix with dimension ``dim`` as its rows."""
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u_buf, v_buf = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        u, v = u_buf._data, v_buf._data
        if do_power_iteration:
            w = mat._data
            for _ in range(self.n_power_iterations):
                v = _normalize(w.T @ u, self.eps)
                u = _normalize(w @ v, self.eps)
            with no_grad():
                u_buf.copy_(Tensor(u))
                v_buf.copy_(Tensor(v))
        u, v = Tensor(u.copy()), Tensor(v.copy())  # constants of the graph below
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None, *, rng=None) -> Module:
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration; returns
    ``module``.

    The parameter becomes ``<name>_orig``; the buffers ``<name>_u`` and ``<name>_v`` (drawn from
    N(0, 1) and normalized, from ``rng``) hold the singular vectors' estimates, as in PyTorch.
    A state dict saved before PyTorch 1.0 (with ``<name>``, without ``<name>_v``) loads too.

    Args:
        module: the layer (``Linear``, ``ConvTranspose2d``, a custom one...).
        name: the parameter to normalize.
        n_power_iterations: power-iteration steps per training-mode call (>= 1).
        eps: the smallest norm ``normalize`` divides by.
        dim: the dimension that indexes the matrix's rows (None: 1 for a transposed
            convolution, whose weight is (in, out, ...), else 0).
        rng: the random generator of the initial ``u`` and ``v``.
    """
    who = "spectral_norm"
    weight = _parameter(who, module, name, SpectralNorm)
    if (not isinstance(n_power_iterations, numbers.Integral) or
            isinstance(n_power_iterations, bool) or n_power_iterations <= 0):
        raise ValueError(f"{who}: n_power_iterations must be a positive int, got "
                         f"{n_power_iterations!r}")
    if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or not eps > 0:
        raise ValueError(f"{who}: eps must be a number > 0, got {eps!r}")
    if dim is None:
        dim = 1 if getattr(module, "_transposed", False) else 0
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or not (
            -weight.ndim <= dim < max(weight.ndim, 1)):
        raise ValueError(f"{who}: dim must be a dimension of {name} (shape "
                         f"{tuple(weight.shape)}), got {dim!r}")
    gen = resolve_rng(rng, who)
    fn = SpectralNorm(name, int(n_power_iterations), int(dim) % max(weight.ndim, 1), float(eps))
    h, w = fn.reshape_weight_to_matrix(weight).shape
    xp = get_array_module(weight._data)
    u = _normalize(xp.asarray(gen.standard_normal(h), dtype=weight.dtype), fn.eps)
    v = _normalize(xp.asarray(gen.standard_normal(w), dtype=weight.dtype), fn.eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    module.register_load_state_dict_pre_hook(_OldCheckpoint(name))
    return module


class _OldCheckpoint:
    """Load a state dict saved before PyTorch 1.0 (``<name>``, ``<name>_orig`` and ``<name>_u``
    without ``<name>_v``; ``<name>`` saved as a buffer): ``<name>`` is dropped and ``<name>_v``
    solved from ``W v = sigma u`` with ``sigma = mean(<name>_orig / <name>)``, as PyTorch's
    load hook does (by the pseudo-inverse of ``W^T W``)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, module, state, prefix, local_metadata, strict, missing, unexpected,
                 errors) -> None:
        fn = _find(module, self.name, SpectralNorm)[1]
        key = prefix + self.name
        if fn is None or not all(k in state for k in (key, key + "_orig", key + "_u")):
            return
        weight, orig, u = (_array(state[k]) for k in (key, key + "_orig", key + "_u"))
        del state[key]
        xp = get_array_module(orig)
        sigma = (orig / weight).mean()
        mat = fn.reshape_weight_to_matrix(Tensor(orig))._data
        v = xp.linalg.pinv(mat.T @ mat) @ mat.T @ u
        state[key + "_v"] = Tensor(v * (sigma / (u @ (mat @ v))))


def _array(value):
    """A state entry's values as an array (a Tensor's, or what ``numpy.asarray`` makes)."""
    return value._data if isinstance(value, Tensor) else numpy.asarray(value)


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``module.<name>`` becomes a Parameter again (the normalized
    weight, with the current ``u`` and ``v``)."""
    key, fn = _find(module, name, SpectralNorm) if isinstance(module, Module) else (None, None)
    if fn is None:
        raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    fn.remove(module)
    del module._forward_pre_hooks[key]
    return module
