"""utils.checkpoint: gradients bit for bit those of the plain block (dropout masks included),
parameters and closures, cr.grad, the random stream, errors, PyTorch's values, and less memory."""

import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential

MODES = [False, True]  # chainrule.reference_mode off, on


def _mlp(seed_default=0, own_rng=False):
    cr.manual_seed(seed_default)
    drop_rng = np.random.default_rng(9) if own_rng else None
    return nn.Sequential(
        nn.Linear(4, 8, dtype=cr.float64, rng=np.random.default_rng(1)), nn.Tanh(),
        nn.Dropout(0.3, rng=drop_rng),
        nn.Linear(8, 8, dtype=cr.float64, rng=np.random.default_rng(2)), nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(8, 3, dtype=cr.float64, rng=np.random.default_rng(3)),
    )


X0 = np.random.default_rng(0).standard_normal((5, 4))


def _grads(how, x_requires_grad=True, own_rng=False):
    m = _mlp(own_rng=own_rng)
    x = cr.tensor(X0, requires_grad=x_requires_grad)
    y = how(m, x)
    (y * y).sum().backward()
    after = cr.rand(3).numpy()  # the default generator's stream after backward
    return y.numpy(), [p.grad.numpy() for p in m.parameters()], \
        None if x.grad is None else x.grad.numpy(), after


CASES = {
    "checkpoint": lambda m, x: checkpoint(m, x, use_reentrant=False),
    "reentrant": lambda m, x: checkpoint(m, x, use_reentrant=True),
    "closure": lambda m, x: checkpoint(lambda a: m[3:](m[:3](a)), x, use_reentrant=False),
    "sequential-2": lambda m, x: checkpoint_sequential(m, 2, x, use_reentrant=False),
    "sequential-3": lambda m, x: checkpoint_sequential(list(m), 3, x, use_reentrant=True),
}


@pytest.mark.parametrize("reference", MODES)
@pytest.mark.parametrize("own_rng", [False, True])
@pytest.mark.parametrize("x_requires_grad", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_gradients_equal_the_plain_block_bit_for_bit(case, x_requires_grad, own_rng, reference):
    with cr.reference_mode(reference):
        plain = _grads(lambda m, x: m(x), x_requires_grad, own_rng)
        ours = _grads(CASES[case], x_requires_grad, own_rng)
    np.testing.assert_array_equal(ours[0], plain[0])
    for a, b in zip(ours[1], plain[1], strict=True):
        np.testing.assert_array_equal(a, b)
    if x_requires_grad:
        np.testing.assert_array_equal(ours[2], plain[2])
    else:
        assert ours[2] is None
    np.testing.assert_array_equal(ours[3], plain[3])  # the random stream goes on unchanged


def test_the_block_keeps_no_inner_graph_and_grad_works():
    m = _mlp()
    x = cr.tensor(X0, requires_grad=True)
    y = checkpoint(m, x, use_reentrant=False)
    assert type(y.grad_fn).__name__ == "CheckpointBackward"
    assert len(y.grad_fn.inputs) == 1 + len(list(m.parameters()))
    loss = (y * y).sum()
    got = cr.grad(loss, [x, *m.parameters()])
    m2 = _mlp()
    x2 = cr.tensor(X0, requires_grad=True)
    want = cr.grad((m2(x2) ** 2).sum(), [x2, *m2.parameters()])
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_non_leaf_read_from_a_closure_passes_its_gradient_on():
    w = cr.tensor(np.linspace(0.5, 1.5, 4), requires_grad=True)
    u = w * 2  # made before the block, read inside it
    x = cr.tensor(X0[0], requires_grad=True)
    checkpoint(lambda a: (a * u).sin(), x, use_reentrant=False).sum().backward()
    gw, gx = w.grad.numpy(), x.grad.numpy()
    w.grad = x.grad = None
    (x * (w * 2)).sin().sum().backward()
    np.testing.assert_array_equal(gw, w.grad.numpy())
    np.testing.assert_array_equal(gx, x.grad.numpy())


def test_several_outputs_and_values_that_pass_through():
    a = cr.tensor(X0, requires_grad=True)

    def block(x):
        return x.exp(), "label", (x * 0).detach(), x.tanh()

    e, label, const, t = checkpoint(block, a, use_reentrant=False)
    assert label == "label" and not const.requires_grad
    (e.sum() + (t * t).sum()).backward()
    want = X0.__array__()
    np.testing.assert_allclose(a.grad.numpy(), np.exp(want) + 2 * np.tanh(want)
                               * (1 - np.tanh(want) ** 2), rtol=1e-14)


def test_gradcheck_through_a_checkpoint():
    w = cr.tensor(np.random.default_rng(4).standard_normal((3, 4)), requires_grad=True)

    def f(x, w):
        return checkpoint(lambda a: (a @ w.T).tanh() * a.sum(), x, use_reentrant=False)

    assert cr.gradcheck(f, (cr.tensor(X0, requires_grad=True), w))


def test_without_gradients_the_block_just_runs():
    m = _mlp()
    with cr.no_grad():
        y = checkpoint(m, cr.tensor(X0), use_reentrant=False)
    assert y.grad_fn is None and y.shape == (5, 3)


def test_second_order_through_a_checkpoint():
    w = cr.tensor(np.random.default_rng(6).standard_normal((3, 4)), requires_grad=True)
    b = cr.tensor(np.random.default_rng(7).standard_normal(4), requires_grad=True)

    def f(x):
        return checkpoint(lambda a: ((a @ w.T).tanh() ** 2).sum(1), x * b,
                          use_reentrant=False)

    x = cr.tensor(X0, requires_grad=True)
    assert cr.gradgradcheck(f, (x,))
    (gx,) = cr.grad(f(x).sum(), x, create_graph=True)
    (hw,) = cr.grad((gx * gx).sum(), w)
    (gx2,) = cr.grad(((x * b) @ w.T).tanh().pow(2).sum(), x, create_graph=True)
    (hw2,) = cr.grad((gx2 * gx2).sum(), w)
    np.testing.assert_allclose(hw.numpy(), hw2.numpy(), rtol=1e-12, atol=1e-14)


def test_second_order_with_one_tensor_passed_twice():
    # checkpoint(f, x, x) with create_graph=True gave twice the gradient (each position was
    # differentiated as the whole x), silently; so did gradgradcheck's second derivative
    def f(a, b):
        return (a * b.sin()).sum()

    x = cr.tensor(X0[0], requires_grad=True)
    (g,) = cr.grad(checkpoint(f, x, x, use_reentrant=False), x, create_graph=True)
    (h,) = cr.grad((g * g).sum(), x)
    (g2,) = cr.grad(f(x, x), x, create_graph=True)
    (h2,) = cr.grad((g2 * g2).sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), g2.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(h.numpy(), h2.numpy(), rtol=1e-13)


def test_second_order_that_would_count_a_path_twice_is_refused():
    w = cr.tensor(np.linspace(0.5, 1.5, 4), requires_grad=True)
    x = cr.tensor(X0[0], requires_grad=True) * w  # the input was computed from w ...
    y = checkpoint(lambda a: (a * w).sin(), x, use_reentrant=False).sum()  # ... read inside
    with pytest.raises(RuntimeError, match="create_graph=True.* is not supported"):
        cr.grad(y, w, create_graph=True)
    (g,) = cr.grad(y, w)  # first order is right: the block's inner graph is its own
    leaf = cr.tensor(X0[0])
    np.testing.assert_allclose(g.numpy(), 2 * leaf.numpy() * w.numpy()
                               * np.cos((leaf * w * w).numpy()), rtol=1e-13)


def test_a_block_that_changes_between_passes_is_a_clear_error():
    calls = []

    def drifting(x):
        calls.append(1)
        return x * len(calls)

    x = cr.tensor(X0, requires_grad=True)
    y = checkpoint(drifting, x, use_reentrant=False)
    with pytest.raises(RuntimeError, match="gave other values for output 0 than the first pass"):
        y.sum().backward()
    y = checkpoint(drifting, x, use_reentrant=False, determinism_check="none")
    y.sum().backward()  # the user opted out: the recomputed block's gradient is used


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda x: checkpoint(3, x), TypeError, "function must be callable, got int"),
    (lambda x: checkpoint(lambda a: a, x, use_reentrant="no"), TypeError,
     "use_reentrant must be True, False or None, got 'no'"),
    (lambda x: checkpoint(lambda a: a, x, determinism_check="all"), ValueError,
     "determinism_check must be 'default' or 'none', got 'all'"),
    (lambda x: checkpoint_sequential([cr.tanh], 2, x), ValueError,
     "segments=2 is more than the 1 functions given"),
    (lambda x: checkpoint_sequential([cr.tanh], 0, x), ValueError,
     "segments must be an int >= 1, got 0"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(cr.tensor(X0, requires_grad=True))


@pytest.mark.torch
def test_values_and_gradients_equal_pytorchs():
    torch = pytest.importorskip("torch")
    from torch.utils.checkpoint import checkpoint_sequential as tseq

    m = _mlp()
    m.eval()  # no dropout: PyTorch's masks are its own generator's
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Dropout(0.3),
                             torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                             torch.nn.Linear(8, 3)).double().eval()
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    x, tx = cr.tensor(X0, requires_grad=True), torch.tensor(X0, requires_grad=True)
    y = checkpoint_sequential(m, 3, x, use_reentrant=False)
    ty = tseq(tm, 3, tx, use_reentrant=False)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    for p, tp in zip(m.parameters(), tm.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-15)


def _peak(how, depth=16, width=128, batch=1024):
    rng = np.random.default_rng(5)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, dtype=cr.float64, rng=rng), nn.Tanh()]
    net = nn.Sequential(*layers)
    x = cr.tensor(rng.standard_normal((batch, width)), requires_grad=True)
    tracemalloc.start()
    try:
        (how(net, x) ** 2).mean().backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_deep_mlp_peaks_lower():
    plain = _peak(lambda net, x: net(x))
    ours = _peak(lambda net, x: checkpoint_sequential(net, 4, x, use_reentrant=False))
    assert ours < 0.5 * plain, (ours, plain)


@pytest.mark.torch
def test_checkpoint_sequential_signature_matches_torch():
    import inspect

    pytest.importorskip("torch")
    from torch.utils import checkpoint as tc

    ours = inspect.signature(checkpoint_sequential).parameters
    theirs = inspect.signature(tc.checkpoint_sequential).parameters
    assert [(k, p.default) for k, p in ours.items()] == [(k, p.default)
                                                         for k, p in theirs.items()]
    assert list(inspect.signature(checkpoint).parameters)[:3] == ["function", "args",
                                                                  "use_reentrant"]
