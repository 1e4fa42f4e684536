"""Differential checks of ``chainrule.nn.utils`` against PyTorch 2.13: the cases the other tests of
clipping, packing, parametrizations, pruning and fusion leave out."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import utils as cu

torch = pytest.importorskip("torch")


def _pair(grads, dtype="float64"):
    """The same parameters with the given gradients (None: no gradient) in both libraries."""
    theirs, ours = [], []
    for g in grads:
        shape = (2,) if g is None else np.shape(g)
        t = torch.zeros(shape, dtype=getattr(torch, dtype), requires_grad=True)
        c = cr.zeros(*shape, dtype=getattr(cr, dtype), requires_grad=True)
        if g is not None:
            t.grad = torch.tensor(np.asarray(g, dtype=dtype))
            c.grad = cr.tensor(np.asarray(g, dtype=dtype))
        theirs.append(t)
        ours.append(c)
    return theirs, ours


_GRADS = [
    [[3.0, 0.0, -4.0], [[1.0, 2.0], [0.5, -0.25]]],
    [[3.0, 0.0, -4.0], None],
    [[0.0, 0.0], [1.5, -2.0]],
]


@pytest.mark.parametrize("norm_type", [0, 0.5, -1.0, -2.5, -math.inf, "-inf", float("nan")])
@pytest.mark.parametrize("grads", _GRADS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_norm_of_zero_and_negative_orders(norm_type, grads, dtype):
    # PyTorch takes any order torch.linalg.vector_norm does (0 counts nonzeros, -inf is the
    # smallest magnitude); chainrule refused norm_type <= 0
    theirs, ours = _pair(grads, dtype)
    tn = float("-inf") if norm_type == "-inf" else norm_type
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type=tn)
    total = cu.clip_grad_norm_(ours, 0.7, norm_type=norm_type)
    assert str(total.dtype).endswith(str(expected.dtype).split(".")[-1])
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-6, equal_nan=True)
    for t, c in zip(theirs, ours):
        if t.grad is None:
            assert c.grad is None
            continue
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-6, equal_nan=True)
    got = cu.get_total_norm([c.grad for c in ours if c.grad is not None], norm_type)
    want = torch.nn.utils.get_total_norm([t.grad for t in theirs if t.grad is not None], tn)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("norm_type", [math.inf, -math.inf, -0.5])
def test_norms_without_identity_of_an_empty_gradient_are_refused(norm_type):
    theirs, ours = _pair([np.zeros(0), [1.0, 2.0]])
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    with pytest.raises(RuntimeError, match="empty"):
        cu.clip_grad_norm_(ours, 1.0, norm_type=norm_type)


@pytest.mark.parametrize("norm_type", [0, 0.5, 2.0])
def test_empty_gradient_has_norm_zero(norm_type):
    theirs, ours = _pair([np.zeros(0), [1.0, 2.0]])
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    np.testing.assert_allclose(cu.clip_grad_norm_(ours, 1.0, norm_type=norm_type).numpy(),
                               expected.numpy(), rtol=1e-12)


def _load(theirs, ours):
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize(("layer", "args", "name", "x"), [
    ("Embedding", (6, 3), "weight", np.array([[1, 4], [0, 5]])),
    ("GRUCell", (3, 4), "weight_ih", np.linspace(-1.0, 1.0, 6).reshape(2, 3)),
    ("RNNCell", (3, 4), "weight_ih", np.linspace(-1.0, 1.0, 6).reshape(2, 3)),
    ("LSTMCell", (3, 4), "weight_ih", np.linspace(-1.0, 1.0, 6).reshape(2, 3)),
])
@pytest.mark.parametrize("dim", [0, 1])
def test_spectral_norm_power_iteration_runs_once_per_forward(layer, args, name, x, dim):
    # Embedding read its weight twice per forward (and the cells their weight_ih, for the
    # dtype), so spectral_norm's power iteration ran twice in training, where PyTorch runs it once
    torch.manual_seed(0)
    theirs = getattr(torch.nn, layer)(*args).double()
    ours = getattr(cr.nn, layer)(*args, dtype=cr.float64)
    torch.nn.utils.parametrizations.spectral_norm(theirs, name, dim=dim)
    cu.parametrizations.spectral_norm(ours, name, dim=dim)
    _load(theirs, ours)
    for _ in range(2):
        out = theirs(torch.tensor(x))
        got = ours(cr.tensor(x))
        out = out[0] if isinstance(out, tuple) else out
        got = got[0] if isinstance(got, tuple) else got
        np.testing.assert_allclose(got.numpy(), out.detach().numpy(), rtol=1e-10, atol=1e-12)
        out.pow(2).sum().backward()
        (got ** 2).sum().backward()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), atol=1e-12)
    original = getattr(theirs.parametrizations, name).original
    np.testing.assert_allclose(getattr(ours.parametrizations, name).original.grad.numpy(),
                               original.grad.numpy(), rtol=1e-9, atol=1e-12)
