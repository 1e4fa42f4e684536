"""Nested containers of tensors ("pytrees"): tuples (named ones too), lists and dicts.

``flatten`` lists the leaves depth first (dicts in their insertion order) with a ``spec`` that
``unflatten`` rebuilds the container from; anything that is not a tuple, list or dict is a leaf.
Subclasses come back as themselves, as PyTorch's pytrees: an ``OrderedDict``, a ``defaultdict``
(with its factory), a named tuple, a tuple-like class such as ``Size``.
"""

from __future__ import annotations

from collections import defaultdict

__all__ = ["flatten", "leaf_count", "unflatten"]

_LEAF = None


def flatten(tree):
    """``(leaves, spec)`` of ``tree``."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        kind = (type(tree), tree.default_factory) if isinstance(tree, defaultdict) else type(tree)
        return (kind, list(tree), [_flatten(v, leaves) for v in tree.values()])
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
    if keys is not None:  # a dict
        if isinstance(kind, tuple):  # a defaultdict and its factory
            return kind[0](kind[1], zip(keys, values))
        return kind(zip(keys, values))
    if kind is list:
        return values
    if kind is tuple:
        return tuple(values)
    if hasattr(kind, "_fields"):  # a named tuple
        return kind(*values)
    try:  # a tuple-like class built from one iterable (Size)
        return kind(values)
    except TypeError:
        return tuple(values)


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
    return "{" + inner + "}" if keys is not None else f"{kind.__name__}({inner})"
