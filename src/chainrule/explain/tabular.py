"""Tabular data for rule extraction: offline sets, a MONK-style problem, and discrete attributes.

NeuroRule works on discrete attributes coded as binary network inputs. An ``Attribute`` is
either categorical (values coded one-hot, conditions ``a1 = 2``) or ordered (a continuous
variable cut at thresholds and coded as a thermometer, ``x > t1``, ``x > t2``..., conditions
``x <= t`` / ``x > t``). ``Encoding`` turns raw rows into attribute levels and levels into the
binary inputs, and back into readable conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

from ..backend import numpy
from ..data.arguments import check_int

__all__ = ["Attribute", "Encoding", "TabularData", "load_tabular", "monk", "TABULAR_DATASETS"]


@dataclass
class Attribute:
    """One input attribute: ``values`` (categorical) or ``thresholds`` (ordered, ascending)."""

    name: str
    values: tuple = ()
    thresholds: tuple = ()

    @property
    def ordered(self) -> bool:
        return not self.values

    @property
    def n_levels(self) -> int:
        return len(self.thresholds) + 1 if self.ordered else len(self.values)

    @property
    def n_bits(self) -> int:
        """Binary inputs: one per value (one-hot), or one per threshold (thermometer)."""
        return len(self.thresholds) if self.ordered else len(self.values)

    def levels(self, column) -> numpy.ndarray:
        """Raw values of this attribute as level indices 0 .. n_levels - 1."""
        column = numpy.asarray(column)
        if self.ordered:
            return numpy.searchsorted(numpy.asarray(self.thresholds), column, side="left")
        lookup = {v: i for i, v in enumerate(self.values)}
        bad = sorted({v for v in column.tolist() if v not in lookup})
        if bad:
            raise ValueError(f"attribute {self.name!r}: values {bad[:5]} are not among "
                             f"{list(self.values)}")
        return numpy.array([lookup[v] for v in column.tolist()], dtype=numpy.int64)

    def bits(self, levels) -> numpy.ndarray:
        """Level indices (N,) as binary inputs (N, n_bits)."""
        levels = numpy.asarray(levels)
        if self.ordered:
            return (levels[:, None] > numpy.arange(self.n_bits)[None]).astype(numpy.float32)
        return (levels[:, None] == numpy.arange(self.n_bits)[None]).astype(numpy.float32)

    def condition(self, op: str, level: int) -> str:
        """A readable condition: ``op`` is "=" or "!=" (categorical), "<=" or ">" (ordered)."""
        if self.ordered:
            return f"{self.name} {op} {self.thresholds[level]:.4g}"
        return f"{self.name} {op} {self.values[level]}"


@dataclass
class Encoding:
    """The attributes of a table, in column order, and their binary coding."""

    attributes: list

    @property
    def n_inputs(self) -> int:
        return sum(a.n_bits for a in self.attributes)

    def input_names(self) -> list[str]:
        """One name per binary input: ``a1=2`` or ``x>0.5``."""
        names = []
        for a in self.attributes:
            if a.ordered:
                names += [f"{a.name}>{t:.4g}" for t in a.thresholds]
            else:
                names += [f"{a.name}={v}" for v in a.values]
        return names

    def owner(self) -> numpy.ndarray:
        """The attribute index of every binary input."""
        return numpy.concatenate([numpy.full(a.n_bits, i) for i, a in enumerate(self.attributes)])

    def levels(self, raw) -> numpy.ndarray:
        """Raw rows (N, A) as levels (N, A)."""
        raw = numpy.asarray(raw, dtype=object if any(not a.ordered for a in self.attributes)
                            else None)
        if raw.ndim != 2 or raw.shape[1] != len(self.attributes):
            raise ValueError(f"Encoding: expected rows with {len(self.attributes)} attributes, "
                             f"got shape {raw.shape}")
        return numpy.stack([a.levels(raw[:, i]) for i, a in enumerate(self.attributes)], axis=1)

    def encode_levels(self, levels) -> numpy.ndarray:
        """Levels (N, A) as the network's binary inputs (N, n_inputs), float32."""
        levels = numpy.asarray(levels)
        return numpy.concatenate([a.bits(levels[:, i]) for i, a in enumerate(self.attributes)],
                                 axis=1)

    def all_levels(self, attributes) -> numpy.ndarray:
        """Every combination of levels of the ``attributes`` (indices), as rows."""
        return numpy.array(list(product(*[range(self.attributes[i].n_levels)
                                           for i in attributes])), dtype=numpy.int64)


@dataclass
class TabularData:
    """A split tabular problem: raw train/test rows, labels, and names."""

    name: str
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    feature_names: list
    class_names: list
    categorical: bool = False
    notes: str = field(default="")


def _split(x, y, test_share, rng):
    """A stratified split: the same share of every class goes to the test set."""
    test = []
    for c in numpy.unique(y):
        idx = numpy.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        test += idx[:int(round(test_share * len(idx)))].tolist()
    mask = numpy.zeros(len(y), dtype=bool)
    mask[test] = True
    return x[~mask], y[~mask], x[mask], y[mask]


MONK_VALUES = ((1, 2, 3), (1, 2, 3), (1, 2), (1, 2, 3), (1, 2, 3, 4), (1, 2))
MONK_CONCEPTS = {
    1: ("(a1 = a2) or (a5 = 1)", lambda a: (a[:, 0] == a[:, 1]) | (a[:, 4] == 1)),
    3: ("(a5 = 3 and a4 = 1) or (a5 != 4 and a2 != 3)",
        lambda a: ((a[:, 4] == 3) & (a[:, 3] == 1)) | ((a[:, 4] != 4) & (a[:, 1] != 3))),
}


def monk(problem: int = 1, *, test_share: float = 0.5, rng=None) -> TabularData:
    """A MONK's-problems-style set (Thrun et al. 1991), generated without noise.

    All 432 robots (six attributes with 3, 3, 2, 3, 4 and 2 values) are labelled by the target
    concept of MONK-1, ``(a1 = a2) or (a5 = 1)``, or of MONK-3 without its label noise,
    ``(a5 = 3 and a4 = 1) or (a5 != 4 and a2 != 3)``, and split at random.
    """
    if problem not in MONK_CONCEPTS:
        raise ValueError(f"monk: problem must be one of {sorted(MONK_CONCEPTS)}, got {problem!r}")
    rows = numpy.array(list(product(*MONK_VALUES)), dtype=numpy.int64)
    text, concept = MONK_CONCEPTS[problem]
    y = concept(rows).astype(numpy.int64)
    xtr, ytr, xte, yte = _split(rows, y, test_share, numpy.random.default_rng(rng))
    return TabularData(f"monk{problem}", xtr, ytr, xte, yte, [f"a{i + 1}" for i in range(6)],
                       ["0", "1"], categorical=True, notes=f"target concept: {text}")


def _sklearn(loader_name):
    def load(test_share, rng):
        from sklearn import datasets  # scikit-learn ships these sets; imported when used

        d = getattr(datasets, loader_name)()
        x, y = d.data.astype(numpy.float64), d.target.astype(numpy.int64)
        xtr, ytr, xte, yte = _split(x, y, test_share, numpy.random.default_rng(rng))
        names = [str(n).replace(" ", "_") for n in d.feature_names]
        return TabularData(loader_name[5:], xtr, ytr, xte, yte, names,
                           [str(c) for c in d.target_names])
    return load


TABULAR_DATASETS = {
    "monk1": lambda test_share, rng: monk(1, test_share=test_share, rng=rng),
    "monk3": lambda test_share, rng: monk(3, test_share=test_share, rng=rng),
    "breast_cancer": _sklearn("load_breast_cancer"),
    "iris": _sklearn("load_iris"),
    "wine": _sklearn("load_wine"),
}


def load_tabular(name: str, *, test_share: float = 0.3, rng=0) -> TabularData:
    """One of ``TABULAR_DATASETS`` (offline: generated, or bundled with scikit-learn), split."""
    if name not in TABULAR_DATASETS:
        raise ValueError(f"unknown tabular dataset {name!r}; expected one of "
                         f"{list(TABULAR_DATASETS)}")
    if not 0 < test_share < 1:
        raise ValueError(f"load_tabular: test_share must be in (0, 1), got {test_share!r}")
    return TABULAR_DATASETS[name](test_share, rng)


def make_encoding(data: TabularData, *, levels: int = 3) -> Encoding:
    """Attributes for ``data``: its values when categorical, else ``levels`` bins per column
    cut at the training set's quantiles (duplicate cut points merged)."""
    levels = check_int("make_encoding", "levels", levels, 2, why="bins per continuous attribute")
    attrs = []
    for j, name in enumerate(data.feature_names):
        column = numpy.asarray(data.x_train)[:, j]
        if data.categorical:
            attrs.append(Attribute(name, values=tuple(sorted(set(column.tolist())))))
            continue
        cuts = numpy.unique(numpy.quantile(column.astype(numpy.float64),
                                           numpy.arange(1, levels) / levels))
        attrs.append(Attribute(name, thresholds=tuple(float(c) for c in cuts)))
    return Encoding(attrs)
