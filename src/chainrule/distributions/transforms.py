"""Invertible maps for ``TransformedDistribution``: ExpTransform, AffineTransform,
SigmoidTransform and TanhTransform (the squashing of RL policies), as in
``torch.distributions.transforms``.

Each transform maps ``x`` to ``y = t(x)``, has ``t.inv`` (itself a transform) and
``log_abs_det_jacobian(x, y)``, elementwise (``AffineTransform(event_dim=k)`` sums it over the
last k dimensions). With ``cache_size=1`` a transform remembers its last pair, so that
``t.inv(t(x))`` returns ``x`` itself (``TanhTransform`` then avoids ``atanh`` of a rounded 1.0).
"""

from __future__ import annotations

import copy
import math
import numbers

from ..ops import abs as _abs
from ..ops import broadcast_shapes, exp, full_like, log, log1p, sigmoid, tanh
from . import constraints
from ._utils import finfo, softplus, sum_rightmost

__all__ = ["AffineTransform", "ExpTransform", "SigmoidTransform", "TanhTransform", "Transform"]


class Transform:
    """Base class: subclasses define ``_call``, ``_inverse`` and ``log_abs_det_jacobian``."""

    bijective = True
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size: int = 0):
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got "
                             f"{cache_size!r}")
        self._cache_size = cache_size
        self._cached = None

    @property
    def event_dim(self) -> int:
        if self.domain.event_dim != self.codomain.event_dim:
            raise ValueError(f"{type(self).__name__}.event_dim: the domain has event_dim "
                             f"{self.domain.event_dim} and the codomain "
                             f"{self.codomain.event_dim}; use .domain.event_dim or "
                             f".codomain.event_dim")
        return self.domain.event_dim

    @property
    def sign(self):
        """The sign of the Jacobian's determinant, for the monotone elementwise transforms;
        others (not monotone, or not elementwise) raise, as PyTorch's do."""
        raise NotImplementedError(f"{type(self).__name__} has no sign: it is not a monotone "
                                  f"elementwise map")

    @property
    def inv(self) -> Transform:
        """The inverse transform, the same object on every call (so ``t.inv.inv is t``, as
        PyTorch's, and a cached transform and its inverse share one cache)."""
        inv = getattr(self, "_inv_ref", None)
        if inv is None:
            inv = self._inv_ref = self._make_inverse()
        return inv

    def _make_inverse(self):
        return _InverseTransform(self)

    # Transforms whose constructors take more than ``cache_size`` copy themselves in
    # ``with_cache``; a subclass with its own constructor must override ``with_cache``.
    _copy_with_cache = False

    def with_cache(self, cache_size: int = 1) -> Transform:
        """This transform with ``cache_size`` (itself when it already has it)."""
        if getattr(self, "_cache_size", 0) == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        if type(self).__dict__.get("_copy_with_cache", False):
            if cache_size not in (0, 1):
                raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got "
                                 f"{cache_size!r}")
            clone = copy.copy(self)
            clone._cache_size, clone._cached, clone._inv_ref = cache_size, None, None
            return clone
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    def __call__(self, x):
        if self._cache_size and self._cached is not None and self._cached[0] is x:
            return self._cached[1]
        y = self._call(x)
        if self._cache_size:
            self._cached = (x, y)
        return y

    def _inv_call(self, y):
        if self._cache_size and self._cached is not None and self._cached[1] is y:
            return self._cached[0]
        x = self._inverse(y)
        if self._cache_size:
            self._cached = (x, y)
        return x

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    # Equality as PyTorch's (what the KL of two TransformedDistributions compares): the same
    # object, or for a transform without parameters (``_by_type``) any of its type; like
    # PyTorch's, transforms are then unhashable.
    _by_type = False

    def __eq__(self, other):
        return isinstance(other, type(self)) if self._by_type else self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return f"{type(self).__name__}()"


class _InverseTransform(Transform):
    def __init__(self, transform):
        super().__init__(transform._cache_size)
        self._inv = transform

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def with_cache(self, cache_size: int = 1):
        return self._inv.with_cache(cache_size).inv

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)


class ExpTransform(Transform):
    """y = exp(x)."""

    _by_type = True
    sign = 1

    codomain = constraints.positive

    def _call(self, x):
        return exp(x)

    def _inverse(self, y):
        return log(y)

    def log_abs_det_jacobian(self, x, y):
        return x


def _clip_unit(y):
    info = finfo(y.dtype)
    return y.clamp(min=info.tiny, max=1.0 - info.eps)


class SigmoidTransform(Transform):
    """y = 1 / (1 + exp(-x))."""

    _by_type = True
    sign = 1

    codomain = constraints.unit_interval

    def _call(self, x):
        return _clip_unit(sigmoid(x))

    def _inverse(self, y):
        y = _clip_unit(y)
        return log(y) - log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        return -softplus(-x) - softplus(x)


class TanhTransform(Transform):
    """y = tanh(x)."""

    _by_type = True
    sign = 1

    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return tanh(x)

    def _inverse(self, y):
        return 0.5 * (log1p(y) - log1p(-y))

    def log_abs_det_jacobian(self, x, y):
        # log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x)), stable for large |x|.
        return 2.0 * (math.log(2.0) - x - softplus(-2.0 * x))


class AffineTransform(Transform):
    """y = loc + scale * x (elementwise; ``event_dim`` rightmost dimensions form one event)."""

    _copy_with_cache = True

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size)
        self.loc, self.scale = loc, scale
        self._event_dim = event_dim

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return constraints.independent(constraints.real, self._event_dim) \
            if self._event_dim else constraints.real

    @property
    def codomain(self):
        return self.domain

    @property
    def sign(self):
        if isinstance(self.scale, numbers.Real):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def forward_shape(self, shape):
        return _with_parameters(shape, self.loc, self.scale)

    def inverse_shape(self, shape):
        return _with_parameters(shape, self.loc, self.scale)

    def log_abs_det_jacobian(self, x, y):
        if isinstance(self.scale, numbers.Real):
            result = full_like(x, math.log(abs(self.scale)))
        else:
            result = log(_abs(self.scale))
            result = result.expand(tuple(broadcast_shapes(tuple(x.shape), tuple(result.shape))))
        return sum_rightmost(result, self._event_dim)

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        return _same(self.loc, other.loc) and _same(self.scale, other.scale)

    def __repr__(self):
        return f"AffineTransform(loc={self.loc}, scale={self.scale}, event_dim={self._event_dim})"


def _with_parameters(shape, *params):
    """``shape`` broadcast with the shapes of the tensor parameters (a transform with a
    batch of parameters widens a batch of inputs, as PyTorch's forward_shape/inverse_shape)."""
    return broadcast_shapes(tuple(shape), *(tuple(p.shape) for p in params
                                            if not isinstance(p, numbers.Number)))


def _same(a, b):
    """Equal numbers, or tensors equal everywhere (a number against a tensor: every entry)."""
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return a == b
    if isinstance(b, numbers.Number):
        a, b = b, a
    return bool((a == b).all().item())


from .transforms_extra import (  # noqa: E402 - they subclass Transform, defined above
    AbsTransform,
    ComposeTransform,
    CumulativeDistributionTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PowerTransform,
    ReshapeTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StickBreakingTransform,
)
from .transforms_join import CatTransform, StackTransform  # noqa: E402
from .transforms_matrix import CorrCholeskyTransform, PositiveDefiniteTransform  # noqa: E402

__all__ += ["CatTransform", "CorrCholeskyTransform", "PositiveDefiniteTransform",
            "StackTransform"]
__all__ += ["AbsTransform", "ComposeTransform", "CumulativeDistributionTransform",
            "IndependentTransform", "LowerCholeskyTransform", "PowerTransform", "ReshapeTransform",
            "SoftmaxTransform", "SoftplusTransform", "StickBreakingTransform"]
