"""``ModelCheckpoint``: save the weights (and a resumable state) into a folder after epochs."""

from __future__ import annotations

import string
from pathlib import Path

from ..data.arguments import check_number
from ..io import save_weights
from ._monitor import Monitor
from .callbacks import BEST_WEIGHTS, LAST_STATE, LAST_WEIGHTS, Callback

__all__ = ["ModelCheckpoint"]

_FILE_SUFFIXES = (".safetensors", ".keras", ".h5", ".pt", ".pth", ".ckpt")


class ModelCheckpoint(Callback):
    """Save weights into a folder after epochs: the best so far, or the last with a resumable state.

    Args:
        directory: the folder to write into (created if needed).
        monitor, mode: what "best" means, as for EarlyStopping.
        save_best_only: True writes ``best.safetensors`` whenever the monitored value improves.
            False writes ``last.safetensors`` (weights) and ``last.state.safetensors`` (weights,
            optimizer, scheduler, epoch, history, random states) after every epoch: what
            ``fit(..., resume_from=directory)`` needs.
        config: the model's architecture config, stored in the files (see ``io.save_weights``).
        filename: None, or a template for the weights file's name inside ``directory`` (Keras'
            ``filepath``), filled by ``str.format`` with ``epoch`` (counted from 1, as Keras and
            the progress output count) and the epoch's logs:
            ``"weights.{epoch:02d}-{val_loss:.2f}.safetensors"``. It replaces ``best`` or
            ``last.safetensors``; a name with ``{epoch}`` keeps one file per saved epoch.
        save_weights_only: True never writes the resumable ``last.state.safetensors``, only
            weights files.
        initial_value_threshold: None, or the value a first best must beat (Keras'): with
            ``save_best_only``, no file is written before the monitored value improves on it.
        verbose: 1 says through the progress output when it saves (and, with
            ``save_best_only``, when the value did not improve); 0 says nothing.

    Every file is written atomically (a temporary file, then a rename): a run killed while
    saving keeps the previous file whole.
    """

    order = 10

    def __init__(self, directory, *, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = True, config: dict | None = None,
                 filename: str | None = None, save_weights_only: bool = False,
                 initial_value_threshold: float | None = None, verbose: int = 0):
        text = str(directory)
        if "{" in text or text.endswith(_FILE_SUFFIXES):
            raise ValueError(f"ModelCheckpoint: directory {text!r} looks like a file name (Keras' "
                             "filepath); pass the folder as directory and the name as filename=, "
                             "e.g. ModelCheckpoint('run', filename='w.{epoch:02d}.safetensors')")
        for name, flag in (("save_best_only", save_best_only),
                           ("save_weights_only", save_weights_only)):
            if not isinstance(flag, bool):
                raise TypeError(f"ModelCheckpoint: {name} must be True or False, got {flag!r}")
        if verbose not in (0, 1):
            raise ValueError(f"ModelCheckpoint: verbose must be 0 or 1, got {verbose!r}")
        self._monitor = Monitor("ModelCheckpoint", monitor, mode, compares=save_best_only)
        self.filename = _check_template(filename)
        self.threshold = check_number("ModelCheckpoint", "initial_value_threshold",
                                      initial_value_threshold, allow_none=True)
        self.directory = Path(directory)
        self.monitor, self.mode, self.save_best_only, self.config = (
            monitor, mode, save_best_only, config)
        self.save_weights_only, self.verbose = save_weights_only, verbose

    def on_train_begin(self, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        # A resumed run starts from the best value of the epochs before it; another fit with
        # this callback from the best an earlier one saved, as Keras' (a first epoch worse than
        # it replaced the best file).
        best = self._monitor.best_of(self.trainer.history.history.get(self.monitor, []))
        prior = getattr(self, "best", None)
        if prior is not None and (best is None or self._monitor.better(prior, best)):
            best = prior
        if self.threshold is not None and (best is None or self._monitor.better(self.threshold,
                                                                                 best)):
            best = self.threshold
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        if not self.save_best_only:
            path = self._path(epoch, logs, LAST_WEIGHTS)
            save_weights(self.trainer.model, path, config=self.config)
            if not self.save_weights_only:
                self.trainer.save_checkpoint(self.directory / LAST_STATE, config=self.config)
            if self.verbose:
                self.report(f"ModelCheckpoint: saved epoch {epoch + 1} to {path}")
            return
        current = self._monitor.value(logs)
        if not self._monitor.better(current, self.best):
            if self.verbose:
                self.report(f"ModelCheckpoint: {self.monitor} {current:.4g} did not improve on "
                            f"{self.best if self.best is None else format(self.best, '.4g')}")
            return
        previous, self.best = self.best, current
        path = self._path(epoch, logs, BEST_WEIGHTS)
        save_weights(self.trainer.model, path, config=self.config)
        if self.verbose:
            was = "" if previous is None else f" from {previous:.4g}"
            self.report(f"ModelCheckpoint: {self.monitor} improved{was} to {current:.4g}; saved "
                        f"epoch {epoch + 1} to {path}")

    def _path(self, epoch: int, logs, default: str) -> Path:
        if self.filename is None:
            return self.directory / default
        values = {**(logs or {}), "epoch": epoch + 1}
        try:
            name = self.filename.format(**values)
        except KeyError as err:
            raise ValueError(f"ModelCheckpoint: filename {self.filename!r} names {err.args[0]!r}, "
                             f"which is not in the epoch logs {sorted(values)}") from None
        except (ValueError, IndexError) as err:
            raise ValueError(f"ModelCheckpoint: filename {self.filename!r} cannot be filled with "
                             f"the epoch's logs: {err}") from None
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def _check_template(filename):
    """None, or a relative file name whose {fields} are names (checked when filled)."""
    if filename is None:
        return None
    if not isinstance(filename, str) or not filename.strip():
        raise ValueError(f"ModelCheckpoint: filename must be None or a file name template, got "
                         f"{filename!r}")
    if Path(filename).is_absolute() or ".." in Path(filename).parts:
        raise ValueError(f"ModelCheckpoint: filename {filename!r} must name a file inside the "
                         "directory (no absolute path, no '..')")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(filename) if f is not None]
    except ValueError as err:
        raise ValueError(f"ModelCheckpoint: filename {filename!r} is not a valid template: "
                         f"{err}") from None
    for field in fields:
        if not field.isidentifier():
            raise ValueError(f"ModelCheckpoint: filename {filename!r} has the field {{{field}}}; "
                             "expected names such as {epoch} or {val_loss:.2f}")
    return filename
