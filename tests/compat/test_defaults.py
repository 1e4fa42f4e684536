"""``set_default_dtype``/``set_default_device``: factories, ``tensor()`` and layers follow them."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.backend import cuda_available
from chainrule.backend.settings import from_environment


@pytest.fixture(autouse=True)
def _restore_defaults():
    dtype, device = cr.get_default_dtype(), cr.get_default_device()
    yield
    cr.set_default_dtype(dtype)
    cr.set_default_device(device)


def _made(torch):
    """What a program makes without naming a dtype, under ``torch`` (or chainrule)."""
    return {
        "tensor(1.5)": torch.tensor(1.5).dtype,
        "tensor([1, 2.5])": torch.tensor([1, 2.5]).dtype,
        "tensor([1, 2])": torch.tensor([1, 2]).dtype,
        "zeros": torch.zeros(2, 3).dtype,
        "ones": torch.ones(2).dtype,
        "empty": torch.empty(2).dtype,
        "full(1.0)": torch.full((2,), 1.0).dtype,
        "full(1)": torch.full((2,), 1).dtype,
        "eye": torch.eye(2).dtype,
        "arange(0.0, 1.0, 0.25)": torch.arange(0.0, 1.0, 0.25).dtype,
        "arange(3)": torch.arange(3).dtype,
        "linspace": torch.linspace(0, 1, 5).dtype,
        "randn": torch.randn(2).dtype,
        "rand": torch.rand(2).dtype,
        "zeros_like(float32)": torch.zeros_like(torch.ones(2, dtype=torch.float32)).dtype,
        "from_numpy(float32)": torch.from_numpy(np.ones(2, np.float32)).dtype,
        "Linear.weight": torch.nn.Linear(3, 2).weight.dtype,
        "Conv2d.bias": torch.nn.Conv2d(1, 2, 3).bias.dtype,
        "LSTM.weight_ih_l0": torch.nn.LSTM(3, 4).weight_ih_l0.dtype,
        "BatchNorm1d.running_mean": torch.nn.BatchNorm1d(3).running_mean.dtype,
        "Embedding.weight": torch.nn.Embedding(5, 2).weight.dtype,
        "MultiheadAttention.in_proj_weight":
            torch.nn.MultiheadAttention(4, 2).in_proj_weight.dtype,
    }


def _names(made):
    return {k: str(v).replace("torch.", "") for k, v in made.items()}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_default_dtype_is_followed_as_in_pytorch(dtype):
    cr.set_default_dtype(getattr(cr, dtype))
    assert cr.get_default_dtype() == np.dtype(dtype) and cr.config.default_dtype == dtype
    made = _made(cr)
    expected = {k: dtype for k in made}
    expected.update({"tensor([1, 2])": "int64", "full(1)": "int64", "arange(3)": "int64",
                     "zeros_like(float32)": "float32", "from_numpy(float32)": "float32"})
    assert _names(made) == expected
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        assert _names(made) == _names(_made(torch))
    finally:
        torch.set_default_dtype(old)


def test_default_dtype_float64_model_trains_in_float64():
    cr.set_default_dtype(cr.float64)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = cr.randn(5, 3)
    loss = (model(x) ** 2).mean()
    loss.backward()
    assert loss.dtype == cr.float64
    assert all(p.grad.dtype == cr.float64 for p in model.parameters())
    cr.set_default_dtype(cr.float32)
    assert cr.zeros(1).dtype == cr.float32 and model[0].weight.dtype == cr.float64


def test_an_explicit_dtype_wins_over_the_default():
    cr.set_default_dtype(cr.float64)
    assert cr.zeros(2, dtype=cr.float32).dtype == cr.float32
    assert nn.Linear(2, 2, dtype="float32").weight.dtype == cr.float32
    assert cr.tensor(np.ones(2, np.float32)).dtype == cr.float32


@pytest.mark.parametrize("bad", [cr.int64, "float16", "cat", None])
def test_set_default_dtype_rejects_what_is_not_float32_or_float64(bad):
    message = f"set_default_dtype: only float32 and float64 can be the default dtype, got {bad!r}"
    with pytest.raises(TypeError, match=re.escape(message)):
        cr.set_default_dtype(bad)
    assert cr.get_default_dtype() == cr.float32


def test_default_device_cpu_always_works():
    assert cr.get_default_device() == cr.device("cpu") == "cpu"
    cr.set_default_device("cpu")
    cr.set_default_device(cr.device("cpu"))
    cr.set_default_device(None)
    assert cr.zeros(2).device == "cpu" and nn.Linear(2, 2).weight.device == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        cr.set_default_device("tpu")
    assert cr.get_default_device() == "cpu"


@pytest.mark.skipif(cuda_available(), reason="checks the error given without a GPU")
def test_default_device_cuda_without_cupy_is_a_clear_error():
    with pytest.raises(RuntimeError, match="device 'cuda' was requested but CuPy with a visible "
                                           "GPU is not available"):
        cr.set_default_device("cuda")
    assert cr.get_default_device() == "cpu" and cr.zeros(1).device == "cpu"


@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a GPU")
def test_default_device_cuda_puts_factories_and_layers_on_the_gpu():
    cr.set_default_device("cuda")
    assert cr.get_default_device() == cr.device("cuda")
    assert cr.zeros(2).is_cuda and cr.randn(2, 3).is_cuda and cr.tensor([1.0]).is_cuda
    assert cr.arange(3).is_cuda and cr.zeros_like(cr.zeros(1, device="cpu")).device == "cpu"
    layer = nn.Linear(3, 2)
    assert layer.weight.is_cuda and layer.bias.is_cuda
    assert layer(cr.randn(4, 3)).is_cuda
    assert cr.zeros(2, device="cpu").device == "cpu"


def test_the_defaults_are_settings_of_the_environment():
    config = from_environment({"CHAINRULE_DEFAULT_DTYPE": "float64",
                               "CHAINRULE_DEFAULT_DEVICE": "cpu"})
    assert config.default_dtype == np.float64 and config.default_device == "cpu"
    with pytest.warns(RuntimeWarning, match="CHAINRULE_DEFAULT_DTYPE: expected float32 or "
                                            "float64 as the default dtype, got 'int8'"):
        assert from_environment({"CHAINRULE_DEFAULT_DTYPE": "int8"}).default_dtype == np.float32
