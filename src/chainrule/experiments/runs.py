"""Run folders: checked before anything is written, one writer at a time, resumed honestly.

A run folder (``chainrule train ... --out DIR``) holds ``config.json`` (the settings applied),
``metrics.csv``, ``checkpoint/``, ``model.safetensors``, ``results.json`` and ``figures/``.
``run_path`` refuses, without creating anything, an output that is a file, a folder holding
something else, or, when resuming, a folder that is missing or holds no run. ``RunFolder`` then
locks the folder for as long as the run lasts, removes the temporaries an interrupted atomic write
left, and compares a resumed run's settings with those recorded before anything is written.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from ..io import load_training_state
from ..train.callbacks import LAST_STATE

__all__ = ["CONFIG_FILE", "LOCK_FILE", "RunFolder", "RunFolderInUseError", "clean_temporaries",
           "run_path"]

LOCK_FILE = ".chainrule.lock"
CONFIG_FILE = "config.json"
# What our atomic writers leave when killed mid-write: ``.NAME.<12 hex>.tmp`` (backend.files, every
# writer since wave 23) and ``.tmp-<8 characters>NAME`` (data.idx's and viz's before it).
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp|\.tmp-[a-z0-9_]{8}.+")
_CONFIG_LIMIT = 1 << 20  # config.json holds a few KB of settings; anything far bigger is not ours
# config.json entries that record the run's history rather than a setting to compare on resume
# (the BLAS thread count is applied on resume by experiments.repeat.run_threads, not compared).
_BOOKKEEPING = ("epochs", "resumes", "threads")


class RunFolderInUseError(RuntimeError):
    """Another process holds the run folder's lock."""


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
    if not str(out).strip():
        raise ValueError("--out is empty; expected the path of a run folder")
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
    process holds it), checks again that a new run's folder is empty and, when resuming, reads the
    recorded ``config.json`` and the checkpoint's epoch and compares them with ``settings``:

    - with a checkpoint, every setting must be the same as recorded, except ``epochs``, which may
      grow (not below the epochs already trained, and not at all when ``epochs_fixed``, e.g. a
      learning-rate schedule laid out over the epochs); a ValueError lists every difference;
    - without a checkpoint nothing was trained yet, so the run starts afresh with ``settings``.

    Nothing but the lock file is written (or removed) until these checks pass; then the stale
    temporaries of our writers go. ``record`` is what to write as config.json: ``settings``, with
    the resumes so far under "resumes". A refused start leaves no folder it created behind.

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
        self.recorded_threads = None  # the BLAS thread count config.json records (a resume)
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
            self.record = self._resume_checked() if self.resume else _json_ready(self.settings)
            clean_temporaries(self.path)
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
        size = config_path.stat().st_size
        if size > _CONFIG_LIMIT:
            raise ValueError(f"--resume: {config_path} is {size} bytes, more than a run's settings "
                             f"take (at most {_CONFIG_LIMIT}); it is not the config.json we wrote")
        try:
            old = json.loads(config_path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as err:
            raise ValueError(f"--resume: {config_path} is damaged ({err}); cannot tell which "
                             "settings the run used") from None
        if not isinstance(old, dict):
            raise ValueError(f"--resume: {config_path} holds {type(old).__name__}, expected a "
                             "JSON object of settings")
        threads = old.get("threads")  # checked with the rest: a refused resume removes nothing
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError(f"--resume: {config_path} records threads {threads!r}; expected a "
                             "positive integer (the BLAS thread count of the run)")
        self.recorded_threads = threads
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
