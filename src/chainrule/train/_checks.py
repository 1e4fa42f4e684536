"""The Trainer's checks at its public boundary: Keras' argument forms, finite numbers, coverage."""

from __future__ import annotations

import contextlib
import math
import os
import warnings

from .. import ops
from ..autograd import Tensor
from ..backend import asnumpy, get_array_module, numpy
from ..data import DataLoader, Dataset, IterableDataset
from ..data.arguments import check_number
from ..nn import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
from ..nn.modes import modes_kept

__all__ = ["NO_BATCHES", "batch_count", "batch_fields", "check_batch", "check_callbacks",
           "check_coverage", "check_flags", "check_path", "check_weights",
           "keras_arguments", "non_finite_weights", "resolve_loss", "split_validation",
           "score_options", "training_mode"]

NO_BATCHES = ("fit: train_data yields no batches (is it empty, or drop_last with fewer samples "
              "than batch_size?)")


def batch_count(loader) -> int | None:
    """``len(loader)``, or None for a loader over a stream without a length (an
    ``IterableDataset`` without ``__len__``), whose epochs end when the stream does."""
    if isinstance(loader, DataLoader) and isinstance(loader.dataset, IterableDataset):
        try:
            return len(loader)
        except TypeError:
            return None
    return len(loader)


def non_finite_weights(model) -> dict:
    """Parameter and float buffer names -> how many of their values are NaN or infinite."""
    bad = {}
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        a = t._data
        if a.dtype.kind in "fc":
            xp = get_array_module(a)
            finite = xp.isfinite(a)
            if not bool(finite.all()):
                bad[name] = int(a.size - xp.count_nonzero(finite))
    return bad


def check_weights(who: str, model) -> None:
    """Refuse a model with NaN or infinite weights, naming them and how many values are bad."""
    bad = non_finite_weights(model)
    if bad:
        sizes = {name: t.numel() for name, t in [*model.named_parameters(), *model.named_buffers()]}
        listed = ", ".join(f"{name} ({n} of {sizes[name]})" for name, n in list(bad.items())[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"{who}: the model has non-finite weights (NaN or inf) in "
                         f"{listed}{more}; did training diverge? Load finite weights first")


def check_flags(who: str, **flags) -> None:
    """True/False options must be bools: a string "False" from a config file is truthy."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{who}: {name} must be True or False, got {value!r}")


def _is_array(value) -> bool:
    """An array or Tensor with a sample axis (NumPy scalars have a shape too, but no axis)."""
    return isinstance(value, Tensor) or len(getattr(value, "shape", ())) > 0


def keras_arguments(who: str, data, y, validation_data):
    """``(data, validation_data)`` from ``fit(x, y)``, ``fit((x, y))`` or ``fit(train, val)``."""
    if y is None:
        return data, validation_data
    is_validation = isinstance(y, (Dataset, DataLoader)) or (
        isinstance(y, (tuple, list)) and len(y) > 0 and all(_is_array(v) for v in y))
    if is_validation:
        if validation_data is not None:
            raise TypeError(f"{who}: validation data given twice (the second positional "
                            "argument and validation_data=); pass targets y as an array")
        return data, y
    if isinstance(data, (Dataset, DataLoader)):
        raise TypeError(f"{who}: targets y go with array inputs x; a {type(data).__name__} "
                        "brings its own targets")
    inputs = tuple(data) if isinstance(data, (tuple, list)) else (data,)
    return (*inputs, y), validation_data


def check_batch(who: str, batch, index: int, names=None) -> None:
    """Refuse NaN or infinite values in a batch's float fields, naming the field and the count
    (``names`` None: inputs, then a target).

    Batches are counted from 1 in the message, as the progress bar counts epochs.
    """
    names = ("input",) * (len(batch) - 1) + ("target",) if names is None else names
    for i, (t, name) in enumerate(zip(batch, names, strict=True)):
        a = t._data
        if a.dtype.kind in "fc":
            xp = get_array_module(a)
            finite = xp.isfinite(a)
            if not bool(finite.all()):
                bad = int(a.size - xp.count_nonzero(finite))
                field = f"{name} {i}" if name == "input" else name
                raise ValueError(f"{who}: {field} of batch {index + 1} holds {bad} non-finite "
                                 f"value(s) (NaN or inf) among {a.size}; clean or impute the "
                                 "data first")


def check_coverage(model, optimizer) -> None:
    """The optimizer must update this model: none of its parameters is an error, some a warning."""
    if isinstance(optimizer, (str, bytes, int, float)):  # Keras' optimizer="adam"
        raise TypeError(f"Trainer: optimizer must be a chainrule optimizer (or None), got "
                        f"{type(optimizer).__name__} {optimizer!r}; build one from the model, "
                        "e.g. optim.Adam(model.parameters())")
    groups = getattr(optimizer, "param_groups", None)
    if optimizer is None or not isinstance(groups, list):
        return  # no optimizer, or a composite one (a GAN's) that an own train_step drives
    named = list(model.named_parameters())
    held = {id(p) for group in groups for p in group.get("params", ())}
    if named and not any(id(p) in held for _, p in named):
        raise ValueError(
            f"Trainer: the optimizer holds none of the model's {len(named)} parameters (it "
            "was built for another model?); build it from this one, e.g. "
            "optim.Adam(model.parameters())"
        )
    missing = [name for name, p in named if p.requires_grad and id(p) not in held]
    if missing:
        listed = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more"
                                            if len(missing) > 10 else "")
        warnings.warn(
            f"Trainer: the optimizer leaves out {len(missing)} trainable parameter(s) of the "
            f"model: {listed}; they will not change (fine to freeze them; set requires_grad=False "
            "to say so and silence this)", UserWarning, stacklevel=3)


def resolve_loss(loss, who: str = "Trainer", *, allow_none: bool = True):
    """The loss function: a callable as is, a name looked up in ``chainrule.ops`` (None passes
    with ``allow_none``: a Trainer that only evaluates or predicts)."""
    if isinstance(loss, str):
        if not callable(getattr(ops, loss, None)):
            raise ValueError(f"{who}: loss must be a callable or the name of a chainrule.ops loss "
                             f"function, got {loss!r} (chainrule.ops has no loss function named "
                             f"{loss!r})")
        return getattr(ops, loss)
    if (loss is not None or not allow_none) and not callable(loss):
        raise TypeError(f"{who}: loss must be callable or a name, got {type(loss).__name__}")
    return loss


def score_options(loss) -> dict:
    """How the Trainer's named accuracy, precision, recall and F1 read binary scores for
    ``loss``: ``threshold`` 0 when it takes logits (``binary_cross_entropy_with_logits``,
    ``nn.BCEWithLogitsLoss``, a ``functools.partial`` of them), whose positive class is a logit
    above 0, not above 0.5 (a logit of 0.3 is a probability of 0.57), else 0.5; ``multilabel``
    for a BCE loss (with logits or not), whose targets are 0/1 per entry: a batch whose rows
    each held one 1 was read as one-hot classes, so the value depended on the batching.
    torchmetrics applies a sigmoid to scores outside [0, 1]; Keras' "accuracy" cuts logits at
    0.5 (a silent miss). ``class_axis`` 1 for cross_entropy and nll_loss, whose scores (N, C,
    d1, ...) have their classes on axis 1, as torchmetrics reads them (the metrics took the last
    axis: an error, or with C == d1 a silently wrong value)."""
    fn = getattr(loss, "func", loss)
    name = getattr(fn, "__name__", None) if str(getattr(fn, "__module__", "")).startswith(
        "chainrule.") else None  # F's, or the torch-style top-level one
    logits = isinstance(fn, BCEWithLogitsLoss) or name == "binary_cross_entropy_with_logits"
    bce = logits or isinstance(fn, BCELoss) or name == "binary_cross_entropy"
    classes_first = isinstance(fn, (CrossEntropyLoss, NLLLoss)) or name in (
        "cross_entropy", "nll_loss")  # PyTorch's (N, C, d1, ...): the classes on axis 1
    return {"threshold": 0.0 if logits else 0.5, "multilabel": bce,
            "class_axis": 1 if classes_first else -1}


def split_validation(who: str, data, validation_data, split):
    """Keras' ``validation_split``: hold out the last ``floor(n * split)`` samples of array
    data (before any shuffling) as the validation data; 0 holds out nothing."""
    split = check_number(who, "validation_split", split, low=0, below=1)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) < 2:
        raise ValueError(f"{who}: validation_data must hold the inputs and the targets, (x, y) or "
                         f"(*inputs, y), got {len(validation_data)} field(s)")
    if not split:
        return data, validation_data
    if validation_data is not None:
        raise ValueError(f"{who}: validation_split={split:g} and validation_data were both given; "
                         "pass one (Keras would ignore validation_split)")
    if isinstance(data, (Dataset, DataLoader)):
        raise ValueError(f"{who}: validation_split={split:g} holds out the last samples of arrays "
                         f"(x, y), not of a {type(data).__name__}; split it yourself (e.g. "
                         "data.random_split) and pass validation_data")
    fields = [asnumpy(f._data) if isinstance(f, Tensor) else f if hasattr(f, "shape")
              else numpy.asarray(f) for f in (data if isinstance(data, (tuple, list)) else [data])]
    sizes = [len(f) if f.ndim else None for f in fields]
    if None in sizes or len(set(sizes)) != 1:
        raise ValueError(f"{who}: validation_split needs arrays with the same number of samples, "
                         f"got {[f.shape for f in fields]}")
    n = sizes[0]
    at = math.floor(n * (1.0 - split))  # Keras' rule
    if at == 0 or at == n:
        raise ValueError(f"{who}: validation_split={split:g} of {n} samples leaves {at} for "
                         f"training and {n - at} for validation; each needs at least one")
    return tuple(f[:at] for f in fields), tuple(f[at:] for f in fields)


def batch_fields(who: str, batch):
    """``(inputs, target)`` of a batch ``(*inputs, target)``."""
    if len(batch) < 2:
        raise ValueError(
            f"{who}: a batch must hold the inputs and a target, got {len(batch)} field(s); "
            "pass (x, y), or (x, x) to reconstruct the input"
        )
    return batch[:-1], batch[-1]


@contextlib.contextmanager
def training_mode(model):
    """A ``train_step`` trains in training mode, as Keras' (``training=True``): a model left in
    eval mode (a direct call after ``predict`` or sampling) is put in training mode for the step
    and every module gets its own mode back after it. A model in training mode is left as it is,
    with any submodule the user keeps in eval (a frozen BatchNorm)."""
    if model.training:
        yield
        return
    with modes_kept(model):
        model.train()
        yield


def check_callbacks(callbacks) -> list:
    """The Trainer's callbacks as a list; one Callback not in a list says how to pass it."""
    from .callbacks import Callback

    if isinstance(callbacks, Callback):
        raise TypeError(f"Trainer: callbacks must be a list of Callback objects, got one "
                        f"{type(callbacks).__name__}; pass callbacks=[...]")
    try:
        return list(callbacks)
    except TypeError:
        raise TypeError(f"Trainer: callbacks must be a list of Callback objects, got "
                        f"{type(callbacks).__name__}") from None


def check_path(who: str, name: str, value) -> None:
    """None or a path (a str or os.PathLike)."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{who}: {name} must be a checkpoint folder or file (a path), got "
                        f"{type(value).__name__} {value!r}")
