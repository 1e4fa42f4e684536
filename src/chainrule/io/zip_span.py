"""The zip archive a byte string starts with, when more follows it.

``zipfile`` reads an archive from its end (the end-of-central-directory record), so bytes that
hold two archives (``torch.save`` called twice into one ``io.BytesIO``, read from the first one's
position) would be read as the second archive: a plausible object, but the wrong one. PyTorch
reads the archive that starts where the file object stands. ``starts_at_zero`` says whether the
archive ``zipfile`` found begins at the first byte; ``first_archive`` finds the one that does:
an end record whose central directory lies just before it and whose entries start at byte 0.
``unchecked_if_zero_crcs`` reads an archive ``torch.save`` wrote without CRC-32s.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib

__all__ = ["first_archive", "open_first", "starts_at_zero", "unchecked_if_zero_crcs"]

_END = b"PK\x05\x06"  # end of central directory: 22 bytes, then a comment
_ZIP64_LOCATOR = b"PK\x06\x07"  # 20 bytes, just before the end record of a zip64 archive
_MAX_TRIES = 64  # end records that pass the cheap checks and are then parsed
_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    OSError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    ValueError,
)


def starts_at_zero(zf: zipfile.ZipFile) -> bool:
    """Whether the archive ``zf`` read begins at the first byte of its source: an entry there,
    none before it (``zipfile`` shifts the offsets of an archive that follows other bytes)."""
    infos = zf.infolist()
    return bool(infos) and min(info.header_offset for info in infos) == 0


def _plausible(data: bytes, pos: int) -> int | None:
    """The end of the archive whose end record is at ``pos``, if that archive can start at 0."""
    if pos + 22 > len(data):
        return None
    end = pos + 22 + int.from_bytes(data[pos + 20 : pos + 22], "little")
    size, offset = (int.from_bytes(data[pos + k : pos + k + 4], "little") for k in (12, 16))
    # a zip64 archive (PyTorch writes them all so) has its own records between the two
    zip64 = pos >= 20 and data[pos - 20 : pos - 16] == _ZIP64_LOCATOR
    if end > len(data) or not (zip64 or size + offset == pos):
        return None
    return end


def first_archive(data: bytes) -> bytes | None:
    """The bytes of the zip archive that begins at ``data[0]`` (None if there is none)."""
    pos, tries = data.find(_END), 0
    while pos >= 0 and tries < _MAX_TRIES:
        end = _plausible(data, pos)
        if end is not None:
            tries += 1
            span = data[:end]
            try:
                with zipfile.ZipFile(io.BytesIO(span)) as zf:
                    if starts_at_zero(zf):
                        return span
            except _ERRORS:
                pass
        pos = data.find(_END, pos + 1)
    return None


def unchecked_if_zero_crcs(zf: zipfile.ZipFile) -> zipfile.ZipFile:
    """``torch.save`` under ``torch.utils.serialization.config.save.compute_crc32 = False``
    writes every entry's CRC-32 as 0, and PyTorch's reader checks none. Where every non-empty
    entry's is 0 (a real one of ``byteorder`` or ``version`` is not), they are not checked;
    any other archive's are, as ``zipfile`` checks them."""
    infos = [info for info in zf.infolist() if info.file_size]
    if infos and all(info.CRC == 0 for info in infos):
        for info in infos:
            del info.CRC  # zipfile compares a CRC only with one the entry has
    return zf


def _all_bytes(source) -> bytes | None:
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                return f.read()
        if isinstance(source, io.BytesIO):
            return source.getvalue()
        source.seek(0)
        return source.read()
    except (OSError, ValueError, AttributeError):
        return None


def open_first(source) -> zipfile.ZipFile:
    """``zipfile.ZipFile(source)`` (a path, or a binary file object holding the data from its
    first byte), but the archive that begins at the first byte where more follows it; raises
    what ``ZipFile`` raised, or ``BadZipFile`` when no archive begins there."""
    failure = None
    try:
        zf = zipfile.ZipFile(source)
    except _ERRORS as err:
        failure = err
    else:
        if starts_at_zero(zf):
            return unchecked_if_zero_crcs(zf)
        zf.close()
    data = _all_bytes(source)
    span = first_archive(data) if data else None
    if span is None:
        raise failure or zipfile.BadZipFile(
            "its zip archive does not begin at its first byte, and no other one does"
        )
    return unchecked_if_zero_crcs(zipfile.ZipFile(io.BytesIO(span)))
