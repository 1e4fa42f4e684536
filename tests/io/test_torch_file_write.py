"""chainrule.save(obj, f, format="torch"): a zip archive torch.load(weights_only=True) reads."""

import collections
import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

from .test_torch_file import LeNet, TorchLeNet  # noqa: E402


def torch_file(obj, **kw):
    buf = io.BytesIO()
    cr.save(obj, buf, format="torch")
    buf.seek(0)
    return torch.load(buf, weights_only=True, **kw)


def test_values_dtypes_and_types_reach_torch():
    w = cr.tensor(np.arange(6.0).reshape(2, 3))
    obj = {
        "f32": cr.tensor([[1.5, -2.0]]), "f64_t": w.t(), "f16": cr.tensor([0.1], dtype=cr.float16),
        "i8": cr.tensor([-3], dtype=cr.int8), "u8": cr.tensor([250], dtype=cr.uint8),
        "i16": cr.tensor([-300], dtype=cr.int16), "i32": cr.tensor([7], dtype=cr.int32),
        "i64": cr.arange(4), "u16": cr.tensor(np.array([65535], np.uint16)),
        "bool": cr.tensor([True, False]), "c64": cr.tensor(np.array([1 + 2j], np.complex64)),
        "c128": cr.tensor(np.array([[1j, 2]], np.complex128)), "scalar": cr.tensor(2.5),
        "empty": cr.zeros(0, 3), "leaf": cr.ones(2, requires_grad=True),
        "param": nn.Parameter(cr.ones(3)), "frozen": nn.Parameter(cr.ones(1), requires_grad=False),
        "ints": [0, -1, 2**31, -(2**31) - 1, 2**70, -(2**300)], "floats": (0.1, float("inf"), -0.0),
        "text": "héllo ✓", "bytes": b"\x00\xff", "set": {1, "a"}, "cx": 1 - 2j, "none": None,
        "ordered": collections.OrderedDict(b=1, a=[]), 5: "int key", "long": (1, 2, 3, 4, 5),
        "device": cr.device("cpu"), "dtype": cr.float64, "np_scalar": np.float32(0.5),
    }
    t = torch_file(obj)
    assert list(t) == list(obj)
    for k, v in obj.items():
        if isinstance(v, cr.Tensor):
            assert isinstance(t[k], torch.nn.Parameter) == isinstance(v, nn.Parameter), k
            assert str(t[k].dtype) == f"torch.{v.dtype}" and t[k].requires_grad == v.requires_grad
            np.testing.assert_array_equal(t[k].detach().numpy(), v.numpy(), err_msg=str(k))
        elif k in ("device", "dtype"):
            assert str(t[k]).replace("torch.", "") == str(v)
        else:
            assert t[k] == v and type(t[k]) is type(v if k != "np_scalar" else 0.5), k
    assert t["f64_t"].is_contiguous()
    back = cr.load(io.BytesIO(_bytes(obj)))  # and chainrule reads its own torch file
    assert back["ints"] == obj["ints"] and back["bytes"] == b"\x00\xff"
    np.testing.assert_array_equal(back["f64_t"].numpy(), w.t().numpy())


def _bytes(obj):
    buf = io.BytesIO()
    cr.save(obj, buf, format="torch")
    return buf.getvalue()


def test_a_tensor_saved_twice_is_one_tensor_in_torch():
    w = cr.ones(3)
    t = torch_file({"a": w, "b": [w]})
    assert t["a"] is t["b"][0]


def test_lenet_weights_into_torch(tmp_path):
    net = LeNet()
    path = tmp_path / "lenet.pt"
    cr.save(net.state_dict(), path, format="torch")
    tnet = TorchLeNet()
    tnet.load_state_dict(torch.load(path, weights_only=True, mmap=True))
    x = np.random.default_rng(3).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(tnet(torch.tensor(x)).detach().numpy(),
                               net(cr.tensor(x)).numpy(), rtol=1e-5, atol=1e-5)


def test_adam_state_continues_in_torch(tmp_path):
    rng = np.random.default_rng(4)
    model = nn.Linear(3, 2)
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    xs = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(5)]
    for x in xs[:2]:
        opt.zero_grad()
        model(cr.tensor(x)).square().sum().backward()
        opt.step()
    path = tmp_path / "ckpt.pt"
    cr.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}, path,
            format="torch")
    ck = torch.load(path, weights_only=True)
    tmodel = torch.nn.Linear(3, 2)
    tmodel.load_state_dict(ck["model"])
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.5)
    topt.load_state_dict(ck["optimizer"])
    for x in xs[2:]:
        opt.zero_grad()
        model(cr.tensor(x)).square().sum().backward()
        opt.step()
        topt.zero_grad()
        tmodel(torch.tensor(x)).square().sum().backward()
        topt.step()
    np.testing.assert_allclose(tmodel.weight.detach().numpy(), model.weight.numpy(), rtol=1e-5)


def test_refusals(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['m'\] is a Linear.*state_dict"):
        cr.save({"m": nn.Linear(2, 2)}, io.BytesIO(), format="torch")
    with pytest.raises(TypeError, match=r"obj\[0\] is a ndarray"):
        cr.save([np.ones(2)], io.BytesIO(), format="torch")
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        cr.save(loop, io.BytesIO(), format="torch")
    with pytest.raises(ValueError, match="format must be 'chainrule' or 'torch', got 'pickle'"):
        cr.save({}, io.BytesIO(), format="pickle")
    with pytest.raises(TypeError):
        cr.save({"m": nn.Linear(2, 2)}, tmp_path / "no.pt", format="torch")
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left
