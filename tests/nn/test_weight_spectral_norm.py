"""nn.utils.weight_norm / spectral_norm (the hook-based forms) against PyTorch's: state-dict keys
and layout both ways, outputs, gradients, power-iteration buffers and SGD trajectories over
several train and eval calls in float64, removal, positional order and errors."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

TOL = {"rtol": 1e-11, "atol": 1e-13}


class Bilin(nn.Module):
    """A layer of our own whose 3-D weight is read through ``self.weight``."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.random.default_rng(0).standard_normal((3, 4, 2)))

    def forward(self, x):
        return x @ self.weight.reshape(3, 8)


class TBilin(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(3, 4, 2, dtype=torch.float64))

    def forward(self, x):
        return x @ self.weight.reshape(3, 8)


LAYERS = {
    "linear": (lambda: nn.Linear(5, 4).double(), lambda: torch.nn.Linear(5, 4).double(), (6, 5)),
    "conv": (lambda: nn.Conv2d(3, 2, 3, padding=1).double(),
             lambda: torch.nn.Conv2d(3, 2, 3, padding=1).double(), (2, 3, 5, 5)),
    "conv1d": (lambda: nn.Conv1d(3, 2, 3).double(), lambda: torch.nn.Conv1d(3, 2, 3).double(),
               (2, 3, 6)),
    "convT": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2).double(),
              lambda: torch.nn.ConvTranspose2d(3, 2, 3, stride=2).double(), (2, 3, 4, 4)),
    "custom": (Bilin, TBilin, (5, 3)),
}


def _pair(layer, wrap, twrap, **kwargs):
    make, tmake, shape = LAYERS[layer]
    tm = twrap(tmake(), **kwargs)
    m = wrap(make(), **kwargs)
    state = {k: v.detach().numpy().copy() for k, v in tm.state_dict().items()}
    assert list(m.state_dict()) == list(state)
    m.load_state_dict(state)
    return m, tm, shape


def _run(m, tm, shape, steps, train=True):
    """Forward, backward and an SGD step in both; compare everything after each."""
    m.train(train)
    tm.train(train)
    opt = cr.optim.SGD(m.parameters(), lr=0.2)
    topt = torch.optim.SGD(tm.parameters(), lr=0.2)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = rng.standard_normal(shape)
        out, tout = m(cr.tensor(x)), tm(torch.tensor(x))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL)
        r = rng.standard_normal(tout.shape)
        (out * cr.tensor(r)).sum().backward()
        (tout * torch.tensor(r)).sum().backward()
        theirs = dict(tm.named_parameters())
        for name, p in m.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), theirs[name].grad.numpy(), **TOL)
        opt.step()
        topt.step()
        opt.zero_grad()
        topt.zero_grad()
        for (name, a), (tname, b) in zip(m.state_dict().items(), tm.state_dict().items(),
                                         strict=True):
            assert name == tname
            np.testing.assert_allclose(np.asarray(a), b.numpy(), **TOL)


SPECTRAL = [("linear", {}), ("linear", {"n_power_iterations": 3, "dim": 1}),
            ("conv", {}), ("conv", {"dim": 1, "n_power_iterations": 2}), ("conv1d", {}),
            ("convT", {}), ("convT", {"dim": 0, "eps": 1e-3}), ("custom", {"dim": 2}),
            ("custom", {"n_power_iterations": 2})]


@pytest.mark.parametrize(("layer", "kwargs"), SPECTRAL)
def test_spectral_norm_matches_torch(layer, kwargs):
    m, tm, shape = _pair(layer, nn.utils.spectral_norm, torch.nn.utils.spectral_norm, **kwargs)
    _run(m, tm, shape, 5)
    _run(m, tm, shape, 2, train=False)
    u = m.weight_u.numpy().copy()
    m.eval()
    m(cr.tensor(np.ones(shape)))
    np.testing.assert_array_equal(m.weight_u.numpy(), u)  # eval: no power iteration
    nn.utils.remove_spectral_norm(m)
    torch.nn.utils.remove_spectral_norm(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(m.weight.numpy(), tm.weight.detach().numpy(), **TOL)
    assert isinstance(m.weight, nn.Parameter) and not m._forward_pre_hooks


def test_spectral_norm_bounds_the_largest_singular_value():
    m = nn.utils.spectral_norm(nn.Linear(8, 6, rng=np.random.default_rng(3)).double(),
                               n_power_iterations=500,
                               rng=np.random.default_rng(0))
    m(cr.tensor(np.ones((1, 8))))
    assert np.linalg.norm(m.weight.numpy(), 2) == pytest.approx(1.0, rel=1e-8)


WEIGHT = [("linear", {}), ("linear", {"dim": 1}), ("linear", {"dim": None}), ("convT", {}),
          ("conv", {}), ("conv", {"dim": 3}), ("conv1d", {"dim": None}),
          ("convT", {"dim": 2}), ("custom", {"dim": -1}), ("custom", {"dim": -2})]


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated")
@pytest.mark.parametrize(("layer", "kwargs"), WEIGHT)
def test_weight_norm_matches_torch(layer, kwargs):
    m, tm, shape = _pair(layer, nn.utils.weight_norm, torch.nn.utils.weight_norm, **kwargs)
    assert m.weight_g.shape == tuple(tm.weight_g.shape)
    _run(m, tm, shape, 5)
    nn.utils.remove_weight_norm(m)
    torch.nn.utils.remove_weight_norm(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(m.weight.numpy(), tm.weight.detach().numpy(), **TOL)
    assert isinstance(m.weight, nn.Parameter) and not m._forward_pre_hooks


def test_torch_state_dict_loads_and_trains_in_a_gan_discriminator():
    t = torch.nn.Sequential(torch.nn.utils.spectral_norm(torch.nn.Linear(4, 8)),
                            torch.nn.LeakyReLU(0.2),
                            torch.nn.utils.spectral_norm(torch.nn.Linear(8, 1))).double()
    ours = nn.Sequential(nn.utils.spectral_norm(nn.Linear(4, 8)), nn.LeakyReLU(0.2),
                         nn.utils.spectral_norm(nn.Linear(8, 1))).double()
    ours.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((7, 4))
    for _ in range(3):
        np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(),
                                   **TOL)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["weight_norm", "spectral_norm", "remove_weight_norm",
                                  "remove_spectral_norm"])
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(nn.utils, name)).parameters
    theirs = inspect.signature(getattr(torch.nn.utils, name)).parameters
    assert list(ours)[:len(theirs)] == list(theirs)
    assert [ours[k].default for k in theirs] == [p.default for p in theirs.values()]


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda: nn.utils.weight_norm(nn.Linear(2, 2), "bias2"), "has no parameter 'bias2'"),
    (lambda: nn.utils.weight_norm(nn.Linear(2, 2), dim=2), "dim must be None, -1 or a dim"),
    (lambda: nn.utils.weight_norm(nn.utils.weight_norm(nn.Linear(2, 2))), "two weight_norm"),
    (lambda: nn.utils.weight_norm("layer"), "module must be an nn.Module, got str"),
    (lambda: nn.utils.remove_weight_norm(nn.Linear(2, 2)), "weight_norm of 'weight' not found"),
    (lambda: nn.utils.spectral_norm(nn.Linear(2, 2), n_power_iterations=0),
     "n_power_iterations must be a positive int, got 0"),
    (lambda: nn.utils.spectral_norm(nn.Linear(2, 2), eps=0.0), "eps must be a number > 0"),
    (lambda: nn.utils.spectral_norm(nn.Linear(2, 2), dim=3), "dim must be a dimension"),
    (lambda: nn.utils.spectral_norm(nn.utils.spectral_norm(nn.Linear(2, 2))),
     "two spectral_norm"),
    (lambda: nn.utils.remove_spectral_norm(nn.Linear(2, 2)), "spectral_norm of 'weight' not"),
    (lambda: nn.utils.spectral_norm(nn.Linear(2, 2), rng=3), "Generator"),
]


def _bad_arguments_are_named_case(call, match):
    with pytest.raises((TypeError, ValueError, RuntimeError, NotImplementedError), match=match):
        call()


@pytest.mark.kernel_free
@pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning")
def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid((("call", "match"), _BAD_ARGUMENTS_ARE_NAMED)))
