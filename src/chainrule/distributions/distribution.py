"""The base class of every distribution: shapes, sampling, validation and ``expand``.

As in PyTorch, a distribution has a ``batch_shape`` (independent, differently parameterised
distributions) and an ``event_shape`` (the shape of one draw); ``sample(sample_shape)`` returns
``sample_shape + batch_shape + event_shape``. Samples come from ``rng=`` (a numpy Generator, or
PyTorch's ``generator=``), else from the default generator that ``chainrule.manual_seed`` seeds.
"""

from __future__ import annotations

from ..autograd import Tensor, no_grad
from ..autograd.tensor import Size
from . import constraints

__all__ = ["Distribution"]


def draw_from(method, sample_shape, rng, generator):
    """``method(sample_shape)`` (a ``sample`` or ``rsample``), given ``rng``/``generator`` only
    where the caller has one: a distribution written for PyTorch (``rsample(self,
    sample_shape)``) takes no such keywords."""
    if rng is None and generator is None:
        return method(sample_shape)
    return method(sample_shape, rng=rng, generator=generator)


class Distribution:
    """Base class; subclasses set ``arg_constraints``, ``support`` and the methods they define."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints: dict = {}
    support = None
    _not_expanded: tuple = ()  # Tensor attributes that ``expand`` keeps as they are

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn validation of parameters and values on (the default) or off for every
        distribution made afterwards without an explicit ``validate_args``."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: value must be True or False, "
                             f"got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = Size(tuple(batch_shape))
        self._event_shape = Size(tuple(event_shape))
        if validate_args is not None:
            self._validate_args = bool(validate_args)
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self):
        for param, constraint in self.arg_constraints.items():
            if isinstance(constraint, constraints._Dependent):
                continue
            if self._not_given(param):
                continue  # the other parameterisation (probs given, logits not yet computed)
            value = getattr(self, param)
            try:
                ok = constraint.check(value)
            except NotImplementedError as e:  # a complex parameter
                raise NotImplementedError(
                    f"parameter {param} of {type(self).__name__}: {e}") from None
            if not bool(ok._data.all()):
                raise ValueError(
                    f"Expected parameter {param} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                    f"{constraint!r}, but found invalid values:\n{value}")

    def _not_given(self, param) -> bool:
        """Whether ``param`` is the parameterisation not given (computed on first use), which
        validation skips."""
        return param not in self.__dict__ and isinstance(getattr(type(self), param, None), _lazy)

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def expand(self, batch_shape, _instance=None):
        """This distribution with its parameters broadcast to ``batch_shape`` (no copy)."""
        batch_shape = Size(tuple(batch_shape))
        new = type(self).__new__(type(self)) if _instance is None else _instance
        old = len(self._batch_shape)
        for name, value in self.__dict__.items():
            if isinstance(value, Tensor) and name not in self._not_expanded:
                value = value.expand(tuple(batch_shape) + tuple(value.shape[old:]))
            new.__dict__[name] = value
        new._batch_shape = batch_shape
        return new

    def _get_checked_instance(self, cls, _instance=None):
        """A new, empty instance of this distribution's class for ``cls.expand`` to fill (what a
        custom distribution's ``expand`` calls, as PyTorch's). A subclass of ``cls`` with its own
        ``__init__`` must define its own ``expand``: NotImplementedError."""
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom __init__ "
                f"method must also define a custom .expand() method.")
        return type(self).__new__(type(self)) if _instance is None else _instance

    def _extended_shape(self, sample_shape=()) -> Size:
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape=(), *, rng=None, generator=None) -> Tensor:
        """A draw of shape ``sample_shape + batch_shape + event_shape``, without gradient."""
        with no_grad():
            return draw_from(self.rsample, sample_shape, rng, generator)

    def rsample(self, sample_shape=(), *, rng=None, generator=None) -> Tensor:
        """A reparameterised draw: differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def sample_n(self, n: int, *, rng=None, generator=None) -> Tensor:
        return draw_from(self.sample, (n,), rng, generator)

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def enumerate_support(self, expand: bool = True):
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def perplexity(self):
        return self.entropy().exp()

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError(f"The value argument to log_prob must be a Tensor, got "
                             f"{type(value).__name__}")
        event_dim = len(self._event_shape)
        actual = tuple(value.shape)
        if len(actual) < event_dim or actual[len(actual) - event_dim:] != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{actual} vs {tuple(self._event_shape)}.")
        batch = actual[: len(actual) - event_dim]
        expected = tuple(self._batch_shape)
        for i, j in zip(reversed(batch), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{actual} vs {expected + tuple(self._event_shape)}.")
        support = self.support
        if support is None or isinstance(support, constraints._Dependent):
            return
        if not bool(support.check(value)._data.all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {actual}) to be within "
                f"the support ({support!r}) of the distribution {self!r}, but found invalid "
                f"values:\n{value}")

    def __repr__(self) -> str:
        parts = []
        for name in self.arg_constraints:
            if name in self.__dict__:
                v = self.__dict__[name]
                parts.append(f"{name}: {v.size() if v.numel() != 1 else v.item()}")
        return f"{type(self).__name__}({', '.join(parts)})"


class _lazy:  # noqa: N801 - a decorator, named like functools.cached_property
    """A property computed once per instance (the other of probs/logits)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


lazy_property = _lazy
