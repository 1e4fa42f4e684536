"""Eighteenth fuzz wave, utils.checkpoint: a block's output Tensors nested in tuples, lists and
dicts (a dict, a tuple of tuples, a namedtuple) carry their gradient to the block's inputs as in
PyTorch (they had kept the first pass's detached graph: the inputs' gradient was silently
missing), and an output with no Tensor at all (None, a number) passes through as PyTorch's."""

import collections

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
import chainrule.utils.checkpoint as cck  # noqa: E402

_Pair = collections.namedtuple("_Pair", "t tag")
rng = np.random.default_rng(18)
X, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))


def _block(a, w):
    h = (a @ w).tanh()
    return [h * 2, ((a.sin(), 1),), {"k": _Pair(h.sum() * a, "tag"), "none": None}]


def _loss(out):
    return out[0].sum() + out[1][0][0].pow(2).sum() + out[2]["k"].t.sum()


def _grads(lib, checkpoint, reentrant):
    x = lib.tensor(X, requires_grad=True)
    w = lib.tensor(W, requires_grad=True)
    if checkpoint is None:  # PyTorch's plain block: what its checkpoint(use_reentrant=False) gives
        out = _block(x, w)  # (calling it here would import torch._dynamo, seconds of CPU)
    else:
        out = checkpoint(lambda a: _block(a, w), x, use_reentrant=reentrant)
    assert isinstance(out[2]["k"], _Pair) and out[2]["k"].tag == "tag" and out[2]["none"] is None
    assert out[1][0][1] == 1
    _loss(out).backward()
    return x.grad.numpy(), w.grad.numpy()


def test_nested_outputs_carry_the_gradient_to_the_inputs_as_pytorchs():
    want = _grads(torch, None, False)  # PyTorch's reentrant form drops nested outputs
    for reentrant in (False, True):
        got = _grads(cr, cck.checkpoint, reentrant)
        for g, t in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(g), t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("value", [3, None, "text"])
@pytest.mark.parametrize("reentrant", [False, True])
def test_an_output_without_tensors_passes_through_as_pytorchs(value, reentrant):
    # torch.utils.checkpoint returns such a value in both forms (not called here: its first
    # call imports torch._dynamo, seconds of CPU); chainrule raised a TypeError
    x = cr.tensor(X, requires_grad=True)
    assert cck.checkpoint(lambda a: value, x, use_reentrant=reentrant) == value
