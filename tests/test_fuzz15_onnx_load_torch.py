"""Fuzz wave 15, ONNX loading of what PyTorch's exporter (torch.onnx.export, dynamo=False)
writes for programs that use cross_entropy/nll_loss (SoftmaxCrossEntropyLoss,
NegativeLogLikelihoodLoss), boolean-mask indexing and masked_select (NonZero), nn.Fold at
opset 18+ (Col2Im); and LpNormalization. Each was missing from the loader's table. Values,
input gradients and weight gradients are compared with PyTorch's in float64."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.onnx import load

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import helper  # noqa: E402


def exported(fn, args, opset):
    class Net(torch.nn.Module):
        def forward(self, *xs):
            return fn(*xs)

    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation, tracer notes
        torch.onnx.export(Net(), tuple(args), f, opset_version=opset, dynamo=False)
    return load(f.getvalue())


def agree(fn, args, opset, grad=(0,)):
    """Forward values and the gradients of ``args[i]`` for i in ``grad``, against PyTorch."""
    loaded = exported(fn, args, opset)
    theirs = [a.clone().requires_grad_(i in grad) for i, a in enumerate(args)]
    ours = [cr.tensor(a.numpy(), requires_grad=i in grad) for i, a in enumerate(args)]
    want, got = fn(*theirs), loaded(*ours)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    if grad:
        w = np.random.default_rng(0).standard_normal(tuple(want.shape))
        (want * torch.tensor(w)).sum().backward()
        (got * cr.tensor(w)).sum().backward()
        for i in grad:
            np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(),
                                       rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("opset", [13, 17])
def test_cross_entropy_and_nll_loss(reduction, weighted, opset):
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((4, 5, 2)))
    t = torch.tensor(rng.integers(0, 5, (4, 2)))
    t[0, 1] = 2
    w = torch.tensor(rng.uniform(0.5, 2.0, 5)) if weighted else None
    F = torch.nn.functional
    agree(lambda s, y: F.cross_entropy(s, y, weight=w, reduction=reduction, ignore_index=2),
          [x, t], opset)
    agree(lambda s, y: F.nll_loss(F.log_softmax(s, 1), y, weight=w, reduction=reduction),
          [x[:, :, 0], t[:, 0]], opset)


def test_mask_indexing_and_masked_select():
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.standard_normal((3, 4)))
    agree(lambda a: a[a > 0] * 2, [x], 13)
    agree(lambda a: torch.masked_select(a, a < 0.5).sum().reshape(1), [x], 17)
    agree(lambda a: torch.nonzero(a > 0).float(), [x], 17, grad=())


@pytest.mark.parametrize("opset", [18, 20])
def test_fold_exported_as_col2im(opset):
    rng = np.random.default_rng(3)
    fold = torch.nn.Fold((5, 6), (2, 3), stride=(1, 2), padding=1, dilation=(2, 1))
    cols = torch.tensor(rng.standard_normal((2, 3 * 6, 15)))
    agree(fold, [cols], opset)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("axis", [1, -1, 0])
def test_lp_normalization(p, axis):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 4)) + 3.0
    n = helper.make_node("LpNormalization", ["x"], ["y"], p=p, axis=axis)
    g = helper.make_graph([n], "g", [helper.make_tensor_value_info("x", 11, (3, 4))],
                          [helper.make_tensor_value_info("y", 11, (3, 4))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    loaded = load(m)
    norm = np.linalg.norm(x, ord=p, axis=axis, keepdims=True)
    np.testing.assert_allclose(loaded(x).numpy(), x / norm, rtol=1e-12)
    assert cr.autograd.gradcheck(lambda t: loaded(t), (cr.tensor(x, requires_grad=True),))
