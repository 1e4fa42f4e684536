"""A check, replayed by ``chainrule.trace``, that a Tensor read into Python holds its traced value.

Library code that reads a Tensor's values into Python (the lengths of ``pack_padded_sequence``,
which decide how the batch is packed and how many steps each sequence runs) computes, while a
trace records, for the example's values only; a replay would silently compute for those values
whatever the call's are. ``guard_value`` records a non-differentiable op that, at every replay,
compares the Tensor with the value traced and raises ``TraceError`` when it differs. Eagerly, and
for a Tensor no op made from the inputs (a constant), it changes nothing.
"""

from __future__ import annotations

from .function import nondiff
from .mode import _trace_recorder
from .tensor import Tensor
from .tracing import TraceError

__all__ = ["guard_value"]


def guard_value(t, who: str, what: str) -> None:
    """While a trace records, make its replays check that ``t`` (a Tensor) holds its value now.

    ``who`` (the function) and ``what`` (the argument) name it in the error.
    """
    if not isinstance(t, Tensor) or _trace_recorder.get() is None:
        return
    traced = t._data.copy()

    def same_as_traced(a):
        if a.shape != traced.shape or not bool((a == traced).all()):
            shown = traced.tolist()
            raise TraceError(
                f"trace: {who} read {what} into Python while tracing (traced with "
                f"{shown[:8]}{' ...' if len(shown) > 8 else ''}), and this call's differ "
                f"({a.tolist()[:8]}); a trace replays the traced values only: trace once per "
                f"value of {what}, or call the model itself")
        return a[:0]

    nondiff(same_as_traced, t)
