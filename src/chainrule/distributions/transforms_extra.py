"""More of ``torch.distributions.transforms``: PowerTransform, AbsTransform, SoftmaxTransform,
StickBreakingTransform, LowerCholeskyTransform, ReshapeTransform, IndependentTransform,
ComposeTransform (a chain of transforms as one), SoftplusTransform and
CumulativeDistributionTransform.

Transforms whose events have more than one element (``event_dim`` > 0) map whole vectors or
matrices; ``forward_shape``/``inverse_shape`` give the shape a transform maps a shape to (the
stick-breaking map adds one coordinate: K real numbers to a point of the K+1 simplex).
"""

from __future__ import annotations

import math
import numbers

from ..ops import abs as _abs
from ..ops import arange, cat, exp, expm1, eye, log, logsigmoid, ones_like, sigmoid, zeros
from . import constraints
from ._utils import finfo, softplus, sum_rightmost
from .transforms import Transform, _clip_unit, _with_parameters

__all__ = ["AbsTransform", "ComposeTransform", "CumulativeDistributionTransform",
           "IndependentTransform", "LowerCholeskyTransform", "PowerTransform", "ReshapeTransform",
           "SoftmaxTransform", "SoftplusTransform", "StickBreakingTransform"]


class PowerTransform(Transform):
    """y = x ** exponent on the positive numbers."""

    domain = constraints.positive
    codomain = constraints.positive

    _copy_with_cache = True

    def __init__(self, exponent, cache_size: int = 0):
        super().__init__(cache_size)
        self.exponent = exponent

    @property
    def sign(self):
        if isinstance(self.exponent, numbers.Real):
            return 1 if self.exponent > 0 else -1 if self.exponent < 0 else 0
        return self.exponent.sign()

    def _call(self, x):
        return x ** self.exponent

    def _inverse(self, y):
        return y ** (1 / self.exponent)

    def forward_shape(self, shape):
        return _with_parameters(shape, self.exponent)

    inverse_shape = forward_shape

    def log_abs_det_jacobian(self, x, y):
        return log(_abs(self.exponent * y / x))

    def __eq__(self, other):
        if not isinstance(other, PowerTransform):
            return False
        a, b = self.exponent, other.exponent
        if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
            return a == b
        return bool(((a - b) == 0).all().item())

    def __repr__(self):
        return f"PowerTransform(exponent={self.exponent})"


class AbsTransform(Transform):
    """y = |x|; not bijective: its ``inv`` returns the positive root, and it has no Jacobian."""

    _by_type = True

    bijective = False
    codomain = constraints.positive

    def _call(self, x):
        return _abs(x)

    def _inverse(self, y):
        return y


class SoftmaxTransform(Transform):
    """Real vectors to the simplex by ``softmax`` (not bijective: shifts are lost); the inverse
    is ``log``, defined up to that shift, and there is no Jacobian."""

    _by_type = True

    bijective = False
    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        probs = exp(x - x.detach().max(-1, keepdim=True)[0])
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y):
        return log(y)


def _offsets(like, k):
    """log(k - i) for i = 0..k-1: the shifts that send 0 to the centre of the simplex."""
    return log(k - arange(k, dtype=like.dtype, device=like.device))


class StickBreakingTransform(Transform):
    """Real K-vectors to the (K+1)-simplex by stick breaking: coordinate i takes the fraction
    ``sigmoid(x_i - log(K - i))`` of what is left of the stick; the last gets the rest."""

    _by_type = True

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        k = x.shape[-1]
        z = _clip_unit(sigmoid(x - _offsets(x, k)))  # as PyTorch's: no 0 for log_abs_det_jacobian
        left = (1 - z).cumprod(-1)
        one = ones_like(x[..., :1])
        return cat([z, one], -1) * cat([one, left], -1)

    def _inverse(self, y):
        crop = y[..., :-1]
        k = crop.shape[-1]
        rest = (1 - crop.cumsum(-1)).clamp(min=finfo(y.dtype).tiny)
        return log(crop) - log(rest) + _offsets(crop, k)

    def log_abs_det_jacobian(self, x, y):
        k = x.shape[-1]
        shifted = x - _offsets(x, k)
        return (-shifted + logsigmoid(shifted) + log(y[..., :-1])).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError(f"StickBreakingTransform: too few dimensions on input shape {shape}")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError(f"StickBreakingTransform: too few dimensions on input shape {shape}")
        return tuple(shape[:-1]) + (shape[-1] - 1,)


def _diag_embed_exp(x, fn):
    identity = eye(x.shape[-1], dtype=x.dtype, device=x.device)
    diagonal = (x * identity).sum(-1)
    return x.tril(-1) + fn(diagonal).unsqueeze(-1) * identity


class LowerCholeskyTransform(Transform):
    """Square matrices to lower-triangular ones with a positive diagonal: the strictly lower
    triangle is kept, the diagonal exponentiated (the strictly upper triangle is dropped, so the
    map is not bijective on all matrices; no Jacobian, as in PyTorch)."""

    _by_type = True

    bijective = False
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return _diag_embed_exp(x, exp)

    def _inverse(self, y):
        return _diag_embed_exp(y, log)


class ReshapeTransform(Transform):
    """Reshapes the rightmost ``in_shape`` dimensions to ``out_shape`` (the same number of
    elements); its log-Jacobian is 0."""

    _copy_with_cache = True

    def __init__(self, in_shape, out_shape, cache_size: int = 0):
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError(f"ReshapeTransform: in_shape {self.in_shape} and out_shape "
                             f"{self.out_shape} have different numbers of elements")
        super().__init__(cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def _call(self, x):
        batch = tuple(x.shape[: x.ndim - len(self.in_shape)])
        return x.reshape(batch + self.out_shape)

    def _inverse(self, y):
        batch = tuple(y.shape[: y.ndim - len(self.out_shape)])
        return y.reshape(batch + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        batch = tuple(x.shape[: x.ndim - len(self.in_shape)])
        return zeros(batch, dtype=x.dtype, device=x.device)

    def _check(self, shape, expected, who):
        shape = tuple(shape)
        if len(shape) < len(expected) or shape[len(shape) - len(expected):] != expected:
            raise ValueError(f"ReshapeTransform.{who}: shape {shape} does not end in "
                             f"{expected}")
        return shape[: len(shape) - len(expected)]

    def forward_shape(self, shape):
        return self._check(shape, self.in_shape, "forward_shape") + self.out_shape

    def inverse_shape(self, shape):
        return self._check(shape, self.out_shape, "inverse_shape") + self.in_shape

    def __repr__(self):
        return f"ReshapeTransform(in_shape={self.in_shape}, out_shape={self.out_shape})"


def _enough_dims(value, event_dim):
    if value.ndim < event_dim:
        raise ValueError(f"IndependentTransform: too few dimensions on input: got shape "
                         f"{tuple(value.shape)}, expected at least {event_dim} (its event_dim)")


class IndependentTransform(Transform):
    """``base_transform`` with its ``reinterpreted_batch_ndims`` rightmost batch dimensions read
    as event dimensions: the log-Jacobian sums over them."""

    _copy_with_cache = True

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size: int = 0):
        super().__init__(cache_size)
        self.base_transform = base_transform
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        _enough_dims(x, self.domain.event_dim)
        return self.base_transform(x)

    def _inverse(self, y):
        _enough_dims(y, self.codomain.event_dim)
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        _enough_dims(x, self.domain.event_dim)
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                             self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self):
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


class ComposeTransform(Transform):
    """``parts`` applied in order, as one transform (its inverse applies the inverses in
    reverse order; its log-Jacobian is the sum of the parts', each summed over the dimensions by
    which its events are smaller than the whole's)."""

    def __init__(self, parts, cache_size: int = 0):
        if not all(isinstance(p, Transform) for p in parts):
            raise TypeError(f"ComposeTransform: parts must be Transforms, got {parts!r}")
        super().__init__(cache_size)
        # as PyTorch's: a cached composition caches each part, so that its inverse (the parts'
        # inverses) returns the very input of the last call
        self.parts = [p.with_cache(cache_size) for p in parts] if cache_size else list(parts)

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim = max(event_dim - part.codomain.event_dim, 0) + part.domain.event_dim
        if event_dim > domain.event_dim:
            domain = constraints.independent(domain, event_dim - domain.event_dim)
        return domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim = max(event_dim - part.domain.event_dim, 0) + part.codomain.event_dim
        if event_dim > codomain.event_dim:
            codomain = constraints.independent(codomain, event_dim - codomain.event_dim)
        return codomain

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    def _make_inverse(self):
        inv = ComposeTransform([p.inv for p in reversed(self.parts)])
        inv._inv_ref = self
        return inv

    def with_cache(self, cache_size: int = 1):
        return self if self._cache_size == cache_size else ComposeTransform(self.parts,
                                                                            cache_size)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return x * 0
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total = 0.0
        event_dim = self.domain.event_dim
        for part, a, b in zip(self.parts, xs[:-1], xs[1:]):
            total = total + sum_rightmost(part.log_abs_det_jacobian(a, b),
                                          event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self):
        return f"ComposeTransform({self.parts!r})"


class SoftplusTransform(Transform):
    """y = log(1 + exp(x)), onto the positive numbers."""

    _by_type = True
    sign = 1

    codomain = constraints.positive

    def _call(self, x):
        return softplus(x)

    def _inverse(self, y):
        return log(-expm1(-y)) + y  # log(exp(y) - 1), without overflow

    def log_abs_det_jacobian(self, x, y):
        return -softplus(-x)


class CumulativeDistributionTransform(Transform):
    """y = ``distribution.cdf(x)``, from the distribution's support onto [0, 1]; the inverse is
    its ``icdf`` and the log-Jacobian its ``log_prob``."""

    codomain = constraints.unit_interval
    sign = 1

    _copy_with_cache = True

    def __init__(self, distribution, cache_size: int = 0):
        super().__init__(cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def __repr__(self):
        return f"CumulativeDistributionTransform({self.distribution!r})"
