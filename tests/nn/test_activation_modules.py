"""Activation layers: each equals its functional op, checks its hyperparameters, matches PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.ops import activation as A  # noqa: N812
from chainrule.ops.softmax import log_softmax, softmax

from .._case_loop import each_case, grid, with_rng

# (module, the functional call it must equal, whether it is smooth enough for gradgradcheck);
# smooth=None: the gradient is an estimator by design (straight-through), not the derivative.
CASES = [
    (nn.ReLU(), A.relu, False),
    (nn.Sigmoid(), A.sigmoid, True),
    (nn.Tanh(), A.tanh, True),
    (nn.LeakyReLU(0.2), lambda x: A.leaky_relu(x, 0.2), False),
    (nn.Softplus(2.0, 10.0), lambda x: A.softplus(x, 2.0, 10.0), True),
    (nn.ELU(0.7), lambda x: A.elu(x, 0.7), False),
    (nn.SELU(), A.selu, False),
    (nn.GELU(), A.gelu, True),
    (nn.GELU("tanh"), lambda x: A.gelu(x, "tanh"), True),
    (nn.SiLU(), A.silu, True),
    (nn.Softsign(), A.softsign, False),
    (nn.Hardtanh(-0.5, 0.5), lambda x: A.hardtanh(x, -0.5, 0.5), False),
    (nn.ReLU6(), A.relu6, False),
    (nn.LogSigmoid(), A.logsigmoid, True),
    (nn.Softmax(axis=0), lambda x: softmax(x, 0), True),
    (nn.LogSoftmax(dim=-1), log_softmax, True),
    (nn.Step(), A.step, False),
    (nn.Step(straight_through=True), lambda x: A.step(x, straight_through=True), None),
]
IDS = [repr(m) for m, _, _ in CASES]


def _away_from_kinks(rng, shape, dtype):
    """Inputs at least 0.1 away from the kinks at 0, +-0.5 and 6 (scaled to reach 6)."""
    x = rng.uniform(-7, 7, size=shape)
    for kink in (0.0, 0.5, -0.5, 6.0):
        close = np.abs(x - kink) < 0.1
        x[close] = kink + 0.2
    return cr.tensor(x.astype(dtype), requires_grad=True)


def _forward_equals_functional_case(rng, module, fn, smooth):
    x = _away_from_kinks(rng, (4, 5), "float32")
    y = module(x)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y._data, fn(x)._data)
    assert list(module.parameters()) == [] and module.state_dict() == {}


def test_forward_equals_functional():
    each_case(with_rng(_forward_equals_functional_case), grid(
        ("module, fn, smooth", CASES, IDS),
    ))


@pytest.mark.parametrize("module, fn, smooth", [c for c in CASES if c[2] is not None],
                         ids=[i for i, c in zip(IDS, CASES) if c[2] is not None])
def test_gradcheck(rng, module, fn, smooth):
    x = _away_from_kinks(rng, (3, 4), "float64")
    assert cr.gradcheck(module, x)
    if smooth:
        assert cr.gradgradcheck(module, x)


@pytest.mark.kernel_free
def test_step_gradients():
    x = cr.tensor([-1.0, 2.0], requires_grad=True)
    nn.Step()(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    x.grad = None
    nn.Step(straight_through=True)(x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


@pytest.mark.kernel_free
def test_reprs():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"  # PyTorch's name
    assert repr(nn.Step(True)) == "Step(straight_through=True)"


@pytest.mark.kernel_free
@pytest.mark.parametrize("build, error, match", [
    (lambda: nn.Softplus(beta=0), ValueError, "Softplus: beta must not be 0"),
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, "Hardtanh: min_val must be less than max_val"),
    (lambda: nn.GELU("fast"), ValueError, "GELU: approximate must be 'none' or 'tanh'"),
    (lambda: nn.Softmax(axis=1.5), TypeError, "Softmax: axis must be an int, got 1.5"),
    (lambda: nn.LogSoftmax(axis="1"), TypeError, "LogSoftmax: axis must be an int"),
    (lambda: nn.LeakyReLU("0.1"), TypeError, "LeakyReLU: negative_slope must be a number"),
    (lambda: nn.ELU(None), TypeError, "ELU: alpha must be a number"),
    (lambda: nn.Step(1), TypeError, "Step: straight_through must be a bool"),
])
def test_hyperparameter_validation(build, error, match):
    with pytest.raises(error, match=match):
        build()


TORCH_CASES = [
    (nn.ReLU(), "ReLU()"),
    (nn.Sigmoid(), "Sigmoid()"),
    (nn.Tanh(), "Tanh()"),
    (nn.LeakyReLU(0.2), "LeakyReLU(0.2)"),
    (nn.Softplus(2.0, 10.0), "Softplus(2.0, 10.0)"),
    (nn.ELU(0.7), "ELU(0.7)"),
    (nn.SELU(), "SELU()"),
    (nn.GELU(), "GELU()"),
    (nn.GELU("tanh"), "GELU(approximate='tanh')"),
    (nn.SiLU(), "SiLU()"),
    (nn.Softsign(), "Softsign()"),
    (nn.Hardtanh(-0.5, 0.5), "Hardtanh(-0.5, 0.5)"),
    (nn.ReLU6(), "ReLU6()"),
    (nn.LogSigmoid(), "LogSigmoid()"),
    (nn.Softmax(axis=0), "Softmax(dim=0)"),
    (nn.LogSoftmax(dim=-1), "LogSoftmax(dim=-1)"),
]


def _matches_torch_case(rng, module, torch_expr):
    torch = pytest.importorskip("torch")
    theirs = eval("torch.nn." + torch_expr, {"torch": torch})
    x = _away_from_kinks(rng, (4, 5), "float32")
    tx = torch.from_numpy(x.numpy().copy()).requires_grad_()
    y, ty = module(x), theirs(tx)
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(y.shape).astype("float32")
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    if "Softmax" not in torch_expr:  # torch says dim=, we say axis=
        assert repr(module) == repr(theirs)


@pytest.mark.torch
def test_matches_torch():
    each_case(with_rng(_matches_torch_case), grid(
        ("module, torch_expr", TORCH_CASES, [t for _, t in TORCH_CASES]),
    ))


@pytest.mark.kernel_free
def test_softmax_modules_answer_to_pytorchs_dim():
    # PyTorch code reads (and sets) m.dim: it was an AttributeError; found by the fifth fuzz wave
    torch = pytest.importorskip("torch")
    for cls in ("Softmax", "LogSoftmax"):
        ours, theirs = getattr(nn, cls)(dim=1), getattr(torch.nn, cls)(dim=1)
        assert ours.dim == theirs.dim == 1
        ours.dim = 0
        x = np.arange(6.0).reshape(2, 3)
        theirs.dim = 0
        np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-12)
    assert nn.Softmax().dim is None
