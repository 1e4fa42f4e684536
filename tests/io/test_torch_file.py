"""chainrule.load of files torch.save wrote: read without unpickling, compared with
torch.load(weights_only=True); hostile and damaged files are refused before anything runs."""

import collections
import io
import struct
import warnings
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def saved(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def same(c, t, where="obj"):
    """chainrule's load (c) against torch.load(weights_only=True) (t), recursively."""
    if isinstance(t, torch.Tensor):
        assert isinstance(c, cr.Tensor), where
        assert isinstance(c, nn.Parameter) == isinstance(t, torch.nn.Parameter), where
        assert str(c.dtype) == str(t.dtype).replace("torch.", ""), where
        assert tuple(c.shape) == tuple(t.shape), where
        assert c.requires_grad == t.requires_grad, where
        np.testing.assert_array_equal(c.numpy(), t.detach().resolve_conj().resolve_neg().numpy(),
                                      err_msg=where)
    elif isinstance(t, dict):
        assert type(c) is type(t), (where, type(c), type(t))
        assert list(c) == list(t), where
        for k in t:
            same(c[k], t[k], f"{where}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert isinstance(c, type(t)) and len(c) == len(t), where
        for i, (a, b) in enumerate(zip(c, t)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(t, (torch.device, torch.dtype)):
        assert str(c) == str(t).replace("torch.", ""), where
    else:
        assert type(c) is type(t) and c == t, (where, c, t)


def both(data, weights_only=True, **kw):
    with warnings.catch_warnings():  # torch warns of protocols other than 2
        warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
        expected = torch.load(io.BytesIO(data), weights_only=weights_only)
    return cr.load(io.BytesIO(data), **kw), expected


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_mixed_object_matches_torch_load(protocol):
    g = torch.Generator().manual_seed(protocol)
    base = torch.randn(4, 6, generator=g, dtype=torch.float64)
    obj = {
        "f32": torch.randn(3, 2, generator=g), "f64": base, "f16": base.half(),
        "t": base.t(), "step": base[1:, ::2], "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "i8": torch.tensor([-3, 4], dtype=torch.int8), "u8": torch.tensor([200], dtype=torch.uint8),
        "i16": torch.tensor([7], dtype=torch.int16), "i32": torch.tensor([-7], dtype=torch.int32),
        "i64": torch.arange(5), "bool": torch.tensor([True, False]),
        "c64": torch.randn(3, generator=g, dtype=torch.complex64),
        "c128": torch.randn(2, 2, generator=g, dtype=torch.complex128).t(),
        "u16": torch.tensor([1, 65535]).to(torch.uint16),
        "expanded": torch.ones(3).expand(4, 3),
        "param": torch.nn.Parameter(torch.ones(2)), "frozen": torch.nn.Parameter(
            torch.zeros(1), requires_grad=False), "leaf": torch.ones(2, requires_grad=True),
        "ordered": collections.OrderedDict(b=1, a=2), 3: "int key", "none": None,
        "nums": [1, -5, 2**70, -(2**40), 0.1, float("inf"), True, 1 + 2j], "tuple": (1, "x", ()),
        "text": "héllo ✓", "bytes": b"\x00\xff", "set": {1, 2}, "size": torch.Size([2, 3]),
        "device": torch.device("cpu"), "dtype": torch.float16,
    }
    # torch's weights_only reader stops at protocol 4's FRAME opcode; chainrule reads it as
    # torch.load(weights_only=False) does (the file is our own here)
    c, t = both(saved(obj, pickle_protocol=protocol), weights_only=protocol == 2)
    c["size"] = torch.Size(c["size"])  # chainrule gives a plain tuple
    same(c, t)


class TorchLeNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = (torch.nn.Linear(400, 120), torch.nn.Linear(120, 84),
                                     torch.nn.Linear(84, 10))

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.c2(x)), 2).flatten(1)
        return self.f3(torch.relu(self.f2(torch.relu(self.f1(x)))))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        F = cr.nn.functional
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2).flatten(1)
        return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))


def test_lenet5_state_dict_loads_and_gives_torch_outputs(tmp_path):
    torch.manual_seed(0)
    tnet = TorchLeNet()
    path = tmp_path / "lenet.pth"
    torch.save(tnet.state_dict(), path)
    net = LeNet()
    net.load_state_dict(cr.load(path))
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(net(cr.tensor(x)).numpy(), tnet(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_conv_bn_lstm_model_in_eval_and_train_mode(tmp_path):
    torch.manual_seed(1)
    tnet = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3), torch.nn.BatchNorm1d(4))
    tlstm = torch.nn.LSTM(4, 5, num_layers=2, batch_first=True)
    x = torch.randn(2, 3, 9)
    tnet(x)  # running statistics move away from their initial values
    path = tmp_path / "ckpt.pt"
    torch.save({"conv": tnet.state_dict(), "lstm": tlstm.state_dict()}, path)
    ck = cr.load(path)
    net = nn.Sequential(nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4))
    lstm = nn.LSTM(4, 5, num_layers=2, batch_first=True)
    net.load_state_dict(ck["conv"])
    lstm.load_state_dict(ck["lstm"])
    assert int(net[1].num_batches_tracked.numpy()) == 1
    for mode in ("eval", "train"):
        getattr(tnet, mode)(), getattr(net, mode)()
        tout = tlstm(tnet(x).transpose(1, 2))[0].detach().numpy()
        out = lstm(net(cr.tensor(x.numpy())).transpose(1, 2))[0].numpy()
        np.testing.assert_allclose(out, tout, rtol=1e-5, atol=1e-6)


def test_adam_state_continues_as_in_torch(tmp_path):
    torch.manual_seed(2)
    tmodel = torch.nn.Linear(3, 2)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.01, weight_decay=0.1)
    xs = [torch.randn(4, 3) for _ in range(6)]
    for x in xs[:3]:
        topt.zero_grad()
        tmodel(x).square().sum().backward()
        topt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "model": tmodel.state_dict(), "optimizer": topt.state_dict(),
                "loss": 0.25, "args": ["--lr", 0.01, ("a", None)], "note": None}, path)
    ck = cr.load(path)
    assert (ck["epoch"], ck["loss"], ck["args"], ck["note"]) == (
        3, 0.25, ["--lr", 0.01, ("a", None)], None)
    model = nn.Linear(3, 2)
    model.load_state_dict(ck["model"])
    opt = cr.optim.Adam(model.parameters(), lr=0.5)
    opt.load_state_dict(ck["optimizer"])
    for x in xs[3:]:
        topt.zero_grad()
        tmodel(x).square().sum().backward()
        topt.step()
        opt.zero_grad()
        model(cr.tensor(x.numpy())).square().sum().backward()
        opt.step()
    np.testing.assert_allclose(model.weight.numpy(), tmodel.weight.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(model.bias.numpy(), tmodel.bias.detach().numpy(), rtol=1e-5)


def test_views_of_one_storage_have_torchs_values_but_own_memory():
    base = torch.arange(12.0)
    data = saved({"a": base[2:8].view(2, 3), "b": base.view(3, 4).t(), "base": base})
    c, t = both(data)
    same(c, t)
    t["base"][3] = -1.0  # torch keeps the storage shared between the loaded views
    assert t["a"][0, 1] == -1.0
    c["base"].data[3] = -1.0  # chainrule copies each tensor: an edit of one leaves the others
    assert c["a"].numpy()[0, 1] == 3.0


def test_map_location_and_file_paths(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert cr.load(str(path), map_location="cpu")["w"].device == "cpu"
    with open(path, "rb") as f:
        assert cr.load(f, weights_only=False)["w"].tolist() == [1.0, 1.0]


def test_bfloat16_refused_unless_upcast():
    t = torch.tensor([1.5, -3.0e38, 1e-40]).to(torch.bfloat16)
    data = saved({"w": t})
    with pytest.raises(ValueError, match="bfloat16 .*upcast_bfloat16=True"):
        cr.load(io.BytesIO(data))
    out = cr.load(io.BytesIO(data), upcast_bfloat16=True)["w"]
    assert out.dtype == cr.float32
    np.testing.assert_array_equal(out.numpy(), t.float().numpy())


def test_whole_module_refused():
    with pytest.raises(ValueError, match="torch.nn.modules.linear.Linear.*state_dict"):
        cr.load(io.BytesIO(saved(torch.nn.Linear(2, 2))))
    with pytest.raises(ValueError, match="torch.nn.modules.linear.Linear.*state_dict"):
        cr.load(io.BytesIO(saved(torch.nn.Linear(2, 2), _use_new_zipfile_serialization=False)))


def test_legacy_format_matches_torch_load(tmp_path):
    torch.manual_seed(5)
    net = TorchLeNet()
    base = torch.arange(12.0)
    obj = {"model": net.state_dict(), "views": [base[2:8].view(2, 3), base.view(3, 4).t()],
           "base": base, "p": torch.nn.Parameter(torch.ones(2)), "epoch": 7,
           "ints": torch.tensor([[1, 2]], dtype=torch.int16).t(), "empty": torch.zeros(0, 2),
           "z": torch.tensor([1 + 2j]).conj(), "note": ("x", None, 2**70)}
    data = saved(obj, _use_new_zipfile_serialization=False)
    c, t = both(data)
    same(c, t)
    path = tmp_path / "legacy.pth"
    path.write_bytes(data)
    lenet = LeNet()
    lenet.load_state_dict(cr.load(path)["model"])
    x = np.random.default_rng(1).standard_normal((1, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(lenet(cr.tensor(x)).numpy(), net(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_damaged_legacy_files_raise_value_error_only():
    good = saved({"w": torch.randn(3, 4), "b": [torch.arange(5)], "n": 3},
                 _use_new_zipfile_serialization=False)
    for cut in (len(good) - 1, len(good) - 30, len(good) // 2, 30):
        with pytest.raises(ValueError):
            cr.load(io.BytesIO(good[:cut]))
    rng = np.random.default_rng(1)
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            data[rng.integers(15, len(data))] = rng.integers(0, 256)
        try:
            cr.load(io.BytesIO(bytes(data)))
        except ValueError:
            pass


# hand-made files: a pickle written opcode by opcode, in a zip laid out as torch.save's
def _u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _ints(values):
    return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"


def tensor_pickle(offset, size, stride, numel, storage="FloatStorage"):
    pid = b"(" + _u("storage") + f"ctorch\n{storage}\n".encode() + _u("0") + _u("cpu") + (
        b"J" + struct.pack("<i", numel)) + b"tQ"
    return (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"J" + struct.pack(
        "<i", offset) + _ints(size) + _ints(stride) + b"\x89ccollections\nOrderedDict\n)RtR.")


def archive(pkl, storages=None, name="archive"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/data.pkl", pkl)
        z.writestr(f"{name}/byteorder", "little")
        z.writestr(f"{name}/version", "3\n")
        for key, raw in (storages or {}).items():
            z.writestr(f"{name}/data/{key}", raw)
    return buf.getvalue()


def test_hand_made_tensor_matches_torch():
    raw = np.arange(10, dtype=np.float32).tobytes()
    c, t = both(archive(tensor_pickle(1, (2, 3), (1, 3), 10), {"0": raw}))
    same(c, t)


def test_global_of_os_system_refused_before_it_runs(tmp_path):
    flag = tmp_path / "ran"
    pkl = b"\x80\x02cos\nsystem\n" + _u(f"touch {flag}") + b"\x85R."
    with pytest.raises(ValueError, match="'os.system'.*pickled Python object"):
        cr.load(io.BytesIO(archive(pkl)))
    assert not flag.exists()
    pkl4 = b"\x80\x04" + _u("builtins") + _u("eval") + b"\x93" + _u("1") + b"\x85R."
    with pytest.raises(ValueError, match="'builtins.eval'"):
        cr.load(io.BytesIO(archive(pkl4)))


@pytest.mark.parametrize("case, match", [
    ((0, (3, 4), (4, 1), 10), "reaches element 11 of storage '0', which holds 10"),
    ((8, (3,), (1,), 10), "reaches element 10"),
    ((0, (2, 2), (1,), 10), "as many strides as dimensions"),
    ((0, (2, -2), (1, 1), 10), "shape is"),
    ((0, (1 << 30, 1 << 30), (0, 0), 10), "repeats storage '0' .10 elements. into 4611686018"),
    ((0, (4,), (1,), 11), "holds 40 bytes, but the pickle says 44"),
    ((-1, (2,), (1,), 10), "int64 offset >= 0"),
])
def test_bad_offsets_strides_and_sizes_refused(case, match):
    raw = np.arange(10, dtype=np.float32).tobytes()
    offset, size, stride, numel = case
    with pytest.raises(ValueError, match=match):
        cr.load(io.BytesIO(archive(tensor_pickle(offset, size, stride, numel), {"0": raw})))


def test_damaged_archives_refused():
    good = saved({"w": torch.arange(100.0)})
    for cut in (len(good) // 2, len(good) - 30, 10):
        with pytest.raises(ValueError, match="truncated or damaged|not a readable zip"):
            cr.load(io.BytesIO(good[:cut]))
    with pytest.raises(ValueError, match="no 'archive/data/0'"):
        cr.load(io.BytesIO(archive(tensor_pickle(0, (2,), (1,), 2))))
    with pytest.raises(ValueError, match="truncated"):
        cr.load(io.BytesIO(archive(b"\x80\x02X\xff\xff\xff\x00ab")))
    with pytest.raises(ValueError, match="opcode"):
        cr.load(io.BytesIO(archive(b"\x80\x02I1\n.")))
    with pytest.raises(ValueError, match="'<name>/data.pkl'"):
        cr.load(io.BytesIO(archive(b".", name="a/b")))


def test_conj_and_neg_views_resolved_as_in_torch():
    z = torch.tensor([1 + 2j, 3 - 1j])
    c, t = both(saved({"conj": z.conj(), "neg": torch._neg_view(torch.tensor([1.0, -2.0])),
                       "neg_conj": torch._neg_view(z.conj())}))
    for k in t:
        t[k] = t[k].resolve_conj().resolve_neg()
    same(c, t)


@pytest.mark.filterwarnings("ignore:Sparse BSR tensor support is in beta:UserWarning")
def test_bsr_and_meta_tensors_refused_naming_the_kind():
    # a COO, CSR or CSC tensor loads (tests/test_fuzz19_sparse_save.py)
    with pytest.raises(ValueError, match="kind of tensor chainrule does not read.*to_dense"):
        cr.load(io.BytesIO(saved(torch.empty(2, device="meta"))))
    with pytest.raises(ValueError, match="layout 'torch.sparse_bsr', which chainrule.*to_dense"):
        cr.load(io.BytesIO(saved(torch.eye(2).to_sparse_bsr(1))))


def _random_view(rng, dtype):
    shape = tuple(int(n) for n in rng.integers(1, 5, size=rng.integers(1, 5)))
    base = torch.tensor(rng.standard_normal(shape) * 50).to(dtype)
    view = base
    for _ in range(rng.integers(0, 4)):
        op = rng.integers(0, 5)
        if op == 0 and view.dim() > 1:
            view = view.transpose(0, view.dim() - 1)
        elif op == 1:
            d = int(rng.integers(0, view.dim()))
            view = view.narrow(d, int(rng.integers(0, view.shape[d])), 1)
        elif op == 2:
            d = int(rng.integers(0, view.dim()))
            view = view.unsqueeze(d).expand(*view.shape[:d], 3, *view.shape[d:])
        elif op == 3 and view.dim() >= 2:
            view = view.diagonal()
        else:
            view = view[(slice(None, None, int(rng.integers(1, 3))),) * view.dim()]
    return view


@pytest.mark.parametrize("seed", range(6))
def test_random_views_of_every_dtype_match_torch(seed):
    rng = np.random.default_rng(seed)
    dtypes = [torch.float16, torch.float32, torch.float64, torch.int8, torch.int16, torch.int32,
              torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128]
    obj = {f"v{i}": _random_view(rng, dtypes[int(rng.integers(0, len(dtypes)))])
           for i in range(8)}
    protocol = int(rng.choice([2, 4]))
    c, t = both(saved(obj, pickle_protocol=protocol), weights_only=protocol == 2)
    same(c, t)


def test_map_location_dict_and_function_as_in_torch(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2, requires_grad=True)}, path)
    seen = []

    def keep(storage, loc):  # the idiom: lambda storage, loc: storage
        seen.append(loc)
        return storage

    out = cr.load(path, map_location=keep)["w"]
    assert seen == ["cpu"] and out.requires_grad and out.tolist() == [1.0, 1.0]
    assert cr.load(path, map_location={"cuda:0": "cpu"})["w"].device == "cpu"
    assert cr.load(path, map_location={"cpu": cr.device("cpu")})["w"].device == "cpu"
    with pytest.raises(TypeError, match="map_location returned int .*expected a Tensor"):
        cr.load(path, map_location=lambda s, loc: 3)
    with pytest.raises(TypeError, match="map_location must be None, a device"):
        cr.load(path, map_location=3.5)
    cr.save({"w": cr.ones(2)}, tmp_path / "own.pt")  # chainrule's own files: saved from "cpu"
    assert cr.load(tmp_path / "own.pt", map_location=keep)["w"].tolist() == [1.0, 1.0]
    assert seen[-1] == "cpu"


def test_wrong_arguments_to_a_known_global_refused():
    pkl = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n" + _ints([1]) + b"R."
    with pytest.raises(ValueError, match="_rebuild_tensor_v2 was given arguments it does not"):
        cr.load(io.BytesIO(archive(pkl)))
    pkl = b"\x80\x02c__builtin__\nset\n" + _ints([1]) + b"R."
    with pytest.raises(ValueError, match="set was given arguments"):
        cr.load(io.BytesIO(archive(pkl)))


def test_mutated_files_load_or_raise_value_error_only():
    good = saved({"w": torch.randn(3, 4), "b": torch.arange(5), "n": [3, (0.5, "x")],
                  "m": collections.OrderedDict(a=torch.ones(2))})
    pkl = zipfile.ZipFile(io.BytesIO(good)).read("archive/data.pkl")
    rng = np.random.default_rng(0)
    for i in range(600):
        data = bytearray(good if i % 2 else pkl)
        for _ in range(rng.integers(1, 4)):
            data[rng.integers(0, len(data))] = rng.integers(0, 256)
        if i % 2 == 0:
            data = archive(bytes(data[:len(data) - int(rng.integers(0, 3))]), {
                k: zipfile.ZipFile(io.BytesIO(good)).read(f"archive/data/{k}") for k in "01"})
        try:
            cr.load(io.BytesIO(bytes(data)))
        except ValueError:
            pass


def test_torchscript_archive_refused_with_a_hint():
    buf = io.BytesIO()
    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit, still in real files
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), buf)
    with pytest.raises(ValueError, match="TorchScript archive .*state_dict.*onnx"):
        cr.load(io.BytesIO(buf.getvalue()))


def test_messages_about_huge_or_deep_values_stay_short():
    deep = b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b"Q."
    with pytest.raises(ValueError, match=r"storage \[\[\[\[\[\[\[\.\.\.\]\]\]\]\]\]\], which is"):
        cr.load(io.BytesIO(archive(deep)))
    huge = b"\x80\x02\x8b" + (10**5).to_bytes(4, "little") + b"\x01" * 10**5 + b"Q."
    with pytest.raises(ValueError, match="storage <an int of 799993 bits>"):
        cr.load(io.BytesIO(archive(huge)))


@pytest.mark.parametrize("storage, dtype", [("FloatStorage", ">f4"), ("DoubleStorage", ">f8"),
                                            ("LongStorage", ">i8"), ("ComplexFloatStorage", ">c8")])
def test_big_endian_archive_matches_torch(storage, dtype):
    raw = (np.arange(10) * 1.5 - 3).astype(dtype).tobytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", tensor_pickle(1, (3, 2), (1, 3), 10, storage))
        z.writestr("archive/byteorder", "big")
        z.writestr("archive/version", "3\n")
        z.writestr("archive/data/0", raw)
    c, t = both(buf.getvalue())
    same(c, t)
    assert c.numpy().dtype.isnative
