"""Module.get_submodule/set_submodule/get_parameter/get_buffer, type, to_empty, share_memory,
compile: PyTorch's Module methods, checked against PyTorch where it is installed."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _net(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(1, 2, 3), lib.nn.BatchNorm2d(2), lib.nn.ReLU(),
                             lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Linear(8, 3)))


@pytest.mark.kernel_free
def test_get_submodule_parameter_buffer_walk_dotted_names():
    net = _net(cr)
    assert net.get_submodule("") is net
    assert net.get_submodule("3.1") is net[3][1]
    assert net.get_parameter("3.1.weight") is net[3][1].weight
    assert net.get_parameter("0.bias") is net[0].bias
    assert net.get_buffer("1.running_mean") is net[1].running_mean


@pytest.mark.kernel_free
@pytest.mark.parametrize("call, match", [
    (lambda n: n.get_submodule("3.7"), r"Sequential.3 has no submodule '7'"),
    (lambda n: n.get_submodule("9"), r"no submodule '9'"),
    (lambda n: n.get_parameter("1.running_mean"), r"has no parameter 'running_mean'"),
    (lambda n: n.get_buffer("0.weight"), r"has no buffer 'weight'"),
    (lambda n: n.get_parameter("2.weight"), r"ReLU has no parameter 'weight' \(it has: none\)"),
])
def test_bad_paths_name_the_failing_step(call, match):
    with pytest.raises(AttributeError, match=match):
        call(_net(cr))


@pytest.mark.kernel_free
def test_bad_target_types():
    net = _net(cr)
    with pytest.raises(TypeError, match="target must be a dotted name string, got int"):
        net.get_submodule(3)
    with pytest.raises(TypeError, match="module must be a Module, got Tensor"):
        net.set_submodule("2", cr.zeros(2))
    with pytest.raises(ValueError, match="target must name a submodule"):
        net.set_submodule("", nn.ReLU())


def test_set_submodule_replaces_and_registers():
    net = _net(cr)
    head = nn.Linear(8, 5)
    net.set_submodule("3.1", head)
    assert net[3][1] is head and net(cr.randn(2, 1, 4, 4)).shape == (2, 5)
    assert "3.1.weight" in net.state_dict() and net.get_parameter("3.1.weight") is head.weight
    net.set_submodule("3.extra", nn.Tanh())  # a new name: added (strict=False)
    assert isinstance(net[3].extra, nn.Tanh)
    with pytest.raises(AttributeError, match="strict=True.*has no submodule 'other'"):
        net.set_submodule("3.other", nn.Tanh(), strict=True)
    with pytest.raises(AttributeError, match="'weight' of Linear is not a submodule"):
        net.set_submodule("3.1.weight", nn.Tanh())


def test_same_as_pytorch():
    torch = pytest.importorskip("torch")
    tnet, cnet = _net(torch), _net(cr)
    for target in ["", "0", "3", "3.1"]:
        names = {type(net.get_submodule(target)).__name__ for net in (tnet, cnet)}
        assert len(names) == 1
    for target in ["0.weight", "3.1.bias"]:
        assert tuple(tnet.get_parameter(target).shape) == cnet.get_parameter(target).shape
    assert tuple(tnet.get_buffer("1.running_var").shape) == cnet.get_buffer("1.running_var").shape
    for lib, net in ((torch, tnet), (cr, cnet)):
        with pytest.raises(AttributeError):
            net.get_submodule("3.7")
        with pytest.raises(AttributeError):
            net.get_parameter("1.running_mean")
        net.set_submodule("3.1", lib.nn.Linear(8, 4))
        assert net(lib.zeros(2, 1, 4, 4)).shape == (2, 4)


@pytest.mark.kernel_free
def test_type_to_empty_share_memory_compile():
    net = _net(cr)
    assert net.type(cr.float64) is net and net[0].weight.dtype == np.float64
    assert net.type("float32") is net and net[3][1].bias.dtype == np.float32
    assert net.share_memory() is net
    before = net[0].weight
    net[0].weight.grad = cr.ones_like(net[0].weight)
    assert net.to_empty(device="cpu") is net
    assert net[0].weight is before and net[0].weight.grad is None  # same Parameter, new storage
    assert net[1].running_mean.shape == (2,)
    assert net.compile(mode="max-autotune", fullgraph=False) is None
    with pytest.raises(TypeError, match="unknown \\['modee'\\]"):
        net.compile(modee="x")
