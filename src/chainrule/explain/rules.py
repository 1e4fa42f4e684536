"""IF-THEN rules over discrete attributes, induced exactly from a table of level combinations.

A ``Rule`` is a conjunction of conditions on attribute levels and a class; a ``RuleSet`` is an
ordered list of rules ending in a default class (the first rule that matches decides).
``induce_rules`` turns a complete table (every combination of the attributes' levels with the
class a network gives it) into rules by sequential covering in the manner of PRISM (Cendrowska
1987): each rule grows one condition at a time, the one with the highest precision (then the
highest coverage), until it covers no combination of another class; its redundant conditions
are then dropped. Every rule is pure on the table, so the rule set reproduces the table exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backend import numpy

__all__ = ["Rule", "RuleSet", "induce_rules"]


@dataclass(frozen=True)
class Condition:
    """``attribute op level``: op "=" / "!=" on categorical attributes, "<=" / ">" on ordered."""

    attribute: int
    op: str
    level: int

    def holds(self, levels) -> numpy.ndarray:
        col = levels[:, self.attribute]
        return {"=": col == self.level, "!=": col != self.level,
                "<=": col <= self.level, ">": col > self.level}[self.op]


@dataclass
class Rule:
    """IF all ``conditions`` hold THEN ``label``."""

    conditions: tuple
    label: int

    def holds(self, levels) -> numpy.ndarray:
        ok = numpy.ones(len(levels), dtype=bool)
        for c in self.conditions:
            ok &= c.holds(levels)
        return ok


@dataclass
class RuleSet:
    """An ordered rule list with a default class, over an ``Encoding``'s attributes."""

    rules: list
    default: int
    encoding: object
    class_names: list

    @property
    def n_rules(self) -> int:
        """Rules, the default one included."""
        return len(self.rules) + 1

    @property
    def n_conditions(self) -> int:
        return sum(len(r.conditions) for r in self.rules)

    def predict_levels(self, levels) -> numpy.ndarray:
        levels = numpy.asarray(levels)
        out = numpy.full(len(levels), self.default, dtype=numpy.int64)
        decided = numpy.zeros(len(levels), dtype=bool)
        for r in self.rules:
            hit = r.holds(levels) & ~decided
            out[hit] = r.label
            decided |= hit
        return out

    def predict(self, raw) -> numpy.ndarray:
        """Classes of raw rows (N, A)."""
        return self.predict_levels(self.encoding.levels(raw))

    def _text(self, c: Condition) -> str:
        return self.encoding.attributes[c.attribute].condition(c.op, c.level)

    def lines(self) -> list[str]:
        out = []
        for i, r in enumerate(self.rules):
            cond = " AND ".join(self._text(c) for c in r.conditions) or "TRUE"
            out.append(f"{'IF' if i == 0 else 'ELSE IF'} {cond} THEN {self.class_names[r.label]}")
        out.append(f"{'ELSE' if self.rules else 'ALWAYS'} {self.class_names[self.default]}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict:
        return {"rules": [{"if": [self._text(c) for c in r.conditions],
                           "then": self.class_names[r.label]} for r in self.rules],
                "default": self.class_names[self.default], "n_rules": self.n_rules,
                "n_conditions": self.n_conditions}


def _candidates(encoding, attributes):
    for a in attributes:
        attr = encoding.attributes[a]
        if attr.ordered:
            for k in range(attr.n_levels - 1):
                yield Condition(a, "<=", k)
                yield Condition(a, ">", k)
        else:
            for k in range(attr.n_levels):
                yield Condition(a, "=", k)
                if attr.n_levels > 2:
                    yield Condition(a, "!=", k)


def _grow(levels, labels, target, todo, candidates):
    """One pure rule for ``target`` covering as many ``todo`` rows as PRISM's greedy finds."""
    conditions, covered = [], numpy.ones(len(levels), dtype=bool)
    while (labels[covered] != target).any():
        best, best_key, n_covered = None, None, int(covered.sum())
        for c in candidates:
            hit = covered & c.holds(levels)
            pos = int((hit & todo).sum())
            if pos == 0 or int(hit.sum()) == n_covered:  # a condition must narrow the rule
                continue
            key = (pos / int(hit.sum()), pos)
            if best_key is None or key > best_key:
                best, best_key = c, key
        if best is None:
            raise ValueError("induce_rules: two rows with the same levels have different "
                             "classes; the table must be a function of the attributes")
        conditions.append(best)
        covered &= best.holds(levels)
    # drop conditions the rule stays pure without (the later ones first)
    for c in list(reversed(conditions)):
        rest = [d for d in conditions if d != c]
        hit = Rule(tuple(rest), target).holds(levels)
        if (labels[hit] == target).all():
            conditions = rest
    return Rule(tuple(conditions), target)


def induce_rules(levels, labels, encoding, class_names, *, attributes=None) -> RuleSet:
    """Rules that reproduce ``labels`` on every row of ``levels`` (a table of combinations).

    Args:
        levels: (M, A) level combinations (all attributes, those unused held at any level).
        labels: (M,) the class of each combination.
        encoding: the ``Encoding`` of the attributes; class_names: one name per class.
        attributes: the attribute indices rules may test (None: all).

    Returns:
        A RuleSet whose default is the most frequent class of the table.
    """
    levels, labels = numpy.asarray(levels), numpy.asarray(labels)
    attributes = range(levels.shape[1]) if attributes is None else attributes
    candidates = list(_candidates(encoding, attributes))
    counts = numpy.bincount(labels, minlength=len(class_names))
    default = int(counts.argmax())
    rules = []
    for target in numpy.argsort(counts, kind="stable"):
        if target == default or counts[target] == 0:
            continue
        todo = labels == target
        while todo.any():
            rule = _grow(levels, labels, int(target), todo, candidates)
            rules.append(rule)
            todo &= ~rule.holds(levels)
    return RuleSet(rules, default, encoding, list(class_names))
