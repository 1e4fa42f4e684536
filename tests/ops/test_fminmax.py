"""fmax/fmin, Tensor.unfold (ops/fminmax.py) and Tensor.detach_ (autograd/tensor.py): forward
and backward against PyTorch (float64; NaN, ties, broadcasting, overlapping windows), gradcheck,
and the errors."""

import numpy as np
import pytest

import chainrule as cr

NAN = np.nan
A = np.array([[1.0, NAN, 3.0, NAN, 2.0, -1.5], [0.5, 4.0, NAN, -2.0, 7.0, 7.0]])
B = np.array([0.0, 2.0, NAN, NAN, 2.0, 7.0])  # broadcast over A's rows; ties and double NaN

UNFOLDS = [((2, 7), (1, 3, 2)), ((2, 7), (-1, 2, 1)), ((5, 2, 3), (0, 2, 3)),
           ((4,), (0, 4, 1)), ((4,), (0, 0, 2)), ((), (0, 1, 1)), ((3, 4), (0, 1, 5))]


def _backward_pair(ours, theirs, y, u, seed=0):
    w = np.random.default_rng(seed).standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * __import__("torch").tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-15, atol=0)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_match_pytorch(name):
    torch = pytest.importorskip("torch")
    for a, b in ((A, B), (B, A)):
        ours = [cr.tensor(v, requires_grad=True) for v in (a, b)]
        theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
        y, u = getattr(cr, name)(*ours), getattr(torch, name)(*theirs)
        np.testing.assert_array_equal(y.numpy(), u.detach().numpy())
        np.testing.assert_array_equal(getattr(ours[0], name)(ours[1]).numpy(), y.numpy())
        _backward_pair(ours, theirs, y, u)
    ints = [np.array([1, 5, -3]), np.array([3, 2, -3])]
    np.testing.assert_array_equal(getattr(cr, name)(*map(cr.tensor, ints)).numpy(),
                                  getattr(torch, name)(*map(torch.tensor, ints)).numpy())


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_gradcheck(name):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)  # no ties: a smooth point
    xs = [cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)]
    assert cr.gradcheck(getattr(cr, name), xs)
    assert cr.gradgradcheck(getattr(cr, name), xs)


@pytest.mark.kernel_free
def test_fmax_errors():
    with pytest.raises(TypeError, match="other must be a Tensor, got float"):
        cr.fmax(cr.ones(2), 1.0)
    with pytest.raises(ValueError, match=r"fmin: shapes \(2,\) and \(3,\) cannot be broadcast"):
        cr.fmin(cr.ones(2), cr.ones(3))


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("shape,args", UNFOLDS)
def test_unfold_matches_pytorch(shape, args):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(len(shape)).standard_normal(shape)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, u = ours.unfold(*args), theirs.unfold(*args)
    assert y.shape == tuple(u.shape)
    np.testing.assert_array_equal(y.numpy(), u.detach().numpy())
    _backward_pair([ours], [theirs], y, u)


@pytest.mark.kernel_free
def test_unfold_gradcheck_and_overlapping_windows_are_read_only():
    x = cr.tensor(np.random.default_rng(2).standard_normal((3, 8)), requires_grad=True)
    assert cr.gradcheck(lambda t: t.unfold(1, 3, 2), [x])
    assert cr.gradgradcheck(lambda t: t.unfold(1, 3, 2) ** 2, [x])
    plain = cr.arange(5.0)
    windows = plain.unfold(0, 2, 1)
    with pytest.raises(RuntimeError, match="unfold"):  # overlapping windows: one element twice
        windows[0, 0] = 9.0
    assert plain[0].item() == 0.0
    copied = cr.unfold_copy(plain, 0, 2, 1)
    copied[0, 0] = 9.0  # unfold_copy is a copy by name: it is written freely
    assert plain[0].item() == 0.0 and copied[0, 0].item() == 9.0


@pytest.mark.kernel_free
def test_unfold_errors():
    x = cr.arange(5.0)
    with pytest.raises(ValueError, match=r"size=6 is larger than dimension 0's size 5"):
        x.unfold(0, 6, 1)
    with pytest.raises(ValueError, match="step=0 must be > 0"):
        x.unfold(0, 2, 0)
    with pytest.raises(ValueError, match="size=-1 must be >= 0"):
        x.unfold(0, -1, 1)
    with pytest.raises(TypeError, match="size must be an int, got 2.0"):
        x.unfold(0, 2.0, 1)
    with pytest.raises((ValueError, IndexError), match="unfold"):
        x.unfold(1, 1, 1)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_detach_in_place_matches_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        leaf = lib.ones(3, requires_grad=True)
        assert leaf.detach_() is leaf
        assert not leaf.requires_grad and leaf.grad_fn is None and leaf.is_leaf
    # after backward (truncated BPTT): the hidden state becomes a leaf without grad
    a = cr.ones(2, requires_grad=True)
    h = a * 2
    (h * 3).sum().backward()
    h.detach_()
    assert not h.requires_grad and h.is_leaf and h.grad_fn is None
    np.testing.assert_array_equal(a.grad.numpy(), [6.0, 6.0])
    (h * a).sum().backward()  # h is now a constant: no gradient reaches it
    assert h.grad is None
    np.testing.assert_array_equal(a.grad.numpy(), [8.0, 8.0])  # 6 + h's values 2


@pytest.mark.kernel_free
def test_detach_in_place_of_a_read_tensor_refuses_the_backward_that_reaches_it():
    # PyTorch's earlier readers keep their edge to the cut tensor's graph; chainrule's reach it
    # through the tensor, so the gradient that arrives there is refused, not dropped
    a = cr.ones(2, requires_grad=True)
    h = a * 2
    y = (h * 3).sum()
    h.detach_()
    assert not h.requires_grad and h.grad_fn is None
    with pytest.raises(RuntimeError, match=r"backward: a gradient reached a tensor \(shape "
                                           r"\(2,\)\) that detach_\(\) cut"):
        y.backward()


@pytest.mark.torch
def test_detach_in_place_of_an_unread_rnn_state_before_backward_matches_pytorch():
    # d2l's train_epoch_ch8: state.detach_() of an nn.GRU's h_n, which no loss read, so its
    # graph never ran backward (chainrule refused this before)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 2, 3))
    weights = {k: v.detach().numpy().copy()
               for k, v in cr.nn.GRU(3, 5, 2).double().state_dict().items()}
    grads = {}
    for lib in (cr, torch):
        gru = lib.nn.GRU(3, 5, 2).double()
        gru.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
        state = None
        for _ in range(3):
            if state is not None:
                assert state.detach_() is state
                assert not state.requires_grad and state.is_leaf and state.grad_fn is None
            out, state = gru(lib.tensor(x), state)
            gru.zero_grad()
            out.sum().backward()
        grads[lib] = [p.grad.numpy().copy() for p in gru.parameters()]
    for ours, theirs in zip(grads[cr], grads[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
