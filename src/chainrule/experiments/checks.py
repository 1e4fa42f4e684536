"""Checks of a training run before anything is created, and of how its training ended.

- The numbers of a run (epochs, batch size, learning rate...) are checked by
  ``data.arguments.check_int`` and ``check_number``, as in every other package.
- ``parse_model_arg``: ``--model-arg KEY=JSON``; ``check_model_kwargs`` and ``build_model``: the
  model's constructor arguments against its signature; ``check_outputs``: one forward pass of a
  few samples, so a model that does not fit the data fails before a run folder exists.
- ``fit_watched``: ``Trainer.fit`` that turns a divergence (``trainer.diverged``, set by the
  trainer's default ``TerminateOnNaN``) into one ``TrainingDivergedError`` with what to do next.
"""

from __future__ import annotations

import inspect
import json
import re
import warnings

from ..autograd import Tensor, no_grad
from ..models import available, build
from ..nn.modes import eval_mode
from ..train import TrainingDivergedError

__all__ = ["TrainingDivergedError", "accepted_arguments", "build_model", "check_model_kwargs",
           "check_outputs", "fit_watched", "lr_hint", "parse_model_arg"]


def _no_constant(text):
    raise ValueError(f"{text} is not a JSON number")


_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def parse_model_arg(text: str) -> tuple[str, object]:
    """``KEY=JSON`` as (key, value): the value must be JSON, or a bare word taken as a string.

    ``sizes=[64,32,10]`` gives a list, ``dropout=0.2`` a float, ``variant='"classic"'`` and
    ``variant=classic`` the string "classic". A value that is neither valid JSON nor a bare word
    (letters, digits, ``_ . -``, starting with a letter or ``_``) is an error that shows the JSON
    parser's complaint, so a typo such as ``sizes=[64,32,`` is never taken as a string. NaN and
    Infinity are refused.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise ValueError(f"expected KEY=JSON with KEY a Python name, got {text!r}")
    try:
        return key, json.loads(value, parse_constant=_no_constant)
    except ValueError as err:
        if _BARE_WORD.fullmatch(value) and value not in ("NaN", "Infinity", "-Infinity"):
            return key, value
        raise ValueError(f"{key}: {value!r} is not valid JSON ({err}); quote strings, e.g. "
                         f"{key}='\"text\"'") from None


def _model_class(name: str):
    for info in available():
        if info.name == name:
            return info.cls
    build(name)  # raises the registry's "unknown model" error, which lists the known ones
    raise AssertionError("unreachable")  # pragma: no cover


def accepted_arguments(name: str) -> list[str] | None:
    """The constructor arguments model ``name`` accepts (None when it takes ``**kwargs``)."""
    params = list(inspect.signature(_model_class(name).__init__).parameters.values())[1:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind is not p.VAR_POSITIONAL and p.name != "rng"]


def check_model_kwargs(name: str, kwargs: dict, where: str = "--model-arg") -> None:
    """Refuse arguments the model's constructor does not take, listing the ones it does."""
    accepted = accepted_arguments(name)
    if "rng" in kwargs:
        raise ValueError(f"{where}: rng is not a model argument here (the run's --seed sets it)")
    unknown = [] if accepted is None else [k for k in kwargs if k not in accepted]
    if unknown:
        raise ValueError(f"{where}: model {name!r} has no argument {', '.join(map(repr, unknown))}"
                         f"; it accepts {', '.join(accepted)}")


def build_model(name: str, kwargs: dict, rng, where: str = "--model-arg"):
    """``models.build(name, **kwargs, rng=rng)`` with every refusal turned into one ValueError."""
    check_model_kwargs(name, kwargs, where)
    try:
        return build(name, **kwargs, rng=rng)
    except (TypeError, ValueError, OverflowError) as err:
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "no arguments"
        raise ValueError(f"model {name!r} cannot be built with {shown}: "
                         f"{_first_line(err)}") from None
    except MemoryError:
        raise ValueError(f"not enough memory to build model {name!r} with {kwargs}; choose "
                         "smaller sizes") from None


def check_outputs(net, inputs, expected: tuple | None, name: str, what: str,
                  why: str = "") -> None:
    """Run ``net`` on a few ``inputs`` (eval mode, no gradients) and check its output shape.

    A model that cannot take the data, or answers in another shape than training needs, is a
    ValueError now, before a run folder exists, rather than a failure in the first step.

    Args:
        net, inputs: the model and a couple of samples; expected: the output shape per sample
            (None: any).
        name, what, why: the model's name, the inputs ("digits images") and, optionally, why the
            expected shape (" (one logit per class)"), for the message.
    """
    given = tuple(inputs.shape[1:])
    try:
        with eval_mode(net), no_grad():  # each module's own mode back after
            shape = tuple(net(Tensor(inputs)).shape[1:])
    except (ValueError, TypeError, IndexError) as err:
        raise ValueError(f"model {name!r} cannot take {what} of shape {given}: "
                         f"{_first_line(err)}{why}") from None
    if expected is not None and shape != tuple(expected):
        raise ValueError(f"model {name!r} gives outputs of shape {shape} for {what} of shape "
                         f"{given}; expected {tuple(expected)}{why}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def lr_hint(lr: float) -> str:
    """The advice a diverged run's message ends with."""
    return f"lower the learning rate (--lr, it was {lr:g}) and train again into a new --out"


# What NumPy says along the way when weights blow up, and TerminateOnNaN's warning: the
# divergence is reported once, by the error.
_DIVERGENCE_WARNINGS = r"(overflow|invalid value|divide by zero) encountered|TerminateOnNaN"


def fit_watched(trainer, *args, checkpoint=None, hint: str = "", **kwargs):
    """``trainer.fit(*args, **kwargs)``, raising ``TrainingDivergedError`` if training diverged.

    The trainer's ``TerminateOnNaN`` (on by default) stops ``fit`` at the first non-finite loss
    or weight, before that epoch is logged or checkpointed. The error says where it happened
    (``trainer.stop_reason``), which checkpoint was kept (in ``checkpoint``, when given) and
    ``hint``.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _DIVERGENCE_WARNINGS, RuntimeWarning)
        history = trainer.fit(*args, **kwargs)
    if getattr(trainer, "diverged", False):
        reason = getattr(trainer, "stop_reason", None) or "a loss or weight is not finite"
        last = trainer.epoch
        kept = "" if checkpoint is None else (
            f"; the checkpoint of epoch {last + 1} is kept in {checkpoint}" if last >= 0
            else "; no checkpoint was written")
        prefix = "" if reason.startswith("training diverged") else "training diverged: "
        raise TrainingDivergedError(f"{prefix}{reason}{kept}{'; ' + hint if hint else ''}",
                                    epoch=last + 1, last_epoch=last)
    return history
