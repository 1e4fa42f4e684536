"""Converters of attention's two non-differentiable ops (``ops/attention.py``), which a trace
records so that each call's mask is read again: the inversion of a boolean mask (ONNX's Not) and
the test for queries that may attend to no key (every score -inf: the row's maximum is -inf)."""

from __future__ import annotations

import math

from ..ops.attention import _dead_queries, _invert

__all__: list[str] = []


def attention_masks(s, fn, free):
    """Recognize ``_invert`` and ``_dead_queries``; ``None`` for any other function."""
    if len(s.inputs) != 1:
        return None
    if fn is _invert and s.in_dtypes[0].kind == "b":
        return (lambda g: g.op("Not", s.inputs)), _invert
    if fn is _dead_queries and s.in_dtypes[0].kind == "f":
        def emit(g):
            row_max = g.reduce("ReduceMax", s.inputs[0], [-1], True)
            return g.op("Equal", [row_max, g.scalar(-math.inf, s.in_dtypes[0])])
        return emit, _dead_queries
    return None
