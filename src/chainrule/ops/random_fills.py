"""The in-place random fills of a tensor (``exponential_``, ``log_normal_``, ``cauchy_``,
``geometric_``, ``random_``, the values of ``bernoulli_``), each drawing from ``generator`` (a
chainrule.Generator) or the default one, with PyTorch's checks of the tensor's dtype and of the
arguments: a continuous distribution fills only a floating-point tensor (an integer one would
keep the draws truncated), and ``random_(from, to)`` refuses a range the dtype cannot hold (a
cast would wrap it around).
"""

from __future__ import annotations

import numbers

from ..autograd.inplace_record import change
from ..autograd.tensor import Tensor
from ..backend import asnumpy, device_of, get_array_module, to_device
from ..backend.random import resolve_rng
from .rearrange import broadcast_shapes

__all__ = ["cauchy_", "exponential_", "geometric_", "log_normal_", "random_"]


def _draw(t, who, draws) -> Tensor:
    values = to_device(draws.astype(t._data.dtype), device_of(t._data))
    return change(t, who, lambda x: Tensor(values))


def _positive(who, name, value):
    if not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{who}: {name} must be a positive number, got {value!r}")


def _floating(who, t, kinds="f"):
    """Refuse a tensor whose dtype is not floating-point (``kinds``), as PyTorch does."""
    if t._data.dtype.kind not in kinds:
        raise TypeError(f"{who}: fills only a floating-point tensor (a continuous "
                        f"distribution), got dtype {t._data.dtype}")


def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with draws of the exponential distribution of rate ``lambd`` (mean ``1 / lambd``)."""
    _floating("exponential_", self)
    _positive("exponential_", "lambd", lambd)
    rng = resolve_rng(generator, "exponential_")
    return _draw(self, "exponential_", rng.exponential(1.0 / lambd, size=self._data.shape))


def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with ``exp(N(mean, std^2))`` draws."""
    _floating("log_normal_", self)
    _positive("log_normal_", "std", std)
    rng = resolve_rng(generator, "log_normal_")
    return _draw(self, "log_normal_", rng.lognormal(mean, std, size=self._data.shape))


def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with draws of the Cauchy distribution at ``median`` with scale ``sigma``."""
    _floating("cauchy_", self)
    _positive("cauchy_", "sigma", sigma)
    rng = resolve_rng(generator, "cauchy_")
    return _draw(self, "cauchy_", median + sigma * rng.standard_cauchy(size=self._data.shape))


def geometric_(self, p, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(``p``) trials up to the first success (1, 2, ...);
    a floating-point or integer tensor, ``0 < p < 1`` (PyTorch's range)."""
    if self._data.dtype.kind not in "fiu":
        raise TypeError(f"geometric_: fills a floating-point or integer tensor, got dtype "
                        f"{self._data.dtype}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p < 1:
        raise ValueError(f"geometric_: p must be in (0, 1), got {p!r}")
    rng = resolve_rng(generator, "geometric_")
    return _draw(self, "geometric_", rng.geometric(p, size=self._data.shape))


def _bounds(a) -> tuple:
    """The smallest and largest value ``random_`` may write into the array ``a`` (PyTorch's)."""
    xp = get_array_module(a)
    if a.dtype.kind == "b":
        return 0, 1
    if a.dtype.kind == "f":
        top = int(xp.finfo(a.dtype).max)
        return -top, top
    info = xp.iinfo(a.dtype)
    return int(info.min), int(info.max)


def _random_top(a) -> int:
    """One past the largest value ``random_()`` draws into the array ``a``: every integer of a
    float dtype's mantissa, every value of an integer dtype."""
    if a.dtype.kind == "b":
        return 2
    if a.dtype.kind == "f":
        return 2 ** {2: 11, 4: 24, 8: 53}[a.dtype.itemsize] + 1
    return int(get_array_module(a).iinfo(a.dtype).max) + 1


def random_(self, *args, generator=None, **kwargs) -> Tensor:
    """Fill with integers drawn uniformly from ``[from, to - 1]``: ``random_(to)``,
    ``random_(from, to)`` (or ``**{"from": a, "to": b}``); with neither, from 0 to the largest
    integer the dtype holds exactly (2**24 for float32, 2**53 for float64). ``from`` and
    ``to - 1`` must fit the dtype (for bool: 0 and 1)."""
    unknown = set(kwargs) - {"from", "to"}
    if unknown or len(args) > 2:
        raise TypeError(f"random_: takes (to), (from, to) or from=/to=, got {len(args)} "
                        f"positional arguments and {sorted(kwargs)}")
    dtype = self._data.dtype
    if dtype.kind not in "biuf":
        raise TypeError(f"random_: fills an integer, floating-point or bool tensor, got dtype "
                        f"{dtype}")
    low, high = (0, args[0]) if len(args) == 1 else (args + (0, None))[:2]
    low, high = kwargs.get("from", low), kwargs.get("to", high)
    if high is None:
        high = _random_top(self._data)
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (low, high)):
        raise TypeError(f"random_: from and to must be ints, got {low!r} and {high!r}")
    if low >= high:
        raise ValueError(f"random_: expects 'from' to be less than 'to', got from={low} >= "
                         f"to={high}")
    lo, hi = _bounds(self._data)
    for name, v in (("from", low), ("to - 1", high - 1)):
        if not lo <= v <= hi:
            raise ValueError(f"random_: {name} = {v} is out of bounds for {dtype} (expected "
                             f"[{lo}, {hi}])")
    rng = resolve_rng(generator, "random_")
    return _draw(self, "random_", rng.integers(low, high, size=self._data.shape,
                                               dtype="int64" if high <= 2**63 else "uint64"))


def bernoulli_values(self, p=0.5, *, generator=None, rng=None) -> Tensor:
    """What ``self.bernoulli_(p)`` writes: 1 with probability ``p`` (a number, or a tensor that
    broadcasts to ``self``'s shape, of any floating dtype), else 0, in ``self``'s dtype (an
    integer or bool tensor too, as in PyTorch)."""
    if generator is not None and rng is not None:
        raise TypeError("bernoulli_: give rng or generator, not both")
    if isinstance(p, Tensor):
        if p._data.dtype.kind != "f":
            raise TypeError(f"bernoulli_: p must be a number or a floating-point tensor, got "
                            f"dtype {p._data.dtype}")
        if broadcast_shapes(tuple(p.shape), tuple(self.shape)) != tuple(self.shape):
            raise RuntimeError(f"bernoulli_: p of shape {tuple(p.shape)} does not broadcast to "
                               f"the tensor's shape {tuple(self.shape)}")
        probs = asnumpy(p._data)
        bad = probs.size and not (probs.min() >= 0 and probs.max() <= 1)  # NaN fails too
    else:
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"bernoulli_: p must be a number or a tensor, got {p!r}")
        probs, bad = p, not 0 <= p <= 1
    if bad:
        raise ValueError(f"bernoulli_: p must lie in [0, 1], got {p!r}")
    draws = resolve_rng(rng if generator is None else generator, "bernoulli_").random(
        tuple(self.shape)) < probs  # on the host, from the host generator
    return Tensor(to_device(draws.astype(self._data.dtype), device_of(self._data)))
