"""Writing a file so that nothing is lost: every file chainrule writes (weights, checkpoints,
run logs, ONNX graphs, images, plots, traces, downloads) goes through ``atomic_file``.

The bytes go to a temporary file beside the destination, are flushed to disk, and only then does
``os.replace`` put the file in place: a reader sees the old file or the new one, never half of
one, and a failure (a full disk, an error while encoding, Ctrl-C) leaves the old file as it was
and no temporary behind. A destination that is a symbolic link is written through, as
``open(path, "wb")`` (and ``torch.save``) would: the link stays and its target gets the bytes.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "notes.txt")
>>> write_atomically(path, b"first")
>>> with atomic_file(path) as f:
...     _ = f.write(b"second")
>>> with open(path, "rb") as f:
...     f.read(), os.listdir(folder)
(b'second', ['notes.txt'])
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets

__all__ = ["atomic_file", "write_atomically", "write_json"]


@contextlib.contextmanager
def atomic_file(path, *, make_folder: bool = False):
    """A binary file to write ``path``'s new content into; it replaces ``path`` when the block
    ends without an error, and is removed otherwise. ``make_folder``: create missing folders
    (else a missing one is ``FileNotFoundError`` naming ``path``)."""
    path = os.fspath(path)
    target = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    folder, name = os.path.split(target)
    if make_folder:
        os.makedirs(folder, exist_ok=True)
    # ``.NAME.<12 hex>.tmp``, the pattern experiments.runs.clean_temporaries knows. Not mkstemp,
    # whose files are 0600: "x" (create, never overwrite) makes it 0o666 less the umask, the mode
    # any file of the user has.
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.strerror and err.filename2 is None and (
                err.filename is None or os.fspath(err.filename) == tmp):
            err.filename = path  # a full disk or a read-only folder names the user's file
        raise


def write_atomically(path, data, *, make_folder: bool = False) -> None:
    """Write the bytes ``data`` (or a buffer) to ``path`` through ``atomic_file``."""
    with atomic_file(path, make_folder=make_folder) as f:
        f.write(data)


def write_json(path, obj) -> None:
    """``obj`` as indented JSON text at ``path`` (its folders made), through ``atomic_file``.

    NumPy scalars and arrays (and Tensors) are written as numbers and lists, anything else that
    JSON has no type for (a ``Path``) as its ``str``."""
    text = json.dumps(obj, indent=2, default=_json_plain) + "\n"
    write_atomically(path, text.encode(), make_folder=True)


def _json_plain(value):
    return value.tolist() if hasattr(value, "tolist") else str(value)
