"""An in-place activation (``F.relu(x, inplace=True)``, ``nn.ReLU(inplace=True)``) while
``chainrule.trace`` (or ``chainrule.onnx.export``) records.

A trace replays ops, not writes, so the new values are computed by recorded ops out of place and
the changed tensor then stands, in the recording, for their result: the ops after it that read
the tensor read the result in the replay, whether the caller used the returned tensor or not
(``F.relu(x, inplace=True)`` as a statement). A tensor whose memory another recorded tensor
shares (a view, or what a view was taken of) is refused, as other writes are: the replay could
not follow the change into the other one.
"""

from __future__ import annotations

from ..backend import get_array_module
from .inplace import mark_changed
from .inplace_record import refuse_trace
from .mode import _trace_recorder, no_grad


def traced_change(t, who: str, compute):
    """``t`` changed to ``compute(t)`` where a trace records (see the module docstring); None
    where none records (the caller changes ``t`` as usual)."""
    rec = _trace_recorder.get()
    if rec is None:
        return None
    shares = getattr(get_array_module(t._data), "may_share_memory", None)
    if shares is None or any(u is not t and shares(u._data, t._data) for u in rec.seen):
        refuse_trace(who)
    with no_grad():
        result = compute(t)
    n = rec.slot.get(id(result))
    if result is t or n is None:  # no op recorded (the identity): nothing changes
        return t
    t._data[...] = result._data
    mark_changed(t)
    rec.slot[id(t)] = n  # later ops (and the outputs) that read t read the result's slot
    return t
