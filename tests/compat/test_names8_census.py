"""Names of the census in submodules: nn.init's deprecated names, F.native_channel_shuffle,
func.replace_all_batch_norm_modules_ and the chainrule.random module (torch.random)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

from .._case_loop import each_case, grid

OLD = ["uniform", "normal", "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform",
       "kaiming_normal", "orthogonal", "sparse", "eye", "dirac"]


def _nn_init_deprecated_names_warn_and_call_the_new_ones_case(name):
    torch = pytest.importorskip("torch")
    shape = (3, 3, 3) if name == "dirac" else (4, 3)
    args = {"constant": (0.25,), "sparse": (0.5,)}.get(name, ())
    w = nn.Parameter(np.zeros(shape, dtype="float32"))
    tw = torch.zeros(shape)
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of "
                                           f"`nn.init.{name}_`"):
        out = getattr(nn.init, name)(w, *args)
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated"):
        getattr(torch.nn.init, name)(tw, *args)
    assert out is w and getattr(nn.init, name).__name__ == name
    if name in ("constant", "eye", "dirac"):  # deterministic: the same values as PyTorch's
        np.testing.assert_array_equal(w.detach().numpy(), tw.numpy())


@pytest.mark.torch
def test_nn_init_deprecated_names_warn_and_call_the_new_ones():
    each_case(_nn_init_deprecated_names_warn_and_call_the_new_ones_case, grid(("name", OLD)))


@pytest.mark.torch
def test_native_channel_shuffle_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(2 * 6 * 2, dtype=np.float64).reshape(2, 6, 2)
    np.testing.assert_array_equal(F.native_channel_shuffle(cr.tensor(x), 3).numpy(),
                                  torch.nn.functional.native_channel_shuffle(
                                      torch.tensor(x), 3).numpy())
    with pytest.raises(ValueError, match="divisible by groups=4"):
        F.native_channel_shuffle(cr.tensor(x), 4)


@pytest.mark.torch
def test_replace_all_batch_norm_modules_matches_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4),
                                 lib.nn.Sequential(lib.nn.BatchNorm1d(4)))

    model, tmodel = build(cr), build(torch)
    tmodel.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    assert cr.func.replace_all_batch_norm_modules_(model) is model
    torch.func.replace_all_batch_norm_modules_(tmodel)
    assert repr(model) == repr(tmodel)
    assert list(model.state_dict()) == list(tmodel.state_dict())
    model.eval()
    tmodel.eval()
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(model(cr.tensor(x)).detach().numpy(),
                               tmodel(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="root must be an nn.Module, got list"):
        cr.func.replace_all_batch_norm_modules_([model])


@pytest.mark.torch
def test_random_module_as_torch_random():
    torch = pytest.importorskip("torch")
    for name in ("manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
                 "fork_rng", "default_generator"):
        assert hasattr(cr.random, name) and hasattr(torch.random, name)
    cr.random.manual_seed(5)
    assert cr.random.initial_seed() == 5 == cr.initial_seed()
    with cr.random.fork_rng():
        inside = cr.rand(3).tolist()
    assert cr.rand(3).tolist() == inside
    before = cr.random.get_rng_state()
    with pytest.raises(ZeroDivisionError), cr.random.fork_rng(devices=[]):
        cr.rand(2)
        1 / 0  # noqa: B018
    assert np.array_equal(cr.random.get_rng_state().numpy(), before.numpy())  # restored
    cr.random.manual_seed(5)
    first = cr.rand(2).tolist()
    cr.random.manual_seed(5)
    with cr.random.fork_rng(enabled=False):
        assert cr.rand(2).tolist() == first
    assert cr.rand(2).tolist() != first  # not restored when disabled
    state = cr.random.get_rng_state()
    a = cr.rand(2).tolist()
    cr.random.set_rng_state(state)
    assert cr.rand(2).tolist() == a
    with pytest.raises(TypeError, match="fork_rng: enabled must be True or False"):
        with cr.random.fork_rng(enabled=1):
            pass


@pytest.mark.torch
def test_set_default_tensor_type_as_torch():
    torch = pytest.importorskip("torch")
    try:
        for t, name in ((cr.DoubleTensor, torch.DoubleTensor), ("torch.DoubleTensor", None)):
            with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
                cr.set_default_tensor_type(t)
            with warnings.catch_warnings():  # PyTorch warns once per process
                warnings.simplefilter("ignore")
                torch.set_default_tensor_type(name or t)
            assert cr.get_default_dtype() == np.float64 and cr.ones(1).dtype == np.float64
            assert torch.get_default_dtype() == torch.float64
            with pytest.warns(UserWarning):
                cr.set_default_tensor_type("torch.FloatTensor")
            assert cr.get_default_dtype() == np.float32
    finally:
        cr.set_default_dtype(cr.float32)
        torch.set_default_dtype(torch.float32)
    with pytest.warns(UserWarning), pytest.raises(TypeError, match="only floating-point types"):
        cr.set_default_tensor_type(cr.LongTensor)
    with pytest.warns(UserWarning), pytest.raises(TypeError, match="expected a legacy tensor type"):
        cr.set_default_tensor_type(3)
