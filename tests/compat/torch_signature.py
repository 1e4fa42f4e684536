"""PyTorch's signatures, read from its docstrings where a builtin has no ``inspect.signature``,
and the check that a chainrule function takes the same parameters."""

from __future__ import annotations

import inspect


def _doc_params(fn):
    """PyTorch's parameter list as its docstring's first line spells it: names, with "*" where
    the keyword-only ones begin (builtins have no inspect.signature). ``fn`` may be that first
    line itself, for the builtins whose docstring does not give it."""
    if isinstance(fn, str):
        return _parse(fn)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return _parse(fn.__doc__.strip().splitlines()[0])
    return _names(sig)


def _parse(line):
    start, depth = line.index("(") + 1, 0
    for end in range(start, len(line)):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(line[end], 0)
        if depth < 0:
            break
    inner = line[start:end]
    return [p.split(":")[0].split("=")[0].strip() for p in inner.split(",") if p.strip()]


def _names(sig):
    out, star = [], False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            out.append("*")
            star = True
        if p.kind is p.VAR_POSITIONAL:
            star = True
        out.append(p.name)
    return out


def check_signature(name, ours, theirs):
    """Every PyTorch parameter is ours, in the same order and kind (ours may add keyword-only
    ones after the star)."""
    want, have = _doc_params(theirs), _names(inspect.signature(ours))
    star = want.index("*") if "*" in want else len(want)
    assert have[:star] == want[:star], (name, have, want)
    for p in want[star:]:
        assert p in have[star:], (name, p, have, want)
