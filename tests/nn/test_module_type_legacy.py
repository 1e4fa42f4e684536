"""``Module.type(dst_type)`` with a legacy type or its name, against PyTorch: FiLM's
``nn.CrossEntropyLoss().type(torch.cuda.FloatTensor)`` (and ``model.type(torch.DoubleTensor)``)
was a TypeError ('dtype must be floating-point or complex, got object'). As PyTorch's, every
parameter and buffer is cast, the integer ``num_batches_tracked`` too."""

import numpy as np
import pytest

import chainrule as cr


def _net(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Conv2d(2, 3, 1), lib.nn.BatchNorm2d(3), lib.nn.Flatten(),
                             lib.nn.Linear(24, 2))


@pytest.mark.parametrize("dst", ["DoubleTensor", "FloatTensor", "torch.DoubleTensor",
                                 "float64", "HalfTensor"])
def test_module_type_casts_as_pytorch(dst):
    torch = pytest.importorskip("torch")
    dtypes, outs = [], []
    state = {k: v.numpy() for k, v in _net(torch).state_dict().items()}
    for lib in (cr, torch):
        net = _net(lib)
        net.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        arg = (getattr(lib, dst) if dst in ("DoubleTensor", "FloatTensor", "float64", "HalfTensor")
               else dst)
        assert net.type(arg) is net
        dtypes.append({k: str(v.dtype).replace("torch.", "") for k, v in net.state_dict().items()})
        if dst != "HalfTensor":
            net.train()
            x = lib.tensor(np.linspace(-1, 1, 32).reshape(2, 2, 2, 4)).to(net[0].weight.dtype)
            outs.append(net(x).detach().numpy())
    assert dtypes[0] == dtypes[1]
    if outs:
        np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5)


@pytest.mark.kernel_free
def test_module_type_to_an_integer_type_is_refused():
    with pytest.raises(TypeError, match="floating-point"):
        _net(cr).type(cr.LongTensor)


@pytest.mark.kernel_free
def test_loss_module_type_is_itself():
    loss = cr.nn.CrossEntropyLoss()
    assert loss.type(cr.DoubleTensor) is loss and loss.type("torch.cuda.FloatTensor") is loss


@pytest.mark.kernel_free
def test_module_type_by_a_cuda_type_name_casts_on_the_host():
    # chainrule keeps its arrays where they are; the name's dtype is what counts (CPU PyTorch
    # cannot run this one to compare)
    net = _net(cr).type("torch.cuda.FloatTensor")
    assert {str(v.dtype) for v in net.state_dict().values()} == {"float32"}
