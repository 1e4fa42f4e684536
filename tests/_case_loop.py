"""Many small cases of one property in one test item.

A test item costs the suite a few milliseconds of its own (xdist's scheduling and reports, the
autouse fixtures), more than many of these cases take; hundreds of sub-millisecond cases of one
property run as one item through ``each_case``, which runs every case (a failure does not stop
the others) and fails naming each failing case and its error, the first one's traceback chained.
A case that calls ``pytest.skip`` (it does not apply) is skipped alone, as its own item was; the
item is skipped only when every case is.

>>> each_case(lambda seed, op: None, grid(("seed", range(2)), ("op", ["set", "add"])))
>>> [label for label, _ in grid(("a, b", [(1, 2)], ["one"]), ("c", [3]))]
['one, c=3']
>>> each_case(lambda n: 1 / n, [{"n": 1}, {"n": 0}])
Traceback (most recent call last):
...
AssertionError: 1 of 2 cases failed:
  n=0: ZeroDivisionError: division by zero
"""

import itertools

import pytest

# A case that fails, errs or calls pytest.fail is a failing case.
_FAILURES = (Exception, pytest.fail.Exception)


def grid(*axes):
    """Every combination of the axes, each ``(argnames, argvalues)`` or ``(argnames, argvalues,
    ids)`` as ``pytest.mark.parametrize`` takes them (stacked parametrize marks): ``(label,
    keywords)`` pairs for ``each_case``."""
    per_axis = []
    for names, values, *ids in axes:
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        values = list(values)
        if ids and callable(ids[0]):
            labels = [ids[0](value) for value in values]
        else:
            labels = list(ids[0]) if ids else [None] * len(values)
        assert len(labels) == len(values), (names, "ids and values differ in length")
        per_axis.append(
            [
                (
                    label,
                    dict(zip(names, value, strict=True)) if len(names) > 1 else {names[0]: value},
                )
                for label, value in zip(labels, values)
            ]
        )
    cases = []
    for combination in itertools.product(*per_axis):
        keywords, labels = {}, []
        for label, part in combination:
            keywords.update(part)
            labels.append(_label(label, part))
        cases.append((", ".join(labels), keywords))
    return cases


def _label(label, keywords):
    return label if label is not None else ", ".join(f"{k}={v!r}" for k, v in keywords.items())


def each_case(check, cases):
    """``check(**keywords)`` for every case: keyword dicts, or ``(label, keywords)`` pairs (as
    ``grid`` makes them); fails listing the failing cases, after running them all."""
    failures, first, count, skipped = [], None, 0, []
    for case in cases:
        count += 1
        label, keywords = case if isinstance(case, tuple) else (None, case)
        try:
            check(**keywords)
        except pytest.skip.Exception as skip:
            skipped.append(f"{_label(label, keywords)}: {skip.msg}")
        except _FAILURES as error:
            failures.append(f"  {_label(label, keywords)}: {type(error).__name__}: {error}")
            first = first or error
    assert count, "each_case: no cases"
    if failures:
        raise AssertionError(
            f"{len(failures)} of {count} cases failed:\n" + "\n".join(failures)
        ) from first
    if len(skipped) == count:
        pytest.skip(f"every case skipped: {skipped[0]}")


def with_rng(check):
    """``check`` given a fresh ``rng`` per case, seeded as tests/conftest.py's ``rng`` fixture
    seeds each test's."""
    import numpy as np

    return lambda **keywords: check(rng=np.random.default_rng(1234), **keywords)
