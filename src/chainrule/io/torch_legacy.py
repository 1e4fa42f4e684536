"""Reading PyTorch's legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``,
the default before PyTorch 1.6), without unpickling.

The file is five pickles in a row, then the storages: a magic number, the protocol version
(1001), a dict of system facts (``little_endian``), the object (its tensors refer to storages
by key), and the list of storage keys; then, for each key in that order, its element count
(an 8-byte integer) and its raw bytes. The object's pickle is interpreted twice with
``torch_pickle.run_pickle``: once with tensor building switched off, to find where it ends and
which storages it names, and once, with the storages read, to build it.
"""

from __future__ import annotations

from ..backend import dtypes
from .torch_file import LEGACY_MAGIC, _Builder, _Storage, _StorageType, _table, plain
from .torch_pickle import Global, run_pickle, short

__all__ = ["is_legacy", "read_legacy_file"]

_MAGIC_LONG = LEGACY_MAGIC[2:]  # LONG1 of the magic number, after PROTO 2


def is_legacy(head: bytes) -> bool:
    """Whether a file's first 32 bytes start a legacy-format file: the magic number pickled
    with protocol 2 or 3, or with 4 or 5 (which put a FRAME opcode before it)."""
    if head[:1] != b"\x80" or head[1:2] not in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return False
    return head[2:14] == _MAGIC_LONG or (head[2:3] == b"\x95" and head[11:23] == _MAGIC_LONG)

_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL = 1001


class _Legacy:
    """The storages of a legacy file, by key (what ``_Builder`` asks an archive for)."""

    def __init__(self, big_endian: bool, who: str):
        self.big, self.who = big_endian, who
        self.named: dict = {}  # key -> _Storage, as the object's pickle names them
        self.cache: dict = {}

    def storage(self, pid) -> _Storage:
        if isinstance(pid, tuple) and len(pid) == 6 and isinstance(pid[1], _StorageType) and (
                pid[1].dtype is None):
            raise ValueError(
                f"{self.who}: the legacy file holds an UntypedStorage ({short(pid[2])}: a "
                "uint16/32/64, float8, float4 or complex32 tensor), which this format cannot "
                "describe (torch.load fails on it too); save it with torch.save's default format")
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and pid[1].dtype is not None
                and isinstance(pid[2], str) and isinstance(pid[3], str)
                and isinstance(pid[4], int) and not isinstance(pid[4], bool) and pid[4] >= 0):
            raise ValueError(f"{self.who}: the pickle refers to storage {short(pid)}, which is not "
                             "one PyTorch's legacy format writes ('storage', type, key, "
                             "location, size, view)")
        if pid[5] is not None:
            raise ValueError(f"{self.who}: the file holds a storage view ({short(pid[5])}), which "
                             "chainrule does not read; save it again with torch.save(obj, path)")
        known = self.named.setdefault(pid[2], _Storage(pid[2], pid[1].dtype, pid[4], pid[3]))
        if (known.dtype, known.count) != (pid[1].dtype, pid[4]):
            raise ValueError(f"{self.who}: storage '{pid[2]}' is named with two types or sizes")
        return known

    def data(self, storage: _Storage, itemsize: int) -> bytes:
        return self.cache[storage.key]


class _Dry(_Builder):
    """Builds nothing: the first reading only finds the pickle's end and its storages."""

    def rebuild_v2(self, storage, offset, size, stride, requires_grad, hooks, metadata=None):
        return None

    def rebuild_v3(self, storage, offset, size, stride, requires_grad, hooks, dtype,
                   metadata=None):
        return None

    def parameter(self, data, requires_grad, hooks, state=None):
        return None

    def from_type(self, func, new_type, args, state):
        return None


def _nothing(*args):
    return None


def _itemsize(storage: _Storage) -> int:
    return 2 if storage.dtype is dtypes.bfloat16 else storage.dtype.itemsize


def _no_storage(pid):
    raise ValueError(f"load: a header pickle of the legacy file refers to storage {short(pid)} "
                     "(the file is damaged)")


def read_legacy_file(data: bytes, *, map_location=None, upcast_bfloat16=False, who="load"):
    """Read a whole legacy-format file (its bytes) as ``torch.load`` would, without unpickling."""
    if not is_legacy(data[:32]):
        raise ValueError(f"{who}: not a file in PyTorch's legacy format")
    magic, pos = run_pickle(data, {}, _no_storage, who, with_end=True)
    version, pos = run_pickle(data, {}, _no_storage, who, start=pos, with_end=True)
    info, pos = run_pickle(data, {}, _no_storage, who, start=pos, with_end=True)
    if magic != _MAGIC or version != _PROTOCOL or not isinstance(info, dict):
        raise ValueError(f"{who}: the legacy file's header is damaged (magic {short(magic)}, "
                         f"protocol {short(version)})")
    big = info.get("little_endian", True) is False
    legacy = _Legacy(big, who)
    dry = _Dry(legacy, None, upcast_bfloat16)
    start = pos
    table = _table(dry)  # a sparse tensor's parts are None in this reading: not rebuilt either
    table["torch._utils._rebuild_sparse_tensor"] = Global("_rebuild_sparse_tensor", _nothing)
    _, pos = run_pickle(data, table, legacy.storage, who, start=start, with_end=True)
    keys, pos = run_pickle(data, {}, _no_storage, who, start=pos, with_end=True)
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise ValueError(f"{who}: the legacy file's list of storages is damaged ({short(keys)})")
    for key in keys:
        if key not in legacy.named:
            raise ValueError(f"{who}: the legacy file stores '{key}', which its object does "
                             "not name (the file is damaged)")
        storage = legacy.named[key]
        nbytes = storage.count * _itemsize(storage)
        count = int.from_bytes(data[pos:pos + 8], "big" if big else "little")
        if pos + 8 + nbytes > len(data) or count != storage.count:
            raise ValueError(f"{who}: storage '{key}' should hold {storage.count} elements; the "
                             f"file gives {count} and {max(len(data) - pos - 8, 0)} bytes (it is "
                             "truncated or damaged)")
        legacy.cache[key] = data[pos + 8:pos + 8 + nbytes]
        pos += 8 + nbytes
    missing = set(legacy.named) - set(keys)
    if missing:
        raise ValueError(f"{who}: the legacy file names storages it does not hold: "
                         f"{sorted(missing)} (the file is damaged)")
    builder = _Builder(legacy, map_location, upcast_bfloat16)
    return plain(run_pickle(data, _table(builder), legacy.storage, who, start=start), who)
