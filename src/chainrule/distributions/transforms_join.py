"""CatTransform and StackTransform: a list of transforms, each applied to its own slice of one
dimension (consecutive blocks of ``lengths``, or single indices), as in PyTorch; with the
``constraints.cat`` and ``constraints.stack`` constraints they map between."""

from __future__ import annotations

from ..backend import get_array_module
from ..ops import cat, stack
from . import constraints
from ._utils import sum_rightmost
from .transforms import Transform

__all__ = ["CatTransform", "StackTransform"]


def _slice_array(x, dim, start, stop):
    dim = dim % x.ndim
    return x[(slice(None),) * dim + (slice(start, stop),)]


class _Cat(constraints.Constraint):
    """``cseq[i]`` on the i-th block (of ``lengths[i]``) of dimension ``dim``."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq = list(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise ValueError(f"constraints.cat: {len(self.cseq)} constraints but "
                             f"{len(self.lengths)} lengths")
        self.dim = dim
        self.is_discrete = any(c.is_discrete for c in self.cseq)
        self.event_dim = max(c.event_dim for c in self.cseq)

    def _check(self, x):
        checks, start = [], 0
        for c, length in zip(self.cseq, self.lengths):
            checks.append(c._check(_slice_array(x, self.dim, start, start + length)))
            start += length
        return get_array_module(x).concatenate(checks, self.dim)


class _Stack(constraints.Constraint):
    """``cseq[i]`` on index i of dimension ``dim``."""

    def __init__(self, cseq, dim=0):
        self.cseq = list(cseq)
        self.dim = dim
        self.is_discrete = any(c.is_discrete for c in self.cseq)
        # PyTorch's rule: a stacking dimension counted from the right, within reach of the
        # parts' events, is an event dimension too
        event_dim = max(c.event_dim for c in self.cseq)
        self.event_dim = event_dim + 1 if dim + event_dim < 0 else event_dim

    def _check(self, x):
        dim = self.dim % x.ndim
        parts = [c._check(x[(slice(None),) * dim + (i,)]) for i, c in enumerate(self.cseq)]
        return get_array_module(x).stack(parts, self.dim)


constraints.cat = _Cat
constraints.stack = _Stack
constraints.__all__ += ["cat", "stack"]


def _check_transforms(who, tseq):
    if not all(isinstance(t, Transform) for t in tseq):
        raise TypeError(f"{who}: tseq must be Transforms, got {tseq!r}")


def _check_dim(who, x, dim, size, expected):
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"{who}: dim {dim} out of range for an input of shape "
                         f"{tuple(x.shape)}")
    if x.shape[dim] != size:
        raise ValueError(f"{who}: dimension {dim} of the input (shape {tuple(x.shape)}) must "
                         f"have size {size}, {expected}")


class CatTransform(Transform):
    """``tseq[i]`` applied to the i-th block of ``lengths[i]`` entries (1 each by default) along
    ``dim``; the results concatenated."""

    _copy_with_cache = True

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        _check_transforms("CatTransform", tseq)
        super().__init__(cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"CatTransform: {len(self.transforms)} transforms but "
                             f"{len(self.lengths)} lengths")
        self.dim = dim

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self):
        return sum(self.lengths)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return _Cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return _Cat([t.codomain for t in self.transforms], self.dim, self.lengths)

    def _blocks(self, x):
        _check_dim("CatTransform", x, self.dim, self.length, "the sum of lengths")
        start = 0
        for t, length in zip(self.transforms, self.lengths):
            yield t, x.narrow(self.dim, start, length)
            start += length

    def _call(self, x):
        return cat([t(block) for t, block in self._blocks(x)], self.dim)

    def _inverse(self, y):
        return cat([t.inv(block) for t, block in self._blocks(y)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        for (t, xs), (_, ys) in zip(self._blocks(x), self._blocks(y)):
            part = t.log_abs_det_jacobian(xs, ys)
            if t.event_dim < self.event_dim:
                part = sum_rightmost(part, self.event_dim - t.event_dim)
            parts.append(part)
        dim = (self.dim - x.ndim if self.dim >= 0 else self.dim) + self.event_dim
        if dim < 0:  # the concatenated dimension is a batch dimension of the Jacobian
            return cat(parts, dim)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total


class StackTransform(Transform):
    """``tseq[i]`` applied to index i of dimension ``dim``; the results stacked."""

    _copy_with_cache = True

    def __init__(self, tseq, dim=0, cache_size=0):
        _check_transforms("StackTransform", tseq)
        super().__init__(cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return _Stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return _Stack([t.codomain for t in self.transforms], self.dim)

    def _slices(self, z):
        _check_dim("StackTransform", z, self.dim, len(self.transforms),
                   "the number of transforms")
        dim = self.dim % z.ndim
        return [z[(slice(None),) * dim + (i,)] for i in range(z.shape[dim])]

    def _call(self, x):
        return stack([t(s) for t, s in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y):
        return stack([t.inv(s) for t, s in zip(self.transforms, self._slices(y))], self.dim)

    def log_abs_det_jacobian(self, x, y):
        return stack([t.log_abs_det_jacobian(xs, ys) for t, xs, ys in
                      zip(self.transforms, self._slices(x), self._slices(y))], self.dim)
