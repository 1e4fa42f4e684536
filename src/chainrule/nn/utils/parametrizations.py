"""PyTorch's ``torch.nn.utils.parametrizations``: ``orthogonal``, ``weight_norm`` and
``spectral_norm`` as parametrizations (``parametrize.register_parametrization``).

Their state dicts are PyTorch's: ``parametrizations.weight.original`` (and the orthogonal map's
``parametrizations.weight.0.base``, the spectral norm's ``..._u``/``..._v``), or
``original0``/``original1`` (the weight norm's g and v). The weight and spectral norms compute
what the hook-based ``nn.utils.weight_norm``/``spectral_norm`` compute (their helpers are shared);
only the place of the state and PyTorch's order of the power iteration's two steps (u first)
differ.
"""

from __future__ import annotations

import numbers

from ...autograd import Tensor, no_grad
from ...backend import get_array_module
from ...backend.random import resolve_rng
from ...ops.creation import eye, tril
from ...ops.decomp import solve
from ...ops.join import cat
from ...ops.linalg_legacy import geqrf
from ...ops.linalg_solve import matrix_exp
from ..module import Module
from .parametrize import is_parametrized, register_parametrization
from .spectral_norm import SpectralNorm, _normalize
from .weight_norm import norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]

_MAPS = ("matrix_exp", "cayley", "householder")


def _mt(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


def _mh(x: Tensor) -> Tensor:
    """The conjugate transpose (the transpose of a real matrix)."""
    return x.mH if x.dtype.kind == "c" else _mt(x)


def _householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i the i-th column of
    ``a`` below the diagonal with a 1 on it (LAPACK's orgqr), for a tall (n, k) ``a``."""
    n, k = a.shape[-2], a.shape[-1]
    xp = get_array_module(a._data)
    unit = Tensor(xp.eye(n, k, dtype=a._data.dtype))
    vs = tril(a, -1) + unit
    q = eye(n, dtype=a.dtype)
    for i in range(k):
        v = vs[..., :, i:i + 1]
        q = q - (q @ v) @ (_mt(v) * tau[..., i:i + 1].unsqueeze(-1))
    return q[..., :, :k]


def _make_orthogonal(a):
    """The Q of ``a = QR`` (arrays, tall ``a``) with R's diagonal made non-negative."""
    xp = get_array_module(a)
    q, r = xp.linalg.qr(a)
    signs = xp.sign(xp.diagonal(r, axis1=-2, axis2=-1))
    return q * xp.where(signs == 0, 1, signs)[..., None, :]


def _is_orthogonal(q) -> bool:
    xp = get_array_module(q)
    n, k = q.shape[-2:]
    eps = 10.0 * n * xp.finfo(q.dtype).eps
    qh = xp.swapaxes(q, -1, -2).conj()
    return bool(xp.allclose(qh @ q, xp.eye(k, dtype=q.dtype), atol=eps))


class _Orthogonal(Module):
    """The orthogonal (or, for a non-square matrix, orthonormal-column) matrix made from an
    unconstrained one: the Cayley map or the matrix exponential of its skew-symmetric part, or a
    product of Householder reflections; times ``base`` with ``use_trivialization``."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True,
                 rng=None):
        super().__init__()
        if weight.dtype.kind == "c" and orthogonal_map == "householder":
            raise ValueError("orthogonal: the householder map does not support complex tensors "
                             "(as PyTorch's); use orthogonal_map='matrix_exp' or 'cayley'")
        self.shape = tuple(weight.shape)
        self.orthogonal_map = orthogonal_map
        self._rng = rng
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[-2], x.shape[-1]
        transposed = n < k
        if transposed:
            x, n, k = _mt(x), k, n
        if self.orthogonal_map == "householder":
            a = tril(x, -1)
            tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
            xp = get_array_module(x._data)
            signs = xp.diagonal(x._data, axis1=-2, axis2=-1).astype(int)  # the diagonal: +-1
            q = _householder_product(a, tau) * Tensor(signs[..., None, :].astype(x._data.dtype))
        else:
            x = tril(x)
            if n != k:
                xp = get_array_module(x._data)
                x = cat([x, Tensor(xp.zeros(x.shape[:-2] + (n, n - k), x._data.dtype))], dim=-1)
            a = x - _mh(x)  # skew-Hermitian: its exponential and Cayley map are unitary
            if self.orthogonal_map == "matrix_exp":
                q = matrix_exp(a)
            else:
                ident = eye(n, dtype=a.dtype)
                q = solve(ident - a * 0.5, ident + a * 0.5)
            q = q[..., :, :k] if n != k else q
        if "base" in self._buffers:
            q = self.base @ q
        return _mt(q) if transposed else q

    def right_inverse(self, q: Tensor) -> Tensor:
        if tuple(q.shape) != self.shape:
            raise ValueError(f"orthogonal: expected a matrix of shape {self.shape}, got "
                             f"{tuple(q.shape)}")
        with no_grad():
            data = q._data
            n, k = data.shape[-2:]
            transpose = n < k
            if transpose:
                data, n, k = get_array_module(data).swapaxes(data, -1, -2), k, n
            xp = get_array_module(data)
            if "base" not in self._buffers:
                if self.orthogonal_map != "householder":
                    raise NotImplementedError(
                        "orthogonal: the matrix_exp and cayley maps cannot be assigned to with "
                        "use_trivialization=False")
                # the Householder vectors of Q's QR, with diag(R) > 0 read from their diagonal
                a, tau = geqrf(Tensor(data))
                a, tau = a._data, tau._data
                diag = xp.sign(xp.diagonal(a, axis1=-2, axis2=-1))
                diag = xp.where(tau == 0.0, -diag, diag)  # a reflection LAPACK left out
                idx = xp.arange(k)
                a[..., idx, idx] = diag
                return Tensor(xp.swapaxes(a, -1, -2).copy() if transpose else a)
            if n == k:
                base = data.copy() if _is_orthogonal(data) else _make_orthogonal(data)
            else:
                gen = resolve_rng(self._rng, "orthogonal")
                extra = xp.asarray(gen.standard_normal(data.shape[:-2] + (n, n - k)),
                                   dtype=data.dtype)
                base = _make_orthogonal(xp.concatenate([data, extra], axis=-1))
            self.base = Tensor(base)
            neg_id = xp.zeros(q.shape, q._data.dtype)
            idx = xp.arange(min(q.shape[-2:]))
            neg_id[..., idx, idx] = -1.0
            return Tensor(neg_id)


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True, rng=None) -> Module:
    """Keep ``module.<name>`` (a matrix, or a batch of them) orthogonal: ``Q^T Q = I`` for a
    tall one, ``Q Q^T = I`` for a wide one; returns ``module``.

    Args:
        module: the layer.
        name: the matrix parameter.
        orthogonal_map: ``"matrix_exp"`` (the default for a square or complex matrix),
            ``"cayley"`` ((I + A/2)(I - A/2)^{-1} of the skew-symmetric, for a complex matrix
            skew-Hermitian, A, by ``linalg.solve``) or ``"householder"`` (the default for a
            real non-square one; not for complex ones, as PyTorch's). A complex matrix is kept
            unitary.
        use_trivialization: keep a ``base`` buffer (orthogonal) that the map multiplies, as
            PyTorch, so that assigning an orthogonal matrix works; with False the map reads the
            weight itself (only the householder map can then be assigned to).
        rng: the generator that completes a non-square matrix's basis when one is assigned.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"orthogonal: {type(module).__name__} has no parameter or buffer "
                         f"{name!r}")
    if weight.ndim < 2:
        raise ValueError(f"orthogonal: expected a matrix or a batch of matrices, got a tensor of "
                         f"shape {tuple(weight.shape)}")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.dtype.kind == "c" else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(f"orthogonal: orthogonal_map must be 'matrix_exp', 'cayley' or "
                         f"'householder', got {orthogonal_map!r}")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization, rng=rng)
    register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    """``g * v / ||v||`` from the originals ``(g, v)`` (``nn.utils.weight_norm``'s formula)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor):
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalization as a parametrization: ``module.<name>`` becomes ``g * v / ||v||``,
    with g in ``parametrizations.<name>.original0`` and v in ``original1``; returns ``module``.
    A state dict of the hook-based ``nn.utils.weight_norm`` (``<name>_g``, ``<name>_v``) loads
    into it, as in PyTorch.

    Args:
        module: the layer.
        name: the parameter.
        dim: the dimension that keeps its own norm; None (or -1) for one norm of everything.
    """
    # the shape alone: reading an already parametrized weight would run its parametrizations
    # (a spectral norm's power step), which PyTorch's registration does not
    plist = module.parametrizations[name] if is_parametrized(module, name) else None
    weight = (getattr(plist, "original", None) if plist is not None and len(plist) == 1
              and not plist.unsafe else getattr(module, name, None))
    if not isinstance(weight, Tensor):
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    if dim is not None and (not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or not (
            dim == -1 or -weight.ndim <= dim < weight.ndim)):
        raise ValueError(f"weight_norm: dim must be None, -1 or a dimension of {name} (shape "
                         f"{tuple(weight.shape)}), got {dim!r}")
    dim = None if dim is None else (-1 if dim == -1 else int(dim) % weight.ndim)
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def old_keys(state, prefix, local_metadata, strict, missing, unexpected, errors):
        # a checkpoint of the hook-based nn.utils.weight_norm (<name>_g, <name>_v) loads, as
        # PyTorch's compatibility hook lets it
        g, v = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g in state and v in state:
            state[f"{prefix}parametrizations.{name}.original0"] = state.pop(g)
            state[f"{prefix}parametrizations.{name}.original1"] = state.pop(v)

    module._register_load_state_dict_pre_hook(old_keys)
    return module


class _SpectralNorm(Module):
    """``weight / sigma`` with sigma estimated by power iteration on the buffers ``_u``, ``_v``
    (refined in training mode); a 1-D weight is divided by its norm."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12, rng=None):
        super().__init__()
        ndim = weight.ndim
        self.dim, self.eps = dim % max(ndim, 1), eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            self._matrix = SpectralNorm(dim=self.dim).reshape_weight_to_matrix
            mat = self._matrix(weight)._data
            h, w = mat.shape
            gen = resolve_rng(rng, "spectral_norm")
            xp = get_array_module(mat)
            self.register_buffer("_u", _normalize(xp.asarray(gen.standard_normal(h),
                                                             dtype=mat.dtype), eps))
            self.register_buffer("_v", _normalize(xp.asarray(gen.standard_normal(w),
                                                             dtype=mat.dtype), eps))
            self._power_method(mat, 15)

    def _power_method(self, mat, n: int) -> None:
        u, v = self._u._data, self._v._data
        for _ in range(n):
            u = _normalize(mat @ v, self.eps)
            v = _normalize(mat.T @ u, self.eps)
        with no_grad():
            self._u.copy_(Tensor(u))
            self._v.copy_(Tensor(v))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return weight / (weight * weight).sum().sqrt().clamp(min=self.eps)
        mat = self._matrix(weight)
        if self.training:
            self._power_method(mat._data, self.n_power_iterations)
        u, v = Tensor(self._u._data.copy()), Tensor(self._v._data.copy())
        return weight / (u * (mat @ v)).sum()

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None, *, rng=None) -> Module:
    """Spectral normalization as a parametrization: ``module.<name>`` becomes
    ``weight / sigma(weight)``; returns ``module``. ``u`` and ``v`` are drawn from ``rng`` (the
    default generator if None) and refined by 15 power-iteration steps, as PyTorch.

    Args:
        module: the layer.
        name: the parameter.
        n_power_iterations: power-iteration steps per training-mode access (>= 1).
        eps: the smallest norm ``normalize`` divides by.
        dim: the dimension of the rows (None: 1 for a transposed convolution, else 0).
        rng: the generator of the initial ``u`` and ``v``.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter {name!r}")
    if (not isinstance(n_power_iterations, numbers.Integral) or
            isinstance(n_power_iterations, bool) or n_power_iterations <= 0):
        raise ValueError(f"spectral_norm: n_power_iterations must be a positive int, got "
                         f"{n_power_iterations!r}")
    if dim is None:
        dim = 1 if getattr(module, "_transposed", False) else 0
    if not isinstance(dim, numbers.Integral) or not -weight.ndim <= dim < max(weight.ndim, 1):
        raise ValueError(f"spectral_norm: dim must be a dimension of {name} (shape "
                         f"{tuple(weight.shape)}), got {dim!r}")
    norm = _SpectralNorm(weight, int(n_power_iterations), int(dim), float(eps), rng)
    register_parametrization(module, name, norm)
    return module
