"""Tensor.register_hook: PyTorch's gradient hooks on leaves and intermediate tensors."""

import copy

import numpy as np
import pytest

import chainrule as cr


def _graph(lib, x0):
    """y = sum(h*h) + sum(h) with h = 2x; returns x, h, y."""
    x = lib.tensor(x0, requires_grad=True)
    h = x * 2
    return x, h, (h * h).sum() + h.sum()


def test_leaf_hook_sees_the_whole_gradient_once_and_replaces_it():
    x0 = np.array([1.0, -2.0, 0.5])
    x, h, y = _graph(cr, x0)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 3)
    y.backward()
    expected = 2 * (2 * (2 * x0) + 1)  # dy/dx = 2 (2h + 1), summed over the two uses of h
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], expected)
    np.testing.assert_allclose(x.grad.numpy(), 3 * expected)


def test_intermediate_hook_changes_what_reaches_the_leaves_and_retain_grad():
    x0 = np.array([1.0, -2.0, 0.5])
    x, h, y = _graph(cr, x0)
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    h.retain_grad()
    y.backward()
    dh = 2 * (2 * x0) + 1
    np.testing.assert_allclose(seen[0], dh)
    np.testing.assert_allclose(h.grad.numpy(), 10 * dh)  # retain_grad keeps the hooked one
    np.testing.assert_allclose(x.grad.numpy(), 20 * dh)


def test_hooks_run_in_order_and_a_removed_hook_does_not_run():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    order = []
    first = x.register_hook(lambda g: order.append("a") or g + 1)
    x.register_hook(lambda g: order.append("b") or g * 2)
    (x * 1).sum().backward()
    assert order == ["a", "b"]
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])  # (1 + 1) * 2
    first.remove()
    x.grad = None
    order.clear()
    (x * 1).sum().backward()
    assert order == ["b"]
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    with x.register_hook(lambda g: g * 0):
        pass  # leaving the block removes it
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_grad_returns_the_hooked_gradients_and_leaves_grad_untouched():
    x0 = np.array([1.0, -2.0, 0.5])
    x, h, y = _graph(cr, x0)
    calls = []
    x.register_hook(lambda g: calls.append("x") or g * 3)
    h.register_hook(lambda g: calls.append("h") or g * 10)
    (gh,) = cr.grad(y, [h], retain_graph=True)
    dh = 2 * (2 * x0) + 1
    np.testing.assert_allclose(gh.numpy(), 10 * dh)
    assert calls == ["h"]
    calls.clear()
    (gx,) = cr.grad(y, [x])
    np.testing.assert_allclose(gx.numpy(), 3 * 20 * dh)
    assert calls == ["h", "x"]
    assert x.grad is None


def test_a_returned_tensor_the_caller_keeps_is_copied_into_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    mine = cr.tensor([5.0, 5.0])
    x.register_hook(lambda g: mine)
    (x * 1).sum().backward()
    (x * 1).sum().backward()  # accumulates into x.grad in place
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 10.0])
    np.testing.assert_allclose(mine.numpy(), [5.0, 5.0])


def test_hooks_under_create_graph_are_differentiated():
    x = cr.tensor([1.5, -0.5], dtype="float64", requires_grad=True)
    h = x * x
    h.register_hook(lambda g: g * h)  # a recorded replacement: d/dh becomes h
    (g,) = cr.grad(h.sum(), [x], create_graph=True)  # g = 2x * x^2 = 2x^3
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy() ** 3)
    # The second walk passes h's node again, so the hook multiplies by h again (as PyTorch's):
    # d/dx sum(2x h) = 2h + 2x * (h * 2x) = 2x^2 + 4x^4 (PyTorch: [24.75, 0.75]).
    (gg,) = cr.grad(g.sum(), [x])
    v = x.numpy()
    np.testing.assert_allclose(gg.numpy(), 2 * v**2 + 4 * v**4)


def test_bad_hooks_are_refused_clearly():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="hook must be callable"):
        cr.tensor([1.0], requires_grad=True).register_hook(3)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: cr.ones(3))
    with pytest.raises(RuntimeError, match=r"from shape \(2,\), float32 to shape \(3,\)"):
        h.sum().backward()
    h = x * 2
    h.register_hook(lambda g: 5)
    with pytest.raises(TypeError, match="returned a int; return a Tensor or None"):
        h.sum().backward()


def test_a_copy_of_a_tensor_has_no_hooks():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 100)
    y = copy.deepcopy(x)
    (y * 1).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_grad_cam_style_hook_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 1, 3, 3))
    lin = rng.standard_normal((3, 4 * 6 * 6))
    x0 = rng.standard_normal((2, 1, 8, 8))

    def run(lib, as_tensor):
        conv_w = as_tensor(w)
        conv_w.requires_grad_(True)
        a = lib.nn.functional.conv2d(as_tensor(x0), conv_w).relu()
        saved = []
        a.register_hook(lambda g: saved.append(g) or g * 2)
        logits = a.reshape(2, -1) @ as_tensor(lin).T
        logits[:, 1].sum().backward()
        return saved[0].detach().numpy(), conv_w.grad.numpy()

    ours = run(cr, lambda v: cr.tensor(v))
    theirs = run(torch, lambda v: torch.tensor(v))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
