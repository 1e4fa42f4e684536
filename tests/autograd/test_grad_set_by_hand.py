"""A ``.grad`` set by hand with another shape: refused at the assignment, as PyTorch refuses it
(backward also refuses to sum into one of another shape, should one get there)."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("shape", [(2,), (3, 1), ()])
def test_a_grad_of_another_shape_is_refused(shape):
    x = cr.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"assign a gradient of size \[.*\] to a tensor of size"):
        x.grad = cr.zeros(shape)  # (2,) would have broadcast the (1,) gradient into itself
    x._grad = cr.zeros(shape)  # past the check: backward refuses it too
    with pytest.raises(RuntimeError, match=r"\.grad has shape .*, the gradient reaching it \(1,\)"):
        (x * 2).sum().backward()


def test_a_grad_of_the_right_shape_accumulates():
    x = cr.ones(2, requires_grad=True)
    x.grad = cr.tensor([1.0, 2.0])
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 5.0])


def test_pytorch_refuses_the_assignment_itself():
    torch = pytest.importorskip("torch")
    x = torch.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match="assign a gradient of size"):
        x.grad = torch.zeros(2)
