"""multilabel_soft_margin_loss takes integer 0/1 labels, as PyTorch (it refused them); bool
labels are refused by both."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["int64", "int32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_integer_and_bool_labels_match_pytorch(kind, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((5, 4))
    y0 = rng.integers(0, 2, (5, 4)).astype(kind)
    out = {}
    for L in (cr, torch):
        x = L.tensor(x0, requires_grad=True)
        loss = L.nn.MultiLabelSoftMarginLoss(reduction=reduction)(x, L.tensor(y0))
        loss.sum().backward()
        out[L.__name__] = (loss.detach().numpy(), x.grad.numpy())
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_integer_labels_gradcheck():
    y = cr.tensor([[0, 1, 1], [1, 0, 0]])
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(lambda x: cr.nn.functional.multilabel_soft_margin_loss(x, y), (x,))


@pytest.mark.torch
def test_bool_labels_are_refused_as_by_pytorch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="bool tensor is not supported"):
        torch.nn.functional.multilabel_soft_margin_loss(torch.zeros(2, 3), torch.ones(2, 3) > 0)
    with pytest.raises(TypeError, match="target must have a floating-point dtype, got bool"):
        cr.nn.functional.multilabel_soft_margin_loss(cr.zeros(2, 3), cr.ones(2, 3) > 0)
