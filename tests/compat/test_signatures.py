"""PyTorch's positional orders and defaults where a ported program would get other numbers.

Each test calls chainrule and PyTorch the same way (positional arguments included) and compares
the results in float64, forward and backward.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

from .._case_loop import each_case, grid, with_rng

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(x):
    return cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _check(ours, theirs, x, tx):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.cos(np.arange(ours.numel())).reshape(ours.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def _softmax_without_dim_takes_pytorchs_implicit_axis_case(rng, shape, name):
    """F.softmax(x) and nn.Softmax() of 3-D input normalise axis 0 in PyTorch, of 4-D input axis 1
    (not the last axis), with a deprecation warning."""
    x, tx = _pair(rng.standard_normal(shape))
    ours_fn = getattr(F, name) if name.islower() else getattr(cr.nn, name)()
    theirs_fn = getattr(TF, name) if name.islower() else getattr(torch.nn, name)()
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ours = ours_fn(x)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        theirs = theirs_fn(tx)
    _check(ours, theirs, x, tx)


def test_softmax_without_dim_takes_pytorchs_implicit_axis():
    each_case(with_rng(_softmax_without_dim_takes_pytorchs_implicit_axis_case), grid(
        ("name", ["softmax", "log_softmax", "Softmax", "LogSoftmax"]),
        ("shape", [(5,), (4, 5), (2, 3, 4), (2, 3, 4, 5)]),
    ))


def test_numpy_style_softmax_keeps_the_last_axis(rng):
    x = cr.tensor(rng.standard_normal((2, 3, 4)))
    np.testing.assert_allclose(cr.functional.softmax(x).numpy().sum(-1), np.ones((2, 3)))
    np.testing.assert_allclose(cr.nn.Softmax(dim=-1)(x).numpy().sum(-1), np.ones((2, 3)))


@pytest.mark.parametrize("call", [
    lambda m, x: m.std(x, 0, True),          # PyTorch: dim=0, unbiased=True (not keepdim)
    lambda m, x: m.var(x, 1, False, True),   # dim, unbiased, keepdim
    lambda m, x: m.std(x, True),             # the std(input, unbiased) overload
    lambda m, x: m.var(x, False),
    lambda m, x: x.var(1, True),
    lambda m, x: x.std((0, 2), True, True),
    lambda m, x: m.var(x, dim=1, correction=2, keepdim=True),
], ids=["std(x,0,True)", "var(x,1,False,True)", "std(x,True)", "var(x,False)",
        "x.var(1,True)", "x.std((0,2),True,True)", "var(correction=2)"])
def test_var_std_take_pytorchs_positional_order(rng, call):
    """torch.std(x, 0, True) is the unbiased std over axis 0; chainrule read the True as keepdims
    (and kept ddof=0), so broadcasting could hide the wrong shape."""
    x, tx = _pair(rng.standard_normal((3, 4, 5)))
    _check(call(cr, x), call(torch, tx), x, tx)


def test_var_std_default_is_pytorchs_unbiased_estimate(rng):
    """No unbiased/correction/ddof means PyTorch's correction=1 (it was NumPy's ddof=0, a silent
    difference: a ported REINFORCE's returns.std() normalised by another number); ddof=0 and
    unbiased=False still give the population estimate, and two of the three are refused."""
    x, tx = _pair(rng.standard_normal((3, 4)))
    for call in (lambda m, t: m.var(t, 1), lambda m, t: t.std(), lambda m, t: m.std_mean(t, 0)[0],
                 lambda m, t: m.var_mean(t)[0], lambda m, t: t.var(dim=(0, 1), keepdim=True)):
        _check(call(cr, x), call(torch, tx), x, tx)
    np.testing.assert_allclose(cr.var(x, 1, ddof=0).numpy(), x.detach().numpy().var(1), rtol=1e-13)
    np.testing.assert_allclose(x.std(unbiased=False).numpy(), x.detach().numpy().std(), rtol=1e-13)
    with pytest.raises(TypeError, match="unbiased must be True or False, got 2"):
        cr.var(x, 0, 2)
    with pytest.raises(TypeError, match="give one of ddof, unbiased and correction, got ddof and "
                                        "correction"):
        x.var(ddof=0, correction=1)


def _loss_inputs(rng, name):
    if name in ("cross_entropy", "nll_loss"):
        z = rng.standard_normal((5, 3))
        if name == "nll_loss":
            z = z - np.log(np.exp(z).sum(1, keepdims=True))
        return z, rng.integers(0, 3, 5), rng.uniform(0.5, 2.0, 3)
    p = rng.uniform(0.05, 0.95, (4, 3)) if name == "binary_cross_entropy" else \
        rng.standard_normal((4, 3))
    return p, rng.uniform(0, 1, (4, 3)), rng.uniform(0.5, 2.0, 3)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("extra", [(), (None, None, "sum")], ids=["w", "w,None,None,'sum'"])
def test_losses_take_weight_as_the_third_positional_argument(rng, name, extra):
    """F.nll_loss(x, y, w) and F.binary_cross_entropy(p, t, w) failed with 'the truth value of a
    tensor is ambiguous' (chainrule read w as the reduction); F.cross_entropy(x, y, w) was a
    TypeError."""
    z, y, w = _loss_inputs(rng, name)
    if extra and name in ("cross_entropy", "nll_loss"):
        extra = (None, -100, None, "sum")  # size_average, ignore_index, reduce, reduction
    x, tx = _pair(z)
    ours = getattr(F, name)(x, cr.tensor(y), cr.tensor(w), *extra)
    theirs = getattr(TF, name)(tx, torch.tensor(y), torch.tensor(w), *extra)
    _check(ours, theirs, x, tx)


def test_losses_refuse_a_reduction_in_the_weight_slot(rng):
    z, y, _ = _loss_inputs(rng, "nll_loss")
    with pytest.raises(TypeError, match="weight must be a Tensor or None, got 'sum'.*"
                                        "pass reduction='sum'"):
        F.nll_loss(cr.tensor(z), cr.tensor(y), "sum")
    # PyTorch's deprecated size_average: False is a sum, as there (the older VAE example's)
    with pytest.warns(UserWarning, match="please use reduction='sum'"):
        out = F.binary_cross_entropy(cr.tensor([0.5, 0.25]), cr.tensor([1.0, 0.0]), None, False)
    with pytest.warns(UserWarning):
        ref = TF.binary_cross_entropy(torch.tensor([0.5, 0.25]), torch.tensor([1.0, 0.0]), None,
                                      False)
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda f, x: f.relu(x, inplace=True), lambda f, x: f.relu6(x, True),
    lambda f, x: f.leaky_relu(x, 0.2, True), lambda f, x: f.elu(x, 0.5, True),
    lambda f, x: f.selu(x, True), lambda f, x: f.silu(x, inplace=True),
    lambda f, x: f.hardtanh(x, -0.5, 0.5, True), lambda f, x: f.dropout(x, 0.3, False, True),
    lambda f, x: f.dropout2d(x, 0.3, False, True),
], ids=["relu", "relu6", "leaky_relu", "elu", "selu", "silu", "hardtanh", "dropout", "dropout2d"])
def test_functional_activations_accept_inplace(rng, call):
    """F.relu(x, inplace=True) (torchvision's style) was a TypeError; it changes its input as
    PyTorch's (so of a non-leaf: a leaf that requires grad is refused, as there)."""
    x, tx = _pair(rng.standard_normal((2, 3, 4, 5)))
    _check(call(F, x * 1.0), call(TF, tx * 1.0), x, tx)


@pytest.mark.parametrize("call", [lambda m, x: m.add(x, x * x, alpha=2),
                                  lambda m, x: m.sub(x, 1.5, alpha=-3)], ids=["add", "sub"])
def test_top_level_add_sub_take_alpha(rng, call):
    """torch.add(x, y, alpha=2) was a TypeError (only the Tensor methods took alpha)."""
    x, tx = _pair(rng.standard_normal((3, 4)))
    _check(call(cr, x), call(torch, tx), x, tx)


@pytest.mark.parametrize("name, kwargs", [
    ("CrossEntropyLoss", {"weight": [1.0, 2.0, 0.5]}), ("NLLLoss", {"weight": [1.0, 2.0, 0.5]}),
    ("BCELoss", {"weight": [1.0, 2.0, 0.5]}),
    ("BCEWithLogitsLoss", {"weight": [1.0, 2.0, 0.5], "pos_weight": [2.0, 1.0, 3.0]}),
    ("BCEWithLogitsLoss", {}),
])
def test_loss_weights_are_buffers_as_in_pytorch(name, kwargs):
    """PyTorch keeps a loss's weight/pos_weight in its state dict: a model holding its weighted
    criterion saved 'criterion.weight', which chainrule refused to load (unexpected key)."""
    theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) for k, v in kwargs.items()})
    ours = getattr(cr.nn, name)(**{k: cr.tensor(v) for k, v in kwargs.items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: cr.tensor(v.numpy() * 2) for k, v in theirs.state_dict().items()})
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(getattr(ours, k).numpy(), v.numpy() * 2)


def test_backward_takes_pytorchs_arguments(rng):
    """y.backward(gradient=g) and y.backward(g, True) (retain_graph positional) were TypeErrors."""
    x, tx = _pair(rng.standard_normal(4))
    g = rng.standard_normal(4)
    y, ty = x * x, tx * tx
    y.backward(gradient=cr.tensor(g), retain_graph=True)
    ty.backward(gradient=torch.tensor(g), retain_graph=True)
    y.backward(cr.tensor(g), True)
    ty.backward(torch.tensor(g), True)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    before = x.grad.numpy().copy()
    (x * x).sum().backward(inputs=[x])  # accumulates into x only, as PyTorch's
    (tx * tx).sum().backward(inputs=[tx])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    assert not np.array_equal(before, x.grad.numpy())


def test_reduce_lr_on_plateau_step_takes_metrics_by_name():
    """scheduler.step(metrics=val_loss) (PyTorch's keyword) was a TypeError."""
    ours_opt = cr.optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=1.0)
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    ours = cr.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, patience=0)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, patience=0)
    for value in (1.0, 2.0, 3.0):
        ours.step(metrics=value)
        theirs.step(metrics=value)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)


@pytest.mark.parametrize("call", [lambda m, x: m.sum(x, 1, dtype=m.float32),
                                  lambda m, x: x.mean(dtype=m.float32),
                                  lambda m, x: x.sum((0, 1), True, dtype=m.float64)],
                         ids=["sum", "mean", "sum-keepdim"])
def test_sum_mean_take_dtype(rng, call):
    """x.sum(dtype=torch.float32) was a TypeError."""
    x = rng.standard_normal((3, 4))
    ours, theirs = call(cr, cr.tensor(x)), call(torch, torch.tensor(x))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "MSELoss", "L1Loss", "SmoothL1Loss"])
def test_regression_losses_take_pytorchs_positional_order(rng, name):
    """PyTorch's third positional argument of F.mse_loss (and MSELoss's first) is the removed
    size_average: F.mse_loss(x, y, 'sum') is a mean there (with a warning) but was a sum in
    chainrule, silently. Now reduction is PyTorch's fifth (third for modules) and a value other
    than a bool in the size_average slot is a TypeError (a bool is PyTorch's deprecated
    option, honoured as there)."""
    x, tx = _pair(rng.standard_normal((3, 4)))
    y = rng.standard_normal((3, 4))
    args = (None, None, "sum") + ((0.5,) if name == "SmoothL1Loss" else ())
    if name.islower():
        ours = getattr(F, name)(x, cr.tensor(y), *args)
        theirs = getattr(TF, name)(tx, torch.tensor(y), *args)
        with pytest.raises(TypeError, match="size_average must be a bool or None.*'sum'"):
            getattr(F, name)(x, cr.tensor(y), "sum")
    else:
        ours = getattr(cr.nn, name)(*args)(x, cr.tensor(y))
        theirs = getattr(torch.nn, name)(*args)(tx, torch.tensor(y))
        with pytest.raises(TypeError, match="size_average must be a bool or None.*'sum'"):
            getattr(cr.nn, name)("sum")
    _check(ours, theirs, x, tx)


@pytest.mark.parametrize("call", [lambda m, x: m.clip(x, min=-0.5), lambda m, x: x.clip(max=0.3),
                                  lambda m, x: x.clip(-0.2, 0.4)], ids=["min", "max", "both"])
def test_clip_takes_min_and_max_by_name(rng, call):
    """torch.clip(x, min=0) and x.clip(max=1) (PyTorch's names) were TypeErrors (low/high)."""
    x, tx = _pair(rng.standard_normal((3, 4)))
    _check(call(cr, x), call(torch, tx), x, tx)


@pytest.mark.parametrize("call", [
    lambda g: cr.randn(2, 3, generator=g), lambda g: cr.rand(4, generator=g),
    lambda g: cr.randn_like(cr.zeros(3), generator=g),
    lambda g: cr.rand_like(cr.zeros(3), generator=g),
    lambda g: cr.randint(0, 9, (5,), generator=g), lambda g: cr.randperm(6, generator=g),
    lambda g: cr.multinomial(cr.tensor([0.2, 0.3, 0.5]), 4, True, generator=g),
    lambda g: cr.zeros(5).normal_(0.0, 2.0, generator=g),
    lambda g: cr.zeros(5).uniform_(-1.0, 1.0, generator=g),
], ids=["randn", "rand", "randn_like", "rand_like", "randint", "randperm", "multinomial",
        "normal_", "uniform_"])
def test_random_factories_take_generator(call):
    """torch.randn(2, 3, generator=g) with g = chainrule.Generator().manual_seed(0) was a
    TypeError (only rng= was accepted); the same seed gives the same draws as rng=."""
    first = call(cr.Generator().manual_seed(7)).numpy()
    again = call(cr.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(first, again)
    with pytest.raises(TypeError, match="give rng or generator, not both"):
        cr.randn(2, rng=cr.Generator(), generator=cr.Generator())


def test_module_methods_take_pytorchs_keyword_names():
    """m.load_state_dict(state_dict=sd) and m.register_buffer('b', tensor=t) (PyTorch's names)
    were TypeErrors; assign=True adopts the given tensors (tests/nn/test_load_state_assign.py)."""
    ours, theirs = cr.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    sd = {k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state_dict=sd, strict=True, assign=False)
    np.testing.assert_array_equal(ours.weight.numpy(), theirs.weight.detach().numpy())
    ours.register_buffer("scale", tensor=cr.tensor([2.0]), persistent=True)
    assert "scale" in ours.state_dict()
    ours.load_state_dict(sd, False, True)
    assert np.shares_memory(ours.weight.numpy(), sd["weight"].numpy()) and ours.weight.requires_grad


def test_numpy_takes_force():
    """t.numpy(force=True) (PyTorch's way to get a requires-grad tensor's values) was a
    TypeError."""
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    np.testing.assert_array_equal(x.numpy(force=True),
                                  torch.tensor([1.0, 2.0], requires_grad=True).numpy(force=True))
