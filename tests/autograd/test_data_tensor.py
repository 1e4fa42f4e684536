"""``Tensor.data``: PyTorch's Tensor outside the graph sharing the memory, with changes counted."""

import numpy as np
import pytest

import chainrule as cr


def test_data_is_a_tensor_sharing_memory_outside_the_graph():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.data
    assert type(d) is cr.Tensor and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), x.numpy())
    d.mul_(2.0)  # no graph holds x: the change is allowed and seen through x
    assert x.tolist() == [2.0, 4.0, 6.0]
    assert x._version == 1


def test_parameter_data_in_place_methods_write_the_weights():
    layer = cr.nn.Linear(3, 2, rng=np.random.default_rng(0))
    layer.weight.data.normal_(0.0, 0.02, rng=np.random.default_rng(1))
    layer.bias.data.fill_(0.5)
    assert layer.bias.tolist() == [0.5, 0.5]
    assert abs(float(layer.weight.numpy().std()) - 0.02) < 0.02
    before = layer.weight.numpy().copy()
    loss = layer(cr.ones(4, 3)).sum()
    loss.backward()
    with cr.no_grad():
        layer.weight.data.add_(layer.weight.grad, alpha=-0.1)  # the classic manual SGD step
    np.testing.assert_allclose(layer.weight.numpy(), before - 0.1 * layer.weight.grad.numpy())
    layer.weight.data[0] = 1.0
    assert layer.weight.numpy()[0].tolist() == [1.0, 1.0, 1.0]


def test_a_change_through_data_between_forward_and_backward_is_refused():
    w = cr.nn.Parameter(cr.tensor([1.0, 2.0]))
    y = (w * w).sum()
    w.data.add_(1.0)  # PyTorch would silently use the changed values here
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_assigning_data_takes_the_new_values_and_counts():
    w = cr.nn.Parameter(cr.zeros(2))
    new = cr.tensor([3.0, 4.0])
    w.data = new
    assert w.tolist() == [3.0, 4.0] and w._version == 1
    assert np.shares_memory(w.numpy(), new.numpy())
    w.data = np.array([5.0, 6.0], dtype=np.float32)
    assert w.tolist() == [5.0, 6.0] and w._version == 2


def test_the_parameters_own_array_stays_read_only():
    w = cr.nn.Parameter(cr.zeros(2))
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(w)[...] = 1.0


def test_wrapping_data_again_gives_the_values_not_a_nested_tensor():
    x = cr.tensor([[1.0, 5.0], [7.0, 2.0]])
    t = cr.Tensor(x.data)
    assert isinstance(t._data, np.ndarray) and t.tolist() == x.tolist()
    values, indices = cr.max(x.data, 1)  # torch.max(outputs.data, 1), as the tutorials write it
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
