"""device= and dtype= on the layers whose PyTorch counterparts take them (factory kwargs)."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.backend import cuda_available

from .._case_loop import each_case, grid

# The smallest constructor arguments of each layer that PyTorch builds with device=/dtype=.
ARGS = {
    "AdaptiveLogSoftmaxWithLoss": (8, 10, [4]),
    "BatchNorm1d": (4,), "BatchNorm2d": (4,), "BatchNorm3d": (4,), "Bilinear": (3, 4, 5),
    "SyncBatchNorm": (4,),
    "Conv1d": (2, 3, 3), "Conv2d": (2, 3, 3), "Conv3d": (2, 3, 3), "ConvTranspose1d": (2, 3, 3),
    "ConvTranspose2d": (2, 3, 3), "ConvTranspose3d": (2, 3, 3), "Embedding": (10, 4),
    "EmbeddingBag": (10, 4), "GRU": (3, 4), "GRUCell": (3, 4), "GroupNorm": (2, 4),
    "InstanceNorm1d": (4, 1e-5, 0.1, True), "InstanceNorm2d": (4, 1e-5, 0.1, True),
    "InstanceNorm3d": (4, 1e-5, 0.1, True, True), "LSTM": (3, 4), "LSTMCell": (3, 4),
    "LayerNorm": (4,), "Linear": (3, 4), "LinearCrossEntropyLoss": (3, 4), "LazyLinear": (4,),
    "LazyConv1d": (3, 2),
    "LazyConv2d": (3, 2), "LazyConv3d": (3, 2), "MultiheadAttention": (8, 2), "PReLU": (3,),
    "RMSNorm": (4,), "RNN": (3, 4), "RNNCell": (3, 4), "Transformer": (8, 2, 1, 1, 16),
    "TransformerDecoderLayer": (8, 2, 16), "TransformerEncoderLayer": (8, 2, 16),
    "RNNBase": ("LSTM", 3, 4), "RNNCellBase": (3, 4, True, 3),
    "LazyConvTranspose1d": (3, 2), "LazyConvTranspose2d": (3, 2), "LazyConvTranspose3d": (3, 2),
    "LazyBatchNorm1d": (), "LazyBatchNorm2d": (), "LazyBatchNorm3d": (),
    "LazyInstanceNorm1d": (), "LazyInstanceNorm2d": (), "LazyInstanceNorm3d": (),
}


def _torch_takes_device(cls) -> bool:
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and "device" in inspect.signature(init).parameters:
            return True
    return False


# The lazy layers get their shapes (and values) from a first input.
FIRST_INPUT = {"LazyLinear": (2, 3), "LazyConv1d": (1, 2, 5), "LazyConv2d": (1, 2, 5, 5),
               "LazyConv3d": (1, 2, 5, 5, 5), "LazyConvTranspose1d": (1, 2, 5),
               "LazyConvTranspose2d": (1, 2, 5, 5), "LazyConvTranspose3d": (1, 2, 5, 5, 5),
               "LazyBatchNorm1d": (2, 3), "LazyBatchNorm2d": (2, 3, 4, 4),
               "LazyBatchNorm3d": (2, 3, 2, 2, 2), "LazyInstanceNorm1d": (2, 3, 5),
               "LazyInstanceNorm2d": (2, 3, 4, 4), "LazyInstanceNorm3d": (2, 3, 2, 2, 2)}


def _build(name, **kwargs):
    cr.manual_seed(0)
    layer = getattr(nn, name)(*ARGS[name], **kwargs)
    if name in FIRST_INPUT:
        layer(cr.ones(*FIRST_INPUT[name], dtype=kwargs.get("dtype", cr.float32)))
    return layer


def _state(module):
    return {k: v.numpy() for k, v in module.state_dict().items()}


@pytest.mark.kernel_free
@pytest.mark.torch
def test_every_layer_pytorch_builds_with_device_and_dtype_is_covered():
    torch = pytest.importorskip("torch")
    ours = {n for n in dir(nn) if inspect.isclass(getattr(nn, n))
            and issubclass(getattr(nn, n), nn.Module)}
    theirs = {n for n in ours if hasattr(torch.nn, n) and _torch_takes_device(getattr(torch.nn, n))}
    assert theirs == set(ARGS)
    for name in theirs:
        params = inspect.signature(getattr(nn, name)).parameters
        assert params["device"].default is None and params["dtype"].default is None, name


@pytest.mark.parametrize("name", sorted(ARGS))
def test_device_and_dtype_build_what_the_plain_constructor_builds(name):
    plain = _state(_build(name))
    assert plain, name  # every one of them has parameters or buffers
    for device in ("cpu", cr.device("cpu")):
        placed = _build(name, device=device)
        assert all(t.device == "cpu" for t in placed.state_dict().values())
        assert _state(placed).keys() == plain.keys()
        for key, value in _state(placed).items():
            np.testing.assert_array_equal(value, plain[key], err_msg=f"{name}.{key}")
    double = _build(name, device="cpu", dtype=cr.float64)
    for key, value in _state(double).items():
        if plain[key].dtype.kind == "f":
            assert value.dtype == np.float64, f"{name}.{key}"
            np.testing.assert_allclose(value, plain[key], rtol=1e-6, atol=1e-7,  # float32's
                                       err_msg=f"{name}.{key}")             # rounding
        else:
            np.testing.assert_array_equal(value, plain[key])


@pytest.mark.kernel_free
@pytest.mark.skipif(cuda_available(), reason="checks the error without a GPU")
def test_cuda_without_a_gpu_is_the_error_to_cuda_gives():
    with pytest.raises(RuntimeError) as expected:
        nn.Linear(3, 4).to("cuda")
    with pytest.raises(RuntimeError) as got:
        nn.Linear(3, 4, device="cuda")
    assert str(got.value) == str(expected.value)
    with pytest.raises(RuntimeError, match="CuPy with a visible GPU is not available"):
        nn.Transformer(8, 2, 1, 1, 16, device=cr.device("cuda"))


@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a GPU")
def test_cuda_puts_every_parameter_on_the_gpu():
    layer = nn.Conv2d(1, 2, 3, device="cuda", dtype=cr.float64)
    assert {str(t.device) for t in layer.state_dict().values()} == {"cuda"}
    x = cr.tensor(np.ones((1, 1, 4, 4)), device="cuda")
    assert layer(x).shape == (1, 2, 2, 2) and layer(x).device == "cuda"


@pytest.mark.kernel_free
def test_bad_devices_are_refused_before_building():
    with pytest.raises(TypeError, match="Linear: device must be a str such as 'cpu' or 'cuda'"):
        nn.Linear(3, 4, device=0)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        nn.Conv1d(1, 1, 1, device="tpu")
    with pytest.raises(TypeError, match="dtype must be floating-point"):
        nn.Linear(3, 4, device="cpu", dtype="int64")


@pytest.mark.kernel_free
def test_nested_construction_moves_once(monkeypatch):
    calls = []
    to = nn.Module.to

    def counting(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return to(self, *args, **kwargs)

    monkeypatch.setattr(nn.Module, "to", counting)
    nn.Transformer(8, 2, 1, 1, 16, device="cpu")  # builds layers inside, by super().__init__
    nn.ConvTranspose2d(2, 3, 3, device="cpu")
    nn.LSTM(3, 4, device="cpu")
    assert calls == ["Transformer", "ConvTranspose2d", "LSTM"]
    calls.clear()
    nn.Linear(3, 4)
    assert calls == []


@pytest.mark.kernel_free
def test_user_modules_keep_their_own_constructor():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

    with pytest.raises(TypeError, match="device"):
        Net(device="cpu")  # as in PyTorch: Net takes no device

    class Wide(nn.Linear):
        def __init__(self, n, **kwargs):
            super().__init__(n, 2 * n, **kwargs)
            self.scale = nn.Parameter(cr.ones(1))

    layer = Wide(3, device="cpu", dtype=cr.float64)
    assert layer.weight.dtype == cr.float64 and layer.scale.dtype == cr.float32
    assert "device" not in inspect.signature(Wide).parameters


@pytest.mark.kernel_free
def test_layers_without_state_take_no_device():
    with pytest.raises(TypeError):
        nn.ReLU(device="cpu")  # nor does PyTorch's
    assert "device" not in inspect.signature(nn.Dropout).parameters


@pytest.mark.kernel_free
def test_embedding_bag_follows_the_default_dtype():
    before = cr.get_default_dtype()
    cr.set_default_dtype(cr.float64)
    try:
        assert nn.EmbeddingBag(5, 2).weight.dtype == cr.float64  # it stayed float32
        assert nn.EmbeddingBag(5, 2, dtype=cr.float32).weight.dtype == cr.float32
    finally:
        cr.set_default_dtype(before)


def _positional(sig):
    return [p for p in list(sig.parameters.values())[1:]
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]


_POSITIONAL_NAMES = sorted(set(ARGS) - {"Embedding", "EmbeddingBag", "RNNBase",
                                                     "RNN", "GRU",  # keyword-only in PyTorch:
                                                     "LinearCrossEntropyLoss"})


def _device_and_dtype_are_taken_positionally_after_the_other_arguments_case(name):
    """As PyTorch's: ``nn.Linear(3, 4, True, "cpu", torch.float64)``, as a subclass's
    ``super().__init__(in_features, out_features, bias, device, dtype)`` writes it."""
    torch = pytest.importorskip("torch")
    theirs = _positional(inspect.signature(getattr(torch.nn, name).__init__))
    if not theirs:  # LSTM(*args, **kwargs): RNNBase's order less mode
        theirs = _positional(inspect.signature(torch.nn.RNNBase.__init__))[1:]
    assert [p.name for p in theirs[-2:]] == ["device", "dtype"]
    args = list(ARGS[name]) + [p.default for p in theirs[len(ARGS[name]):-2]]
    ours = getattr(nn, name)(*args, "cpu", cr.float64)
    with warnings.catch_warnings():  # Transformer's note on nested tensors
        warnings.simplefilter("ignore", UserWarning)
        built = getattr(torch.nn, name)(*args, "cpu", torch.float64)
    assert [str(p.dtype) for p in ours.parameters()] == [
        str(p.dtype).replace("torch.", "") for p in built.parameters()]
    assert all(p.dtype == cr.float64 for p in ours.parameters())


@pytest.mark.kernel_free
def test_device_and_dtype_are_taken_positionally_after_the_other_arguments():
    each_case(_device_and_dtype_are_taken_positionally_after_the_other_arguments_case, grid(
        ("name", _POSITIONAL_NAMES),
    ))


@pytest.mark.kernel_free
def test_positional_device_and_dtype_errors():
    with pytest.raises(TypeError, match=r"Linear\(\) takes at most 5 positional"):
        nn.Linear(3, 4, True, None, cr.float64, 1)
    with pytest.raises(TypeError, match="multiple values for argument 'dtype'"):
        nn.Linear(3, 4, True, None, cr.float64, dtype=cr.float32)
    with pytest.raises(TypeError, match="device must be"):
        nn.Linear(3, 4, True, 5)
    # Embedding takes PyTorch's _weight and _freeze, then device and dtype; GRU has proj_size
    # there, which chainrule's lacks: no guessing
    e = nn.Embedding(10, 4, None, None, 2.0, False, False, None, False, "cpu", cr.float64)
    assert e.weight.dtype == cr.float64
    with pytest.raises(TypeError):
        nn.GRU(3, 4, 1, True, False, 0.0, False, "cpu")
