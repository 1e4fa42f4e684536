"""torch.nn.grad (also F.grad): conv1d/2d/3d_input and _weight, the gradients of a convolution
given its output's gradient, against PyTorch and against the convolution's own backward pass,
with strides, padding, dilation and groups; differentiable again (gradcheck in float64)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.autograd.gradcheck import gradcheck

torch = pytest.importorskip("torch")

CASES = [  # nd, N, C_in, C_out, spatial, kernel, stride, padding, dilation, groups
    (1, 2, 4, 6, (9,), (3,), 2, 1, 1, 2),
    (2, 2, 3, 4, (7, 6), (3, 2), 1, 0, 1, 1),
    (2, 1, 4, 4, (8, 7), (3, 3), (2, 3), (1, 2), (1, 2), 4),
    (2, 2, 2, 6, (9, 9), (2, 2), 3, 0, 2, 2),
    (3, 1, 2, 4, (5, 6, 4), (2, 3, 2), (1, 2, 1), (1, 0, 1), 1, 2),
]


def _arrays(case, seed):
    nd, n, cin, cout, spatial, kernel, stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, *spatial))
    w = rng.standard_normal((cout, cin // groups, *kernel))
    out = torch.nn.functional.__dict__[f"conv{nd}d"](
        torch.tensor(x), torch.tensor(w), None, stride, padding, dilation, groups)
    g = rng.standard_normal(tuple(out.shape))
    return x, w, g, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("case", CASES)
def test_conv_input_and_weight_gradients_match_pytorch_and_the_convolutions_backward(case):
    nd = case[0]
    x, w, g, kw = _arrays(case, 1415 + nd)
    want_x = torch.nn.grad.__dict__[f"conv{nd}d_input"](x.shape, torch.tensor(w),
                                                        torch.tensor(g), **kw)
    want_w = torch.nn.grad.__dict__[f"conv{nd}d_weight"](torch.tensor(x), w.shape,
                                                         torch.tensor(g), **kw)
    got_x = getattr(cr.nn.grad, f"conv{nd}d_input")(x.shape, cr.tensor(w), cr.tensor(g), **kw)
    got_w = getattr(F.grad, f"conv{nd}d_weight")(cr.tensor(x), w.shape, cr.tensor(g), **kw)
    np.testing.assert_allclose(got_x.numpy(), want_x.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_w.numpy(), want_w.numpy(), rtol=1e-10, atol=1e-12)
    assert not got_x.requires_grad and not got_w.requires_grad
    # the same as the convolution's own backward pass
    xt, wt = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    conv = getattr(F, f"conv{nd}d")
    conv(xt, wt, None, **kw).backward(cr.tensor(g))
    np.testing.assert_allclose(got_x.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_w.numpy(), wt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [CASES[0], CASES[2]])
def test_conv_gradients_are_differentiable_again(case):
    nd = case[0]
    x, w, g, kw = _arrays(case, 1420 + nd)
    grad_input = getattr(cr.nn.grad, f"conv{nd}d_input")
    grad_weight = getattr(cr.nn.grad, f"conv{nd}d_weight")
    wt, gt = cr.tensor(w, requires_grad=True), cr.tensor(g, requires_grad=True)
    xt = cr.tensor(x, requires_grad=True)
    assert gradcheck(lambda w_, g_: grad_input(x.shape, w_, g_, **kw), (wt, gt))
    assert gradcheck(lambda x_, g_: grad_weight(x_, w.shape, g_, **kw), (xt, gt))
    # and the result records a graph exactly when an argument requires grad (not under no_grad)
    assert grad_input(x.shape, wt, cr.tensor(g), **kw).requires_grad
    with cr.no_grad():
        assert not grad_weight(xt, w.shape, gt, **kw).requires_grad


def test_conv_gradient_arguments_are_checked():
    x, w, g, kw = _arrays(CASES[1], 1425)
    with pytest.raises(ValueError, match=r"conv2d_input: input_size must be the full shape"):
        cr.nn.grad.conv2d_input(x.shape[2:], cr.tensor(w), cr.tensor(g))
    with pytest.raises(ValueError, match=r"conv2d_input: grad_output of shape \(2, 4, 5, 5\) is "
                                         r"not the output"):
        cr.nn.grad.conv2d_input((2, 3, 9, 9), cr.tensor(w), cr.tensor(g))
    with pytest.raises(ValueError, match=r"conv2d_weight: grad_output has shape"):
        cr.nn.grad.conv2d_weight(cr.tensor(x), (4, 3, 2, 2), cr.tensor(g))
    with pytest.raises(ValueError, match=r"conv2d_weight: input must be a 4-D tensor, got shape"):
        cr.nn.grad.conv2d_weight(cr.tensor(x[0]), w.shape, cr.tensor(g))
    with pytest.raises(ValueError, match=r"conv1d_input: stride must be an int >= 1"):
        cr.nn.grad.conv1d_input((1, 1, 5), cr.ones(1, 1, 2), cr.ones(1, 1, 4), stride=0)
