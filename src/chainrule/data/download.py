"""Finding dataset files: a given folder or ``chainrule.config.data_dir``, downloading if missing.

``config.data_dir`` is $CHAINRULE_DATA when the environment sets it, else the user cache
(``$XDG_CACHE_HOME/chainrule``, else ``~/.cache/chainrule``).

Downloads are checksum-verified (SHA-256) and written atomically, so an interrupted download never
leaves a half file under the final name. ``file://`` URLs work too (the tests use a local mirror).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from ..backend import config
from ..backend.files import atomic_file

__all__ = ["RemoteFile", "data_home", "download", "fetch", "sha256_of"]

ENV_VAR = "CHAINRULE_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """A file a dataset needs: name, accepted SHA-256 digest(s) and mirrors (base URLs) serving it.

    Several digests are accepted where the same content is distributed with different gzip framing
    (the canonical Fashion-MNIST files and Debian's dataset-fashion-mnist package, for example).
    """

    name: str
    sha256: str | tuple[str, ...]
    mirrors: Sequence[str] = ()

    @property
    def digests(self) -> tuple[str, ...]:
        return (self.sha256,) if isinstance(self.sha256, str) else tuple(self.sha256)


def data_home(data_dir=None) -> str:
    """Data folder: ``data_dir``, else ``config.data_dir`` ($CHAINRULE_DATA, else the cache)."""
    if data_dir is not None:
        return os.path.expanduser(os.fspath(data_dir))
    return config.data_dir


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, path: str, sha256=None, *, timeout: float = 30.0) -> str:
    """Download ``url`` to ``path`` atomically, verifying its SHA-256 when given; returns ``path``.

    ``sha256`` is a hex digest or a tuple of accepted digests.
    """
    accepted = _digests(sha256)
    h = hashlib.sha256()
    with atomic_file(path, make_folder=True) as out, \
            urllib.request.urlopen(url, timeout=timeout) as resp:
        for chunk in iter(lambda: resp.read(1 << 20), b""):
            h.update(chunk)
            out.write(chunk)
        if accepted is not None and h.hexdigest() not in accepted:  # the file is not kept
            raise ValueError(
                f"download: checksum mismatch for {url}: got sha256 {h.hexdigest()}, "
                f"expected {' or '.join(accepted)}"
            )
    return path


def _digests(sha256) -> tuple[str, ...] | None:
    """``sha256`` (None, a hex digest, or several) as lower-case digests ("AB12..." is
    "ab12..."); anything else is refused before a byte is downloaded (an int failed inside, a
    mistyped digest after the whole download)."""
    if sha256 is None:
        return None
    digests = (sha256,) if isinstance(sha256, str) else tuple(sha256) if isinstance(
        sha256, (tuple, list)) else None
    if not digests or not all(isinstance(d, str) and len(d) == 64 and all(
            c in "0123456789abcdef" for c in d.lower()) for d in digests):
        raise ValueError(f"download: sha256 must be None, a SHA-256 hex digest (64 hex digits) "
                         f"or a tuple of them, got {sha256!r}")
    return tuple(d.lower() for d in digests)


def fetch(dataset: str, files: Sequence[RemoteFile], data_dir=None, *,
          download_missing: bool = True, extra_dirs: Sequence[str] = ()) -> dict[str, str]:
    """Paths of ``files`` for ``dataset``, downloading the missing ones when allowed and possible.

    Looks in ``data_dir`` itself, then ``data_dir/<dataset>``, then each of ``extra_dirs`` (e.g.
    where a system package installs the data). Files found locally are checked against their
    SHA-256.

    Raises:
        FileNotFoundError: files are missing and could not be downloaded; the message lists them and
            the folder to put them in.
        ValueError: a local file's checksum does not match (a corrupt or different file).
    """
    root = data_home(data_dir)
    candidates = [root, os.path.join(root, dataset), *extra_dirs]
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, f.name)) for f in files):
            return {f.name: _verified(os.path.join(folder, f.name), f.digests) for f in files}
    target = os.path.join(root, dataset)
    paths, errors = {}, []
    for f in files:
        path = os.path.join(target, f.name)
        if os.path.isfile(path):
            paths[f.name] = _verified(path, f.digests)
            continue
        if download_missing:
            for base in f.mirrors:
                try:
                    paths[f.name] = download(base + f.name, path, f.digests)
                    break
                # a truncated response (IncompleteRead) is an HTTPException, not an OSError
                except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) \
                        as e:
                    errors.append(f"{base + f.name}: {e}")
        if f.name not in paths:
            missing = [g.name for g in files if g.name not in paths]
            hint = "" if not errors else " Download attempts failed: " + "; ".join(errors[-3:])
            raise FileNotFoundError(
                f"{dataset}: missing files {missing}. Put them in {target} (or point --data-dir, "
                f"${ENV_VAR} or chainrule.config.data_dir at the folder that holds them).{hint}"
            )
    return paths


def _verified(path: str, digests: tuple[str, ...]) -> str:
    actual = sha256_of(path)
    if digests and actual not in {d.lower() for d in digests}:
        raise ValueError(
            f"{path}: checksum mismatch (sha256 {actual}, expected {' or '.join(digests)}); "
            "the file is corrupt or not the expected one: delete it to download it again"
        )
    return path
