"""What a checkpoint records about a run besides its state, and the checks a resume makes.

A resumed run continues the saved one exactly only when it trains on the same data, batched and
shuffled the same way, with a model of the same layers, and draws from the same random streams;
otherwise it would go on with a plausible but different run. The Trainer stores the data's
signature with its checkpoints, and refuses a resume whose data, batching, layers or random
streams differ.
"""

from __future__ import annotations

import hashlib

from ..backend import asnumpy, numpy
from ..data import ArrayDataset
from ._checks import batch_count

__all__ = ["LazySignature", "check_epoch_closed", "check_epochs", "check_same_run",
           "data_signature", "layer_generators", "loader_generators", "own_data_stream",
           "sampler_generators", "set_sampler_epoch", "signature"]

_WHAT = {"samples": "training samples", "batch_size": "batch size", "steps": "steps per epoch",
         "shuffle": "shuffle", "drop_last": "drop_last", "data": "training data (digest)",
         "layers": "the model's layers (a digest of their names and classes)",
         "accumulate_grad_batches": "accumulate_grad_batches", "clipping": "gradient clipping"}


def _digest(dataset) -> str | None:
    """A digest of an in-memory data set's arrays (their bytes, shapes and dtypes), else None."""
    if not isinstance(dataset, ArrayDataset):
        return None
    h = hashlib.blake2b(digest_size=12)
    for array in dataset.arrays:
        array = numpy.ascontiguousarray(asnumpy(array))
        h.update(f"{array.shape}{array.dtype.str}".encode())
        h.update(array.data if array.dtype.kind != "O" else repr(array.tolist()).encode())
    return h.hexdigest()


def _layers(model) -> str | None:
    """A digest of ``model``'s modules, by name and class: two models whose parameters have the
    same shapes (a ReLU net and a Tanh net) load each other's weights, but are other runs."""
    if model is None:
        return None
    h = hashlib.blake2b(digest_size=12)
    for name, module in model.named_modules():
        h.update(f"{name}:{type(module).__qualname__};".encode())
    return h.hexdigest()


def data_signature(loader, model=None, options: dict | None = None) -> dict:
    """How ``loader`` feeds an epoch: sample count, batching, shuffling and a digest of its data
    (for arrays in memory), a digest of ``model``'s layers, and the Trainer's gradient
    ``options`` (``GradOptions.signature``). Entries that do not apply are None."""
    dataset = getattr(loader, "dataset", None)
    try:
        samples = len(dataset)
    except TypeError:
        samples = None
    return {"samples": samples, "batch_size": getattr(loader, "batch_size", None),
            "steps": batch_count(loader), "shuffle": getattr(loader, "shuffle", None),
            "drop_last": getattr(loader, "drop_last", None), "data": _digest(dataset),
            "layers": _layers(model), "accumulate_grad_batches": None, "clipping": None,
            **(options or {})}


class LazySignature:
    """``data_signature(loader, model, options)``, computed on first use and kept: only a run
    that saves or resumes a checkpoint pays for the digest (one pass over the data's bytes)."""

    def __init__(self, loader, model, options: dict | None = None):
        self._args, self._value = (loader, model, options), None

    def __call__(self) -> dict:
        if self._value is None:
            self._value = data_signature(*self._args)
        return self._value


def signature(lazy: LazySignature | None) -> dict | None:
    """The signature ``lazy`` stands for (None before any ``fit``)."""
    return None if lazy is None else lazy()


def check_same_run(path, state: dict, *, signature: dict | None, generators: dict,
                   callbacks: dict) -> None:
    """Raise ValueError when the run about to resume from ``state`` is not the one that saved it.

    ``signature`` is this run's ``data_signature`` (None: not known, not compared),
    ``generators`` the names of its random streams, ``callbacks`` its callbacks that keep a
    state (EarlyStopping) by name; each one's ``check_state``, if any, checks the saved state.
    Files written before these were recorded hold none of them, and are not compared.
    """
    extra = state.get("extra") if isinstance(state.get("extra"), dict) else {}
    saved = extra.get("run")
    problems = []
    if isinstance(saved, dict) and signature is not None:
        problems += [f"{_WHAT[k]}: the checkpoint's run had {saved[k]!r}, this one has "
                     f"{signature[k]!r}" for k in _WHAT
                     if saved.get(k) is not None and signature[k] is not None
                     and saved[k] != signature[k]]
    streams = state.get("rng")
    if isinstance(streams, dict) and "bit_generator" not in streams and set(streams) != set(
            generators):
        problems.append(f"random streams: the checkpoint's run drew from {sorted(streams)}, "
                        f"this one draws from {sorted(generators)} (another rng= for the data, "
                        "or other random layers?)")
    saved_callbacks = extra.get("callbacks")  # one left out (EarlyStopping, to train on): fine
    if isinstance(saved_callbacks, dict) and set(callbacks) - set(saved_callbacks):
        problems.append(f"callbacks that keep a state: the checkpoint's run had "
                        f"{sorted(saved_callbacks)}, this one has {sorted(callbacks)}")
    for key, callback in callbacks.items() if isinstance(saved_callbacks, dict) else ():
        if not problems and saved_callbacks.get(key) is not None and hasattr(
                callback, "check_state"):
            callback.check_state(saved_callbacks[key])
    if problems:
        raise ValueError(
            f"resume: '{path}' was saved by a different run, so resuming would not continue it "
            "(nothing was restored):\n  " + "\n  ".join(problems) + "\nResume with the model, "
            "data, batch size and seeds of that run; to start a new run from its weights, load "
            "them with io.load_weights (a ModelCheckpoint folder holds them in last.safetensors)")


def check_epoch_closed(open_epoch) -> None:
    """A checkpoint holds the state at an epoch's end: refuse one in the middle of an epoch (its
    weights have seen part of the epoch that a resume would train again from its start)."""
    if open_epoch is not None:
        raise ValueError(
            f"save_checkpoint: epoch {open_epoch + 1} is in progress (or was cut short by an "
            "error); a checkpoint holds the state at an epoch's end, and one taken now would be "
            "resumed by training this epoch again from its start. Save in on_epoch_end "
            "(ModelCheckpoint does), or after fit returns")


def check_epochs(path, last: int, epochs: int) -> None:
    """A resume must not ask to stop before epochs the checkpoint has already trained."""
    if epochs < last + 1:
        raise ValueError(f"fit: '{path}' has trained epochs 0 to {last} already, but epochs="
                         f"{epochs} asks to stop before epoch {epochs}; pass epochs >= "
                         f"{last + 1} to continue it (epochs counts from the run's start)")


def layer_generators(model) -> list:
    """(name, Generator) of every Generator a module of ``model`` holds (dropout's, say)."""
    found = []
    for path, module in model.named_modules():
        prefix = f"model.{path}." if path else "model."
        found += [(prefix + k, v) for k, v in vars(module).items()
                  if isinstance(v, numpy.random.Generator)]
    return found


def sampler_generators(loader) -> list:
    """(name, Generator) of the samplers that order a loader's passes with a Generator of their
    own (``RandomSampler(data, generator=g)``, also inside a ``BatchSampler``), which the
    loader's ``rng`` does not cover."""
    found, seen = [], set()
    todo = [("data.sampler", getattr(loader, "_sampler", None)),
            ("data.batch_sampler", getattr(loader, "_batch_sampler", None))]
    while todo:
        name, sampler = todo.pop(0)
        if sampler is None or id(sampler) in seen:
            continue
        seen.add(id(sampler))
        generator = getattr(sampler, "generator", None)
        if isinstance(generator, numpy.random.Generator):
            found.append((name, generator))
        todo.append((f"{name}.sampler", getattr(sampler, "sampler", None)))
    return found


def loader_generators(name: str, loader) -> list:
    """(name, Generator) of what orders and draws a loader's passes: its ``rng`` and its
    samplers' own Generators (``sampler_generators``, named under ``name``)."""
    if loader is None:
        return []
    found = [(f"{name}.{key[5:]}", g) for key, g in sampler_generators(loader)]
    return [(name, getattr(loader, "rng", None)), *found]


def set_sampler_epoch(loader, epoch: int) -> None:
    """``set_epoch(epoch)`` on the samplers of ``loader`` that have one (``DistributedSampler``;
    a batch sampler's own, as a bucketing one's, too), before each epoch, as Lightning's Trainer
    does: without it a shuffling sampler gives every epoch the same order, and a resumed run
    needs the epoch to draw the saved run's order."""
    samplers, batches = {}, getattr(loader, "_batch_sampler", None)
    for sampler in (getattr(loader, "_sampler", None), batches, getattr(batches, "sampler", None)):
        if sampler is not None:
            samplers[id(sampler)] = sampler
    for sampler in samplers.values():
        if callable(getattr(sampler, "set_epoch", None)):
            sampler.set_epoch(epoch)


def own_data_stream(loader, model) -> None:
    """Give the loader a stream of its own when it shares its Generator with a layer.

    One Generator drawn by the loader (maybe in a prefetch thread) and by a dropout layer
    would make a run depend on the order of their draws. The loader's new stream is seeded
    by numbers drawn from the shared Generator, so it follows from its state: a rebuilt run
    derives the same stream, and a resumed one restores both from the checkpoint.
    """
    shared = getattr(loader, "rng", None)
    if shared is None or not any(g is shared for _, g in layer_generators(model)):
        return
    loader.rng = numpy.random.default_rng(shared.integers(0, 2**63, size=4).tolist())
