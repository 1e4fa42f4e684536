"""LKJCholesky: the Cholesky factor of an LKJ-distributed correlation matrix (Lewandowski,
Kurowicka and Joe, 2009), with PyTorch's onion-method sampler and density."""

from __future__ import annotations

import math

from ..autograd import no_grad, tensor
from ..ops import arange, cat, eye, log, mvlgamma, zeros
from ..ops.special_fns import lgamma
from . import constraints
from ._utils import broadcast_all, draw, finfo, pick_rng
from .distribution import Distribution
from .gamma import Beta

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """Lower-triangular ``dim`` x ``dim`` factors L of correlation matrices L L^T whose density
    is proportional to det(L L^T) ** (concentration - 1); concentration 1 is uniform over
    correlation matrices."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim!r}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        super().__init__(self.concentration.shape, (dim, dim), validate_args)
        self._beta = self._marginal_beta()

    def _marginal_beta(self):
        """The Beta distributions of the squared norms of each row's off-diagonal part: row k
        (k >= 1) has Beta(k / 2, concentration + (d - 2) / 2 - (k - 1) / 2) (the onion method,
        section 3.2 of the paper; PyTorch's first parameter, k - 1/2, is wrong beyond k = 1).
        The first row's is a placeholder."""
        c = self.concentration
        marginal = c + 0.5 * (self.dim - 2)
        offset = arange(self.dim - 1, dtype=c.dtype, device=c.device)
        offset = cat([zeros(1, dtype=c.dtype, device=c.device), offset])
        return Beta(0.5 * offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._beta = new._marginal_beta()
        return new

    def sample(self, sample_shape=(), *, rng=None, generator=None):
        g = pick_rng("LKJCholesky.sample", rng, generator)
        with no_grad():
            y = self._beta.sample(sample_shape, rng=g).unsqueeze(-1)
            shape = self._extended_shape(sample_shape)
            normal = draw("LKJCholesky.sample", g, None, "standard_normal", shape, y).tril(-1)
            norms = (normal * normal).sum(-1, keepdim=True).sqrt()
            first_row = (arange(self.dim, device=y.device) == 0).reshape(-1, 1)
            # the first row has no off-diagonal part (0 / 0): its direction is 0
            direction = normal / norms.masked_fill(first_row, 1.0)
            w = y.sqrt() * direction
            tiny = finfo(w.dtype).tiny
            diagonal = (1 - (w * w).sum(-1)).clamp(min=tiny).sqrt()
            return w + diagonal.unsqueeze(-1) * eye(self.dim, dtype=w.dtype, device=w.device)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        if tuple(value.shape[-2:]) != (self.dim, self.dim):  # also unvalidated: no silent broadcast
            raise ValueError(f"LKJCholesky.log_prob: value must end in the event shape "
                             f"({self.dim}, {self.dim}), got shape {tuple(value.shape)}")
        identity = eye(self.dim, dtype=value.dtype, device=value.device)
        diagonal = (value * identity).sum(-1)[..., 1:]
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - tensor(
            [float(i) for i in range(2, self.dim + 1)], dtype=value.dtype, device=value.device)
        unnormalised = (order * log(diagonal)).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        # the normaliser of the paper (page 1999): mvlgamma's pi term is (d-1)(d-2)/4 log(pi),
        # the paper's d(d-1)/4 log(pi); the difference is (d-1)/2 log(pi)
        normaliser = (0.5 * dm1 * math.log(math.pi) + mvlgamma(alpha - 0.5, dm1)
                      - lgamma(alpha) * dm1)
        return unnormalised - normaliser
