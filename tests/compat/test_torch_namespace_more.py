"""PyTorch's top-level comparisons, logical, bitwise and alias names against the PyTorch oracle:
values, dtypes, gradients where they have any, signatures, and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid, with_rng
from .torch_signature import check_signature

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


TOP = ["eq", "ne", "gt", "ge", "lt", "le", "greater", "greater_equal", "less", "less_equal",
       "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
       "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
       "divide", "multiply", "subtract", "positive", "arccos", "arcsin", "arctan", "arctan2",
       "concatenate", "moveaxis", "select", "all", "any", "range"]  # broadcast_to: keyword test


def _signatures_follow_pytorch_case(name):
    check_signature(name, getattr(cr, name), getattr(torch, name))


def test_signatures_follow_pytorch():
    each_case(_signatures_follow_pytorch_case, grid(("name", TOP)))


COMPARE = ["eq", "ne", "gt", "ge", "lt", "le", "greater", "greater_equal", "less", "less_equal",
           "not_equal", "logical_and", "logical_or", "logical_xor"]


def _comparisons_and_logical_give_pytorchs_bools_case(rng, name, other):
    a = np.round(rng.standard_normal((3, 4)), 1)
    a[0, :2] = 0.0
    b = {"tensor": np.where(rng.random((3, 4)) < 0.5, a, np.round(rng.standard_normal(4), 1)),
         "scalar": 0.5, "int_tensor": rng.integers(-1, 2, (4,))}[other]
    if name.startswith("logical") and other == "scalar":
        b = np.asarray(b)  # PyTorch's logical ops take Tensors only
    wrap = (lambda m, v: m.tensor(v)) if isinstance(b, np.ndarray) else (lambda m, v: v)
    ours = getattr(cr, name)(cr.tensor(a, requires_grad=True), wrap(cr, b))
    theirs = getattr(torch, name)(torch.tensor(a), wrap(torch, b))
    assert ours.dtype == np.bool_ and not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    if name not in ("eq", "ne", "gt", "ge", "lt", "le", "logical_and", "logical_or",
                    "logical_xor"):
        np.testing.assert_array_equal(getattr(cr.tensor(a), name)(wrap(cr, b)).numpy(),
                                      theirs.numpy())


def test_comparisons_and_logical_give_pytorchs_bools():
    each_case(with_rng(_comparisons_and_logical_give_pytorchs_bools_case), grid(
        ("other", ["tensor", "scalar", "int_tensor"]),
        ("name", COMPARE),
    ))


def test_logical_not_and_all_any(rng):
    a = rng.integers(0, 2, (3, 4)).astype(np.float64)
    for dtype in (np.float64, np.int64, np.bool_, np.uint8):
        x, tx = cr.tensor(a.astype(dtype)), torch.tensor(a.astype(dtype))
        for ours, theirs in ((cr.logical_not(x), torch.logical_not(tx)),
                             (cr.all(x), torch.all(tx)), (cr.any(x, 1), torch.any(tx, 1)),
                             (cr.all(x, 0, True), torch.all(tx, 0, True)),
                             (cr.any(x, dim=1, keepdim=True), torch.any(tx, dim=1, keepdim=True))):
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (dtype, ours)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _bitwise_ops_match_pytorch_case(rng, name, dtype):
    a = rng.integers(0, 60, (2, 5)).astype(dtype)
    b = rng.integers(0, 5, (5,)).astype(dtype)
    if "shift" in name and dtype == "bool":
        with pytest.raises(TypeError, match=f"{name}: not implemented for two bool operands"):
            getattr(cr, name)(cr.tensor(a), cr.tensor(b))
        with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
            getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        return
    for ob, tb in ((cr.tensor(b), torch.tensor(b)), (3, 3)):
        if dtype == "bool" and not isinstance(ob, cr.Tensor):
            continue
        ours = getattr(cr, name)(cr.tensor(a), ob)
        theirs = getattr(torch, name)(torch.tensor(a), tb)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        np.testing.assert_array_equal(getattr(cr.tensor(a), name)(ob).numpy(), theirs.numpy())
    np.testing.assert_array_equal(cr.bitwise_not(cr.tensor(a)).numpy(),
                                  torch.bitwise_not(torch.tensor(a)).numpy())
    np.testing.assert_array_equal(cr.tensor(a).bitwise_not().numpy(),
                                  torch.bitwise_not(torch.tensor(a)).numpy())


def test_bitwise_ops_match_pytorch():
    each_case(with_rng(_bitwise_ops_match_pytorch_case), grid(
        ("dtype", ["int32", "int64", "uint8", "bool"]),
        ("name", ["bitwise_and", "bitwise_or", "bitwise_xor",
                  "bitwise_left_shift", "bitwise_right_shift"]),
    ))


def test_bitwise_refuses_floats():
    with pytest.raises(TypeError, match="needs boolean or integer tensors"):
        cr.bitwise_and(cr.tensor([1.0]), cr.tensor([1.0]))
    with pytest.raises(TypeError, match="bitwise_left_shift: other must be an integer"):
        cr.bitwise_left_shift(cr.tensor([1]), 1.5)


def _grad_pair(rng, *shapes):
    arrays = [rng.standard_normal(s) + 2.0 for s in shapes]
    return ([cr.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _same(ours, theirs, xs, txs, rng):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-13, atol=1e-13)
    g = rng.standard_normal(ours.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    for x, tx in zip(xs, txs, strict=True):
        want = tx.grad.numpy() if tx.grad is not None else np.zeros(tx.shape)
        have = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-13)


def _differentiable_aliases_match_pytorch_case(rng, call):
    (a, b), (ta, tb) = _grad_pair(rng, (3, 4), (4,))
    _same(call(cr, a, b), call(torch, ta, tb), [a, b], [ta, tb], rng)


def test_differentiable_aliases_match_pytorch():
    each_case(with_rng(_differentiable_aliases_match_pytorch_case), grid(
        ("call", [
    lambda m, a, b: m.divide(a, b),
    lambda m, a, b: m.divide(a, b, rounding_mode="trunc"),
    lambda m, a, b: m.divide(a, b, rounding_mode="floor"),
    lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    lambda m, a, b: a.div(b, rounding_mode="trunc"),
    lambda m, a, b: m.multiply(a, b),
    lambda m, a, b: m.subtract(a, b, alpha=2.5),
    lambda m, a, b: m.rsub(a, b, alpha=0.5),
    lambda m, a, b: m.rsub(a, 3.0),
    lambda m, a, b: a.subtract(b).multiply(a).divide(b),
    lambda m, a, b: m.positive(a) * b,
    lambda m, a, b: m.arctan2(a, b) + m.arctan(a) + m.arcsin(b / 9) + m.arccos(a / 9),
    lambda m, a, b: m.concatenate([a, b.expand(3, 4)], 0),
    lambda m, a, b: m.concatenate((a, a), axis=1),
    lambda m, a, b: m.broadcast_to(b, (2, 3, 4)) * m.broadcast_to(a, (-1, 4)),
    lambda m, a, b: m.moveaxis(m.broadcast_to(a, (2, 3, 4)), 0, -1),
    lambda m, a, b: m.select(a, 1, -2).sum() * m.select(a, 0, 1) + a.select(0, 2),
    lambda m, a, b: m.maximum(a, b) + a.maximum(b) - a.minimum(b),
], ["divide", "trunc", "floor", "div-floor", "method-trunc", "multiply", "subtract", "rsub",
        "rsub-scalar", "methods", "positive", "arc", "concatenate", "concatenate-axis",
        "broadcast_to", "moveaxis", "select", "maximum"]),
    ))


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_integer_division_modes_match_pytorch(rng, mode):
    a, b = rng.integers(-9, 10, (4, 5)), rng.integers(1, 4, (5,)) * rng.choice([-1, 1], 5)
    for ob, tb in ((cr.tensor(b), torch.tensor(b)), (-3, -3), (2, 2)):
        ours = cr.divide(cr.tensor(a), ob, rounding_mode=mode)
        theirs = torch.divide(torch.tensor(a), tb, rounding_mode=mode)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")  # float32 for None


def test_range_is_inclusive_with_pytorchs_warning():
    for args in ((1, 4), (0, 1, 0.25), (5, 1, -1.5), (0.5, 2.5)):
        with pytest.warns(UserWarning, match="torch.range is deprecated"):
            ours = cr.range(*args)
        with pytest.warns(UserWarning, match="torch.range is deprecated"):
            theirs = torch.range(*args)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="step 1 does not lead"):
        cr.range(3, 1)


def test_bad_inputs_get_clear_errors():
    x = cr.ones(2, 3)
    with pytest.raises(TypeError, match="eq: input must be a Tensor, got float"):
        cr.eq(1.0, x)
    out = cr.empty(2, 3)  # out= is written, as PyTorch's (ops/out_arg.py)
    assert cr.eq(x, x, out=out) is out and out.tolist() == [[1.0] * 3] * 2
    with pytest.raises(RuntimeError, match="Float can.t be cast to the desired output type Bool"):
        cr.add(x, x, out=cr.empty(2, 3, dtype=cr.bool))
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor'"):
        cr.divide(x, x, rounding_mode="round")
    with pytest.raises(IndexError, match="select: index 3 is out of range for dimension 0"):
        cr.select(x, 0, 3)
    with pytest.raises(TypeError, match="positive: the \\+ operator on a bool tensor"):
        cr.positive(x > 0)
    with pytest.raises(ValueError, match="fewer dimensions"):
        cr.broadcast_to(x, (3,))


def test_detach_and_select_gradcheck(rng):
    x = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert not cr.detach(x).requires_grad
    assert cr.gradcheck(lambda a: cr.select(a, 1, 2).sum() * cr.divide(a, 2.0)[0], x)
    assert cr.gradgradcheck(lambda a: cr.rsub(a, 1.0, alpha=2.0) * a, x)
