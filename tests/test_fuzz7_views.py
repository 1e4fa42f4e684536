"""Regressions found by differential fuzzing against PyTorch (helper fuzz7): views and writes."""

import numpy as np
import pytest

import chainrule as cr


def test_one_element_of_a_tensor_is_a_view_that_writes_through():
    # NumPy hands out a scalar copy for x[1]; PyTorch's x[1] is a 0-d view of x
    t = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    t[1].fill_(5.0)
    u = t[2]
    u += 10.0
    m = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    m[0][1].mul_(3.0)
    m[1, 0].zero_()
    assert t.tolist() == [1.0, 5.0, 13.0]
    assert m.tolist() == [[1.0, 6.0], [0.0, 4.0]]
    assert t[1].shape == () and t[1].dtype == cr.float64


def test_write_into_one_element_of_an_op_output_is_recorded():
    v = cr.tensor([0.5, -1.0, 2.0], dtype=cr.float64, requires_grad=True)
    w = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)
    y = v.sin()
    y[1].mul_(w)
    y[0][...].fill_(0.25)
    (y * cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)).sum().backward()
    sin = np.sin([0.5, -1.0, 2.0])
    np.testing.assert_allclose(y.detach().numpy(), [0.25, 3.0 * sin[1], sin[2]], rtol=1e-15)
    np.testing.assert_allclose(v.grad.numpy(), [0.0, 2.0 * 3.0 * np.cos(-1.0), 3.0 * np.cos(2.0)],
                               rtol=1e-14)
    np.testing.assert_allclose(w.grad.numpy(), 2.0 * sin[1], rtol=1e-14)


@pytest.mark.torch
def test_writes_into_single_elements_match_pytorch():
    torch = pytest.importorskip("torch")
    got = {}
    for m in (torch, cr):
        v = m.tensor([1.0, 2.0, 3.0, 4.0], dtype=m.float64, requires_grad=True)
        w = m.tensor(1.5, dtype=m.float64, requires_grad=True)
        y = v.exp() * 1
        y[::2][1].add_(w)           # a 0-d view of a strided view
        r = y[3]
        r *= w
        y.pow(2).sum().backward()
        got[m.__name__] = (y.detach().numpy(), v.grad.numpy(), w.grad.numpy())
    for a, b in zip(got["torch"], got["chainrule"]):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=0)


@pytest.mark.torch
def test_fractional_max_pool3d_refuses_an_exactly_filling_output_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 1, 5, 6, 6))
    s = np.full((1, 1, 3), 0.5)
    with pytest.raises(RuntimeError, match="too large"):  # 4 + 2 - 1 == 5: PyTorch refuses in 3-D
        torch.nn.functional.fractional_max_pool3d(torch.tensor(x), 2, output_size=(4, 3, 3),
                                                  _random_samples=torch.tensor(s))
    with pytest.raises(ValueError, match="pool time 2 too large relative to input time 5"):
        cr.nn.functional.fractional_max_pool3d(cr.tensor(x), 2, output_size=(4, 3, 3),
                                               _random_samples=cr.tensor(s))
    t = torch.nn.functional.fractional_max_pool3d(torch.tensor(x), 2, output_size=(3, 3, 3),
                                                  _random_samples=torch.tensor(s))
    c = cr.nn.functional.fractional_max_pool3d(cr.tensor(x), 2, output_size=(3, 3, 3),
                                               _random_samples=cr.tensor(s))
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    x2 = np.random.default_rng(1).standard_normal((1, 1, 5, 5))  # 2-D allows the exact fit
    t2 = torch.nn.functional.fractional_max_pool2d(torch.tensor(x2), 2, output_size=4,
                                                   _random_samples=torch.tensor(s[..., :2]))
    c2 = cr.nn.functional.fractional_max_pool2d(cr.tensor(x2), 2, output_size=4,
                                                _random_samples=cr.tensor(s[..., :2]))
    np.testing.assert_array_equal(c2.numpy(), t2.numpy())


def test_contiguous_of_a_view_in_another_order_is_a_copy():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=cr.float64)
    y = x.t().contiguous()
    y[0, 0] = 5.0
    z = x[:, 0].contiguous()
    z.mul_(10.0)
    e = x[0].expand(2, 2).contiguous()
    e[0, 0] = 9.0  # an expanded view was read-only memory
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]  # writes into the results did not reach x
    assert y.tolist() == [[5.0, 3.0], [2.0, 4.0]] and z.tolist() == [10.0, 30.0]
    assert e.tolist() == [[9.0, 2.0], [1.0, 2.0]]
    assert x.contiguous() is x and x.is_contiguous()
    assert not x.t().is_contiguous() and not x[0].expand(2, 2).is_contiguous()
    assert x.t().contiguous().is_contiguous()


def test_contiguous_copy_passes_gradients():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=cr.float64, requires_grad=True)
    y = (x * 1).t().contiguous()
    y[0].mul_(3.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 1.0, 1.0], [3.0, 1.0, 1.0]])
