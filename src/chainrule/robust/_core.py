"""What every attack shares: checked arguments, the loss gradient with respect to the input, and
the result (adversarial inputs, per-example success, perturbation norms)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..autograd import Tensor, enable_grad, grad, no_grad
from ..backend import asnumpy, get_array_module
from ..data import as_generator
from ..data.arguments import check_bounds as check_pair
from ..data.arguments import check_int, check_number
from ..nn import Module
from ..nn.modes import eval_mode
from ..ops import cross_entropy
from .streams import ExampleStreams

__all__ = ["AttackResult", "cast_to_model", "check_bounds", "check_classes", "check_eps",
           "check_int", "check_logits", "check_outputs", "in_eval_mode", "input_gradient",
           "loss_and_logits", "predict_labels", "prepare", "resolve_rng"]


@dataclass
class AttackResult:
    """What an attack returns, one entry per example.

    Attributes:
        adversarial: the adversarial inputs, the input's shape, inside the bounds.
        success: bool (N,): untargeted, the model's label differs from the true one; targeted, it
            is the target.
        norms: (N,) the perturbation's size ``||adversarial - x||`` in the attack's norm.
        norm: "linf" or "l2", the norm of ``norms``.
        predictions: (N,) the model's labels for the adversarial inputs.
    """

    adversarial: Any
    success: Any
    norms: Any
    norm: str
    predictions: Any

    @property
    def success_rate(self) -> float:
        """The share of examples the attack succeeded on."""
        return float(asnumpy(self.success).mean()) if len(self.success) else 0.0


def in_eval_mode(fn):
    """Run ``fn(model, ...)`` with the model in eval mode, its own mode put back after.

    In training mode batch norm would normalize each example with its batch's statistics (the
    examples would not be attacked independently, a batch of one fails) and update its running
    statistics at every step, and dropout would make the attack random: every attack, score and
    patch here sees the model as it will be used (as torchattacks does by default).

    It also runs with gradients recorded (``enable_grad``, as AutoAttack's code does): an
    attack differentiates the model even when called under ``no_grad``, e.g. in an evaluation
    loop, where before it failed in ``grad`` ("does not require grad").
    """
    @functools.wraps(fn)
    def run(model, *args, **kwargs):
        with enable_grad():
            if not isinstance(model, Module) or not any(m.training for m in model.modules()):
                return fn(model, *args, **kwargs)
            with eval_mode(model):  # each module's own mode back after: a frozen BatchNorm stays
                return fn(model, *args, **kwargs)
    return run


def check_eps(who: str, eps, *, name: str = "eps", positive: bool = False) -> float:
    """``eps`` as a float: finite and >= 0 (> 0 with ``positive``); NumPy scalars too."""
    return check_number(who, name, eps, low=None if positive else 0, above=0 if positive else None)


def check_bounds(who: str, bounds) -> tuple[float, float]:
    """``bounds`` as ``(low, high)`` finite floats with low < high."""
    return check_pair(who, "bounds", bounds)


def resolve_rng(rng):
    """A Generator from a Generator, a seed, or None (a fresh, unseeded one); ``robust_accuracy``'s
    per-example streams (streams.py) as they are."""
    return rng if isinstance(rng, ExampleStreams) else as_generator(rng)


def _dtype_of(model: Module):
    return next((p.dtype for p in model.parameters()), None)


def cast_to_model(model, x):
    """The array ``x`` in the model's float dtype (its first parameter's; without parameters,
    ``x``'s own float dtype, or float32 for integers)."""
    dtype = _dtype_of(model) or (x.dtype if x.dtype.kind == "f" else "float32")
    return x if x.dtype == dtype else x.astype(dtype)


def prepare(who: str, model, x, y, target, bounds, *, ignored_ok: bool = False):
    """Check an attack's arguments; returns ``(x, labels, targeted, (low, high))``.

    ``x`` becomes an array of the model's float dtype (a Tensor gives its data); ``labels`` is an
    int64 array of one label per example: ``target`` (an int or one per example) when given, and
    the attack is targeted, else the true labels ``y``. Negative labels are refused (the loss
    would ignore an example labelled -100 and it would count as fooled), unless ``ignored_ok``
    (adversarial training: such an example is left unperturbed, as its loss ignores it).
    """
    targeted = target is not None
    labels, name = (target, "target") if targeted else (y, "y")
    if labels is None:
        raise ValueError(f"{who}: pass the true labels y (untargeted) or a target (targeted)")
    if not isinstance(model, Module):
        raise TypeError(f"{who}: model must be a chainrule nn.Module, got {type(model).__name__}")
    x = x._data if isinstance(x, Tensor) else x
    if not hasattr(x, "shape") or x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"{who}: x must be a batch of inputs (N, ...) with N >= 1, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    xp = get_array_module(x)
    x = cast_to_model(model, x)
    low, high = check_bounds(who, bounds)
    if not bool(xp.isfinite(x).all()):
        raise ValueError(f"{who}: x holds NaN or infinite values")
    if bool((x < low).any()) or bool((x > high).any()):
        raise ValueError(f"{who}: x must lie inside bounds {(low, high)}, got values from "
                         f"{float(x.min()):g} to {float(x.max()):g}")
    labels = labels._data if isinstance(labels, Tensor) else labels
    labels = xp.asarray(labels)
    if labels.ndim == 0:
        labels = xp.full(x.shape[0], int(labels))
    if labels.shape != (x.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"{who}: {name} must be {x.shape[0]} integer class labels (one per "
                         f"example), got shape {labels.shape} of {labels.dtype}")
    if not ignored_ok and bool((labels < 0).any()):  # cross_entropy skips -100: no attack
        raise ValueError(f"{who}: {name} holds negative class labels, e.g. {int(labels.min())}")
    return x, labels.astype("int64"), targeted, (low, high)


def check_outputs(who: str, n_classes: int) -> None:
    """Refuse a model of fewer than two outputs: its cross-entropy is 0 and its label always 0,
    whatever the input, so every attack would fail and every example count as robust."""
    if n_classes < 2:
        raise ValueError(f"{who}: model must give logits (N, C) of C >= 2 classes, got "
                         f"{n_classes} output(s); for a binary classifier of one logit z, "
                         "attack a model that gives the two logits (0, z)")


def check_logits(who: str, logits, n: int) -> int:
    """The number of classes C of a model's ``logits`` for a batch of ``n`` inputs, checked to be
    (n, C) with C >= 2 (``check_outputs``). A model giving one score per input, (N,) (a binary
    classifier's ``.reshape(-1)``), or (N, C, L), was taken for something else: a crash inside
    cross-entropy blaming the labels, or an IndexError."""
    if not hasattr(logits, "shape"):  # (logits, features) of a model returning two things
        raise ValueError(f"{who}: model must give logits (N, C) for a batch of N = {n} inputs, "
                         f"got a {type(logits).__name__}; attack a model that returns the logits")
    shape = tuple(logits.shape)
    if len(shape) != 2 or shape[0] != n:
        one = " (for a binary classifier of one logit z, give the two logits (0, z))" \
            if len(shape) == 1 else ""
        raise ValueError(f"{who}: model must give logits (N, C) for a batch of N = {n} inputs, "
                         f"got shape {shape}{one}")
    check_outputs(who, shape[1])
    return shape[1]


def check_classes(who: str, labels, n_classes: int, targeted: bool) -> None:
    """Refuse labels past the model's ``n_classes`` outputs (they would count as fooled), and a
    model of fewer than two outputs (``check_outputs``)."""
    check_outputs(who, n_classes)
    if len(labels) and int(labels.max()) >= n_classes:
        raise ValueError(f"{who}: {'target' if targeted else 'y'} holds class "
                         f"{int(labels.max())} but the model has {n_classes} outputs")


def predict_labels(model, x):
    """The model's labels for the array ``x`` (no graph is recorded)."""
    with no_grad():
        return model(Tensor(x))._data.argmax(axis=1)


def input_gradient(model, x, labels, *, targeted: bool):
    """Per-example loss and its gradient with respect to the input ``x`` (arrays).

    Untargeted attacks climb the cross-entropy of the true label; targeted ones climb the
    negative cross-entropy of the target, that is, they descend towards the target. The summed
    loss is differentiated, so each example's gradient is that of its own loss.

    Returns:
        ``(loss (N,), gradient like x, logits (N, C))``, arrays.
    """
    xt = Tensor(x, requires_grad=True)
    logits = model(xt)
    check_logits("attack", logits, x.shape[0])
    losses = cross_entropy(logits, Tensor(labels), reduction="none")
    if targeted:
        losses = -losses
    (g,) = grad(losses.sum(), xt)
    return losses._data, g._data, logits._data


def loss_and_logits(model, x, labels, *, targeted: bool):
    """The per-example loss the attacks climb, and the logits, without recording a graph."""
    with no_grad():
        logits = model(Tensor(x))
        losses = cross_entropy(logits, Tensor(labels), reduction="none")._data
    return (-losses if targeted else losses), logits._data


def success_of(predictions, labels, targeted: bool):
    """Success per example: the target reached, or the true label left."""
    return predictions == labels if targeted else predictions != labels


def per_example_norm(delta, norm: str):
    """``||delta_i||`` over all but the first axis, "linf" or "l2"."""
    xp = get_array_module(delta)
    flat = delta.reshape(delta.shape[0], -1)
    if norm == "linf":
        return xp.abs(flat).max(axis=1)
    return xp.sqrt((flat.astype("float64") ** 2).sum(axis=1)).astype(delta.dtype)


def result(model, x, adversarial, labels, *, targeted: bool, norm: str) -> AttackResult:
    """Score ``adversarial`` against ``x``: the model's labels, success and norms."""
    predictions = predict_labels(model, adversarial)
    return AttackResult(adversarial, success_of(predictions, labels, targeted),
                        per_example_norm(adversarial - x, norm), norm, predictions)
