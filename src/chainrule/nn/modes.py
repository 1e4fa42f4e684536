"""Running a model in another mode for a while, then giving every module its own mode back.

``was = model.training; model.eval(); ...; model.train(was)`` is the common idiom, and it is
wrong for a model whose modules are not all in one mode: ``train(was)`` sets every submodule to
the model's mode, so a BatchNorm the user froze in eval inside a model that trains (fine-tuning),
or a dropout switched off, silently changes mode. The library's evaluation helpers (attacks,
attributions, pruning saliencies, sampling, the Trainer's validation) use these instead.
"""

from __future__ import annotations

import contextlib

__all__ = ["eval_mode", "modes_kept"]


@contextlib.contextmanager
def modes_kept(model):
    """Inside the block the caller may change any module's mode; after it (also after an error)
    every module of ``model`` is back in the mode it had before. An object with ``training``,
    ``train`` and ``eval`` but no ``modules()`` (a model of one's own) is kept as one module."""
    parts = model.modules() if callable(getattr(model, "modules", None)) else (model,)
    modes = [(m, m.training) for m in parts]
    try:
        yield model
    finally:
        for m, mode in modes:
            m.training = mode


@contextlib.contextmanager
def eval_mode(model):
    """``model`` in eval mode (dropout off, normalization on running statistics) inside the
    block; after it, every module in its own mode again."""
    with modes_kept(model):
        model.eval()
        yield model
