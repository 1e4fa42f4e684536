"""Padding layers and ParameterList/ParameterDict against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

from ._torch_compare import compare

torch = pytest.importorskip("torch")

LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 4)), ("ZeroPad1d", ((1, 3),), (3, 4)),
    ("ZeroPad2d", ((1, 0, 2, 1),), (1, 2, 3, 4)), ("ZeroPad2d", (1,), (3, 4)),
    ("ConstantPad1d", (2, 1.5), (2, 3, 4)), ("ConstantPad2d", ((1, 2, 0, 1), -3.0), (2, 3, 4)),
    ("ReflectionPad1d", ((2, 1),), (2, 3, 4)), ("ReflectionPad2d", (2,), (1, 2, 3, 4)),
    ("ReplicationPad1d", ((3, 0),), (3, 4)), ("ReplicationPad2d", ((1, 2, 3, 0),), (2, 3, 4)),
    ("CircularPad1d", (3,), (2, 3, 4)), ("CircularPad2d", ((1, 2, 3, 1),), (1, 2, 3, 4)),
]


@pytest.mark.parametrize("name, args, shape", LAYERS, ids=[f"{n}{a}{s}" for n, a, s in LAYERS])
def test_padding_layers_match_torch(rng, name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    compare(ours, theirs, [rng.standard_normal(shape)], rng, tol=1e-12)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    x = cr.tensor(rng.standard_normal(shape), requires_grad=True)
    assert cr.gradcheck(ours, [x])


@pytest.mark.kernel_free
@pytest.mark.parametrize("call, match", [
    (lambda: nn.ZeroPad2d((1, 2)), r"padding must be an int or a tuple of 4 ints, got \(1, 2\)"),
    (lambda: nn.ReflectionPad1d(1.5), "got 1.5"),
    (lambda: nn.ReflectionPad1d(3)(cr.tensor(np.zeros((1, 2, 3)))),
     r"reflect padding \(3, 3\) must be smaller than axis 2 of size 3"),
    (lambda: nn.ReplicationPad2d(1)(cr.tensor(np.zeros((2, 2)))),
     r"input must be 3-D or 4-D, got shape \(2, 2\)"),
    (lambda: F.pad(cr.tensor(np.zeros((2, 3))), (3, 0), "reflect"),
     r"reflect padding \(3, 0\) must be smaller than axis 1 of size 3"),
])
def test_bad_padding_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.kernel_free
def test_parameter_list_registers_under_pytorchs_keys(rng):
    a, b = rng.standard_normal(3), rng.standard_normal((2, 2))
    ours = nn.ParameterList([nn.Parameter(a), cr.tensor(b)])
    theirs = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(a)), torch.tensor(b)])
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1"]
    assert len(ours) == 2 and ours[-1].shape == (2, 2) and ours[1].requires_grad
    ours.append(cr.zeros(4))
    ours.extend([cr.ones(1)])
    assert [n for n, _ in ours.named_parameters()] == ["0", "1", "2", "3"]
    assert len(list(ours)) == 4 and len(ours[1:3]) == 2
    model = nn.Module()
    model.scales = ours
    assert list(model.state_dict()) == ["scales.0", "scales.1", "scales.2", "scales.3"]
    theirs.append(torch.zeros(4))
    theirs.extend([torch.ones(1)])
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    fresh = nn.ParameterList([cr.zeros(s, dtype=np.float64) for s in (3, (2, 2), 4, 1)])
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh[1].numpy(), b)
    with pytest.raises(IndexError, match="index 4 is out of range for 4 parameters"):
        ours[4]
    with pytest.raises(TypeError, match="Parameters or Tensors, got str"):
        ours.append("w")


@pytest.mark.kernel_free
def test_parameter_dict_registers_under_its_keys(rng):
    ours = nn.ParameterDict({"w": cr.tensor(rng.standard_normal(3)), "b": cr.zeros(1)})
    theirs = torch.nn.ParameterDict({"w": torch.zeros(3), "b": torch.zeros(1)})
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["b", "w"]  # sorted, as torch
    ours["scale"] = cr.ones(2)
    ours.update([("b", cr.ones(1))])
    assert list(ours.keys()) == ["b", "w", "scale"] and "scale" in ours and len(ours) == 3
    assert isinstance(ours["b"], nn.Parameter) and ours["b"].numpy()[0] == 1.0
    del ours["w"]
    assert [n for n, _ in ours.named_parameters()] == ["b", "scale"]
    loss = (ours["scale"] * 3.0).sum()
    loss.backward()
    np.testing.assert_array_equal(ours["scale"].grad.numpy(), [3.0, 3.0])
    with pytest.raises(TypeError, match="keys must be strings, got 1"):
        ours[1] = cr.ones(1)
    with pytest.raises(KeyError):
        ours["missing"]
