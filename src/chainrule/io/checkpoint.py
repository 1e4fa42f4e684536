"""Checkpoints in safetensors files: model weights, and the training state a run resumes from.

Weights files hold the state dict under its dotted keys, in PyTorch's names and layouts, so
``safetensors.torch.load_file`` plus ``load_state_dict`` reads them into the same model built in
PyTorch. The model's architecture config (a JSON-serializable dict chosen by the caller) rides along
as JSON in the file's metadata. A training-state file stores every array as a tensor and everything
else (numbers, strings, structure) as JSON in the metadata. Nothing is ever pickled, and every write
goes to a temporary file in the same folder that then replaces the target, so a crash never leaves
half a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from ..autograd.tensor import Tensor
from ..backend import asnumpy, numpy
from ..backend.files import atomic_file
from ..backend.meta import MetaArray, NoDataError
from ..nn.state import may_be_missing
from .safetensors_file import (
    DIGESTS,
    check_metadata,
    digests,
    pack_complex,
    read_header,
    read_tensors,
    write_file,
)
from .state_checks import check_training_state
from .tied import shared_names, state_arrays, tied_names

__all__ = [
    "load_training_state",
    "load_weights",
    "read_config",
    "read_shapes",
    "save_training_state",
    "save_weights",
]

_CONFIG = "chainrule.config"
_KIND = "chainrule.kind"
_STATE = "chainrule.state"
_FORMAT = 1  # the training-state layout; a newer one is refused, not misread


def _host(value, what: str = "a tensor"):
    """A Tensor or array as a C-contiguous NumPy array (copied only from a GPU or a view).
    ``what`` names it in the error for a meta tensor, which has no values to write."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, MetaArray):
        raise NoDataError(f"{what} is a meta tensor (a shape and a dtype, no values), which a "
                          "file of values cannot hold: give it values first (module.to_empty("
                          "device='cpu') and an init) or leave it out")
    array = asnumpy(value)
    if array.dtype.byteorder == ">":  # safetensors is little-endian, and so are the checksums
        array = array.astype(array.dtype.newbyteorder("<"))
    # not ascontiguousarray: it turns 0-d arrays (scalar buffers) into shape (1,)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _json(who: str, what: str, value) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{who}: {what} must be JSON-serializable, got {type(value).__name__}: {err}"
        ) from err


def _write(path, arrays: dict, metadata: dict) -> Path:
    """Write a safetensors file atomically: a temporary file beside ``path``, then os.replace."""
    path = Path(path)
    arrays, metadata = pack_complex(arrays, metadata)
    metadata = {**metadata, DIGESTS: digests(arrays, metadata)}
    with atomic_file(path, make_folder=True) as f:
        write_file(f, arrays, metadata)
    return path


def _check_shapes(who: str, header, model, prefix: str, strict: bool, tied=()) -> None:
    """Raise ValueError listing every key and shape of ``model`` that the file cannot fill
    (``tied``: keys the file fills through a tensor they share, ``io/tied.py``)."""
    saved = {k[len(prefix):]: header.shape(k) for k in header.tensors if k.startswith(prefix)}
    own = {k: tuple(t.shape) for k, t in model.state_dict().items()}
    problems = [f"{k}: the file has shape {saved[k]}, the model {own[k]}"
                for k in own if k in saved and saved[k] != own[k]
                and k.rpartition(".")[2] != "_extra_state"]  # set_extra_state checks its own
    if strict:
        problems += [f"{k}: in the model, not in the file" for k in own
                     if k not in saved and k not in tied and not may_be_missing(k)]
        problems += [f"{k}: in the file, not in the model" for k in saved if k not in own]
    if problems:
        shown = "\n  ".join(problems[:20]) + (
            f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise ValueError(f"{who}: the weights in '{header.path}' do not fit the model "
                         f"(nothing was loaded):\n  {shown}")


def save_weights(model, path, *, config: dict | None = None) -> Path:
    """Save ``model.state_dict()`` to a safetensors file, with ``config`` as JSON in its metadata.

    A tensor that several names share (tied weights: an embedding shared with the output layer)
    is written once, under the first name in sorted order, the others recorded in the metadata
    as ``{left out: kept}``: ``safetensors.torch.save_model``'s rule, so that its ``load_model``
    and ``load_weights`` read the file back into the tied model (``io/tied.py``).

    Args:
        model: a Module.
        path: the file to write (``.safetensors`` by convention); its folder is created if needed.
        config: a JSON-serializable description of the architecture, e.g.
            ``{"name": "mlp", "kwargs": {"sizes": [784, 100, 10]}}``, read back by ``read_config``.

    Returns:
        The path written.
    """
    metadata = {"format": "pt"}  # the layout is PyTorch's, which tools reading the file check for
    if config is not None:
        metadata[_CONFIG] = _json("save_weights", "config", config)
    state = model.state_dict()
    left_out = shared_names(state)  # tied weights once, as safetensors.torch.save_model
    for name, kept in left_out.items():
        metadata.setdefault(name, kept)
    arrays = state_arrays("save_weights", state, _host, skip=left_out)
    return _write(path, arrays, metadata)


def load_weights(model, path, strict: bool = True):
    """Load weights saved by ``save_weights`` (or by PyTorch's safetensors) into ``model``.

    A name tied to another (one tensor, such as an embedding shared with the output layer) may
    be absent from the file, as ``safetensors.torch.save_model`` leaves it out: it is filled
    through the tensor it shares, as ``safetensors.torch.load_model`` does.

    Args:
        model: a Module with the architecture the weights were saved from.
        path: a safetensors weights file.
        strict: when True, missing and unexpected keys are errors.

    Returns:
        ``model.load_state_dict``'s result: the missing and unexpected keys.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, corrupt, or a training-state file.
    """
    header = read_header("load_weights", path)
    check_metadata("load_weights", header)  # before its kind is trusted
    state = header.metadata.get(_KIND) == "training_state"
    if state or "chainrule.object" in header.metadata:  # not weights under their names
        raise ValueError(f"load_weights: '{path}' is a " + (
            "training-state file; use load_training_state(path, model=...) or Trainer.fit("
            "resume_from=...)" if state else "chainrule.save file; use chainrule.load(path)"))
    tied = tied_names(model.state_dict(), header.tensors)  # left out by safetensors' save_model
    _check_shapes("load_weights", header, model, "", strict, tied)
    arrays = read_tensors("load_weights", header)
    return model.load_state_dict({**arrays, **{k: arrays[v] for k, v in tied.items()}},
                                 strict=strict)


def read_shapes(path) -> dict:
    """Name -> shape of every tensor in a safetensors file, from its checked header alone."""
    header = read_header("read_shapes", path)
    return {k: header.shape(k) for k in header.tensors}


def read_config(path) -> dict | None:
    """The architecture config stored by ``save_weights`` or ``save_training_state``, else None."""
    header = read_header("read_config", path)
    check_metadata("read_config", header)
    text = header.metadata.get(_CONFIG)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"read_config: '{path}' has a damaged config entry: {err}") from err


def _encode(value, path: str, arrays: dict):
    """``value`` as JSON-ready data; arrays go into ``arrays`` under ``path``, leaving a ref."""
    tensor = isinstance(value, Tensor)  # comes back one (an optimizer's Tensor lr must)
    value = value._data if tensor else value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, numpy.generic) and value.dtype.kind in "biuf":  # complex: a 0-d array
        return {"__scalar__": value.dtype.name, "value": value.item()}
    if hasattr(value, "__array_interface__") or hasattr(value, "__cuda_array_interface__"):
        key = path
        while key in arrays:
            key += "'"
        arrays[key] = _host(value, f"save_training_state: {path}")
        return {"__tensor__": key, "tensor": True} if tensor else {"__tensor__": key}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{path}/{k}", arrays) for k, v in value.items()}
        return {"__items__": [
            [_encode(k, f"{path}/{k}#key", arrays), _encode(v, f"{path}/{k}", arrays)]
            for k, v in value.items()
        ]}
    raise TypeError(
        f"save_training_state: cannot store {path!r} of type {type(value).__name__}; expected "
        "arrays, numbers, strings, None, lists, tuples or dicts of these"
    )


def _decode(value, arrays: dict):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        array = arrays[value["__tensor__"]]
        return Tensor(array) if value.get("tensor") is True else array
    if "__scalar__" in value:
        dtype = numpy.dtype(value["__scalar__"])
        if dtype.kind not in "biuf":
            raise TypeError(f"a stored scalar of dtype {dtype} (expected a number)")
        return dtype.type(value["value"])
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__items__" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__items__"]}
    return {k: _decode(v, arrays) for k, v in value.items()}


def _rng_state(rng):
    """The bit-generator state of a Generator, or a dict name -> state for a dict of Generators."""
    if rng is None:
        return None
    if isinstance(rng, numpy.random.Generator):
        return rng.bit_generator.state
    generator = numpy.random.Generator
    if isinstance(rng, Mapping) and all(isinstance(g, generator) for g in rng.values()):
        return {str(name): g.bit_generator.state for name, g in rng.items()}
    raise TypeError(
        "save_training_state: rng must be a numpy.random.Generator or a dict of them, got "
        f"{type(rng).__name__}"
    )


def _class(obj):
    """The class name of ``obj`` (a list of them for a list of schedulers), or None."""
    if isinstance(obj, (list, tuple)):
        return [type(o).__name__ for o in obj]
    return None if obj is None else type(obj).__name__


def _scheduler_state(scheduler):
    if isinstance(scheduler, (list, tuple)):
        return [s.state_dict() for s in scheduler]
    return None if scheduler is None else scheduler.state_dict()


def save_training_state(path, *, optimizer, epoch: int, scheduler=None, rng=None, extra=None,
                        model=None, config: dict | None = None) -> Path:
    """Save what a run needs to resume: optimizer and scheduler state, epoch, random state, extras.

    Args:
        path: the file to write (``.safetensors``); its folder is created if needed.
        optimizer: an optimizer with ``state_dict()`` (or None).
        epoch: the last completed epoch.
        scheduler: a learning-rate scheduler with ``state_dict()``, a list of them (a run
            with several, such as a warm-up stepped per batch and a decay per epoch), or None.
        rng: a ``numpy.random.Generator`` or a dict name -> Generator (their bit-generator states).
        extra: more state of the caller: dicts, lists, numbers, strings, arrays (e.g. the history).
        model: a Module whose weights to include, so that this one file restores the whole run.
        config: the model's architecture config, as for ``save_weights``.

    Returns:
        The path written.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, (int, numpy.integer)):
        raise TypeError(f"save_training_state: epoch must be an int, got {epoch!r}")
    arrays: dict = {}
    if model is not None:
        arrays.update(state_arrays("save_training_state", model.state_dict(), _host, "model/"))
    state = {
        "format": _FORMAT,
        "epoch": int(epoch),
        "optimizer": _encode(None if optimizer is None else optimizer.state_dict(), "optimizer",
                             arrays),
        "scheduler": _encode(_scheduler_state(scheduler), "scheduler", arrays),
        "rng": _encode(_rng_state(rng), "rng", arrays),
        "extra": _encode(extra, "extra", arrays),
        "has_model": model is not None,
        # what resuming checks: Adam's state fits AdamW's keys, but is not AdamW's run
        "classes": {"optimizer": _class(optimizer), "scheduler": _class(scheduler)},
    }
    metadata = {_KIND: "training_state", _STATE: json.dumps(state)}
    if config is not None:
        metadata[_CONFIG] = _json("save_training_state", "config", config)
    return _write(path, arrays, metadata)


def load_training_state(path, *, model=None, optimizer=None, scheduler=None, rng=None,
                        history=None, strict: bool = True, whole_run: bool = False,
                        check=None) -> dict:
    """Read a file written by ``save_training_state`` and restore it into the objects given.

    Args:
        path: the training-state file.
        model: a Module to load the included weights into (the file must hold them).
        optimizer: an optimizer to ``load_state_dict`` the saved optimizer state into.
        scheduler: a scheduler to ``load_state_dict`` the saved scheduler state into, or a
            list of them (the file must hold as many, of the same kinds).
        rng: a Generator, or a dict name -> Generator, whose states are set from the file; with a
            dict, only the names the file holds are set.
        history: a ``train.History`` to restore ``extra["history"]`` into (the Trainer's).
        strict: passed to ``model.load_state_dict``.
        whole_run: the caller continues the whole run (the Trainer): a scheduler state in the
            file must have a scheduler to go to, or the learning rate would stop following it.
        check: None, or ``check(state)`` (the dict returned below), the caller's own check of
            the file against its run, which raises ValueError to refuse it; it runs after the
            checks here and before anything is restored.

    Returns:
        A dict with "epoch", "optimizer", "scheduler", "rng", "extra" (as saved), "model" (the
        weights as a dict of arrays, or None) and "classes" (the optimizer's and scheduler's class
        names, which must be those of the objects given; None in older files).

    Everything read is checked before anything is restored: the header and checksums, the
    model's shapes, and the type and range of the epoch, optimizer, scheduler, random and history
    states (against the objects given), so a damaged file changes nothing.

    Raises:
        ValueError: the file is truncated, corrupt (a checksum differs), not a training-state
            file, lacks a part asked for, or holds a value of the wrong type or range; the
            message names the file, the field, the value and what was expected.
    """
    who = "load_training_state"
    header = read_header(who, path)
    check_metadata(who, header)  # before the state it describes is trusted
    metadata = header.metadata
    if metadata.get(_KIND) != "training_state" or _STATE not in metadata:
        raise ValueError(
            f"{who}: '{path}' is not a training-state file (no '{_STATE}' metadata); weights files "
            "are read with load_weights, chainrule.save's files with chainrule.load"
        )
    try:
        saved = json.loads(metadata[_STATE])
        present = {key: saved[key] is not None for key in ("optimizer", "scheduler", "rng")}
        present["model"] = saved.get("has_model") is True
        epoch, layout = saved["epoch"], saved.get("format", 1)  # older files name none
    except (ValueError, KeyError, TypeError, RecursionError, AttributeError) as err:
        raise ValueError(f"{who}: '{path}' has damaged training-state metadata: {err!r}") from None
    if layout != _FORMAT:
        raise ValueError(f"{who}: '{path}' holds a training state of format {layout!r}, written "
                         f"by another chainrule version; this one reads format {_FORMAT} (use "
                         "chainrule version that wrote it)")
    for name, target in (("model", model), ("optimizer", optimizer), ("scheduler", scheduler),
                         ("rng", rng)):
        if target is not None and not present[name]:
            raise ValueError(f"{who}: '{path}' holds no {name} state to restore")
    if whole_run and scheduler is None and present["scheduler"]:
        classes = saved.get("classes")
        kind = classes.get("scheduler") if isinstance(classes, dict) else None
        raise ValueError(f"{who}: '{path}' was saved by a run with a learning-rate scheduler "
                         f"({kind or 'of an unnamed kind'}); resume it with one, or the learning "
                         "rate would stop following its schedule")
    if model is not None:
        _check_shapes(who, header, model, "model/", strict)
    arrays = read_tensors(who, header)
    try:
        state = {key: _decode(saved[key], arrays)
                 for key in ("optimizer", "scheduler", "rng", "extra")}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        raise ValueError(f"{who}: '{path}' has damaged training-state metadata: {err!r}") from None
    state["epoch"], state["classes"] = epoch, saved.get("classes")
    weights = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    state["model"] = weights if present["model"] else None
    check_training_state(who, path, state, optimizer=optimizer, scheduler=scheduler, rng=rng,
                         history=history is not None)
    if check is not None:
        check(state)
    try:
        if model is not None:
            model.load_state_dict(weights, strict=strict)
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if isinstance(scheduler, (list, tuple)):
            for one, saved_state in zip(scheduler, state["scheduler"], strict=True):
                one.load_state_dict(saved_state)
        elif scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        if rng is not None:
            _set_rng(who, rng, state["rng"])
        if history is not None:
            history.load_state_dict(state["extra"]["history"])
    except (TypeError, KeyError, ValueError) as err:  # what the checks above missed
        raise ValueError(f"{who}: '{path}' holds a training state that does not fit: "
                         f"{err}") from None
    return state


def _set_rng(who: str, rng, saved) -> None:
    single = isinstance(saved, dict) and "bit_generator" in saved
    if isinstance(rng, numpy.random.Generator):
        if not single:
            raise ValueError(
                f"{who}: the file holds several named random states, got one Generator"
            )
        rng.bit_generator.state = saved
        return
    if single:
        raise ValueError(f"{who}: the file holds one random state, got a dict of Generators")
    for name, g in rng.items():
        if name in saved:
            g.bit_generator.state = saved[name]
