"""Eighteenth fuzz wave, saving and loading: what torch.save writes that is not a tensor or a
plain value (a bare storage, a class) is refused by chainrule.load, never returned as one of
its internal records; chainrule's own format keeps the keys and containers torch.save keeps."""

import collections
import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.io.safetensors_file import digests, pack_complex, write_file  # noqa: E402

from .._case_loop import each_case, grid  # noqa: E402


def _saved(obj, legacy=False) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage is deprecated
        torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize(
    "make",
    [lambda: torch.arange(4.0).untyped_storage(), lambda: {"s": [torch.arange(4.0).storage()]}],
)
def test_a_bare_storage_is_refused_not_returned_as_a_record(make, legacy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TypedStorage is deprecated
        obj = make()
    if legacy and not isinstance(obj, dict):
        pytest.skip("torch.save's legacy format cannot write an UntypedStorage")
    data = _saved(obj, legacy)
    with pytest.raises(ValueError, match="bare storage .* save the tensor itself"):
        cr.load(io.BytesIO(data))


def _a_class_torch_save_refers_to_is_refused_not_returned_as_a_name_case(obj, legacy):
    data = _saved(obj, legacy)
    torch.load(io.BytesIO(data), weights_only=True)  # torch reads it: gives the class
    with pytest.raises(ValueError, match="itself \\(a class or function, not a value\\)"):
        cr.load(io.BytesIO(data))


def test_a_class_torch_save_refers_to_is_refused_not_returned_as_a_name():
    each_case(_a_class_torch_save_refers_to_is_refused_not_returned_as_a_name_case, grid(
        ("obj", [
                    torch.Tensor,
                    torch.FloatStorage,
                    torch.Size,
                    collections.OrderedDict,
                    {"a": [torch.nn.Parameter]},
                ]),
        ("legacy", [False, True]),
    ))


def test_tensors_and_values_still_load_beside_the_check():
    base = torch.arange(6.0)
    obj = {"a": base, "v": base[1:3], "d": torch.float64, "s": torch.Size([2]), "n": [[]]}
    out = cr.load(io.BytesIO(_saved(obj)))
    assert out["v"].tolist() == [1.0, 2.0] and out["d"] == cr.float64
    assert isinstance(out["s"], cr.Size) and out["n"] == [[]]


def _own_round_trip(obj):
    buf = io.BytesIO()
    cr.save(obj, buf)
    buf.seek(0)
    return cr.load(buf)


def _torch_round_trip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_keys_sets_devices_and_counters_survive_chainrules_format_as_torch_save():
    # torch.save keeps tuple, bytes, complex and device keys, sets, devices and Counters: the
    # chainrule format refused such keys (naming the type "dict") and sets, and gave a device
    # back as a plain str and a Counter as a dict
    def obj(lib, dev):
        return {
            "keys": {(1, "a"): 1, b"\x00k": 2, 1 + 2j: 3, (): 4, "s": 5, None: 6, 2.5: 7},
            "set": {(1, 2), "a", None, 3.5, b"b"},
            "empty": set(),
            "device": dev,
            "dev_key": {dev: [lib.ones(1)]},
            "count": collections.Counter("aab"),
        }

    want = _torch_round_trip(obj(torch, torch.device("cpu")))
    got = _own_round_trip(obj(cr, cr.device("cpu")))
    assert got["keys"] == want["keys"] and got["set"] == want["set"] == obj(torch, 0)["set"]
    assert got["empty"] == set() and type(got["empty"]) is set
    assert type(got["device"]) is cr.device and str(got["device"]) == str(want["device"])
    ((key, value),) = got["dev_key"].items()
    assert type(key) is cr.device and value[0].tolist() == [1.0]
    assert type(got["count"]) is type(want["count"]) is collections.Counter
    assert got["count"] == want["count"]


def _crafted(structure: str) -> io.BytesIO:
    """A chainrule.save file whose JSON structure is ``structure``, checksums recomputed."""
    arrays, meta = pack_complex(
        {"t0": np.ones(2, np.float32)}, {"chainrule.object": structure, "format": "chainrule.save"}
    )
    buf = io.BytesIO()
    write_file(buf, arrays, {**meta, "chainrule.sha256": digests(arrays, meta)})
    buf.seek(0)
    return buf


def _a_hand_made_structure_is_a_value_error_never_a_wrong_value_case(structure):
    with pytest.raises(ValueError, match="(structure|JSON).*damaged or hand-made"):
        cr.load(_crafted(structure))


def test_a_hand_made_structure_is_a_value_error_never_a_wrong_value():
    each_case(_a_hand_made_structure_is_a_value_error_never_a_wrong_value_case, grid(
        ("structure", [
                          '{"__dict__": [[[1, 2], 3]]}',  # an unhashable key
                          '{"__dict__": [[1]]}',
                          '{"__dict__": 5}',
                          '{"__array__": "t9"}',  # a tensor the file does not hold
                          '{"__array__": "t0", "kind": "weird"}',
                          '{"__size__": [2, -1]}',  # was Size([2, -1])
                          '{"__size__": "ab"}',  # was Size(['a', 'b'])
                          '{"__complex__": [1]}',  # was (1+0j)
                          '{"__bytes__": 5}',
                          '{"__set__": [[1]]}',
                          '{"__device__": 3}',
                          '{"other": 1}',
                          '{"__tuple__": [], "__set__": []}',
                          "[" * 5000 + "]" * 5000,
                          "{not json",
                      ]),
    ))


def test_a_crafted_structure_of_every_kind_still_loads():
    structure = (
        '{"__dict__": [["a", {"__size__": [2, 0]}], [{"__tuple__": [1, "x"]}, '
        '{"__set__": [1, {"__bytes__": "\\u00ff"}]}], ["t", {"__array__": "t0"}], '
        '["c", {"__complex__": [1, 2.5]}], ["d", {"__device__": "cpu"}]]}'
    )
    out = cr.load(_crafted(structure))
    assert out["a"] == cr.Size([2, 0]) and out[(1, "x")] == {1, b"\xff"}
    assert out["t"].tolist() == [1.0, 1.0] and out["c"] == 1 + 2.5j and out["d"] == "cpu"


@pytest.mark.parametrize("legacy", [False, True])
def test_an_integer_parameter_is_a_value_error_naming_its_dtype(legacy):
    # PyTorch saves nn.Parameter(int_tensor, requires_grad=False); chainrule's Parameters are
    # floating-point or complex, and its constructor's TypeError escaped load
    p = torch.nn.Parameter(torch.tensor([1, 2]), requires_grad=False)
    data = _saved({"ok": torch.nn.Parameter(torch.ones(1)), "p": p}, legacy)
    assert torch.load(io.BytesIO(data), weights_only=True)["p"].dtype == torch.int64
    with pytest.raises(ValueError, match="nn.Parameter of dtype int64"):
        cr.load(io.BytesIO(data))


def test_an_integer_parameter_in_a_hand_made_chainrule_file_is_a_value_error():
    arrays, meta = pack_complex(
        {"t0": np.ones(2, np.int32)},
        {
            "chainrule.object": '{"__array__": "t0", "kind": "parameter"}',
            "format": "chainrule.save",
        },
    )
    buf = io.BytesIO()
    write_file(buf, arrays, {**meta, "chainrule.sha256": digests(arrays, meta)})
    buf.seek(0)
    with pytest.raises(ValueError, match="not a Parameter \\(its dtype is int32\\)"):
        cr.load(buf)


def test_wrong_kinds_of_f_are_named_clearly(tmp_path):
    # a folder was "no such file"; an int, bytes or a text file gave Python's own TypeError or
    # UnicodeDecodeError, naming no argument
    cr.save({"a": 1}, tmp_path / "ok.pt")
    with pytest.raises(IsADirectoryError, match="load: .* is a folder, not a file"):
        cr.load(tmp_path)
    with pytest.raises(IsADirectoryError, match="save: .* is a folder, not a file"):
        cr.save({}, tmp_path)
    with pytest.raises(IsADirectoryError, match="load_weights: .* is a folder"):
        cr.io.load_weights(cr.nn.Linear(1, 1), tmp_path)
    for f in (5, b"ok.pt"):
        with pytest.raises(
            TypeError, match=f"load: f must be a file path .* got {type(f).__name__}"
        ):
            cr.load(f)
    with open(tmp_path / "ok.pt") as text, pytest.raises(TypeError, match="binary mode"):
        cr.load(text)
    for fmt in ("chainrule", "torch"):
        with open(tmp_path / "out.txt", "w") as text, pytest.raises(TypeError, match="'wb'"):
            cr.save({}, text, format=fmt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.pt", "out.txt"]


@pytest.mark.parametrize("assign", [False, True])
def test_a_one_element_vector_loads_into_a_0d_entry_as_pytorchs(assign):
    # PyTorch reads a 0.3-era checkpoint's shape (1,) value into a 0-d parameter or buffer
    # (its backward-compatibility rule); chainrule refused it as a shape mismatch
    def state(lib):
        return {"a": lib.tensor([5.0], dtype=lib.float64), "b": lib.tensor([7])}

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(1.0))
            self.register_buffer("b", torch.tensor(2))

    class C(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = cr.nn.Parameter(cr.tensor(1.0))
            self.register_buffer("b", cr.tensor(2))

    t, c = T(), C()
    t.load_state_dict(state(torch), assign=assign)
    c.load_state_dict(state(cr), assign=assign)
    for name in ("a", "b"):
        want, got = getattr(t, name), getattr(c, name)
        assert tuple(got.shape) == tuple(want.shape) == ()
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        assert got.item() == want.item()
        assert isinstance(got, cr.nn.Parameter) == isinstance(want, torch.nn.Parameter)
    for bad in ([5.0, 6.0], []):  # only a single element qualifies, in PyTorch too
        with pytest.raises(RuntimeError, match="size mismatch for a"):
            T().load_state_dict({"a": torch.tensor(bad), "b": torch.tensor(1)}, assign=assign)
        with pytest.raises(ValueError, match=r"a: state has shape \(\d,\), model has \(\)"):
            C().load_state_dict({"a": cr.tensor(bad), "b": cr.tensor(1)}, assign=assign)


@pytest.mark.parametrize("protocol", [0, 1])
def test_a_text_protocol_pickle_is_refused_naming_the_protocol(protocol):
    # the message said torch.save never writes these opcodes; it does with pickle_protocol 0/1
    buf = io.BytesIO()
    torch.save({"a": torch.ones(2), "n": [1, 2.5]}, buf, pickle_protocol=protocol)
    with pytest.raises(ValueError, match="pickle_protocol=0 or 1"):
        cr.load(io.BytesIO(buf.getvalue()))
