"""Fuzz wave 12: chainrule.nn.init against torch.nn.init 2.13: calculate_gain for every
nonlinearity and parameter, fan_in/fan_out of linear and conv shapes, which shapes each
initializer takes or refuses, the deterministic fills (eye_, dirac_ with groups, constant_),
orthogonality, sparse_'s zeros per column, and the statistics of the random ones (mean, std,
bounds) on enough samples that the tolerances are many standard errors wide.

Before this wave the initializers' first parameter was named ``t`` where PyTorch's is
``tensor``: ``init.xavier_uniform_(tensor=w)`` was a TypeError.
"""

import inspect
import math
import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

ci, ti = cr.nn.init, torch.nn.init
INITS = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
         "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
         "orthogonal_", "sparse_"]


def _first_parameter_is_named_tensor_as_pytorchs_case(name):
    theirs = list(inspect.signature(getattr(ti, name)).parameters)
    assert list(inspect.signature(getattr(ci, name)).parameters)[:len(theirs)] == theirs
    w = cr.empty(4, 3, 3)
    kwargs = {"sparse_": {"sparsity": 0.5}, "constant_": {"val": 0.5}}.get(name, {})
    if name in ("eye_", "sparse_"):
        w = cr.empty(4, 3)
    out = getattr(ci, name)(tensor=w, **kwargs)
    assert out == (9, 12) if name.startswith("_") else out is w


def test_first_parameter_is_named_tensor_as_pytorchs():
    each_case(_first_parameter_is_named_tensor_as_pytorchs_case, grid(
        ("name", INITS + ["_calculate_fan_in_and_fan_out"]),
    ))


NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


def _calculate_gain_case(nonlinearity, param):
    assert ci.calculate_gain(nonlinearity, param) == pytest.approx(
        ti.calculate_gain(nonlinearity, param), rel=1e-15)


def test_calculate_gain():
    each_case(_calculate_gain_case, grid(
        ("param", [None, 0.2, 0, 1, -0.5, 3, 0.01]),
        ("nonlinearity", NONLINEARITIES),
    ))


@pytest.mark.parametrize("param", ["x", [0.1]])
def test_calculate_gain_refuses_a_bad_slope(param):
    with pytest.raises(ValueError):
        ti.calculate_gain("leaky_relu", param)
    with pytest.raises((TypeError, ValueError), match="leaky_relu|param|slope"):
        ci.calculate_gain("leaky_relu", param)


def test_calculate_gain_refuses_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match="gelu"):
        ci.calculate_gain("gelu")


SHAPES = [(), (3,), (4, 5), (0, 3), (3, 0), (2, 3, 4), (4, 2, 3), (4, 2, 3, 3), (2, 4, 3, 3, 3),
          (6, 2, 3, 3), (0, 2, 3, 3), (5, 4, 0), (1, 1), (7, 1, 5)]


def _outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's warning on zero-element tensors
        try:
            return fn()
        except (ValueError, RuntimeError, ZeroDivisionError, IndexError):
            return "error"


def _fans_case(shape):
    theirs = _outcome(lambda: ti._calculate_fan_in_and_fan_out(torch.empty(shape)))
    assert _outcome(lambda: ci._calculate_fan_in_and_fan_out(cr.empty(shape))) == theirs


def test_fans():
    each_case(_fans_case, grid(("shape", SHAPES)))


def _calls(m):
    return {
        "uniform_": lambda t: m.uniform_(t, -0.5, 2.0), "normal_": lambda t: m.normal_(t, 1, 2),
        "trunc_normal_": lambda t: m.trunc_normal_(t, 0.5, 1.0, -1.0, 1.5),
        "constant_": lambda t: m.constant_(t, 0.3), "ones_": m.ones_, "zeros_": m.zeros_,
        "eye_": m.eye_, "dirac_": m.dirac_, "dirac_2": lambda t: m.dirac_(t, groups=2),
        "xavier_uniform_": lambda t: m.xavier_uniform_(t, gain=2.0),
        "xavier_normal_": m.xavier_normal_, "kaiming_uniform_": m.kaiming_uniform_,
        "kaiming_normal_": lambda t: m.kaiming_normal_(t, mode="fan_out"),
        "kaiming_selu": lambda t: m.kaiming_normal_(t, nonlinearity="selu"),
        "orthogonal_": lambda t: m.orthogonal_(t, gain=0.5), "sparse_": lambda t: m.sparse_(t, 0.5),
    }


def _shapes_taken_or_refused_as_pytorchs_case(name):
    for shape in SHAPES:
        if name.startswith("xavier") and shape == (5, 4, 0):
            continue  # PyTorch: ZeroDivisionError on fan_out 0 of an empty tensor; chainrule: skip
        t, c = torch.empty(shape), cr.empty(shape)
        theirs = _outcome(lambda t=t: _calls(ti)[name](t) is t)
        ours = _outcome(lambda c=c: _calls(ci)[name](c) is c)
        assert ours == theirs, shape


def test_shapes_taken_or_refused_as_pytorchs():
    each_case(_shapes_taken_or_refused_as_pytorchs_case, grid(("name", list(_calls(ti)))))


@pytest.mark.parametrize(("shape", "groups"), [((3, 5), None), ((5, 3), None), ((4, 2, 3), 1),
                                               ((4, 2, 3), 2), ((6, 3, 3, 3), 3),
                                               ((4, 2, 3, 3, 3), 2), ((2, 4, 3, 3), 1),
                                               ((4, 1, 2), 2), ((8, 3, 4, 4), 4)])
def test_eye_and_dirac_as_pytorchs(shape, groups):
    c, t = cr.empty(shape, dtype=cr.float64), torch.empty(shape, dtype=torch.float64)
    if groups is None:
        ci.eye_(c), ti.eye_(t)
    else:
        ci.dirac_(c, groups), ti.dirac_(t, groups)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def _orthogonal_case(shape, dtype):
    w = cr.empty(shape, dtype=getattr(cr, dtype))
    ci.orthogonal_(w, gain=1.5)
    a = w.numpy().reshape(shape[0], -1).astype(np.float64)
    q = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(q, 2.25 * np.eye(len(q)), atol=tol)
    assert w.dtype == getattr(cr, dtype)


def test_orthogonal():
    each_case(_orthogonal_case, grid(
        ("dtype", ["float32", "float64"]),
        ("shape", [(30, 20), (20, 30), (4, 3, 5), (6, 2, 2, 2), (1, 7), (7, 1)]),
    ))


@pytest.mark.parametrize(("rows", "sparsity"), [(10, 0.35), (7, 0.0), (5, 1.0), (9, 0.5)])
def test_sparse_zeros_per_column_as_pytorchs(rows, sparsity):
    c, t = cr.empty(rows, 6), torch.empty(rows, 6)
    ci.sparse_(c, sparsity)
    ti.sparse_(t, sparsity)
    zeros = (c.numpy() == 0).sum(axis=0)
    np.testing.assert_array_equal(zeros, (t.numpy() == 0).sum(axis=0))
    assert (zeros == math.ceil(sparsity * rows)).all()


def _truncated_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) truncated to [a, b]."""
    al, be = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-x * x / 2) / math.sqrt(2 * math.pi) for x in (al, be)]
    z = (math.erf(be / math.sqrt(2)) - math.erf(al / math.sqrt(2))) / 2
    m = (pdf[0] - pdf[1]) / z
    var = 1 + (al * pdf[0] - be * pdf[1]) / z - m * m
    return mean + std * m, std * math.sqrt(var)


STATS = {  # name: (shape, call, expected mean, expected std, bounds or None)
    "uniform": ((400, 500), lambda m, t: m.uniform_(t, -2.0, 3.0), 0.5, 5 / math.sqrt(12),
                (-2.0, 3.0)),
    "normal": ((400, 500), lambda m, t: m.normal_(t, 1.0, 2.0), 1.0, 2.0, None),
    "trunc default": ((400, 500), lambda m, t: m.trunc_normal_(t), *_truncated_moments(0, 1, -2, 2),
                      (-2.0, 2.0)),
    "trunc shifted": ((400, 500), lambda m, t: m.trunc_normal_(t, 1.0, 2.0, 0.0, 3.0),
                      *_truncated_moments(1, 2, 0, 3), (0.0, 3.0)),
    "trunc tail": ((400, 500), lambda m, t: m.trunc_normal_(t, 0.0, 1.0, 1.0, 5.0),
                   *_truncated_moments(0, 1, 1, 5), (1.0, 5.0)),
    "trunc vit": ((400, 500), lambda m, t: m.trunc_normal_(t, 0.0, 0.02, -0.04, 0.04),
                  *_truncated_moments(0, 0.02, -0.04, 0.04), (-0.04, 0.04)),
    "xavier_uniform conv": ((64, 32, 3, 3), lambda m, t: m.xavier_uniform_(t, gain=2.0), 0.0,
                            2.0 * math.sqrt(2 / (32 * 9 + 64 * 9)), None),
    "xavier_normal": ((300, 700), lambda m, t: m.xavier_normal_(t, gain=0.5), 0.0,
                      0.5 * math.sqrt(2 / 1000), None),
    "kaiming_uniform": ((300, 700), lambda m, t: m.kaiming_uniform_(t), 0.0,
                        math.sqrt(2 / 700), None),
    "kaiming_uniform a=sqrt5": ((300, 700), lambda m, t: m.kaiming_uniform_(t, a=math.sqrt(5)),
                                0.0, math.sqrt(2 / 6) / math.sqrt(700), None),
    "kaiming_normal fan_out": ((64, 32, 3, 3), lambda m, t: m.kaiming_normal_(t, mode="fan_out"),
                               0.0, math.sqrt(2 / (64 * 9)), None),
    "kaiming_normal leaky": ((300, 700), lambda m, t: m.kaiming_normal_(
        t, a=0.2, nonlinearity="leaky_relu"), 0.0, math.sqrt(2 / 1.04 / 700), None),
    "kaiming_normal tanh": ((300, 700), lambda m, t: m.kaiming_normal_(t, nonlinearity="tanh"),
                            0.0, 5 / 3 / math.sqrt(700), None),
    "kaiming_normal selu": ((300, 700), lambda m, t: m.kaiming_normal_(t, nonlinearity="selu"),
                            0.0, 0.75 / math.sqrt(700), None),
    "orthogonal": ((300, 200), lambda m, t: m.orthogonal_(t, gain=2.0), 0.0,
                   2.0 / math.sqrt(300), None),
    "sparse": ((200, 300), lambda m, t: m.sparse_(t, 0.3, std=0.05), 0.0,
               0.05 * math.sqrt(1 - 60 / 200), None),
}


@pytest.mark.parametrize("name", list(STATS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_statistics(name, dtype):
    """Mean within 6 standard errors, std within 2% (>= 5 standard errors of the sample std at
    these sizes), bounds kept; PyTorch's own draw meets the same expectations (so they are its,
    not this library's): on 20000 samples for its slow truncated normal, std within 3%."""
    shape, call, mean, std, bounds = STATS[name]
    for lib, m in ((cr, ci), (torch, ti)):
        small = lib is torch and name.startswith("trunc")
        t = lib.empty((100, 200) if small else shape, dtype=getattr(lib, dtype))
        call(m, t)
        a = np.asarray(t.detach().numpy(), dtype=np.float64)
        assert str(t.dtype).endswith(dtype)
        assert abs(a.mean() - mean) < 6 * std / math.sqrt(a.size), lib.__name__
        assert abs(a.std() - std) < (0.03 if small else 0.02) * std, lib.__name__
        if bounds is not None:
            assert bounds[0] <= a.min() and a.max() <= bounds[1]


@pytest.mark.parametrize("name", ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_",
                                  "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                                  "orthogonal_", "sparse_"])
def test_generator_and_leaf_parameters(name):
    """generator= gives repeatable draws; a leaf that requires grad is filled in place (no
    graph), keeping its dtype, as PyTorch's."""
    kwargs = {"sparse_": {"sparsity": 0.5}}.get(name, {})
    draws = []
    for _ in range(2):
        w = cr.empty(6, 5, dtype=cr.float64, requires_grad=True)
        out = getattr(ci, name)(w, generator=cr.Generator().manual_seed(7), **kwargs)
        assert out is w and w.requires_grad and w.grad_fn is None and w.dtype == cr.float64
        draws.append(w.detach().numpy())
    np.testing.assert_array_equal(*draws)
