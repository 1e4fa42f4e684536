"""PyTorch's ``constraint_registry``: ``biject_to(constraint)`` and ``transform_to(constraint)``
give a Transform from the real numbers onto a constraint's set, the way to optimize a
constrained parameter without constraints (``x = transform_to(c)(u)`` for any real ``u``).

``biject_to`` returns bijections (``log_abs_det_jacobian`` exists, as for HMC's change of
variables); ``transform_to`` may return a transform that is only onto (``SoftmaxTransform`` for
the simplex, ``LowerCholeskyTransform``, ``PositiveDefiniteTransform``, also for
``positive_semidefinite``). Both are registries keyed
by the constraint's class, with PyTorch's registrations; ``register`` adds one.
"""

from __future__ import annotations

import numbers

from . import constraints
from .transforms import (
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    SigmoidTransform,
    SoftmaxTransform,
    StackTransform,
    StickBreakingTransform,
)
from .transforms_join import _Cat, _Stack

__all__ = ["ConstraintRegistry", "biject_to", "identity_transform", "transform_to"]

identity_transform = ComposeTransform([])


class ConstraintRegistry:
    """Constraint classes to functions ``constraint -> Transform``."""

    def __init__(self):
        self._registry = {}

    def register(self, constraint, factory=None):
        """Register ``factory`` for ``constraint`` (a Constraint subclass or an instance, whose
        class is used); without ``factory``, a decorator."""
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not isinstance(constraint, type) or not issubclass(constraint, constraints.Constraint):
            raise TypeError(f"Expected constraint to be either a Constraint subclass or "
                            f"instance, but got {constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        """The Transform onto ``constraint``'s set; NotImplementedError when none is
        registered for its class."""
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(
                f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _both(constraint, factory):
    biject_to.register(constraint, factory)
    transform_to.register(constraint, factory)


def _greater_than(c):
    return ComposeTransform([ExpTransform(), AffineTransform(c.lower_bound, 1)])


def _less_than(c):
    return ComposeTransform([ExpTransform(), AffineTransform(c.upper_bound, -1)])


def _interval(c):
    if (isinstance(c.lower_bound, numbers.Number) and c.lower_bound == 0
            and isinstance(c.upper_bound, numbers.Number) and c.upper_bound == 1):
        return SigmoidTransform()
    return ComposeTransform([SigmoidTransform(),
                             AffineTransform(c.lower_bound, c.upper_bound - c.lower_bound)])


_both(constraints.real, lambda c: identity_transform)
for _registry in (biject_to, transform_to):
    _registry.register(constraints.independent, lambda c, _r=_registry: IndependentTransform(
        _r(c.base_constraint), c.reinterpreted_batch_ndims))
    _registry.register(_Cat, lambda c, _r=_registry: CatTransform(
        [_r(part) for part in c.cseq], c.dim, c.lengths))
    _registry.register(_Stack, lambda c, _r=_registry: StackTransform(
        [_r(part) for part in c.cseq], c.dim))
# positive and nonnegative are instances of these classes: the greater-than rule covers them
_both(constraints.greater_than, _greater_than)
_both(constraints.greater_than_eq, _greater_than)
_both(constraints.less_than, _less_than)
_both(constraints.interval, _interval)
_both(constraints.half_open_interval, _interval)
_both(constraints.corr_cholesky, lambda c: CorrCholeskyTransform())
biject_to.register(constraints.simplex, lambda c: StickBreakingTransform())
transform_to.register(constraints.simplex, lambda c: SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda c: LowerCholeskyTransform())
transform_to.register(constraints.positive_definite, lambda c: PositiveDefiniteTransform())
# onto the positive definite matrices, a subset of the semidefinite ones, as PyTorch's
transform_to.register(constraints.positive_semidefinite, lambda c: PositiveDefiniteTransform())
