"""Tied weights in a safetensors file: one tensor that several names of a state dict share (an
embedding tied to the output layer) is written once, under one name.

``safetensors.torch.save_model`` (and Hugging Face's ``save_pretrained``) keeps, of the names
that share one tensor, the first in sorted order, leaves the others out and records each left-out
name in the file's metadata as ``{left out: kept}``; ``load_model`` fills the others through the
sharing. ``shared_names`` applies that rule for ``save_weights``; ``tied_names`` finds, for a
model, each of its state-dict names missing from a file whose tensor is the very same one as that
of a name the file holds, so that loading treats them as present, as ``load_model`` does. Two
names share a tensor when their arrays are the same memory with the same shape, strides and
dtype (a Parameter registered under two names); tensors that merely overlap are written apart.
"""

from __future__ import annotations

__all__ = ["shared_names", "state_arrays", "tied_names"]


def state_arrays(who: str, state: dict, host, prefix: str = "", skip=()) -> dict:
    """``{prefix + name: host(value)}`` for the entries of a state dict not in ``skip``, each of
    which must be a tensor or an array: a module's ``get_extra_state()`` may give anything
    (PyTorch pickles it), but a safetensors file holds tensors only."""
    out = {}
    for name, value in state.items():
        if name in skip:
            continue
        if not any(
            hasattr(value, a) for a in ("_data", "__array_interface__", "__cuda_array_interface__")
        ):
            raise TypeError(
                f"{who}: the state dict's '{name}' is of type {type(value).__name__}, not a "
                "tensor (a module's get_extra_state() may return anything); a safetensors file "
                "holds tensors only: save the state with chainrule.save(model.state_dict(), path)"
            )
        out[prefix + name] = host(value, f"{who}: the state dict's '{name}'")
    return out


def _key(value):
    """What two names of one tensor have in common: the address, layout and dtype of its array
    (an empty or meta array: the array object itself)."""
    arr = getattr(value, "_data", value)
    face = getattr(arr, "__array_interface__", None)
    ptr = face["data"][0] if face is not None else getattr(getattr(arr, "data", None), "ptr", None)
    if ptr is None or getattr(arr, "size", 0) == 0:
        return ("object", id(arr))
    return (type(arr).__module__, ptr, tuple(arr.shape), tuple(arr.strides), arr.dtype.str)


def shared_names(state: dict) -> dict:
    """``{name left out: name kept}`` for the names of ``state`` that share a tensor with
    another: of each such group the first in sorted order is kept, as ``save_model`` keeps."""
    groups: dict = {}
    for name, value in state.items():
        groups.setdefault(_key(value), []).append(name)
    out = {}
    for names in groups.values():
        kept = min(names)
        out.update({name: kept for name in sorted(names) if name != kept})
    return out


def tied_names(state: dict, present) -> dict:
    """``{missing name: name in the file}`` for each name of ``state`` (a model's state dict)
    that ``present`` lacks and whose tensor is shared with one ``present`` holds."""
    held = {}
    for name, value in state.items():
        if name in present:
            held.setdefault(_key(value), name)
    out = {}
    for name, value in state.items():
        source = held.get(_key(value))
        if name not in present and source is not None:
            out[name] = source
    return out
