"""The argument checks shared by the sequence-level recurrent ops (``lstm_sequence``,
``gru_sequence``)."""

from __future__ import annotations

from ..backend import get_array_module

__all__ = ["check_sequence_args"]


def check_sequence_args(op, gates, x, h0, w_ih, w_hh, b_ih, b_hh, mask, c0=None):
    """Raise a clear error unless the arguments of one layer direction fit: x (T, B, E), the
    state(s) (B, H), w_ih (gates*H, E), w_hh (gates*H, H), both biases (gates*H,) or neither, all
    of x's dtype, and mask (T, B) or None. Returns the mask as a contiguous bool array (or None).
    """
    if (b_ih is None) != (b_hh is None):
        raise ValueError(f"{op}: pass both biases b_ih and b_hh or neither, got "
                         f"b_ih={'None' if b_ih is None else 'a tensor'} and "
                         f"b_hh={'None' if b_hh is None else 'a tensor'}")
    if x.ndim != 3:
        raise ValueError(f"{op}: x must be (T, B, E), got shape {x.shape}")
    steps, batch, features = x.shape
    hidden = h0.shape[-1]
    states = {"h0": h0} if c0 is None else {"h0": h0, "c0": c0}
    shapes = {name: (t.shape, (batch, hidden)) for name, t in states.items()}
    shapes.update(w_ih=(w_ih.shape, (gates * hidden, features)),
                  w_hh=(w_hh.shape, (gates * hidden, hidden)))
    if b_ih is not None:
        shapes.update(b_ih=(b_ih.shape, (gates * hidden,)), b_hh=(b_hh.shape, (gates * hidden,)))
    for name, (got, want) in shapes.items():
        if tuple(got) != want:
            raise ValueError(f"{op}: {name} must have shape {want}, got {tuple(got)}")
    for name, t in (*states.items(), ("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih),
                    ("b_hh", b_hh)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{op}: {name} has dtype {t.dtype} but x has {x.dtype}; cast one of "
                            "them")
    if mask is not None:
        mask = get_array_module(x._data).ascontiguousarray(mask, dtype=bool)
        if mask.shape != (steps, batch):
            raise ValueError(f"{op}: mask must have shape {(steps, batch)}, got {mask.shape}")
    return mask
