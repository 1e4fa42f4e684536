"""PyTorch's ``torch.distributions.constraints``: the sets a parameter or a sample must lie in.

A constraint's ``check(value)`` returns a boolean Tensor, True where ``value`` satisfies it; a
constraint on events (``event_dim`` > 0) reduces over the event dimensions, so the result has the
batch shape. Distributions check their parameters and, before ``log_prob``, their values against
these when they validate (the default).
"""

from __future__ import annotations

import math

from ..autograd import Tensor, tensor
from ..backend import get_array_module

# ``cat``, ``stack`` (transforms_join) and ``multinomial`` (counts) are added by their modules
__all__ = ["Constraint", "MixtureSameFamilyConstraint", "boolean", "corr_cholesky",
           "dependent", "dependent_property", "greater_than", "greater_than_eq",
           "half_open_interval", "independent", "integer_interval", "interval", "is_dependent",
           "less_than", "lower_cholesky", "lower_triangular", "nonnegative",
           "nonnegative_integer", "one_hot", "positive", "positive_definite", "positive_integer",
           "positive_semidefinite", "real", "real_vector", "simplex", "square",
           "symmetric", "unit_interval"]


def _data(value):
    return value._data if isinstance(value, Tensor) else value


def _ordered(x, who):
    """``x``, refused when complex: NumPy orders complex numbers lexicographically, PyTorch's
    comparisons raise (a complex Categorical ``probs`` passed validation)."""
    if getattr(x, "dtype", None) is not None and x.dtype.kind == "c":
        raise NotImplementedError(f"{who}.check: a complex value ({x.dtype}) has no order; "
                                  f"expected a real (floating-point, integer or bool) tensor")
    return x


class Constraint:
    """A set of values. ``is_discrete`` for integer-valued sets; ``event_dim`` is the number of
    rightmost dimensions that together make one element."""

    is_discrete = False
    event_dim = 0

    def check(self, value) -> Tensor:
        """A boolean Tensor, True where ``value`` lies in the set."""
        return tensor(self._check(_data(value)))

    def _check(self, x):
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Dependent(Constraint):
    """A placeholder for a constraint that depends on other parameters (it cannot be checked)."""

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def __call__(self, *, is_discrete=False, event_dim=0):
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


class dependent_property(property):  # noqa: N801 - PyTorch's name
    """A property whose value is a constraint that depends on the distribution's parameters."""

    def __init__(self, fn=None, *, is_discrete=False, event_dim=0):
        super().__init__(fn)
        self.is_discrete = is_discrete
        self.event_dim = event_dim

    def __call__(self, fn):
        return dependent_property(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, x):
        return (x == 0) | (x == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def _check(self, x):
        return ((x == 0) | (x == 1)).all(-1) & (x.sum(-1) == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, x):
        x = _ordered(x, self)
        return (x % 1 == 0) & (_data(self.lower_bound) <= x) & (x <= _data(self.upper_bound))

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, x):
        return (_ordered(x, self) % 1 == 0) & (x >= self.lower_bound)

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Real(Constraint):
    def _check(self, x):
        return x == x  # False only for NaN


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, x):
        return _ordered(x, self) > _data(self.lower_bound)

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def _check(self, x):
        return _ordered(x, self) >= _data(self.lower_bound)

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, x):
        return _ordered(x, self) < _data(self.upper_bound)

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, x):
        return (_data(self.lower_bound) <= _ordered(x, self)) & (x <= _data(self.upper_bound))

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    def _check(self, x):
        return (_data(self.lower_bound) <= _ordered(x, self)) & (x < _data(self.upper_bound))

    def __repr__(self):
        return f"HalfOpenInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Independent(Constraint):
    """``base`` with ``reinterpreted_batch_ndims`` more rightmost dimensions in each event."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.is_discrete = base_constraint.is_discrete
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims

    def _check(self, x):
        ok = self.base_constraint._check(x)
        n = self.reinterpreted_batch_ndims
        if ok.ndim < n:
            raise ValueError(f"Expected value.dim() >= {n} but got {ok.ndim}")
        lead = tuple(ok.shape[: ok.ndim - n])
        return ok.reshape(lead + (math.prod(ok.shape[len(lead):]),)).all(-1)

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Simplex(Constraint):
    event_dim = 1

    def _check(self, x):
        return (_ordered(x, self) >= 0).all(-1) & (abs(x.sum(-1) - 1) < 1e-6)


class _LowerCholesky(Constraint):
    event_dim = 2

    def _check(self, x):
        xp = get_array_module(x)
        strictly_upper = xp.triu(x, 1)
        diagonal = xp.diagonal(_ordered(x, self), axis1=-2, axis2=-1)
        return (strictly_upper == 0).all((-2, -1)) & (diagonal > 0).all(-1)


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: a positive diagonal and rows of norm 1."""

    event_dim = 2

    def _check(self, x):
        xp = get_array_module(x)
        tol = xp.finfo(x.dtype).eps * x.shape[-1] * 10
        unit_rows = (abs(xp.sqrt((x * x).sum(-1)) - 1.0) <= tol).all(-1)
        return _LowerCholesky()._check(x) & unit_rows


class _LowerTriangular(Constraint):
    event_dim = 2

    def _check(self, x):
        return (get_array_module(x).tril(x) == x).all((-2, -1))


class _Square(Constraint):
    event_dim = 2

    def _check(self, x):
        xp = get_array_module(x)
        return xp.full(x.shape[:-2], x.shape[-2] == x.shape[-1], dtype=bool)


class _Symmetric(_Square):
    """Square matrices equal to their transpose within ``torch.isclose(atol=1e-6)``."""

    def _check(self, x):
        square = super()._check(x)
        if not square.all():
            return square
        xt = x.swapaxes(-1, -2)
        return (abs(x - xt) <= 1e-6 + 1e-5 * abs(xt)).all((-2, -1))


class _PositiveSemidefinite(_Symmetric):
    def _check(self, x):
        symmetric = super()._check(x)
        if not symmetric.all():
            return symmetric
        return (get_array_module(x).linalg.eigvalsh(x) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    def _check(self, x):
        symmetric = super()._check(x)
        if x.shape[-2] != x.shape[-1]:
            return symmetric
        sym = (x + x.swapaxes(-1, -2)) / 2
        return symmetric & (get_array_module(x).linalg.eigvalsh(sym)[..., 0] > 0)


class MixtureSameFamilyConstraint(Constraint):
    """The support of a MixtureSameFamily: ``base_constraint`` (its components') checked
    against every component, the mixture dimension put back before the event ones."""

    def __init__(self, base_constraint):
        if not isinstance(base_constraint, Constraint):
            raise TypeError(f"MixtureSameFamilyConstraint: base_constraint must be a "
                            f"Constraint, got {type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim

    def check(self, value):
        n = value.ndim - self.event_dim
        if n < 0:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.ndim}")
        ok = self.base_constraint.check(value.unsqueeze(-1 - self.event_dim))
        return ok.reshape(tuple(ok.shape[:n]) + (math.prod(ok.shape[n:]),)).all(-1)

    def __repr__(self):
        return f"MixtureSameFamilyConstraint({self.base_constraint!r})"


def is_dependent(constraint) -> bool:
    """Whether ``constraint`` depends on a distribution's parameters (``dependent``, or a
    ``dependent_property`` read from the class)."""
    return isinstance(constraint, (_Dependent, dependent_property))


dependent = _Dependent()
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = _Independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
independent = _Independent
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
positive_definite = _PositiveDefinite()
lower_triangular = _LowerTriangular()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
