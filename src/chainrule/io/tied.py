"""Tied weights in a safetensors file: names the file leaves out because they share a tensor.

``safetensors.torch.save_model`` (and Hugging Face's ``save_pretrained``) writes a tensor that
several names of the state dict share (an embedding tied to the output layer) once, under one
name, and ``load_model`` fills the others through the sharing. ``tied_names`` finds, for a
model, each of its state-dict names missing from the file whose tensor is the very same one as
that of a name the file holds, so that loading treats them as present, as ``load_model`` does.
"""

from __future__ import annotations

__all__ = ["tied_names"]


def tied_names(state: dict, present) -> dict:
    """``{missing name: name in the file}`` for each name of ``state`` (a model's state dict)
    that ``present`` lacks and whose tensor is shared with one ``present`` holds."""
    held = {}
    for name, value in state.items():
        if name in present:
            held.setdefault(id(getattr(value, "_data", value)), name)
    out = {}
    for name, value in state.items():
        source = held.get(id(getattr(value, "_data", value)))
        if name not in present and source is not None:
            out[name] = source
    return out
