"""Wishart: the distribution of positive-definite matrices X = sum_k x_k x_k^T over ``df``
normal vectors of covariance ``covariance_matrix``, with Bartlett's reparameterised sampler."""

from __future__ import annotations

import math
import numbers
import warnings

from ..autograd import Tensor, tensor
from ..ops import (
    arange,
    broadcast_shapes,
    eye,
    log,
    matmul,
    mvlgamma,
    tril_indices,
    where,
    zeros,
)
from ..ops.decomp import cholesky, inv, slogdet, solve
from ..ops.special_fns import digamma
from . import constraints
from ._utils import draw, finfo, one_matrix, pick_rng
from .counts import Chi2
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .multivariate import _diagonal, _FromScaleTril, _mt

__all__ = ["Wishart"]


def _mvdigamma(x, p):
    """sum_{i < p} digamma(x - i / 2)."""
    half = arange(p, dtype=x.dtype, device=x.device) / 2
    return digamma(x.unsqueeze(-1) - half).sum(-1)


class Wishart(_FromScaleTril, ExponentialFamily):
    """The Wishart distribution with ``df`` degrees of freedom (more than the dimension minus 1)
    and one of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``."""

    arg_constraints = {"covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky,
                       "df": constraints.greater_than(0)}
    support = constraints.positive_definite
    has_rsample = True

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        name, param = one_matrix("Wishart", covariance_matrix, precision_matrix, scale_tril)
        if not isinstance(param, Tensor) or param.ndim < 2 or param.shape[-1] != param.shape[-2]:
            raise ValueError(f"Wishart: {name} must be a batch of square matrices, got "
                             f"{getattr(param, 'shape', type(param).__name__)}")
        p = param.shape[-1]
        if isinstance(df, numbers.Number):
            batch = tuple(param.shape[:-2])
            self.df = tensor(float(df), dtype=param.dtype, device=param.device)
        else:
            batch = tuple(broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch)
        if bool((self.df._data <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if bool((self.df._data < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.", UserWarning, stacklevel=2)
        self.__dict__[name] = param.expand(batch + (p, p))
        # a per-instance copy, as PyTorch: df must exceed the dimension minus 1
        self.arg_constraints = {**type(self).arg_constraints,
                                "df": constraints.greater_than(p - 1)}
        super().__init__(batch, (p, p), validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(param)
        else:
            self._unbroadcasted_scale_tril = cholesky(inv(param))

    _not_expanded = ("_unbroadcasted_scale_tril",)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch = tuple(batch_shape)
        p = self.event_shape[-1]
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        new.arg_constraints = self.arg_constraints
        new.df = self.df.expand(batch)
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(batch + (p, p))
        Distribution.__init__(new, batch, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return tuple(self.batch_shape) + tuple(self.event_shape)

    def _df_matrix(self):
        return self.df.reshape(tuple(self.batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        p = self.event_shape[-1]
        factor = self.df - p - 1
        factor = factor.reshape(tuple(self.batch_shape) + (1, 1))
        return (factor * self.covariance_matrix).masked_fill(factor <= 0, math.nan)

    @property
    def variance(self):
        v = self.covariance_matrix
        d = _diagonal(v)
        return self._df_matrix() * (v * v + d.unsqueeze(-1) * d.unsqueeze(-2))

    def rsample(self, sample_shape=(), max_try_correction=None, *, rng=None, generator=None):
        """Bartlett's decomposition: X = (L A)(L A)^T, A lower triangular with sqrt(chi2(df - i))
        on the diagonal and standard normals below it. A draw that is not positive definite
        (likely when df is below the dimension) is drawn again, up to ``max_try_correction``
        times (10 when None), as PyTorch does; a warning says if some stay singular."""
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        g = pick_rng("Wishart.rsample", rng, generator)
        tries = 10 if max_try_correction is None else int(max_try_correction)
        sample = self._bartlett(tuple(sample_shape), g)
        singular = ~constraints.positive_definite.check(sample.detach())
        while bool(singular._data.any()) and tries > 0:
            redrawn = self._bartlett(tuple(sample_shape), g)
            sample = where(singular.unsqueeze(-1).unsqueeze(-1), redrawn, sample)
            singular = ~constraints.positive_definite.check(sample.detach())
            tries -= 1
        if bool(singular._data.any()):
            warnings.warn("Singular samples detected.", UserWarning, stacklevel=2)
        return sample

    def _bartlett(self, sample_shape, g):
        p = self.event_shape[-1]
        dfs = self.df.unsqueeze(-1) - arange(p, dtype=self.df.dtype, device=self.df.device)
        chi = Chi2(dfs, validate_args=False).rsample(tuple(sample_shape), rng=g).sqrt()
        chi = chi.clamp(min=finfo(chi.dtype).eps)
        identity = eye(p, dtype=chi.dtype, device=chi.device)
        rows, cols = tril_indices(p, p, -1)
        mask = zeros((p, p), dtype=chi.dtype, device=chi.device)
        mask[rows, cols] = 1.0
        shape = tuple(sample_shape) + tuple(self.batch_shape) + (p, p)
        normal = draw("Wishart.rsample", g, None, "standard_normal", shape, chi)
        a = chi.unsqueeze(-1) * identity + normal * mask
        factor = matmul(self._unbroadcasted_scale_tril, a)
        return matmul(factor, _mt(factor))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self.event_shape[-1]
        low = self._unbroadcasted_scale_tril
        half_log_det = log(_diagonal(low)).sum(-1)
        # tr(Sigma^-1 X) = tr(L^-1 X L^-T)
        batch = broadcast_shapes(tuple(low.shape[:-2]), tuple(value.shape[:-2]))
        low_b = low.tril().expand(tuple(batch) + (p, p))
        a = solve(low_b, value.expand(tuple(batch) + (p, p)))
        trace = _diagonal(solve(low_b, _mt(a))).sum(-1)
        _, log_det_x = slogdet(value)
        return (-nu * (p * math.log(2) / 2 + half_log_det) - mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * log_det_x - trace / 2)

    def entropy(self):
        nu, p = self.df, self.event_shape[-1]
        half_log_det = log(_diagonal(self._unbroadcasted_scale_tril)).sum(-1)
        return ((p + 1) * (p * math.log(2) / 2 + half_log_det) + mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    # the exponential-family form (ExponentialFamily: the Bregman KL of two Wisharts)
    @property
    def _natural_params(self):
        p = self.event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self.event_shape[-1]
        a = y + (p + 1) / 2
        return a * (p * math.log(2) - slogdet(-2 * x)[1]) + mvlgamma(a, p)
