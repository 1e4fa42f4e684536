"""The hyperparameters of a saved parameter group, checked against the optimizer loading them.

A state dict saved by an older PyTorch lacks the options its optimizer gained since (``foreach``,
``maximize``, Adam's ``decoupled_weight_decay``, ...), and PyTorch's ``__setstate__`` fills those
in from the defaults; this does the same. Any other missing hyperparameter means the state dict
is another optimizer's: an Adam state dict loaded into ``SGD`` has no ``momentum``. PyTorch's
load then fails at the first ``step()`` (``KeyError: 'momentum'``); filling it in from the
defaults would train on silently with Adam's lr and no momentum buffers, so it is refused here,
naming what is missing.
"""

from __future__ import annotations

from ._state import copy_entry

__all__ = ["fill_later", "saved_hyperparameters"]

# The options every optimizer of PyTorch gained after its first release (its __setstate__s).
_FLAGS = frozenset({"foreach", "maximize", "differentiable", "capturable", "fused"})
# And each optimizer's own (torch/optim/<name>.py, __setstate__), by class name.
_LATER = {
    "SGD": {"nesterov"},
    "Adam": {"amsgrad", "decoupled_weight_decay"},
    "AdamW": {"amsgrad", "decoupled_weight_decay"},
    "NAdam": {"decoupled_weight_decay"},
    "RAdam": {"decoupled_weight_decay"},
    "RMSprop": {"momentum", "centered"},
}


def saved_hyperparameters(opt, name: str, i: int, saved: dict) -> dict:
    """Copies of ``saved``'s hyperparameters; a ValueError when one that is not a later option is
    missing. A subclass of the user's (its own __setstate__ may fill what it likes) is not
    checked: only chainrule's optimizers, whose hyperparameters are PyTorch's."""
    entries = {k: copy_entry(v) for k, v in saved.items() if k != "params"}
    if not type(opt).__module__.startswith(__package__ + "."):
        return entries
    later = _FLAGS.union(*(_LATER.get(c.__name__, ()) for c in type(opt).__mro__))
    missing = [k for k in opt.defaults if k not in entries and k not in later]
    if missing:
        raise ValueError(
            f"{name}: saved parameter group {i} has no {', '.join(map(repr, missing))}, which "
            f"{type(opt).__name__} needs (it holds {', '.join(sorted(entries)) or 'nothing'}): "
            f"is it another optimizer's state dict? Load it into the optimizer that saved it"
        )
    return entries


def fill_later(opt) -> None:
    """Give each group the defaults of what it lacks (after ``__setstate__``, which may fill some
    itself), as PyTorch's ``setdefault``s."""
    for group in opt.param_groups:
        group.update({k: v for k, v in opt.defaults.items() if k not in group})
