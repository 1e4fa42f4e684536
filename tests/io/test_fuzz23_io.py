"""Wave 23 of differential fuzzing of saving and loading against torch.save/torch.load 2.13."""

import io
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _values(obj):
    return {
        k: np.asarray(v.detach().numpy()) if hasattr(v, "detach") else v for k, v in obj.items()
    }


@pytest.mark.parametrize("tail", [0, 70_000])
def test_two_torch_saves_into_one_buffer_load_each_from_its_position(tail):
    # zipfile reads an archive from its end: the first load returned the second object.
    # (PyTorch 2.13 reads the first only by luck, when both archives have the same layout;
    # otherwise its reader fails. chainrule reads the archive that begins where f stands.)
    buf = io.BytesIO()
    first = {"a": torch.arange(3.0), "n": 1}
    torch.save(first, buf)
    middle = buf.tell()
    second = {"bbbbbb": torch.arange(7.0) * 10, "n": 2, "c": torch.ones(2, 2, dtype=torch.int16)}
    torch.save(second, buf)
    buf.write(bytes(tail))  # more than zipfile's 64 KiB search for the end record
    if not tail:
        buf.seek(middle)
        assert _values(torch.load(buf, weights_only=True)).keys() == second.keys()
    for position, saved in ((0, first), (middle, second)):
        buf.seek(position)
        got, expected = _values(cr.load(buf)), _values(saved)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value)
            assert np.asarray(got[key]).dtype == np.asarray(value).dtype


def test_a_damaged_archive_is_still_refused_not_read_as_another():
    buf = io.BytesIO()
    torch.save({"a": torch.arange(3.0)}, buf)
    data = buf.getvalue()
    with pytest.raises(ValueError, match="not a readable zip archive"):
        cr.load(io.BytesIO(data[:-30]))
    with pytest.raises(ValueError, match="not a readable zip archive"):  # two, the first cut
        cr.load(io.BytesIO(data[:-30] + data))


def test_torch_format_written_after_other_bytes_is_read_by_torch_from_there():
    # the archive's offsets counted from the stream's start, so torch.load from its position
    # failed ("PytorchStreamReader failed reading zip archive")
    obj = {"w": cr.tensor(np.arange(6.0).reshape(2, 3)), "step": 3}
    for prefix in (b"", b"HEADER" * 4):
        buf = io.BytesIO()
        buf.write(prefix)
        cr.save(obj, buf, format="torch")
        buf.write(b"more of the caller's own data")
        buf.seek(len(prefix))
        out = torch.load(buf, weights_only=True)
        np.testing.assert_array_equal(out["w"].numpy(), np.arange(6.0).reshape(2, 3))
        assert out["step"] == 3
        buf.seek(len(prefix))
        assert cr.load(buf)["step"] == 3


def _round_trips(obj):
    """obj through torch.save/torch.load, and through chainrule's two formats."""
    buf = io.BytesIO()
    cr.save(obj, buf, format="torch")
    buf.seek(0)
    via_torch = torch.load(buf, weights_only=True)
    buf = io.BytesIO()
    cr.save(obj, buf)
    buf.seek(0)
    return via_torch, cr.load(buf)


def test_dtypes_and_bytearrays_from_a_torch_file_can_be_saved_again():
    # cr.load gives them (torch.load(weights_only=True) does too), but save refused them in
    # both formats ("obj['dtype'] is a Float16DType"; "a bytearray ... torch.load would refuse")
    saved = {
        "dtype": torch.float16,
        "keys": {torch.int64: 1},
        "bf": torch.bfloat16,
        "raw": bytearray(b"a\xff\x00"),
        "b": b"\x01",
    }
    buf = io.BytesIO()
    torch.save(saved, buf)
    buf.seek(0)
    loaded = cr.load(buf)
    assert loaded["dtype"] == cr.float16 and loaded["bf"] is cr.bfloat16
    via_torch, via_chainrule = _round_trips(loaded)
    assert via_torch == saved
    assert type(via_torch["raw"]) is bytearray and type(via_torch["b"]) is bytes
    assert via_chainrule == loaded and via_chainrule["bf"] is cr.bfloat16
    assert type(via_chainrule["raw"]) is bytearray and type(via_chainrule["b"]) is bytes


def test_a_dtype_torch_has_not_is_refused_when_saving_and_when_loading():
    with pytest.raises(TypeError, match=r"obj\['d'\] is a"):
        cr.save({"d": np.dtype("datetime64[ns]")}, io.BytesIO())
    from .test_fuzz18_io import _crafted

    with pytest.raises(ValueError, match="not a dtype.*damaged or hand-made"):
        cr.load(_crafted('{"__dtype__": "object"}'))


def test_a_protocol_5_bytearray_is_read():
    # BYTEARRAY8 was refused, saying torch.save writes it only with protocol 0 or 1
    obj = {"raw": bytearray(b"xy\x00"), "t": torch.arange(2)}
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=5)
    buf.seek(0)
    out = cr.load(buf)
    assert out["raw"] == obj["raw"] and type(out["raw"]) is bytearray
    assert out["t"].tolist() == [0, 1]


def test_a_truncated_safetensors_file_is_not_called_a_pickle(tmp_path):
    # a header of 640..1535 bytes starts 80 02..05 00: the hint said "a Python pickle"
    from chainrule.io.safetensors_file import write_file

    for pad in range(1000):  # a header length of 0x0280 or 0x0380
        buf = io.BytesIO()
        write_file(buf, {"weight": np.ones((2, 3), np.float32)}, {"note": "x" * pad})
        if buf.getvalue()[:3] in (b"\x80\x02\x00", b"\x80\x03\x00"):
            break
    else:
        pytest.fail("no padding gave a header of 0x0280 or 0x0380 bytes")
    path = tmp_path / "w.safetensors"
    path.write_bytes(buf.getvalue()[:300])
    with pytest.raises(ValueError, match="runs past the end") as err:
        cr.io.load_weights(cr.nn.Linear(3, 2), path)
    assert "pickle" not in str(err.value)


def test_each_loader_names_the_one_a_file_needs(tmp_path):
    # load_weights took a chainrule.save file for weights named t0, t1 (strict=False loaded
    # nothing, silently); load of a weights file said only what it was not
    model = cr.nn.Linear(3, 2)
    cr.save(model.state_dict(), tmp_path / "obj.pt")
    cr.io.save_weights(model, tmp_path / "w.safetensors")
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    cr.io.save_training_state(tmp_path / "s.safetensors", optimizer=opt, epoch=0)
    with pytest.raises(ValueError, match=r"chainrule.save file; use chainrule.load\(path\)"):
        cr.io.load_weights(model, tmp_path / "obj.pt", strict=False)
    with pytest.raises(ValueError, match=r"2 tensors \(weights\).*load_weights\(model, path\)"):
        cr.load(tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match=r"a training state: read it with .*load_training_state"):
        cr.load(tmp_path / "s.safetensors")
    with pytest.raises(ValueError, match="chainrule.save's files with chainrule.load"):
        cr.io.load_training_state(tmp_path / "obj.pt", optimizer=opt)


def test_a_torch_file_saved_without_crcs_loads_and_a_flipped_bit_is_still_caught():
    # compute_crc32=False writes every CRC-32 as 0: chainrule refused it as damaged
    from torch.utils.serialization import config

    obj = {"w": torch.arange(64.0).reshape(8, 8), "n": 5}
    before = config.save.compute_crc32
    config.save.compute_crc32 = False
    try:
        buf = io.BytesIO()
        torch.save(obj, buf)
    finally:
        config.save.compute_crc32 = before
    out = cr.load(io.BytesIO(buf.getvalue()))
    np.testing.assert_array_equal(out["w"].numpy(), obj["w"].numpy())
    assert out["n"] == 5
    buf = io.BytesIO()
    torch.save(obj, buf)  # with CRCs: a flipped bit in a storage is refused
    data = bytearray(buf.getvalue())
    data[data.find(obj["w"].numpy().tobytes()) + 20] ^= 0x40
    with pytest.raises(ValueError, match="Bad CRC-32"):
        cr.load(io.BytesIO(bytes(data)))


def test_a_training_state_with_a_tensor_lr_resumes(tmp_path):
    # Tensors came back NumPy arrays, which Adam.load_state_dict refuses as an lr
    # ("lr must be a number >= 0, got array(0.01)"): a run with a Tensor lr could not resume
    def run(state=None):
        p = cr.nn.Parameter(cr.ones(2))
        opt = cr.optim.Adam([p], lr=cr.tensor(0.01), betas=(cr.tensor(0.9), cr.tensor(0.99)))
        if state is not None:
            got = cr.io.load_training_state(state, optimizer=opt)
            assert type(got["extra"]["t"]) is cr.Tensor and type(got["extra"]["a"]) is np.ndarray
            p.data = got["extra"]["p"]
        for _ in range(2):
            p.grad = cr.tensor([0.5, -1.0])
            opt.step()
        return p, opt

    p, opt = run()
    path = tmp_path / "state.safetensors"
    extra = {"t": cr.arange(3), "a": np.arange(3), "p": p.detach()}
    cr.io.save_training_state(path, optimizer=opt, epoch=1, extra=extra)
    assert type(opt.param_groups[0]["lr"]) is cr.Tensor
    resumed, again = run(path)
    assert type(again.param_groups[0]["lr"]) is cr.Tensor
    for _ in range(2):
        p.grad = cr.tensor([0.5, -1.0])
        opt.step()
    np.testing.assert_array_equal(resumed.detach().numpy(), p.detach().numpy())


def _pickle_in_archive(body: bytes) -> io.BytesIO:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", body)
        zf.writestr("archive/byteorder", b"little")
    buf.seek(0)
    return buf


@pytest.mark.parametrize("as_key", [True, False])
def test_tuples_nested_too_deep_to_hash_are_refused(as_key):
    # a dict key of a million nested tuples crashed the interpreter (hashing recurses in C);
    # torch.load(weights_only=True) crashes on it too
    def body(depth):
        tup = b"N" + b"\x85" * depth  # None, then TUPLE1 `depth` times
        return b"\x80\x02}" + (tup + b"N" if as_key else b"N" + tup) + b"s."

    out = cr.load(_pickle_in_archive(body(1000)))
    assert len(out) == 1
    with pytest.raises(ValueError, match="nests tuples more than 1000 deep"):
        cr.load(_pickle_in_archive(body(1001)))


def test_two_chainrule_saves_into_one_buffer_load_each_from_its_position():
    # the reader took everything to the buffer's end: "not written by chainrule.save"
    buf = io.BytesIO()
    cr.save({"a": cr.arange(3.0)}, buf)
    middle = buf.tell()
    cr.save({"b": cr.ones(2, dtype=cr.int16), "n": 1}, buf)
    buf.write(b"the caller's own bytes")
    buf.seek(0)
    assert cr.load(buf)["a"].tolist() == [0.0, 1.0, 2.0]
    buf.seek(middle)
    out = cr.load(buf)
    assert out["n"] == 1 and out["b"].tolist() == [1, 1] and out["b"].dtype == cr.int16


@pytest.mark.parametrize("extra", [{"version": 2}, "text", 5])
def test_a_non_tensor_extra_state_is_refused_by_the_safetensors_writers(tmp_path, extra):
    # "Cannot change data-type for array of references" / "'int' object has no attribute 'shape'"
    class Versioned(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = cr.nn.Linear(2, 2)

        def get_extra_state(self):
            return extra

        def set_extra_state(self, state):
            self.got = state

    model = Versioned()
    match = r"'_extra_state' is of type \w+, not a tensor.*chainrule.save\(model.state_dict"
    with pytest.raises(TypeError, match="save_weights: the state dict.s " + match):
        cr.io.save_weights(model, tmp_path / "w.safetensors")
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="save_training_state: the state dict.s " + match):
        cr.io.save_training_state(tmp_path / "s.safetensors", optimizer=opt, epoch=0, model=model)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left
    cr.save(model.state_dict(), tmp_path / "obj.pt")  # the way that keeps it
    again = Versioned()
    again.load_state_dict(cr.load(tmp_path / "obj.pt"))
    assert again.got == extra


def test_a_complex_numpy_scalar_in_a_training_state_is_kept(tmp_path):
    # it failed inside json ("Object of type complex is not JSON serializable"), naming nothing
    opt = cr.optim.SGD([cr.nn.Parameter(cr.ones(1))], lr=0.1)
    path = tmp_path / "s.safetensors"
    cr.io.save_training_state(path, optimizer=opt, epoch=0, extra={"z": np.complex64(1 + 2j)})
    z = cr.io.load_training_state(path)["extra"]["z"]
    assert z == np.complex64(1 + 2j) and z.dtype == np.complex64


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_a_legacy_format_sparse_tensor_loads_as_torch_loads_it(layout):
    # the first reading of a legacy file (which builds no tensor) handed the sparse rebuild
    # None parts: "the file holds a sparse tensor whose parts are not int64 index tensors ...
    # the file is damaged"
    dense = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -3.0]])
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CSR is in beta; TypedStorage is deprecated
        t = dense.to_sparse() if layout == "coo" else dense.to_sparse_csr()
        torch.save({"t": t, "d": torch.arange(2.0)}, buf, _use_new_zipfile_serialization=False)
    out = cr.load(io.BytesIO(buf.getvalue()))
    np.testing.assert_array_equal(out["t"].to_dense().numpy(), dense.numpy())
    assert out["d"].tolist() == [0.0, 1.0]


def test_a_legacy_file_of_an_untyped_storage_is_refused_saying_why():
    # "which is not one PyTorch's legacy format writes" (it does; torch.load fails on it too)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(
            {"t": torch.tensor([1, 2], dtype=torch.uint32)},
            buf,
            _use_new_zipfile_serialization=False,
        )
    with pytest.raises(ValueError, match="UntypedStorage.*uint16/32/64.*torch.load fails"):
        cr.load(io.BytesIO(buf.getvalue()))
