"""``save(obj, path)`` / ``load(path)``: PyTorch's ``torch.save``/``torch.load`` without pickle.

The object is a state dict, or any nesting of dicts, lists and tuples of Tensors, sparse
tensors (io/sparse_entries.py), NumPy arrays and plain values (None, bool, int, float, str), such
as an optimizer's state dict or a checkpoint ``{"model": ..., "optimizer": ..., "epoch": 3}``.
Its arrays go into one safetensors file (checksummed, as every file chainrule writes) and its
structure into the file's metadata as JSON. Nothing is executed when a file is loaded; anything
else (a Module, a function, an object of a class of one's own) is refused when saving, naming
where it sits in the object.
"""

from __future__ import annotations

import collections
import io
import json
import numbers
import os
import tempfile
import warnings
from pathlib import Path

from ..autograd.tensor import Size, Tensor
from ..backend import dtypes, numpy
from ..backend.device import device as _device
from ..backend.files import write_atomically
from ..nn.parameter import Parameter
from .checkpoint import _host, _write
from .safetensors_file import (
    DIGESTS,
    check_metadata,
    digests,
    pack_complex,
    read_header,
    read_tensors,
    span,
    write_file,
)
from .sparse_entries import encode_sparse, is_sparse
from .structure import DTYPE_NAMES, decode
from .torch_file import is_torch_zip, read_torch_file
from .torch_legacy import is_legacy, read_legacy_file
from .torch_write import write_torch_file

__all__ = ["load", "save"]

_STRUCTURE = "chainrule.object"
_FORMAT = "chainrule.save"


class _Arrays(dict):
    """The arrays to write by name, and the name each saved object got (``seen``, by id, with
    the object): one saved twice is written once, and ``load`` gives one object back, as
    torch.load does."""

    def __init__(self):
        super().__init__()
        self.seen: dict = {}


def _encode(value, where: str, arrays: _Arrays):
    if isinstance(value, (Tensor, numpy.ndarray)):
        key, _ = arrays.seen.get(id(value), (None, None))
        if key is None:  # the object is kept with its name: a temporary's id is not reused
            key = f"t{len(arrays)}"
            arrays.seen[id(value)] = key, value
            arrays[key] = _host(value, f"save: {where}")
        if not isinstance(value, Tensor):
            return {"__array__": key, "kind": "ndarray"}
        # as torch.save: a Parameter stays one, and requires_grad is kept; a lazy module's
        # uninitialized parameter or buffer stays one (its empty array keeps the dtype)
        kind = "parameter" if isinstance(value, Parameter) else "tensor"
        if hasattr(value, "materialize"):
            kind = "uninitialized " + ("parameter" if kind == "parameter" else "buffer")
        return {"__array__": key, "kind": kind, "requires_grad": bool(value.requires_grad)}
    if isinstance(value, _device):  # a str subclass: kept a device, as torch.load keeps one
        return {"__device__": str(value)}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numpy.bool_):  # not a numbers.Integral
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, numbers.Complex):  # torch.save keeps complex numbers and bytes too
        return {"__complex__": [complex(value).real, complex(value).imag]}
    if isinstance(value, (bytes, bytearray)):  # torch.load gives a bytearray back as one
        text = bytes(value).decode("latin1")
        return {"__bytes__": text} if isinstance(value, bytes) else {"__bytearray__": text}
    if value is dtypes.bfloat16 or isinstance(value, numpy.dtype) and value.name in DTYPE_NAMES:
        return {"__dtype__": value.name}
    if isinstance(value, dict):
        # a key of any type torch.save keeps (a tuple, bytes, a device...) comes back as it was
        items = [[_encode(k, f"{where} key", arrays) if type(k) is not str else k,
                  _encode(v, f"{where}[{k!r}]", arrays)] for k, v in value.items()]
        if isinstance(value, collections.OrderedDict):  # a state dict: torch.load keeps it one
            metadata = getattr(value, "_metadata", None)  # and its modules' versions, as pickle
            if metadata is None:
                return {"__dict__": items, "ordered": True}
            return {"__dict__": items, "ordered": True,
                    "metadata": _encode(metadata, f"{where}._metadata", arrays)}
        if isinstance(value, collections.Counter):
            return {"__dict__": items, "counter": True}
        return {"__dict__": items}
    if isinstance(value, set):  # torch.save keeps a set (and weights_only reads it)
        return {"__set__": [_encode(v, f"{where} item", arrays) for v in value]}
    if isinstance(value, Size):  # x.size() comes back a Size, as torch.load gives torch.Size
        return {"__size__": [int(n) for n in value]}
    if isinstance(value, (list, tuple)):
        encoded = [_encode(v, f"{where}[{i}]", arrays) for i, v in enumerate(value)]
        return {"__tuple__": encoded} if isinstance(value, tuple) else encoded
    if is_sparse(value):  # COO, CSR, CSC: their index arrays, values and size
        return encode_sparse(value, where, lambda part, at: _encode(part, at, arrays))
    raise TypeError(
        f"save: {where} is a {type(value).__name__}, which chainrule does not save (it writes "
        "safetensors + JSON, never pickle): save Tensors, sparse tensors, arrays, numbers, "
        "strings, bytes, None and dicts/lists/tuples of them, e.g. model.state_dict() rather "
        "than the model"
    )


def save(obj, f, *, format: str = "chainrule") -> None:  # noqa: A002 - the option's name
    """Write ``obj`` (a state dict or a nesting of dicts/lists/tuples of Tensors, arrays and
    plain values) to ``f`` as safetensors + JSON, or as PyTorch's zip archive.

    Args:
        obj: what to save.
        f: a file path (str or ``os.PathLike``) in an existing folder, written whole to a
            temporary file beside it, which then replaces it (a failed write leaves the old file
            and no temporary file); or a binary file object (``io.BytesIO``, an open file),
            written from its current position.
        format: ``"chainrule"`` (safetensors + JSON, checksummed) or ``"torch"``: the zip
            archive ``torch.save`` writes, which ``torch.load(f, weights_only=True)`` reads
            (io/torch_write.py; NumPy arrays are refused there: save Tensors).

    Raises:
        TypeError: naming the first value that is not one of the types above.
    """
    if format not in ("chainrule", "torch"):
        raise ValueError(f"save: format must be 'chainrule' or 'torch', got {format!r}")
    writable = not isinstance(f, (str, os.PathLike)) and callable(getattr(f, "write", None))
    if not (writable or isinstance(f, (str, os.PathLike))):
        raise TypeError(f"save: f must be a file path (str or PathLike) or a binary file "
                        f"object with write(), got {type(f).__name__}")
    if isinstance(f, io.TextIOBase):
        raise TypeError("save: f is a text file object; open the file in binary mode, "
                        "open(path, 'wb')")
    if not writable and os.path.isdir(f):
        raise IsADirectoryError(f"save: '{f}' is a folder, not a file")
    if format == "torch":
        _save_torch(obj, f, writable)
        return
    arrays = _Arrays()
    structure = json.dumps(_encode(obj, "obj", arrays), allow_nan=True)
    if writable:  # io.BytesIO or an open file: the same bytes, written where it stands
        arrays, metadata = pack_complex(arrays, {_STRUCTURE: structure, "format": _FORMAT})
        write_file(f, arrays, {**metadata, DIGESTS: digests(arrays, metadata)})
        return
    f = Path(f)
    if not f.parent.is_dir():  # as torch.save: the folder must exist
        raise FileNotFoundError(f"save: no such folder: '{f.parent}'")
    # a uniquely named temporary file, synced, then renamed; removed if the write fails
    _write(f, arrays, {_STRUCTURE: structure, "format": _FORMAT})


def _save_torch(obj, f, writable: bool) -> None:
    if not writable and not Path(f).parent.is_dir():
        raise FileNotFoundError(f"save: no such folder: '{Path(f).parent}'")
    # built whole first: a refused value leaves no file behind, and the archive's offsets count
    # from its own start (zipfile writes a stream's), so torch.load reads it from where f stood
    data = io.BytesIO()
    write_torch_file(obj, data)
    if writable:
        f.write(data.getbuffer())
        return
    write_atomically(f, data.getbuffer())


def load(f, map_location=None, *, weights_only=True, mmap=None, upcast_bfloat16=False):
    """Read what ``save`` wrote, or a file ``torch.save`` wrote: the same nesting, with Tensors.

    A ``torch.save`` file (a zip archive, or PyTorch's legacy format) is read without
    unpickling (io/torch_file.py, io/torch_legacy.py): its
    tensors and plain values come back as ``torch.load(f, weights_only=True)`` gives them,
    Tensors as chainrule Tensors (``nn.Parameter`` where PyTorch saved one) with the stored
    ``requires_grad``; a pickled object of any other kind (a whole Module) is refused, naming it.

    Args:
        f: the file path, or a binary file object (``io.BytesIO``, an open file) read from its
            current position to its end.
        map_location: where the Tensors go, as in PyTorch: None (the host), "cpu" or "cuda"
            (or a ``chainrule.device``), a dict from saved locations to devices
            (``{"cuda:0": "cpu"}``; chainrule's own files are saved from "cpu"), or a function
            called with each Tensor and its saved location (``lambda storage, loc: storage``)
            whose returned Tensor is used.
        weights_only: accepted for PyTorch's signature; loading never runs code either way.
        mmap: accepted for PyTorch's signature (``torch.load(path, mmap=True,
            weights_only=True)``, the checkpoint-loading tutorial); the values are the same
            either way, read into memory.
        upcast_bfloat16: read a PyTorch file's bfloat16 tensors as float32 (exactly); without
            it they are refused, as NumPy has no bfloat16.

    Raises:
        ValueError: the file is neither (e.g. a plain pickle), holds a
            pickled object other than tensors and plain values, or is damaged.
    """
    if not isinstance(f, (str, os.PathLike)) and callable(getattr(f, "read", None)):
        data = None if isinstance(f, io.TextIOBase) else f.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("load: f is a text file object (its read() gives str, not bytes); "
                            "open the file in binary mode, open(path, 'rb')")
        data = bytes(data)
        if is_torch_zip(data):
            return read_torch_file(io.BytesIO(data), map_location=map_location,
                                   upcast_bfloat16=upcast_bfloat16)
        if is_legacy(data[:32]):
            return read_legacy_file(data, map_location=map_location,
                                    upcast_bfloat16=upcast_bfloat16)
        with tempfile.TemporaryDirectory() as folder:  # the file reader checks a file on disk
            copy = Path(folder) / "load.safetensors"
            copy.write_bytes(data[:span(data) or len(data)])  # not what was saved after it
            name = getattr(f, "name", None)
            shown = f"'{name}'" if isinstance(name, str) else f"the {type(f).__name__}"
            try:  # errors and warnings name the caller's file, not the temporary copy
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    out = load(copy, map_location, weights_only=weights_only, mmap=mmap)
            except ValueError as err:
                raise ValueError(str(err).replace(f"'{copy}'", shown)) from None
            for w in caught:
                warnings.warn(str(w.message).replace(f"'{copy}'", shown), w.category,
                              stacklevel=2)
            return out
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"load: f must be a file path (str or PathLike) or a binary file object "
                        f"with read(), got {type(f).__name__}")
    if os.path.isdir(f):
        raise IsADirectoryError(f"load: '{f}' is a folder, not a file")
    try:
        with open(f, "rb") as stream:
            head = stream.read(32)
    except OSError:
        head = b""  # read_header says what is wrong with the path
    if is_torch_zip(head):
        return read_torch_file(f, map_location=map_location, upcast_bfloat16=upcast_bfloat16)
    if is_legacy(head):
        return read_legacy_file(Path(f).read_bytes(), map_location=map_location,
                                upcast_bfloat16=upcast_bfloat16)
    refusal = (f"load: '{f}' was not written by chainrule.save, nor by torch.save (a zip "
               "archive): chainrule reads those two formats, never a plain pickle (unpickling "
               "runs code)")
    try:
        header = read_header("load", f)
    except ValueError as err:
        raise ValueError(f"{refusal} ({err})") from None
    if header.metadata.get("format") != _FORMAT or _STRUCTURE not in header.metadata:
        state = header.metadata.get("chainrule.kind") == "training_state"
        raise ValueError(f"{refusal}; it is a safetensors file of " + (
            "a training state: read it with chainrule.io.load_training_state(path, ...)" if state
            else f"{len(header.tensors)} tensors (weights): read them into a model with "
            "chainrule.io.load_weights(model, path)"))
    check_metadata("load", header)
    arrays = read_tensors("load", header)
    try:
        structure = json.loads(header.metadata[_STRUCTURE])
    except (ValueError, RecursionError) as err:
        raise ValueError(f"load: the structure of '{f}' is not readable JSON "
                         f"({type(err).__name__}: {str(err)[:80]}); the file is damaged or "
                         "hand-made") from None
    return decode(structure, arrays, map_location, f"'{f}'")
