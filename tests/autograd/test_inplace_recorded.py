"""Recorded in-place writes: ``out[index] = v`` (and ``copy_``) into a fresh buffer, as PyTorch's
CopySlices; everything that could lose the gradient is still refused."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

MODIFIED = "modified by an inplace operation"
LOST = "would be lost"
RNG = np.random.default_rng(7)
MASK = RNG.random((4, 5)) > 0.5
ROWS, COLS = np.array([0, 3, 1]), np.array([4, 0, 2])

# (value shapes, writes): each write is (index maker, which value); the index maker gets a
# function turning a NumPy index array into the library's tensor, so both libraries see one index.
CASES = {
    "slices_2d": ([(2, 3)], [(lambda a: (slice(1, 3), slice(None, None, 2)), 0)]),
    "int": ([(5,)], [(lambda a: 2, 0)]),
    "negative_int": ([(3,)], [(lambda a: (-1, slice(1, 4)), 0)]),
    "ellipsis": ([(4,)], [(lambda a: (Ellipsis, 1), 0)]),
    "none": ([(1, 5)], [(lambda a: (None, 0), 0)]),
    "bool_mask": ([(int(MASK.sum()),)], [(lambda a: a(MASK), 0)]),
    "int_array_rows": ([(3, 5)], [(lambda a: a(np.array([0, 2, 3])), 0)]),
    "int_arrays": ([(3,)], [(lambda a: (a(ROWS), a(COLS)), 0)]),
    "int_beside_array": ([(3,)], [(lambda a: (1, a(np.array([0, 2, 4]))), 0)]),
    "broadcast_row": ([(5,)], [(lambda a: slice(0, 2), 0)]),
    "broadcast_column": ([(4, 1)], [(lambda a: (slice(None), slice(1, 3)), 0)]),
    "broadcast_scalar": ([()], [(lambda a: (slice(None), 1), 0)]),
    "leading_ones": ([(1, 5)], [(lambda a: 3, 0)]),
    "chained": ([(5,), (5,), (4,)],
                [(lambda a: 0, 0), (lambda a: 1, 1), (lambda a: (slice(None), 4), 2)]),
    "overlapping": ([(3, 5), (2, 5), (4,)],
                    [(lambda a: slice(0, 3), 0), (lambda a: slice(2, 4), 1),
                     (lambda a: (slice(None), 0), 2)]),
    "rewrite_same_place": ([(5,), (5,)], [(lambda a: 1, 0), (lambda a: 1, 1)]),
}
ADVANCED = {"bool_mask", "int_array_rows", "int_arrays", "int_beside_array"}


def _run(lib, case, values, buffer_dtype, scale):
    """Fill a zero buffer by the case's writes, return the loss and the buffer."""
    if lib is cr:
        out, arr = cr.zeros(4, 5, dtype=buffer_dtype), cr.tensor
    else:
        out = lib.zeros(4, 5, dtype=getattr(lib, buffer_dtype))
        arr = lib.from_numpy
    for make, which in CASES[case][1]:
        value = values[which] * 1.5  # a recorded op's output, not a leaf
        if lib is not cr and case in ADVANCED:  # torch's index_put wants the buffer's dtype
            value = value.to(out.dtype)  # chainrule casts, as for basic indices
        out[make(arr)] = value
    return ((out * out * arr(scale)).sum(), out)


@pytest.mark.torch
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("buffer_dtype", ["float64", "float32"])
def test_writes_match_torch(case, buffer_dtype):
    torch = pytest.importorskip("torch")
    shapes = CASES[case][0]
    data = [RNG.normal(size=s) for s in shapes]
    scale = RNG.normal(size=(4, 5)).astype(buffer_dtype)
    ours = [cr.tensor(d, requires_grad=True) for d in data]
    theirs = [torch.tensor(d, requires_grad=True) for d in data]
    loss, out = _run(cr, case, ours, buffer_dtype, scale)
    tloss, tout = _run(torch, case, theirs, buffer_dtype, scale)
    loss.backward()
    tloss.backward()
    tol = 1e-12 if buffer_dtype == "float64" else 1e-6
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=0, atol=tol)
    for v, tv in zip(ours, theirs):
        assert v.grad.dtype == np.float64  # the value's own dtype, as torch's
        np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=tol, atol=tol)


def _cell_loop(x, w, u):
    """An RNN filling its outputs' buffer step by step, then a loss of the whole buffer."""
    steps, batch, hidden = x.shape[0], x.shape[1], w.shape[0]
    h = cr.zeros(batch, hidden, dtype="float64")
    out = cr.zeros(steps, batch, hidden, dtype="float64")
    for t in range(steps):
        h = (x[t] @ u + h @ w).tanh()
        out[t] = h
    return out


@pytest.mark.torch
def test_rnn_loop_matches_torch():
    torch = pytest.importorskip("torch")
    x0, w0, u0 = RNG.normal(size=(5, 2, 3)), RNG.normal(size=(4, 4)), RNG.normal(size=(3, 4))
    x, w, u = (cr.tensor(a, requires_grad=True) for a in (x0, w0, u0))
    out = _cell_loop(x, w, u)
    (out.sin() * out).sum().backward()
    tx, tw, tu = (torch.tensor(a, requires_grad=True) for a in (x0, w0, u0))
    h, tout = torch.zeros(2, 4, dtype=torch.float64), torch.zeros(5, 2, 4, dtype=torch.float64)
    for t in range(5):
        h = (tx[t] @ tu + h @ tw).tanh()
        tout[t] = h
    (tout.sin() * tout).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=0, atol=1e-12)
    for ours, theirs in ((x, tx), (w, tw), (u, tu)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_gradcheck_and_gradgradcheck_through_a_loop_of_writes():
    x, w, u = (cr.tensor(RNG.normal(size=s), requires_grad=True)
               for s in ((3, 2, 2), (3, 3), (2, 3)))
    assert gradcheck(_cell_loop, (x, w, u))
    assert gradgradcheck(_cell_loop, (x, w, u))

    def overlapping(a, b):
        out = cr.zeros(3, 4, dtype="float64")
        out[0:2] = a
        out[1:, 1:3] = b  # overwrites part of a's rows
        out[:, 3] = a[0, :3] * b[0, 0]
        return out

    a, b = cr.tensor(RNG.normal(size=(2, 4)), requires_grad=True), \
        cr.tensor(RNG.normal(size=(2, 2)), requires_grad=True)
    assert gradcheck(overlapping, (a, b))
    assert gradgradcheck(overlapping, (a, b))


def test_later_write_wins_and_the_earlier_value_gets_no_gradient_there():
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = cr.tensor(5.0, requires_grad=True)
    out = cr.zeros(3, dtype="float64")
    out[:] = a
    out[1] = b
    out[2] = 0.0  # a constant into a recorded buffer: recorded too, a's gradient stops there
    assert out.tolist() == [1.0, 5.0, 0.0]
    (out * cr.tensor([10.0, 20.0, 30.0], dtype="float64")).sum().backward()
    assert a.grad.tolist() == [10.0, 0.0, 0.0] and b.grad.item() == 20.0


def test_copy_is_recorded_like_a_full_write():
    v = cr.tensor([[1.0, 2.0]], requires_grad=True)
    out = cr.zeros(3, 2, dtype="float64")
    out.copy_(v)  # broadcast to every row
    out[0] = cr.tensor([7.0, 8.0], requires_grad=True)
    (out * out).sum().backward()
    assert v.grad.tolist() == [[4.0, 8.0]]


def test_retain_graph_create_graph_grad_hooks_and_accumulation():
    v = cr.tensor([1.0, 2.0], requires_grad=True)
    out = cr.zeros(2, 2, dtype="float64")
    out[0] = v
    out[1] = v * v
    seen = []
    out.register_hook(lambda g: seen.append(g.numpy().copy()))
    loss = (out ** 2).sum()  # 1*v^2 + v^4: d/dv = 2v + 4v^3
    loss.backward(retain_graph=True)
    assert v.grad.tolist() == [6.0, 36.0] and len(seen) == 1
    loss.backward()  # accumulates
    assert v.grad.tolist() == [12.0, 72.0]
    with pytest.raises(RuntimeError, match="already freed"):
        loss.backward()
    v.grad = None
    out = cr.zeros(2, 2, dtype="float64")
    out[0] = v
    out[1] = v * v
    (g,) = cr.autograd.grad((out ** 2).sum(), [v], create_graph=True)
    assert g.tolist() == [6.0, 36.0] and v.grad is None
    g.sum().backward()  # d/dv (2v + 4v^3) = 2 + 12 v^2
    assert v.grad.tolist() == [14.0, 50.0]


def test_an_op_that_read_the_buffer_before_a_write_refuses_backward():
    v = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    out = cr.zeros(2, 2, dtype="float64")
    early = (out * w).sum()  # read the buffer (no gradient yet)
    out[0] = v
    with pytest.raises(RuntimeError, match=MODIFIED):
        (early + out.sum()).backward()
    out2 = cr.zeros(2, 2, dtype="float64")
    out2[0] = v
    mid = (out2 * out2).sum()  # read after the first write, before the second
    out2[1] = w
    with pytest.raises(RuntimeError, match=MODIFIED):
        (mid + out2.sum()).backward()
    out2.sum().backward()  # the writes' own graph is intact
    assert v.grad.tolist() == [1.0, 1.0] and w.grad.tolist() == [1.0, 1.0]


def test_unsafe_writes_are_still_refused():
    v = cr.tensor([1.0, 2.0], requires_grad=True)
    buf = cr.zeros(3, 2, dtype="float64")
    row = buf[0]  # (a write into row itself goes through buf: views.owner_of, as PyTorch)
    with pytest.raises(RuntimeError, match=f"shares its memory.*{LOST}"):
        buf[1] = v  # an earlier view of buf would not see the gradient
    fresh = cr.zeros(3, dtype="float64")
    with pytest.raises(RuntimeError, match="more than once"):
        fresh[cr.tensor([0, 2, -3])] = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="dtype int64"):
        cr.zeros(2, dtype="int64")[:] = v
    p = cr.nn.Parameter([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        p[0] = v[0]
    assert fresh._version == 0 and buf._version == 0 and v.grad is None
    del row


def test_a_detach_or_data_alias_is_written_as_its_own_tensor_as_in_pytorch():
    """fast_adversarial's ``delta.data[:n] = clamp(delta[:n], lo, hi)``: PyTorch links neither
    alias to its original in the graph, so the write is recorded on the alias (which carries the
    gradient) and the original sees the values only."""
    for make in (lambda t: t.detach(), lambda t: t.data):
        v = cr.tensor([1.0, 2.0], requires_grad=True)
        original = cr.zeros(3, 2, dtype="float64")
        alias = make(original)
        alias[0] = v * 3.0
        assert original.tolist() == [[3.0, 6.0], [0.0, 0.0], [0.0, 0.0]]
        assert not original.requires_grad and original.grad_fn is None
        (alias * cr.tensor([[1.0, 2.0]] * 3, dtype="float64")).sum().backward()
        assert v.grad.tolist() == [3.0, 6.0]
    leaf = cr.zeros(3, 2, dtype="float64", requires_grad=True)
    v = cr.tensor([1.0, 2.0], requires_grad=True)
    leaf.data[:2] = v * 2.0  # the leaf keeps its place: its values changed, its graph not
    assert leaf.grad_fn is None and leaf.tolist()[1] == [2.0, 4.0]


def test_views_made_after_the_writes_carry_the_gradient():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    out = cr.zeros(2, 2, dtype="float64")
    out[0] = a
    out[1] = b
    # views of the written buffer, made after the writes: b0 * a0 + b1 * b0
    (out[1] * out.T[0]).sum().backward(retain_graph=True)
    assert a.grad.tolist() == [3.0, 0.0] and b.grad.tolist() == [1.0 + 4.0, 3.0]
    row = out[0]  # a view made before the next write follows it, as PyTorch's
    out[0] = b  # out requires grad now: recorded
    a.grad = b.grad = None
    (row * 1.0).sum().backward(retain_graph=True)
    assert a.grad.tolist() == [0.0, 0.0] and b.grad.tolist() == [1.0, 1.0]
    a.grad = b.grad = None
    (out * out).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0]  # overwritten: zeros, as in PyTorch
    assert b.grad.tolist() == [2 * 3.0 + 2 * 3.0, 2 * 4.0 + 2 * 4.0]
