"""A node that read a tensor before a recorded in-place change of it reaches the earlier values'
node (autograd/reroute.py), as PyTorch's graph does: ``y[0] = y[0] * 2``, VoxelMorph's
coordinate normalisation ``new_locs[:, i] = 2 * (new_locs[:, i] / (n - 1) - 0.5)``, YOLO-style
``y[..., :2] = y[..., :2] * 2 - 0.5``. Each was a "modified by an inplace operation" error."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.array([[0.3, -0.7, 1.2], [0.5, 0.1, -0.4]])
W = np.array([[1.0, 10.0, 100.0], [-2.0, 3.0, 0.5]])


def _programs():
    def scale_first(L, x):
        y = x * 1.5
        y[0] = y[0] * 2
        return y

    def normalise_columns(L, x):
        y = (x * x).reshape(2, 3)
        for i in range(3):
            y[:, i] = 2 * (y[:, i] / 2 - 0.5) + y[:, (i + 1) % 3]
        return y

    def yolo_decode(L, x):
        y = x * 0.5 + 0.25
        y[..., :2] = y[..., :2] * 2 - 0.5
        y[..., 2:] = (y[..., 2:] * 2) ** 2 * 0.7
        return y

    def after_a_view(L, x):
        y = (x + 1).transpose(0, 1)
        y[1] = y[1] / 3 + y[0]
        return y

    def value_kept(L, x):
        y = x * 3
        z = y * 2  # reads only the constant
        y.sin_()
        return y + z

    return [scale_first, normalise_columns, yolo_decode, after_a_view, value_kept]


@pytest.mark.parametrize("program", _programs(), ids=lambda f: f.__name__)
def test_gradients_match_pytorch_and_gradcheck(program):
    x = cr.tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    out, tout = program(cr, x), program(torch, tx)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    w = W if out.shape == (2, 3) else W.T
    (out * cr.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert cr.gradcheck(lambda a: program(cr, a), [cr.tensor(X, requires_grad=True)])


def test_a_view_made_before_the_change_and_used_after_it_is_rebased_onto_it():
    """PyTorch rebases such a view onto the change, and so does chainrule (view_replay.py); a
    node that read the view before the change keeps its earlier values' graph."""
    x = cr.tensor(X, requires_grad=True)
    y = x * 3
    row = y[0]
    before = row * 2.0  # reads no values for its gradient: rerouted to the earlier row
    y.exp_()
    (row * 1.0 + before).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0], 3 * np.exp(3 * X[0]) + 6.0, rtol=1e-13)
    assert not x.grad.numpy()[1:].any()


def test_a_node_reading_a_shared_memory_stand_in_refuses():
    """A write onto a write keeps no copy of the values between: a node that read them (the
    product's other factor) cannot be given them, so backward refuses."""
    x = cr.tensor(X, requires_grad=True)
    y = x * 1.0
    y[0] = x[1]
    z = y * x  # reads y's values for x's gradient
    y[1] = x[0]
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
