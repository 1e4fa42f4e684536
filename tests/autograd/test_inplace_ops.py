"""Recorded in-place ops on tensors in a graph (autograd/inplace_record.py): ``y.relu_()``,
``y.mul_(w)``, ``scores.masked_fill_(mask, -inf)``, ``y[mask] = 0``, ``y += 1``, ``y[:2] += 1``,
checked against PyTorch (values and gradients, float64) and finite differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck
from chainrule.autograd.tracing import TraceError

MODIFIED = "modified by an inplace operation"
RNG = np.random.default_rng(11)
X, W, B = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(4,))
MASK = RNG.random((3, 4)) > 0.6


def _chain(lib, x, w, b):
    y = x * 1.5
    y.mul_(w)
    y.add_(b)
    y.relu_()
    return y * y


def _masked_attention(lib, x, w, b):
    scores = x @ w.t()  # (3, 3)
    mask = _tensor(lib, np.triu(np.ones((3, 3), dtype=bool), 1))
    scores.masked_fill_(mask, float("-inf"))
    return scores.softmax(-1) @ x + b


def _masked_setitem(lib, x, w, b):
    scores = x * w
    scores[_tensor(lib, MASK)] = float("-inf")
    scores[:, 0] = b[:3]  # a value that requires grad, into an op's output
    return scores.softmax(-1)


def _rnn_loop(lib, x, w, b):
    h = x[0] * 0.5
    for t in range(1, 3):
        h.mul_(w[t]).add_(x[t])  # in place on the state, every step
        h = h.tanh() * 1.0  # (PyTorch refuses tanh_ here: the next mul_ would change its output)
    h.sigmoid_()
    return h + b


def _aliasing(lib, x, w, b):
    y = x * 2
    a = y
    a += w  # y changes too: one tensor
    a *= b
    a -= 1.0
    a /= 3.0
    return y


def _view_iadd(lib, x, w, b):
    y = x * 2
    y[:2] += w[:2]  # tmp = y[:2]; tmp += ...; y[:2] = tmp
    y[:, 1] *= b[:3]
    return y.sin()


def _named_view(lib, x, w, b):
    y = x.cos()
    v = y[1:]  # a view: changing it changes y
    v.mul_(w[1:])
    col = y.t()[2]
    col.add_(b[:3])
    return y * x


def _nested_views(lib, x, w, b):
    y = x.reshape(4, 3) * 2
    y[0][1] = 5.0  # a view of a view: a constant through both
    y.t()[2] *= b[:4]  # a column, through a transposed view
    row = y[1]
    row += w[0, :3]  # a named view: y changes
    return y * y


def _itself(lib, x, w, b):
    y = x * w
    y.add_(y, alpha=0.5)  # the tensor itself as the value: its old values
    y.sub_(y, alpha=0.25)
    return y * y


def _constant_buffer(lib, x, w, b):
    acc = lib.zeros(3, 4, dtype=lib.float64)
    acc += x  # a fresh buffer takes the gradient, as in PyTorch
    acc.mul_(w)
    acc.clamp_(min=-0.5)
    return acc


def _written_then_changed(lib, x, w, b):
    out = lib.zeros(2, 4, dtype=lib.float64)
    out[0] = x[0]
    out[1] = w[1] * b
    out.mul_(x[2])
    out[1].sigmoid_()
    return out


PATTERNS = {f.__name__[1:]: f for f in (_chain, _masked_attention, _masked_setitem, _rnn_loop,
                                          _aliasing, _view_iadd, _named_view, _nested_views,
                                          _itself, _constant_buffer,
                                          _written_then_changed)}


def _tensor(lib, a):
    return cr.tensor(a) if lib is cr else lib.from_numpy(a)


def _leaves(lib):
    return [cr.tensor(a.copy(), requires_grad=True) if lib is cr
            else lib.tensor(a.copy(), requires_grad=True) for a in (X, W, B)]


@pytest.mark.torch
@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("name", list(PATTERNS))
def test_patterns_match_torch(name, reference):
    torch = pytest.importorskip("torch")
    ours, theirs = _leaves(cr), _leaves(torch)
    with cr.reference_mode(reference):
        out = PATTERNS[name](cr, *ours)
        scale = RNG.normal(size=out.shape)
        (out * cr.tensor(scale)).sum().backward()
    tout = PATTERNS[name](torch, *theirs)
    (tout * torch.from_numpy(scale)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, t in zip(ours, theirs):
        want = np.zeros_like(a.numpy()) if t.grad is None else t.grad.numpy()
        got = np.zeros_like(a.numpy()) if a.grad is None else a.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["chain", "rnn_loop", "aliasing", "view_iadd", "named_view",
                                  "nested_views", "itself",
                                  "constant_buffer", "written_then_changed", "masked_setitem"])
def test_gradcheck_and_gradgradcheck(name):
    def fn(x, w, b):
        out = PATTERNS[name](cr, x, w, b)
        return cr.where(cr.isfinite(out), out, cr.zeros_like(out))

    leaves = [cr.tensor(a + 0.01, requires_grad=True) for a in (X, W, B)]  # off relu's kink
    assert gradcheck(fn, leaves)
    assert gradgradcheck(fn, leaves)


def test_the_tensor_itself_as_the_value_of_ops_whose_backward_reads_it():
    # PyTorch refuses these (y.mul_(y)'s saved factor is y, which it changes); the copy is right.
    def fn(x, w):
        y = x * w
        y.mul_(y)
        y.atan2_(x + 1.0)
        return y.hypot_(y)

    x, w = cr.tensor(X, requires_grad=True), cr.tensor(W, requires_grad=True)
    assert gradcheck(fn, (x, w)) and gradgradcheck(fn, (x, w))
    y = np.arctan2((X * W) ** 2, X + 1)
    np.testing.assert_allclose(fn(x, w).detach().numpy(), np.hypot(y, y), rtol=1e-13)


def test_a_value_that_read_the_tensor_before_the_change_reaches_the_earlier_values():
    # y + 1 read y, whose node is then the atan2 that y + 1 feeds: a cycle, where the walk could
    # drop gradients, so it was refused. Add reads no values: it is pointed back at the stand-in
    # of the y it read (autograd/reroute.py), which is PyTorch's graph and gradient.
    def fn(x):
        y = x * 2
        y.atan2_(y + 1.0)
        return y

    x = cr.tensor(X, requires_grad=True)
    assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))
    torch = pytest.importorskip("torch")
    tx = torch.tensor(X, requires_grad=True)
    ty = tx * 2
    ty.atan2_(ty + 1.0)
    ty.sum().backward()
    fn(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_a_value_that_read_the_tensor_s_values_uses_the_stand_in_s_copy():
    # y * y reads y's values; the change's stand-in is a copy of them, so the gradient is right
    # (PyTorch refuses: its MulBackward saved y, which then changed).
    def fn(x):
        y = x * 2
        y.atan2_(y * y)
        return y

    assert gradcheck(fn, (cr.tensor(X, requires_grad=True),))


def test_exp_output_changed_in_place_keeps_its_own_gradient():
    # PyTorch refuses this (exp's backward reads its output); the stand-in's copy makes it right.
    x = cr.tensor(X, requires_grad=True)
    w = cr.tensor(W, requires_grad=True)

    def fn(x, w):
        y = x.exp()
        y.mul_(w)
        y.sigmoid_()
        return y.tanh_()

    assert gradcheck(fn, (x, w)) and gradgradcheck(fn, (x, w))
    out = fn(x, w)
    np.testing.assert_allclose(out.detach().numpy(),
                               np.tanh(1 / (1 + np.exp(-np.exp(X) * W))), rtol=1e-13)


def test_create_graph_retain_graph_and_a_second_backward():
    x = cr.tensor(X, requires_grad=True)
    y = x * x
    y.mul_(x)  # y = x^3
    loss = y.sum()
    (g,) = cr.autograd.grad(loss, x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * X ** 2, rtol=1e-13)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * X, rtol=1e-13)
    x.grad = None
    z = x * 2
    z.add_(x).relu_()
    s = (z * z).sum()
    s.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    s.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-13)
    with pytest.raises(RuntimeError, match="already freed"):
        s.backward()


def test_a_node_that_read_the_old_values_reaches_them_through_the_stand_in():
    # As PyTorch (whose MulBackward by a constant reads nothing): z's gradient reaches the y it
    # was computed from, not y's new node (which once refused, to never give a wrong number).
    x = cr.tensor(X, requires_grad=True)
    y = x * 3
    z = y * 2
    y.exp_()
    z.sum().backward(retain_graph=True)  # the two share x * 3's node
    np.testing.assert_allclose(x.grad.numpy(), np.full(X.shape, 6.0))
    x.grad = None
    y.sum().backward()  # the changed tensor's own graph is right
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.exp(3 * X), rtol=1e-13)


def test_a_value_computed_from_the_tensor_refuses_backward_unless_cloned():
    # Stricter than PyTorch: the value's ops read the tensor, which then changed; never a wrong
    # number. Out of place it is right.
    x = cr.tensor(X, requires_grad=True)
    y = x * 3
    y.mul_(y[0])
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()
    x.grad = None  # (a refused walk may have delivered part of a gradient)
    y = x * 3
    y.mul_(y[0].clone())  # clone's backward reads nothing: PyTorch's gradient
    y.sum().backward()
    cloned = x.grad.numpy().copy()
    x.grad = None
    y = x * 3
    y = y * y[0]
    y.sum().backward()
    want = np.tile(9 * X[0], (3, 1))
    want[0] += 9 * X.sum(axis=0)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-13)
    np.testing.assert_allclose(cloned, want, rtol=1e-13)


def test_a_value_from_a_reduction_of_the_tensor_is_right():
    # y.sum() read y before div_ changed it: Sum reaches the stand-in's copy (PyTorch agrees).
    def fn(x):
        y = x * 3
        return y.div_(y.sum())

    assert gradcheck(fn, (cr.tensor(X, requires_grad=True),))


def test_a_view_made_before_the_change_follows_it_as_pytorchs():
    x = cr.tensor(X, requires_grad=True)
    y = x * 3
    row = y[0]  # made before the change: rebuilt on y's new version, as PyTorch's view
    flat = y.reshape(-1)
    y.exp_()
    np.testing.assert_allclose(row.detach().numpy(), np.exp(3 * X[0]))  # one memory
    for view in (row, flat):
        x.grad = None
        (view * 1.0).sum().backward(retain_graph=True)
        np.testing.assert_allclose(x.grad.numpy()[0], 3 * np.exp(3 * X[0]), rtol=1e-13)
    assert np.allclose(x.grad.numpy()[1:], 3 * np.exp(3 * X[1:]), rtol=1e-13)
    x.grad = None
    y[0].sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0], 3 * np.exp(3 * X[0]), rtol=1e-13)
    assert not x.grad.numpy()[1:].any()


def test_refusals():
    w = cr.tensor(W, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
        w.relu_()
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
        w += 1.0  # as in PyTorch; no silent rebinding
    with pytest.raises(RuntimeError, match="view of a leaf that requires grad"):
        w[0].mul_(2.0)
    with pytest.raises(RuntimeError, match="view of a leaf that requires grad"):
        w[:2] += 1.0
    y = w * 2
    with pytest.raises(RuntimeError, match=r"result has shape \(2, 3, 4\).*shape \(3, 4\)"):
        y.add_(cr.ones(2, 3, 4, dtype="float64"))
    y.sum().backward()  # the failed change left the graph as it was
    np.testing.assert_allclose(w.grad.numpy(), np.full(W.shape, 2.0))
    with pytest.raises(RuntimeError, match="one memory location"):
        (w * 1.0).reshape(1, 3, 4).expand(2, 3, 4).mul_(2.0)
    buf = cr.zeros(3, 4, dtype="float64")
    view = buf[:2]
    with pytest.raises(RuntimeError, match="shares its memory"):
        buf.add_(w)  # a constant buffer whose view lives: the view would not see the gradient
    assert w._version == 0 and buf._version == 0
    view.add_(w[:2])  # through the buffer, which then carries it (views.owner_of), as PyTorch
    assert buf.requires_grad and buf._version == 1
    with cr.no_grad():  # under no_grad: plain in place, identity kept
        w += 1.0
    np.testing.assert_allclose(w.detach().numpy(), W + 1.0)


def test_hooks_and_retain_grad_follow_pytorch():
    x = cr.tensor(X, requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))  # the old values' gradient
    y.retain_grad()
    y.mul_(3.0)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * 6 * X, rtol=1e-13)  # the new values'
    np.testing.assert_allclose(seen[0], 3 * 2 * 6 * X, rtol=1e-13)
    np.testing.assert_allclose(x.grad.numpy(), 72 * X, rtol=1e-13)


def test_trace_refuses_a_model_that_changes_a_tensor_in_place():
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3, rng=np.random.default_rng(0))

        def forward(self, x):
            h = self.lin(x)
            h.relu_()
            return h * 2

    model = InPlace().eval()
    with pytest.raises(TraceError, match="relu_ changes a tensor in place"):
        cr.trace(model, cr.ones(2, 4))
    fast = cr.trace(nn.Sequential(nn.Linear(4, 3), nn.ReLU(inplace=True)).eval(), cr.ones(2, 4))
    assert fast(cr.ones(2, 4)).shape == (2, 3)
