"""Independent (batch dimensions reinterpreted as event dimensions) and MultivariateNormal."""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..ops import broadcast_shapes, eye, log, matmul
from ..ops.decomp import cholesky, inv, solve
from . import constraints
from ._utils import draw, one_matrix, sum_rightmost
from .distribution import Distribution, draw_from, lazy_property

__all__ = ["Independent", "MultivariateNormal"]

class Independent(Distribution):
    """``base_distribution`` with its rightmost ``reinterpreted_batch_ndims`` batch dimensions
    read as event dimensions: ``log_prob`` sums over them (a diagonal Normal as one vector)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = reinterpreted_batch_ndims
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        batch_ndims = len(base_distribution.batch_shape)
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= batch_ndims:
            raise ValueError(f"Expected reinterpreted_batch_ndims to be an int with 0 <= "
                             f"reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                             f"actual {n!r} vs {batch_ndims}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        event_dim = n + len(base_distribution.event_shape)
        super().__init__(shape[: len(shape) - event_dim], shape[len(shape) - event_dim:],
                         validate_args)

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self))
        batch_shape = tuple(batch_shape)
        reinterpreted = tuple(self.event_shape[: self.reinterpreted_batch_ndims])
        new.base_dist = self.base_dist.expand(batch_shape + reinterpreted)
        new.reinterpreted_batch_ndims = self.reinterpreted_batch_ndims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims > 0 else \
            self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        base = self.base_dist.support
        return constraints.independent(base, self.reinterpreted_batch_ndims) \
            if self.reinterpreted_batch_ndims else base

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        return draw_from(self.base_dist.sample, sample_shape, rng, generator)

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        return draw_from(self.base_dist.rsample, sample_shape, rng, generator)

    def log_prob(self, value):
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand: bool = True):
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"

def _diagonal(m):
    """The diagonals of a batch of square matrices, by a recorded (differentiable) mask."""
    n = m.shape[-1]
    return (m * eye(n, dtype=m.dtype, device=m.device)).sum(-1)

def _mt(m):
    return m.transpose(-1, -2)


class _FromScaleTril:
    """``scale_tril``, ``covariance_matrix`` and ``precision_matrix`` of a distribution that keeps
    the Cholesky factor L of its matrix (``_unbroadcasted_scale_tril``), each made on first use
    and expanded to ``_matrix_shape()``: Sigma = L L^T, its inverse the precision."""

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        low = self._unbroadcasted_scale_tril
        return matmul(low, _mt(low)).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        return inv(self.covariance_matrix)


class MultivariateNormal(_FromScaleTril, Distribution):
    """The normal distribution of vectors with mean ``loc`` and one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril`` (the lower Cholesky factor of the covariance)."""

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        name, matrix = one_matrix("MultivariateNormal", covariance_matrix, precision_matrix,
                                  scale_tril)
        for what, t, ndim in (("loc", loc, 1), (name, matrix, 2)):
            if not isinstance(t, Tensor) or t.ndim < ndim:
                raise ValueError(f"MultivariateNormal: {what} must be a Tensor of at least "
                                 f"{ndim} dimensions, got {getattr(t, 'shape', type(t).__name__)}")
        if matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: {name} must be square matrices of the size of "
                             f"loc's events, got {name} of shape {tuple(matrix.shape)} and loc of "
                             f"shape {tuple(loc.shape)}")
        batch_shape = broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        n = loc.shape[-1]
        self.__dict__[name] = matrix.expand(tuple(batch_shape) + (n, n))
        self.loc = loc.expand(tuple(batch_shape) + (n,))
        super().__init__(batch_shape, (n,), validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = cholesky(inv(matrix))

    def expand(self, batch_shape, _instance=None):
        new = type(self).__new__(type(self))
        batch_shape = tuple(batch_shape)
        n = self.event_shape[0]
        new.loc = self.loc.expand(batch_shape + (n,))
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(batch_shape + (n, n))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
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

    @property
    def variance(self):
        low = self._unbroadcasted_scale_tril
        return (low * low).sum(-1).expand(tuple(self.batch_shape) + tuple(self.event_shape))

    def _half_log_det(self):
        return log(_diagonal(self._unbroadcasted_scale_tril)).sum(-1)

    def rsample(self, sample_shape=(), *, rng=None, generator=None):
        shape = self._extended_shape(sample_shape)
        eps = draw("MultivariateNormal.rsample", rng, generator, "standard_normal", shape,
                   self.loc)
        return self.loc + matmul(self._unbroadcasted_scale_tril, eps.unsqueeze(-1)).squeeze(-1)

    def _mahalanobis(self, diff):
        """|L^-1 diff|^2 for each vector of ``diff`` (L broadcast against its batch)."""
        # Only the lower triangle enters (a triangular solve, as PyTorch's solve_triangular).
        low = self._unbroadcasted_scale_tril.tril()
        batch = broadcast_shapes(tuple(low.shape[:-2]), tuple(diff.shape[:-1]))
        n = diff.shape[-1]
        z = solve(low.expand(tuple(batch) + (n, n)), diff.expand(tuple(batch) + (n,)).unsqueeze(-1))
        return (z * z).sum((-2, -1))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        m = self._mahalanobis(value - self.loc)
        return -0.5 * (self.event_shape[0] * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        n = self.event_shape[0]
        h = 0.5 * n * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(tuple(self.batch_shape))
