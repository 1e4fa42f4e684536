"""The backward pass and an optimizer's step give inf and nan where PyTorch does, without NumPy's
RuntimeWarnings ("divide by zero encountered in divide": the gradient of sqrt or log at 0, of
x / y at y = 0), which they emitted before. NumPy's error state is set once a walk (and once a
step), and restored after it, so NumPy code outside chainrule still warns.

The forward ops still warn (``x / 0``, ``sqrt(-1)``, ``exp(1000)``): silencing them would need
an error state per op (docs/pytorch.md)."""

import warnings

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

X = np.array([0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan])
Y = np.array([0.0, 0.0, 0.0, 1.0, -0.0, 2.0, np.inf, 1.0])

OPS = {
    "sqrt": lambda L, x, y: L.sqrt(x), "log": lambda L, x, y: L.log(x),
    "log2": lambda L, x, y: L.log2(x), "log1p": lambda L, x, y: L.log1p(x - 1),
    "rsqrt": lambda L, x, y: L.rsqrt(x), "reciprocal": lambda L, x, y: L.reciprocal(x),
    "div": lambda L, x, y: x / y, "pow_half": lambda L, x, y: x ** 0.5,
    "pow_neg": lambda L, x, y: x ** -1.0, "asin": lambda L, x, y: L.asin(x),
    "acos": lambda L, x, y: L.acos(x), "atanh": lambda L, x, y: L.atanh(x),
    "logit": lambda L, x, y: L.logit(x), "hypot": lambda L, x, y: L.hypot(x, y),
    "atan2": lambda L, x, y: L.atan2(x, y), "sin": lambda L, x, y: L.sin(x),
    "fmod": lambda L, x, y: L.fmod(x, y), "remainder": lambda L, x, y: L.remainder(x, y),
}


def _grads(L, name):
    x, y = (L.tensor(a, requires_grad=True) for a in (X, Y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the forward ops still warn (module docstring)
        out = OPS[name](L, x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out.backward(L.tensor(np.linspace(0.5, 2.0, X.size)))
    return [None if t.grad is None else t.grad.numpy() for t in (x, y)]


# Points of X (and Y) where chainrule's gradient differs from PyTorch's, as it did before (not
# a matter of warnings): x ** 0.5 at -0 (inf; PyTorch -inf) and at -inf (0; nan), logit at -0
# (-inf; inf), hypot at (0, 0) (0, a subgradient; PyTorch 0 / 0 = nan), remainder's gradient in
# y at x = inf (-inf; nan).
DIFFERENT = {"pow_half": [1, 6], "logit": [1], "hypot": [0, 1], "remainder": [5]}


def _backward_gives_pytorchs_inf_and_nan_without_a_warning_case(name):
    keep = np.setdiff1d(np.arange(X.size), DIFFERENT.get(name, []))
    for ours, theirs in zip(_grads(cr, name), _grads(torch, name), strict=True):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours[keep], theirs[keep], rtol=1e-14, atol=0)


def test_backward_gives_pytorchs_inf_and_nan_without_a_warning():
    each_case(_backward_gives_pytorchs_inf_and_nan_without_a_warning_case, grid(("name", OPS)))


def test_grad_and_create_graph_walks_are_quiet_too():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (g,) = cr.grad(cr.sqrt(x).sum(), x, create_graph=True)
        (gg,) = cr.grad(g.sum(), x)
    assert g.tolist() == [np.inf, 0.25] and gg.tolist()[0] == -np.inf


def test_numpys_error_state_is_restored_after_a_walk_and_a_step():
    before = np.geterr()
    x = cr.tensor([0.0], requires_grad=True)
    cr.sqrt(x).sum().backward()
    seen = []

    def hook(g):  # hooks run inside the walk, so with its error state
        seen.append(np.geterr())
        raise RuntimeError("boom")

    y = cr.tensor([1.0], requires_grad=True)
    y.register_hook(hook)
    with pytest.raises(RuntimeError, match="boom"):
        (y * 2).sum().backward()  # a walk that ends in an error
    assert np.geterr() == before and seen[0]["divide"] == "ignore"
    opt = cr.optim.NAdam([cr.nn.Parameter(cr.ones(2))])
    opt.param_groups[0]["params"][0].grad = cr.tensor([np.inf, 0.0])
    opt.step()
    assert np.geterr() == before
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        np.ones(1) / 0  # NumPy outside chainrule warns as before


INF_NAN, HUGE = [np.inf, -np.inf, np.nan, 1.0], [1e300, 0.0, 1.0, -np.inf]
# RAdam after an inf step and Rprop with a nan gradient differ from PyTorch (they did before;
# Rprop's nan: NumPy's sign(nan) is nan, PyTorch's 0, which leaves the weight): one list each.
RULES = [("Adadelta", {}, [INF_NAN, HUGE]), ("NAdam", {}, [INF_NAN, HUGE]),
         ("Adamax", {}, [INF_NAN, HUGE]), ("Adam", {}, [INF_NAN, HUGE]),
         ("SGD", {"lr": 0.1, "momentum": 0.9}, [INF_NAN, HUGE]), ("RAdam", {}, [INF_NAN]),
         ("Rprop", {}, [HUGE])]


@pytest.mark.parametrize("name, kwargs, grads", RULES, ids=[n for n, _, _ in RULES])
def test_a_step_with_inf_and_nan_gradients_is_pytorchs_without_a_warning(name, kwargs, grads):
    results = []
    for L in (cr, torch):
        p = L.nn.Parameter(L.tensor(np.array([1.0, 2.0, 3.0, -1.0])))
        opt = getattr(L.optim, name)([p], **kwargs)
        for g in grads:
            p.grad = L.tensor(np.array(g))
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                opt.step()
        results.append(p.detach().numpy())
    np.testing.assert_allclose(*results, rtol=1e-14, atol=0)
    p = cr.nn.Parameter(cr.tensor(np.array([1.0, 2.0, 3.0, -1.0])))
    opt = getattr(cr.optim, name)([p], **kwargs)
    for g in (INF_NAN, HUGE):  # the lists left out above are silent too
        p.grad = cr.tensor(np.array(g))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step()
