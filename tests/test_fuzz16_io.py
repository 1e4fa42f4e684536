"""Sixteenth fuzz wave, saving and loading: files torch.save writes read by chainrule.load, and
files chainrule.save(format="torch") writes read by torch.load (weights_only True and False),
compared value by value, dtype by dtype and type by type; damaged files raise ValueError only."""

import collections
import io
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _saved(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def _torch_load(data, weights_only=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(io.BytesIO(data), weights_only=weights_only)


def _written(obj) -> bytes:
    buf = io.BytesIO()
    cr.save(obj, buf, format="torch")
    return buf.getvalue()


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_size_loads_as_chainrule_size(legacy):
    data = _saved({"s": torch.Size([2, 3]), "e": torch.Size([]), "shape": torch.ones(4, 1).shape},
                  _use_new_zipfile_serialization=not legacy)
    expected = _torch_load(data)
    out = cr.load(io.BytesIO(data))
    for key, size in expected.items():
        assert isinstance(out[key], cr.Size), key
        assert out[key] == size and out[key].numel() == size.numel()
    assert cr.zeros(*out["s"]).shape == (2, 3)


@pytest.mark.parametrize("weights_only", [True, False])
def test_chainrule_size_reaches_torch_as_torch_size(weights_only):
    x = cr.zeros(2, 0, 5)
    obj = {"s": x.size(), "e": cr.Size([]), "nested": [(x.size(), 1)], "t": (2, 3)}
    out = _torch_load(_written(obj), weights_only)
    assert isinstance(out["s"], torch.Size) and out["s"] == torch.Size([2, 0, 5])
    assert isinstance(out["e"], torch.Size) and out["e"] == torch.Size([])
    assert isinstance(out["nested"][0][0], torch.Size)
    assert type(out["t"]) is tuple  # a plain tuple stays one
    back = cr.load(io.BytesIO(_written(obj)))
    assert isinstance(back["s"], cr.Size) and type(back["t"]) is tuple


@pytest.mark.parametrize("weights_only", [True, False])
def test_a_counter_reaches_torch_as_a_counter(weights_only):
    obj = {"c": collections.Counter("abracadabra"), "empty": collections.Counter(),
           "d": {"a": 1}}
    out = _torch_load(_written(obj), weights_only)
    assert type(out["c"]) is collections.Counter and out["c"] == obj["c"]
    assert type(out["empty"]) is collections.Counter and not out["empty"]
    assert type(out["d"]) is dict
    back = cr.load(io.BytesIO(_written(obj)))
    assert type(back["c"]) is collections.Counter and back["c"] == obj["c"]
    assert list(back["c"]) == list(out["c"])


class _TorchTied(torch.nn.Module if torch else object):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(5, 3)
        self.mid = torch.nn.Linear(3, 3)
        self.head = torch.nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.mid = nn.Linear(3, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight


@pytest.mark.filterwarnings("ignore:load_weights.*no SHA-256 checksums")
def test_tied_weights_left_out_by_safetensors_save_model_load(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    theirs = _TorchTied()
    path = tmp_path / "tied.safetensors"
    st.save_model(theirs, str(path))
    assert "head.weight" not in cr.io.read_shapes(path)  # safetensors writes the tensor once
    ours = _Tied()
    assert cr.io.load_weights(ours, path) == ([], [])  # load_model's (set(), [])
    assert ours.head.weight is ours.emb.weight
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy(), err_msg=key)
    x = np.array([[0, 4, 2]])
    np.testing.assert_allclose(ours.head(ours.mid(ours.emb(cr.tensor(x)))).detach().numpy(),
                               theirs.head(theirs.mid(theirs.emb(torch.tensor(x)))).detach()
                               .numpy(), rtol=1e-5, atol=1e-6)  # float32 sums
    # a name the file lacks that is not tied is still missing, and strict still refuses it
    untied = _Tied()
    untied.head.weight = nn.Parameter(cr.zeros(5, 3))
    with pytest.raises(ValueError, match="head.weight: in the model, not in the file"):
        cr.io.load_weights(untied, path)
    assert cr.io.load_weights(untied, path, strict=False).missing_keys == ["head.weight"]


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")
@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2", "complex32", "uint4",
                                   "qint8", "quint4x2", "bits8"])
def test_dtypes_numpy_lacks_are_refused_naming_the_dtype(dtype):
    dt = getattr(torch, dtype)
    objs = [{"dt": dt}]
    if dtype.startswith(("float8", "complex32")):
        objs.append({"v": torch.linspace(-2, 2, 5).to(dt)})
    for obj in objs:
        data = _saved(obj)
        _torch_load(data)  # PyTorch reads it
        with pytest.raises(ValueError, match=f"holds a torch.{dtype} tensor or dtype; NumPy "):
            cr.load(io.BytesIO(data))
    # the dtypes chainrule has are not caught by the pattern
    out = cr.load(io.BytesIO(_saved([torch.uint8, torch.int16, torch.uint64, torch.complex64])))
    assert [str(d) for d in out] == ["uint8", "int16", "uint64", "complex64"]


def _round_trip(obj, fmt):
    buf = io.BytesIO()
    cr.save(obj, buf, format=fmt)
    return cr.load(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("fmt", ["chainrule", "torch"])
def test_parameters_requires_grad_and_sizes_survive_both_formats_as_in_torch(fmt):
    def objects(lib, param):
        w = lib.ones(2, 3)
        return {"p": param(lib.ones(2)), "pf": param(lib.ones(2), requires_grad=False),
                "r": lib.ones(2, requires_grad=True), "n": lib.ones(2, requires_grad=True) * 2,
                "plain": lib.zeros(1), "s": w.size(), "nested": [(param(lib.ones(1)),)]}

    expected = _torch_load(_saved(objects(torch, torch.nn.Parameter)))
    out = _round_trip(objects(cr, nn.Parameter), fmt)
    expected["nested"], out["nested"] = expected["nested"][0][0], out["nested"][0][0]
    for key, t in expected.items():
        c = out[key]
        if isinstance(t, torch.Size):
            assert isinstance(c, cr.Size) and c == t, key
            continue
        assert isinstance(c, nn.Parameter) == isinstance(t, torch.nn.Parameter), key
        assert c.requires_grad == t.requires_grad and c.is_leaf, key
        np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy(), err_msg=key)


_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
           "complex64", "complex128", "uint16", "uint32", "uint64"]


def _random_tensor(rng, g):
    dtype = getattr(torch, _DTYPES[rng.integers(len(_DTYPES))])
    shape = tuple(int(n) for n in rng.integers(0 if rng.random() < 0.1 else 1, 5,
                                               rng.integers(0, 5)))
    base = torch.randn(shape, generator=g, dtype=torch.float64) * 50
    if dtype.is_complex:
        base = torch.complex(base, -base.flip(0) if shape else base)
    elif dtype == torch.bool:
        base = base > 0
    elif not dtype.is_floating_point:
        base = base.abs()
    t = base.to(dtype)
    kind = rng.integers(6)
    if kind == 1 and t.dim() >= 2:
        t = t.transpose(0, -1)
    elif kind == 2 and t.dim() >= 1 and t.shape[0] > 1:
        t = t[1:]
    elif kind == 3 and t.dim() >= 1 and t.shape[-1]:
        t = t[..., :1].expand(*t.shape[:-1], 3)
    elif kind == 4 and t.dim() == 4:
        t = t.contiguous(memory_format=torch.channels_last)
    elif kind == 5 and t.dim() >= 1:
        t = t[..., ::2]
    return t


def _random_object(rng, g, depth=0):
    pick = rng.integers(9 if depth < 3 else 4)
    if pick <= 1:
        return _random_tensor(rng, g)
    if pick == 2:
        return [None, True, -7, 2**70, 0.5, -0.0, "ü", b"\x00b", 1 - 2j][rng.integers(9)]
    if pick == 3:
        return torch.Size([int(n) for n in rng.integers(0, 4, rng.integers(0, 3))])
    items = [_random_object(rng, g, depth + 1) for _ in range(rng.integers(0, 4))]
    if pick == 4:
        return items
    if pick == 5:
        return tuple(items)
    if pick == 6:
        return collections.OrderedDict((f"k{i}", v) for i, v in enumerate(items))
    if pick == 7:  # a tensor and views of it in one file: one storage in torch's file
        base = _random_tensor(rng, g)
        return {"base": base, "again": base, "view": base.reshape(-1)[1:] if base.numel() > 1
                else base, **{i: v for i, v in enumerate(items)}}
    w = _random_tensor(rng, g)
    w = w if w.is_floating_point() or w.is_complex() else w.double()
    return {"w": torch.nn.Parameter(w, requires_grad=bool(rng.random() < 0.5)), "items": items}


def _same(c, t, where="obj"):
    """chainrule's object (c) against PyTorch's (t), recursively: types, dtypes, values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(c, cr.Tensor), where
        assert isinstance(c, nn.Parameter) == isinstance(t, torch.nn.Parameter), where
        assert str(c.dtype) == str(t.dtype)[6:], (where, c.dtype, t.dtype)
        assert tuple(c.shape) == tuple(t.shape) and c.requires_grad == t.requires_grad, where
        np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy(), err_msg=where)
    elif isinstance(t, torch.Size):
        assert isinstance(c, cr.Size) and c == t, where
    elif isinstance(t, dict):
        assert type(c) is type(t) and list(c) == list(t), where
        for k in t:
            _same(c[k], t[k], f"{where}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(c) is type(t) and len(c) == len(t), where
        for i, (a, b) in enumerate(zip(c, t)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert type(c) is type(t) and c == t and str(c) == str(t), (where, c, t)


def _to_chainrule(obj):
    if isinstance(obj, torch.Tensor):
        array = obj.detach().numpy().copy()
        if isinstance(obj, torch.nn.Parameter):
            return nn.Parameter(cr.tensor(array), requires_grad=obj.requires_grad)
        return cr.tensor(array)
    if isinstance(obj, torch.Size):
        return cr.Size(obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_chainrule(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_chainrule(v) for v in obj)
    return obj


@pytest.mark.parametrize("seed", range(12))
def test_random_objects_torch_to_chainrule_and_back(seed):
    rng, g = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    obj = {"root": _random_object(rng, g), "extra": [_random_object(rng, g) for _ in range(3)]}
    for kw in ({}, {"_use_new_zipfile_serialization": False}, {"pickle_protocol": 4}):
        data = _saved(obj, **kw)
        try:  # PyTorch cannot read back a legacy file holding a uint16-64 tensor
            expected = _torch_load(data, weights_only=not kw)
        except AttributeError:
            assert kw and "UntypedStorage" in str(data)
            with pytest.raises(ValueError, match="UntypedStorage"):
                cr.load(io.BytesIO(data))
            continue
        _same(cr.load(io.BytesIO(data)), expected)
    ours = _to_chainrule(obj)
    written = _written(ours)
    for weights_only in (True, False):
        _same(ours, _torch_load(written, weights_only))
    _same(cr.load(io.BytesIO(written)), _torch_load(written))
    _same(_round_trip(ours, "chainrule"), _torch_load(written))



def test_an_ordered_dict_stays_one_in_chainrules_format_as_with_torch_save():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    obj = {"model": model.state_dict(), "plain": {"b": 1, "a": 2},
           "nested": [collections.OrderedDict(z=1, y=collections.OrderedDict())]}
    expected = _torch_load(_saved({"model": collections.OrderedDict(
        (k, torch.tensor(v.numpy())) for k, v in obj["model"].items()),
        "plain": obj["plain"], "nested": obj["nested"]}))
    out = _round_trip(obj, "chainrule")
    _same(out, expected)
    assert type(out["model"]) is collections.OrderedDict and list(out["plain"]) == ["b", "a"]
    nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).load_state_dict(out["model"])


def test_complex_numbers_and_bytes_in_chainrules_format_as_with_torch_save():
    obj = {"z": 1.5 - 2j, "inf": complex(float("inf"), -0.0), "b": b"\x00\xff ok", "e": b"",
           "keys": {3: 1j}}
    expected = _torch_load(_saved(obj), weights_only=False)  # b"" pickles as bytes()
    out = _round_trip(obj, "chainrule")
    assert out == expected and all(type(out[k]) is type(expected[k]) for k in obj)
    assert str(out["inf"]) == str(expected["inf"])  # the signed zero too


def _flat(obj):
    if isinstance(obj, dict):
        return [(k, _flat(v)) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [_flat(v) for v in obj]
    if isinstance(obj, (torch.Tensor, cr.Tensor)):
        return (str(obj.dtype).replace("torch.", ""), tuple(obj.shape),
                obj.detach().numpy().tobytes())
    return obj


@pytest.mark.parametrize("legacy", [False, True])
def test_cut_and_flipped_files_raise_value_error_never_a_wrong_tensor(legacy):
    g = torch.Generator().manual_seed(3)
    obj = collections.OrderedDict(w=torch.randn(3, 4, generator=g), b=[torch.arange(5)],
                                  v=torch.randn(6, generator=g, dtype=torch.float64)[1:4],
                                  n=3, s="x")
    good = _saved(obj, _use_new_zipfile_serialization=not legacy)
    reference = _flat(obj)
    rng = np.random.default_rng(4)
    cases = [good[:cut] for cut in range(0, len(good), 61)]
    for _ in range(250):
        data = bytearray(good)
        for i in rng.integers(0, len(data), rng.integers(1, 3)):
            data[i] ^= 1 << int(rng.integers(8))
        cases.append(bytes(data))
    for data in cases:
        try:
            out = cr.load(io.BytesIO(data))
        except ValueError:
            continue
        # the zip archive's CRCs catch every changed byte; the legacy format has no check, and
        # PyTorch misreads such files too (other values, or an error of its own)
        assert legacy or _flat(out) == reference


class _Evil:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.path}",)


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("legacy", [False, True])
def test_pickled_code_is_refused_without_running(tmp_path, protocol, legacy):
    marker = tmp_path / "ran"
    for obj in [_Evil(marker), {"state": collections.OrderedDict(w=torch.ones(2)),
                                "hook": [1, _Evil(marker)]}]:
        data = _saved(obj, pickle_protocol=protocol, _use_new_zipfile_serialization=not legacy)
        with pytest.raises(ValueError, match="'(posix|os).system'.* running its code"):
            cr.load(io.BytesIO(data))
        path = tmp_path / "evil.pt"
        path.write_bytes(data)
        with pytest.raises(ValueError, match="system"):
            cr.load(path, weights_only=False)
    assert not marker.exists()


@pytest.mark.parametrize("fmt", ["torch", "chainrule"])
@pytest.mark.parametrize("where", ["build", "fsync"])
def test_a_save_interrupted_leaves_the_old_file_intact(tmp_path, monkeypatch, fmt, where):
    path = tmp_path / "ckpt.pt"
    cr.save({"w": cr.ones(3)}, path, format=fmt)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("interrupted")

    if where == "build":
        target = "torch_write._Writer.tensor" if fmt == "torch" else "serialize.write_file"
        if fmt == "chainrule":  # a path is written by checkpoint._write
            target = "checkpoint.write_file"
        monkeypatch.setattr(f"chainrule.io.{target}", boom)
    else:
        monkeypatch.setattr("os.fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        cr.save({"w": cr.zeros(5), "b": cr.ones(2)}, path, format=fmt)
    assert path.read_bytes() == before and sorted(tmp_path.iterdir()) == [path]
    monkeypatch.undo()
    assert cr.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_legacy_files_of_every_pickle_protocol_load(tmp_path, protocol):
    g = torch.Generator().manual_seed(protocol)
    obj = {"w": torch.randn(2, 3, generator=g).t(), "b": b"\x01\x02", "n": [1, None, "s"],
           "s": torch.Size([4]), "p": torch.nn.Parameter(torch.ones(2))}
    data = _saved(obj, pickle_protocol=protocol, _use_new_zipfile_serialization=False)
    # PyTorch's weights-only reader refuses protocol 3's bytes and 4-5's FRAME opcodes
    expected = _torch_load(data, weights_only=protocol == 2)
    _same(cr.load(io.BytesIO(data)), expected)
    path = tmp_path / "legacy.pt"
    path.write_bytes(data)
    _same(cr.load(path), expected)
    with pytest.raises(ValueError):
        cr.load(io.BytesIO(data[:-5]))


@pytest.mark.filterwarnings("ignore:load_weights.*no SHA-256 checksums")
def test_safetensors_complex64_from_the_safetensors_library_loads(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    g = torch.Generator().manual_seed(0)
    z = torch.complex(torch.randn(3, 2, generator=g), torch.randn(3, 2, generator=g))
    path = tmp_path / "c.safetensors"
    st.save_file({"z": z, "r": torch.ones(2), "e": z[:0]}, str(path))

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.z = nn.Parameter(cr.zeros(3, 2, dtype=cr.complex64))
            self.r = nn.Parameter(cr.zeros(2))
            self.e = nn.Parameter(cr.zeros(0, 2, dtype=cr.complex64))

    m = M()
    assert cr.io.read_shapes(path) == {"z": (3, 2), "r": (2,), "e": (0, 2)}
    assert cr.io.load_weights(m, path) == ([], [])
    assert m.z.dtype == cr.complex64
    np.testing.assert_array_equal(m.z.detach().numpy(), z.numpy())
    # chainrule's own complex files still hold real views the library reads as float32
    ours = tmp_path / "ours.safetensors"
    cr.io.save_weights(m, ours)
    back = st.load_file(str(ours))
    np.testing.assert_array_equal(torch.view_as_complex(back["z"]).numpy(), z.numpy())
    m2 = M()
    cr.io.load_weights(m2, ours)
    np.testing.assert_array_equal(m2.z.detach().numpy(), z.numpy())


def test_a_file_object_of_another_format_is_refused_naming_it(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.ones(3))
    with pytest.raises(ValueError, match="load: the BytesIO was not written by chainrule") as e:
        cr.load(io.BytesIO(buf.getvalue()))
    assert "load.safetensors" not in str(e.value) and "/tmp" not in str(e.value)
    path = tmp_path / "array.npy"
    path.write_bytes(buf.getvalue())
    with open(path, "rb") as f, pytest.raises(ValueError, match=f"'{path}' was not written"):
        cr.load(f)


@pytest.mark.parametrize("legacy", [False, True])
def test_python_attributes_of_saved_tensors_and_parameters_as_torch_load(legacy):
    t = torch.arange(4.0)
    t.note, t.tags = "scaled", [1, 2]
    p = torch.nn.Parameter(torch.ones(2))
    p._no_weight_decay = True  # Mamba's mark on A_log and D
    q = torch.nn.Parameter(torch.zeros(1), requires_grad=False)
    q.lr_scale = 0.5
    data = _saved({"t": t, "p": p, "q": q, "plain": torch.ones(1)},
                  _use_new_zipfile_serialization=not legacy)
    expected, out = _torch_load(data), cr.load(io.BytesIO(data))
    _same(out, expected)
    assert (out["t"].note, out["t"].tags) == (expected["t"].note, expected["t"].tags)
    assert out["p"]._no_weight_decay is True and isinstance(out["p"], nn.Parameter)
    assert out["q"].lr_scale == 0.5 and not out["q"].requires_grad
    clash = torch.ones(2)
    clash.__dict__["numpy"] = "not a method"  # would replace the Tensor's own numpy()
    data = _saved({"c": clash}, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(ValueError, match="carries attributes .*none that a Tensor has"):
        cr.load(io.BytesIO(data))


def test_a_damaged_zip_named_plainly(tmp_path):
    data = _saved({"w": torch.ones(3)})
    with pytest.raises(ValueError, match="load: the file object is not a readable zip") as e:
        cr.load(io.BytesIO(data[:40]))
    assert "0x" not in str(e.value)
    path = tmp_path / "cut.pt"
    path.write_bytes(data[:40])
    with pytest.raises(ValueError, match=f"load: '{path}' is not a readable zip"):
        cr.load(path)
