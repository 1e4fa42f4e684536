"""LowRankMultivariateNormal: a normal vector whose covariance is ``W W^T + diag(D)`` (W of shape
n x r, r small), with densities by the Woodbury identity and the matrix determinant lemma."""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..ops import broadcast_shapes, eye, log, matmul
from ..ops.decomp import cholesky, solve
from . import constraints
from ._utils import draw
from .distribution import Distribution, lazy_property
from .kl import _kl_mvn_mvn, register_kl
from .multivariate import MultivariateNormal, _diagonal, _mt

__all__ = ["LowRankMultivariateNormal"]


def _capacitance_tril(w, d):
    """The Cholesky factor of the capacitance matrix I + W^T D^-1 W (r x r)."""
    wt_dinv = _mt(w) / d.unsqueeze(-2)
    r = w.shape[-1]
    return cholesky(matmul(wt_dinv, w) + eye(r, dtype=w.dtype, device=w.device))


def _solve_lower(low, x):
    """L^-1 x for lower-triangular L, broadcasting their batch dimensions (x: (..., n, k))."""
    batch = broadcast_shapes(tuple(low.shape[:-2]), tuple(x.shape[:-2]))
    n = low.shape[-1]
    return solve(low.tril().expand(tuple(batch) + (n, n)),
                 x.expand(tuple(batch) + tuple(x.shape[-2:])))


class LowRankMultivariateNormal(Distribution):
    """The normal distribution of vectors with mean ``loc`` and covariance
    ``cov_factor @ cov_factor.mT + diag(cov_diag)``."""

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        for what, t, ndim in (("loc", loc, 1), ("cov_factor", cov_factor, 2),
                              ("cov_diag", cov_diag, 1)):
            if not isinstance(t, Tensor) or t.ndim < ndim:
                raise ValueError(f"LowRankMultivariateNormal: {what} must be a Tensor of at "
                                 f"least {ndim} dimension{'s' if ndim > 1 else ''}, got "
                                 f"{getattr(t, 'shape', type(t).__name__)}")
        n = loc.shape[-1]
        if cov_factor.shape[-2] != n:
            raise ValueError(f"LowRankMultivariateNormal: cov_factor must be a batch of "
                             f"matrices with shape {n} x m, got cov_factor of shape "
                             f"{tuple(cov_factor.shape)} for loc of shape {tuple(loc.shape)}")
        if cov_diag.shape[-1] != n:
            raise ValueError(f"LowRankMultivariateNormal: cov_diag must be a batch of vectors "
                             f"of size {n}, got cov_diag of shape {tuple(cov_diag.shape)} for "
                             f"loc of shape {tuple(loc.shape)}")
        rank = cov_factor.shape[-1]
        batch = tuple(broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                       tuple(cov_diag.shape[:-1])))
        self.loc = loc.expand(batch + (n,))
        self.cov_factor = cov_factor.expand(batch + (n, rank))
        self.cov_diag = cov_diag.expand(batch + (n,))
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        super().__init__(batch, (n,), validate_args)
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)

    _not_expanded = ("_unbroadcasted_cov_factor", "_unbroadcasted_cov_diag", "_capacitance_tril")

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self)) if _instance is None else _instance
        batch = tuple(batch_shape)
        n, rank = self.cov_factor.shape[-2:]
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k in self._not_expanded})
        new.loc = self.loc.expand(batch + (n,))
        new.cov_factor = self.cov_factor.expand(batch + (n, rank))
        new.cov_diag = self.cov_diag.expand(batch + (n,))
        Distribution.__init__(new, batch, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        n = self.event_shape[0]
        return tuple(self.batch_shape) + (n, n)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return ((w * w).sum(-1) + d).expand(tuple(self.batch_shape) + tuple(self.event_shape))

    @lazy_property
    def scale_tril(self):
        # D^1/2 chol(I + D^-1/2 W W^T D^-1/2), which avoids forming W W^T + D's square root
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        root = d.sqrt().unsqueeze(-1)
        scaled = w / root
        n = w.shape[-2]
        k = matmul(scaled, _mt(scaled)) + eye(n, dtype=w.dtype, device=w.device)
        return (root * cholesky(k)).expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        n = w.shape[-2]
        diag = d.unsqueeze(-1) * eye(n, dtype=w.dtype, device=w.device)
        return (matmul(w, _mt(w)) + diag).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        # Woodbury: D^-1 - D^-1 W (I + W^T D^-1 W)^-1 W^T D^-1
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        n = w.shape[-2]
        a = _solve_lower(self._capacitance_tril, _mt(w) / d.unsqueeze(-2))
        diag = (1 / d).unsqueeze(-1) * eye(n, dtype=w.dtype, device=w.device)
        return (diag - matmul(_mt(a), a)).expand(self._matrix_shape())

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = tuple(self._extended_shape(sample_shape))
        rank = self.cov_factor.shape[-1]
        eps_w = draw("LowRankMultivariateNormal.rsample", rng, generator, "standard_normal",
                     shape[:-1] + (rank,), self.loc)
        eps_d = draw("LowRankMultivariateNormal.rsample", rng, generator, "standard_normal",
                     shape, self.loc)
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return self.loc + matmul(w, eps_w.unsqueeze(-1)).squeeze(-1) + d.sqrt() * eps_d

    def _log_det(self):
        """log det(W W^T + D) = log det(capacitance) + log det(D) (determinant lemma)."""
        return (2 * log(_diagonal(self._capacitance_tril)).sum(-1)
                + log(self._unbroadcasted_cov_diag).sum(-1))

    def _mahalanobis(self, x):
        """x^T (W W^T + D)^-1 x by Woodbury."""
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        wt_dinv_x = matmul(_mt(w), (x / d).unsqueeze(-1))
        z = _solve_lower(self._capacitance_tril, wt_dinv_x)
        return (x * x / d).sum(-1) - (z * z).sum((-2, -1))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        m = self._mahalanobis(value - self.loc)
        return -0.5 * (self.event_shape[0] * math.log(2 * math.pi) + self._log_det() + m)

    def entropy(self):
        n = self.event_shape[0]
        h = 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return h.expand(tuple(self.batch_shape))


def _as_full(p):
    """A MultivariateNormal of the same mean and covariance."""
    return p if isinstance(p, MultivariateNormal) else \
        MultivariateNormal(p.loc, covariance_matrix=p.covariance_matrix, validate_args=False)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    return _kl_mvn_mvn(_as_full(p), _as_full(q))


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    return _kl_mvn_mvn(_as_full(p), q)


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    return _kl_mvn_mvn(p, _as_full(q))
