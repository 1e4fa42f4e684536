"""Nested containers of tensors ("pytrees"): tuples (named ones too), lists and dicts.

``flatten`` lists the leaves depth first (dicts in their insertion order) with a ``spec`` that
``unflatten`` rebuilds the container from; anything that is not a tuple, list or dict is a leaf.
"""

from __future__ import annotations

__all__ = ["flatten", "leaf_count", "unflatten"]

_LEAF = None


def flatten(tree):
    """``(leaves, spec)`` of ``tree``."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        return (dict, list(tree), [_flatten(v, leaves) for v in tree.values()])
    if isinstance(tree, (tuple, list)):
        return (type(tree), None, [_flatten(v, leaves) for v in tree])
    leaves.append(tree)
    return _LEAF


def unflatten(leaves, spec):
    """The container that ``spec`` describes, filled with ``leaves`` in order."""
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec is _LEAF:
        return next(it)
    kind, keys, children = spec
    values = [_build(c, it) for c in children]
    if kind is dict:
        return dict(zip(keys, values))
    if kind is list:
        return values
    if kind is tuple:
        return tuple(values)
    return kind(*values)  # a namedtuple


def leaf_count(spec) -> int:
    if spec is _LEAF:
        return 1
    return sum(leaf_count(c) for c in spec[2])


def describe(spec) -> str:
    """A short text of a spec's structure, for error messages."""
    if spec is _LEAF:
        return "*"
    kind, keys, children = spec
    inner = ", ".join(describe(c) if keys is None else f"{k!r}: {describe(c)}"
                      for k, c in zip(keys or [None] * len(children), children))
    return "{" + inner + "}" if kind is dict else f"{kind.__name__}({inner})"
