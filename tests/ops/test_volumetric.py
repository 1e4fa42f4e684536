"""conv3d and conv_transpose3d: PyTorch parity (float64, values and gradients), gradchecks of
first and second order, and their argument errors. Both kernel modes (tests/ops/conftest.py)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.volumetric import conv3d, conv_transpose3d

CONV = [
    ((2, 4, 5, 6, 5), (6, 4, 3, 2, 3), {}),
    ((2, 4, 5, 6, 5), (6, 4, 3, 2, 3), {"stride": 2, "padding": 1}),
    ((1, 4, 6, 5, 7), (6, 2, 3, 2, 3), {"stride": (2, 1, 2), "padding": (1, 0, 2),
                                        "dilation": (2, 1, 1), "groups": 2}),
    ((1, 2, 5, 6, 5), (3, 2, 2, 3, 2), {"padding": "same", "dilation": (1, 2, 1)}),
    ((1, 2, 4, 4, 4), (3, 2, 2, 2, 2), {"padding": "valid"}),
]
TRANSPOSE = [
    ((2, 4, 3, 4, 3), (4, 3, 3, 2, 3), {}),
    ((1, 4, 3, 4, 3), (4, 3, 3, 2, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 4, 3, 3, 2), (4, 2, 3, 2, 3), {"stride": (2, 1, 3), "padding": (1, 0, 2),
                                        "dilation": (2, 1, 1), "groups": 2,
                                        "output_padding": (1, 0, 2)}),
    ((1, 2, 2, 3, 2), (2, 3, 2, 2, 2), {"stride": 3, "padding": 2, "dilation": 2,
                                        "output_padding": (2, 1, 0)}),
]


def _run_both(ours, theirs, arrays, rng, kwargs):
    torch = pytest.importorskip("torch")
    a = [cr.tensor(v, requires_grad=True) for v in arrays]
    t = [torch.tensor(v, requires_grad=True) for v in arrays]
    y, want = ours(*a, **kwargs), theirs(*t, **kwargs)
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    (y * cr.tensor(g)).sum().backward()
    (want * torch.tensor(g)).sum().backward()
    for i, (p, q) in enumerate(zip(a, t)):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=f"gradient of argument {i}")


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("xs, ws, kwargs", CONV)
def test_conv3d_matches_torch(rng, xs, ws, kwargs):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])]
    _run_both(conv3d, torch.nn.functional.conv3d, arrays, rng, kwargs)


@pytest.mark.torch
@pytest.mark.parametrize("xs, ws, kwargs", TRANSPOSE)
def test_conv_transpose3d_matches_torch(rng, xs, ws, kwargs):
    torch = pytest.importorskip("torch")
    groups = kwargs.get("groups", 1)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws),
              rng.standard_normal(ws[1] * groups)]
    _run_both(conv_transpose3d, torch.nn.functional.conv_transpose3d, arrays, rng, kwargs)


def test_conv3d_without_bias_and_by_hand(rng):
    x = rng.standard_normal((1, 1, 3, 2, 2))
    w = rng.standard_normal((1, 1, 2, 1, 1))
    y = conv3d(cr.tensor(x), cr.tensor(w)).numpy()
    # kernel (2, 1, 1): each output plane is w0 * plane d + w1 * plane d + 1
    want = w[0, 0, 0, 0, 0] * x[:, :, :2] + w[0, 0, 1, 0, 0] * x[:, :, 1:]
    np.testing.assert_allclose(y, want, rtol=1e-14)


@pytest.mark.parametrize("fn, xs, ws, kwargs", [
    (conv3d, (1, 2, 3, 4, 3), (2, 1, 2, 2, 2), {"stride": (2, 1, 1), "padding": 1, "groups": 2}),
    (conv_transpose3d, (1, 2, 2, 2, 3), (2, 1, 2, 2, 2), {"stride": 2, "padding": (1, 0, 0),
                                                          "output_padding": (1, 0, 1)}),
], ids=["conv3d", "conv_transpose3d"])
def test_gradcheck_first_and_second_order(rng, fn, xs, ws, kwargs):
    x = cr.tensor(rng.standard_normal(xs), requires_grad=True)
    w = cr.tensor(rng.standard_normal(ws), requires_grad=True)
    out = ws[0] if fn is conv3d else ws[1] * kwargs.get("groups", 1)
    b = cr.tensor(rng.standard_normal(out), requires_grad=True)
    assert cr.gradcheck(lambda x, w, b: fn(x, w, b, **kwargs), [x, w, b])
    assert cr.gradgradcheck(lambda x, w, b: fn(x, w, b, **kwargs).tanh(), [x, w, b])


@pytest.mark.kernel_free
def test_argument_errors(rng):
    x = cr.tensor(rng.standard_normal((1, 2, 4, 4, 4)))
    w = cr.tensor(rng.standard_normal((3, 2, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"conv3d: input must be 4-D \(C, D, H, W\) or 5-D "
                                         r"\(N, C, D, H, W\), got shape \(4, 4, 4\)"):
        conv3d(cr.tensor(rng.standard_normal((4, 4, 4))), w)
    with pytest.raises(ValueError, match=r"conv3d: weight must be 5-D .*kD, kH, kW.*"
                                         r"\(3, 2, 2, 2\)"):
        conv3d(x, cr.tensor(rng.standard_normal((3, 2, 2, 2))))
    with pytest.raises(ValueError, match=r"conv3d: input has 2 channels but weight expects 4"):
        conv3d(x, cr.tensor(rng.standard_normal((3, 4, 2, 2, 2))))
    with pytest.raises(ValueError, match=r"conv3d: padding='same' needs stride 1"):
        conv3d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv_transpose3d: output_padding"):
        conv_transpose3d(x, cr.tensor(rng.standard_normal((2, 3, 2, 2, 2))), output_padding=1)
    with pytest.raises(ValueError, match=r"conv_transpose3d: input must be 4-D .* or 5-D"):
        conv_transpose3d(cr.tensor(rng.standard_normal((2, 4, 4))), w)
