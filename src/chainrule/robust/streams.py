"""One random stream per example, so that a seeded evaluation does not depend on its batch size.

``robust_accuracy(..., rng=seed)`` attacks a dataset batch by batch. A random start drawn from one
Generator per batch gives example i the draws of its place in its batch: other numbers at another
batch size, and (with a seed, which each batch turned into a fresh Generator) the same numbers for
the i-th example of every batch. ``ExampleStreams`` instead gives every example its own Generator,
seeded from the run's seed and the example's index in the dataset (NumPy's ``SeedSequence`` with
that index as its spawn key), and fills row i of each draw from example i's Generator, in the
order the attack draws (the restarts one after another). An example's starts are then the same
whatever batch it is in.
"""

from __future__ import annotations

import numbers

from ..backend import numpy

__all__ = ["ExampleStreams", "root_seed"]


def root_seed(rng):
    """The ``SeedSequence`` of a seeded run: from an int seed, or one draw of a Generator; None
    for ``rng=None`` (unseeded: nothing to repeat)."""
    if rng is None:
        return None
    if isinstance(rng, numpy.random.Generator):
        return numpy.random.SeedSequence(int(rng.integers(2 ** 63)))
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return numpy.random.SeedSequence(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got "
                    f"{type(rng).__name__}")


class ExampleStreams:
    """The draws of the examples ``start .. start + n - 1``: row i of every draw (its first axis
    has the n examples) comes from example ``start + i``'s own Generator. It offers the methods
    the attacks' random starts call: ``uniform`` and ``standard_normal``."""

    def __init__(self, root, start: int, n: int):
        self.n = n
        self._gens = [numpy.random.Generator(numpy.random.PCG64(numpy.random.SeedSequence(
            root.entropy, spawn_key=(start + i,)))) for i in range(n)]

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._rows("uniform", lambda g, s: g.uniform(low, high, s), size)

    def standard_normal(self, size=None):
        return self._rows("standard_normal", lambda g, s: g.standard_normal(s), size)

    def _rows(self, name, draw, size):
        size = (size,) if isinstance(size, numbers.Integral) else tuple(size or ())
        if not size or size[0] != self.n:
            raise ValueError(f"ExampleStreams.{name}: size must start with the {self.n} "
                             f"examples, got {size}")
        return numpy.stack([numpy.asarray(draw(g, size[1:])) for g in self._gens])
