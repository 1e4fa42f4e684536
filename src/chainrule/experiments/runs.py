"""Run folders: settings checked before anything is written, one writer at a time, honest resume.

A run folder (``chainrule train ... --out DIR``) holds ``config.json`` (the settings applied),
``metrics.csv``, ``checkpoint/``, ``model.safetensors``, ``results.json`` and ``figures/``. The
helpers here let a run

- check its settings and model arguments before anything is created (``check_int``,
  ``check_float``, ``parse_model_arg``, ``build_model``);
- refuse an output that is a file, a folder holding something else, or, when resuming, a folder
  that is missing or holds no run (``run_path``);
- take an exclusive lock on the folder for as long as it runs, remove the temporaries an
  interrupted atomic write left, and compare a resumed run's settings with those recorded
  (``RunFolder``);
- stop at the first non-finite loss, before a diverged epoch is logged or saved
  (``StopOnNonFinite``, which raises ``TrainingDivergedError``).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import time
import warnings
from pathlib import Path

from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ..io import load_training_state
from ..models import available, build
from ..train import Callback
from ..train.callbacks import LAST_STATE

__all__ = ["RunFolder", "RunFolderInUseError", "StopOnNonFinite", "TrainingDivergedError",
           "build_model", "check_float", "check_int", "check_outputs", "clean_temporaries",
           "fit_watched",
           "parse_model_arg", "run_path"]

LOCK_FILE = ".chainrule.lock"
CONFIG_FILE = "config.json"
# What our atomic writers leave when killed mid-write: ``.NAME.<12 hex>.tmp`` (io's safetensors
# writer) and ``.tmp-<8 characters>NAME`` (data.idx.atomic_write_bytes, viz.save_figure).
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp|\.tmp-[a-z0-9_]{8}.+")
# config.json entries that record the run's history rather than a setting to compare on resume.
_BOOKKEEPING = ("epochs", "resumes")


class RunFolderInUseError(RuntimeError):
    """Another process holds the run folder's lock."""


class TrainingDivergedError(RuntimeError):
    """Training met a non-finite loss (or weights); the last finite checkpoint was kept.

    Attributes:
        epoch: the epoch it happened in (0-based); batch: the batch (None: at the epoch's end);
        name, value: the loss (or weight) and its value; last_epoch: the last finite epoch saved
        (-1: none).
    """

    def __init__(self, message: str, *, epoch: int, batch, name: str, value: float,
                 last_epoch: int):
        super().__init__(message)
        self.epoch, self.batch, self.name, self.value = epoch, batch, name, value
        self.last_epoch = last_epoch


def check_int(who: str, name: str, value, *, low: int = 1) -> int:
    """``value`` as an int >= ``low``, or ValueError naming ``name`` and the value received."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{who}: {name} must be an integer >= {low}, got {value!r}")
    return value


def check_float(who: str, name: str, value, *, low: float = 0.0, low_ok: bool = True,
                high: float | None = None) -> float:
    """``value`` as a finite float in [low, high) (or (low, high) without ``low_ok``)."""
    above = value >= low if low_ok else value > low
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and above and (high is None or value < high))
    if not ok:
        bound = f"{'>=' if low_ok else '>'} {low:g}" + ("" if high is None else f" and < {high:g}")
        raise ValueError(f"{who}: {name} must be a finite number {bound}, got {value!r}")
    return float(value)


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


def check_outputs(net, inputs, expected: tuple, name: str, what: str, why: str = "") -> None:
    """Run ``net`` on a few ``inputs`` (eval mode, no gradients) and check its output shape.

    A model that cannot take the data, or answers in another shape than training needs, is a
    ValueError now, before a run folder exists, rather than a failure in the first step.

    Args:
        net, inputs: the model and a couple of samples; expected: the output shape per sample.
        name, what, why: the model's name, the inputs ("digits images") and, optionally, why the
            expected shape (" (one logit per class)"), for the message.
    """
    was_training = net.training
    net.eval()
    given = tuple(inputs.shape[1:])
    try:
        with no_grad():
            shape = tuple(net(Tensor(inputs)).shape[1:])
    except (ValueError, TypeError, IndexError) as err:
        raise ValueError(f"model {name!r} cannot take {what} of shape {given}: "
                         f"{_first_line(err)}") from None
    finally:
        net.train(was_training)
    if shape != tuple(expected):
        raise ValueError(f"model {name!r} gives outputs of shape {shape} for {what} of shape "
                         f"{given}; training needs {tuple(expected)}{why}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def run_path(out, default_name: str, resume: bool) -> Path:
    """The run folder to use, checked without creating anything.

    Raises:
        ValueError: ``resume`` without ``out``; ``out`` exists and is not a folder.
        FileNotFoundError: resuming a folder that does not exist or holds no config.json.
        FileExistsError: a new run into a folder that already holds files.
    """
    if out is None:
        if resume:
            raise ValueError("--resume needs --out, the run folder to continue")
        return Path(f"runs/{default_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; expected a run folder")
    if resume and not out.is_dir():
        raise FileNotFoundError(f"--resume: run folder {str(out)!r} does not exist")
    if resume and not (out / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"--resume: {str(out)!r} holds no {CONFIG_FILE}; it is not a "
                                "chainrule run folder")
    if not resume and out.is_dir() and _contents(out):
        raise FileExistsError(f"output folder {out} is not empty; pass --resume to continue it "
                              "or choose another --out")
    return out


def _contents(folder: Path) -> list[Path]:
    """What makes a folder non-empty: anything but our lock, temporaries and empty folders."""
    found = []
    for entry in folder.iterdir():
        if entry.name == LOCK_FILE or (_TEMPORARY.fullmatch(entry.name) and entry.is_file()):
            continue
        if entry.is_dir() and not entry.is_symlink() and not _contents(entry):
            continue
        found.append(entry)
    return found


def clean_temporaries(folder) -> list[Path]:
    """Delete the temporaries our atomic writers left in ``folder`` and below; returns them.

    Only names of our writers' patterns are touched; call it only while holding the folder's
    lock, when no writer of ours can be using them.
    """
    removed = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if _TEMPORARY.fullmatch(name):
                path = Path(root) / name
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


class _Lock:
    """An exclusive, non-blocking lock on ``folder``'s lock file, which names its holder's pid.

    On POSIX it is ``fcntl.flock``: the kernel drops it when the process ends however it ends, so
    a lock file left by a killed run blocks nothing. On Windows it is ``msvcrt.locking`` on the
    file's first byte, which the system also releases with the process. Elsewhere, no lock.
    """

    def __init__(self, folder: Path):
        self.path, self.fd = folder / LOCK_FILE, None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            if not _try_lock(fd):
                holder = _read_pid(fd)
                os.close(fd)
                pid = f" (pid {holder})" if holder.isdigit() else ""
                raise RunFolderInUseError(
                    f"run folder {str(self.path.parent)!r} is in use by another chainrule "
                    f"process{pid}; wait for it to finish or choose another --out")
            # A holder that released the lock meanwhile unlinks the file; lock the new one then.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:  # pragma: no cover - the pid only makes the message more helpful
            pass

    def release(self) -> None:
        if self.fd is None:
            return
        if os.name == "nt":  # pragma: no cover - Windows cannot unlink an open file
            os.close(self.fd)
            self.fd = None
            _remove(self.path)
            return
        _remove(self.path)  # while still holding it, so that nobody locks a stale file
        os.close(self.fd)
        self.fd = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        try:
            import msvcrt
        except ImportError:
            return True  # no file locking on this platform: run without
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_pid(fd: int) -> str:
    try:
        return os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:  # pragma: no cover - Windows: the holder's locked byte cannot be read
        return ""


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _json_ready(obj):
    return json.loads(json.dumps(obj, default=str))


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


class RunFolder:
    """The run folder of one training run, locked while the ``with`` block runs.

    Entering creates the folder if needed, takes its lock (``RunFolderInUseError`` if another
    process holds it), checks again that a new run's folder is empty, removes stale temporaries
    and, when resuming, reads the recorded ``config.json`` and the checkpoint's epoch and compares
    them with ``settings``:

    - with a checkpoint, every setting must be the same as recorded, except ``epochs``, which may
      grow (not below the epochs already trained, and not at all when ``epochs_fixed``, e.g. a
      learning-rate schedule laid out over the epochs); a ValueError lists every difference;
    - without a checkpoint nothing was trained yet, so the run starts afresh with ``settings``.

    Nothing but the lock file is written until these checks pass. ``record`` is then what to write
    as config.json: ``settings``, with the resumes so far under "resumes". A refused start leaves
    no folder it created behind.

    Args:
        path: from ``run_path``.
        settings: the run's settings as config.json records them (they must include "epochs").
        resume: continue the run in ``path``.
        epochs_fixed: True when the number of epochs may not change on resume.
    """

    def __init__(self, path: Path, settings: dict, *, resume: bool, epochs_fixed: bool = False):
        self.path, self.settings, self.resume = Path(path), settings, resume
        self.epochs_fixed = epochs_fixed
        self.checkpoint = self.path / "checkpoint"
        self.resume_from, self.record, self.completed = None, None, 0
        self._lock, self._created = _Lock(self.path), []

    @property
    def resumes(self) -> bool:
        """True when training continues from the folder's checkpoint (``resume_from``)."""
        return self.resume_from is not None

    def __enter__(self) -> RunFolder:
        self._created = [p for p in (self.path, *self.path.parents) if not p.exists()]
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
            if not self.resume and _contents(self.path):  # someone got here first
                raise FileExistsError(f"output folder {self.path} is not empty; pass --resume "
                                      "to continue it or choose another --out")
            clean_temporaries(self.path)
            self.record = self._resume_checked() if self.resume else _json_ready(self.settings)
        except BaseException:
            self._exit()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._exit()

    def _exit(self) -> None:
        self._lock.release()
        for folder in self._created:  # innermost first; rmdir removes only empty folders
            try:
                folder.rmdir()
            except OSError:
                break

    def _resume_checked(self) -> dict:
        config_path = self.path / CONFIG_FILE
        try:
            old = json.loads(config_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"--resume: {config_path} is damaged ({err}); cannot tell which "
                             "settings the run used") from None
        if not isinstance(old, dict):
            raise ValueError(f"--resume: {config_path} holds {type(old).__name__}, expected a "
                             "JSON object of settings")
        new = _json_ready(self.settings)
        state = self.checkpoint / LAST_STATE
        if not state.is_file():
            return new  # nothing was trained: start afresh with these settings
        epoch = load_training_state(state)["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < -1:
            raise ValueError(f"--resume: {state} records epoch {epoch!r}; expected an integer "
                             ">= -1")
        self.completed, self.resume_from = epoch + 1, state
        self._compare(old, new)
        resumes = old.get("resumes", [])
        resumes = resumes if isinstance(resumes, list) else []
        return {**new, "resumes": [*resumes, {"at_epoch": self.completed,
                                              "epochs": new["epochs"]}]}

    def _compare(self, old: dict, new: dict) -> None:
        flat_old = _flat({k: v for k, v in old.items() if k not in _BOOKKEEPING})
        flat_new = _flat({k: v for k, v in new.items() if k not in _BOOKKEEPING})
        missing = "(not recorded)"
        diffs = [f"{k} {json.dumps(flat_old.get(k, missing))} -> "
                 f"{json.dumps(flat_new.get(k, missing))}"
                 for k in sorted(set(flat_old) | set(flat_new))
                 if flat_old.get(k, missing) != flat_new.get(k, missing)]
        epochs, recorded = new["epochs"], old.get("epochs")
        if epochs != recorded and self.epochs_fixed:
            diffs.append(f"epochs {json.dumps(recorded)} -> {epochs} (the learning-rate "
                         "schedule was laid out over the recorded epochs)")
        if diffs:
            raise ValueError(
                f"--resume: {self.path} was trained with other settings: {'; '.join(diffs)}. "
                "Resume with the recorded settings (see its config.json; only --epochs may "
                "grow) or start a new run with another --out")
        if epochs < self.completed:
            raise ValueError(f"--resume: --epochs {epochs} is fewer than the {self.completed} "
                             f"epochs {self.path} has already trained; pass --epochs "
                             f"{self.completed} or more")


def _finite(array) -> bool:
    return array.dtype.kind != "f" or bool(get_array_module(array).isfinite(array).all())


class StopOnNonFinite(Callback):
    """Raise ``TrainingDivergedError`` at the first non-finite loss, before the epoch is logged.

    It watches every batch's losses (logs whose name contains "loss") and, at the end of each
    epoch, the weights, so that neither a CSV row nor a checkpoint of a diverged epoch is written:
    the last checkpoint stays the last finite one. It runs before every other callback. Run
    ``fit`` through ``fit_watched`` to also catch a divergence the trainer itself reported.

    Args:
        checkpoint: the checkpoint folder named in the message (None: none is written).
        hint: advice appended to the message, e.g. "lower the learning rate".
    """

    order = -200

    def __init__(self, checkpoint=None, hint: str = ""):
        self.checkpoint, self.hint, self.epoch = checkpoint, hint, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if "loss" in name and not math.isfinite(value):
                where = f"epoch {self.epoch + 1}, batch {batch + 1}"
                raise self.error(f"{name} is {value} at {where}", self.epoch, batch, name, value)

    def on_epoch_end(self, epoch, logs=None):
        for name, array in self.trainer.model.state_dict().items():
            if not _finite(getattr(array, "data", array)):
                raise self.error(f"weight {name} is not finite after epoch {epoch + 1}", epoch,
                                 None, name, math.nan)

    def error(self, what: str, epoch: int, batch=None, name: str = "loss",
              value: float = math.nan) -> TrainingDivergedError:
        """The exception for a divergence in ``epoch`` (0-based): what, what was kept, the hint."""
        last = epoch - 1
        kept = "" if self.checkpoint is None else (
            f"; the checkpoint of epoch {last + 1} is kept in {self.checkpoint}" if last >= 0
            else "; no checkpoint was written")
        hint = f"; {self.hint}" if self.hint else ""
        prefix = "" if what.startswith("training diverged") else "training diverged: "
        return TrainingDivergedError(f"{prefix}{what}{kept}{hint}", epoch=epoch, batch=batch,
                                name=name, value=value, last_epoch=last)


# What NumPy says along the way when weights blow up; the divergence itself is reported once.
_NUMERIC_WARNINGS = r"(overflow|invalid value|divide by zero) encountered|TerminateOnNaN"


def fit_watched(trainer, watcher: StopOnNonFinite, *args, **kwargs):
    """``trainer.fit(*args, **kwargs)`` that raises ``TrainingDivergedError`` if training diverged.

    ``watcher`` must be among the trainer's callbacks. A divergence the trainer reports itself
    (its ``diverged`` and ``stop_reason``) raises too; NumPy's overflow warnings on the way there
    are silenced, so the one message says what happened.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _NUMERIC_WARNINGS, RuntimeWarning)
        history = trainer.fit(*args, **kwargs)
    if getattr(trainer, "diverged", False):
        reason = getattr(trainer, "stop_reason", None) or "a loss or weight is not finite"
        raise watcher.error(reason, trainer.epoch + 1)
    return history
