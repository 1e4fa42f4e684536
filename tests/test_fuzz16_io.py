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
