"""diagonal_scatter, select_scatter, slice_scatter, index_copy, index_fill, index_put,
index_reduce and the split spellings against PyTorch (values and gradients, in both kernel
modes), with float64 gradient checks and the errors for bad input."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid, with_rng
from .torch_signature import check_signature

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings(
    "ignore:index_reduce\\(\\) is in beta:UserWarning")]  # PyTorch's own warning

NAMES = ["diagonal_scatter", "select_scatter", "slice_scatter", "index_copy", "index_reduce",
         "unsafe_chunk", "narrow_copy"]


@pytest.mark.parametrize("name", NAMES)
def test_signatures_follow_pytorch(name):
    check_signature(name, getattr(cr, name), getattr(torch, name))


def test_signatures_pytorch_does_not_document():
    for name, theirs in (("index_fill", "index_fill(input, dim, index, value)"),
                         ("index_put", "index_put(input, indices, values, accumulate=False)"),
                         ("split_with_sizes", "split_with_sizes(input, split_sizes, dim=0)"),
                         # the docstring says split_size_or_sections; PyTorch takes split_size
                         ("unsafe_split", "unsafe_split(tensor, split_size, dim=0)")):
        check_signature(name, getattr(cr, name), theirs)


I0, I1 = np.array([2, 0, 3]), np.array([1, 1, 0])
CALLS = {
    "diagonal_scatter": lambda m, x, s: m.diagonal_scatter(x, s[0, :4]),
    "diagonal_scatter-offset": lambda m, x, s: x.diagonal_scatter(s[1, :2], -2, 1, 2)
    if x.ndim == 3 else m.diagonal_scatter(x, s[1, :3], 1, 1, 0),
    "diagonal_scatter-3d": lambda m, x, s: m.diagonal_scatter(
        x.expand(2, 4, 5), s[:2, :4], 0, 1, 2),
    "select_scatter": lambda m, x, s: m.select_scatter(x, s[2, :4], 1, -2),
    "select_scatter-method": lambda m, x, s: x.select_scatter(s[0], 0, 3),
    "slice_scatter": lambda m, x, s: m.slice_scatter(x, s[:2], 0, 1, 4, 2),
    "slice_scatter-dim1": lambda m, x, s: x.slice_scatter(s[:4, :2], dim=1, start=-2),
    "index_copy": lambda m, x, s: m.index_copy(x, 0, m.tensor(I0), s[:3]),
    "index_copy-method": lambda m, x, s: x.index_copy(1, m.tensor(I0[:2]), s[:4, :2]),
    "index_fill": lambda m, x, s: m.index_fill(x, 1, m.tensor(I0), -1.5),
    "index_fill-tensor": lambda m, x, s: x.index_fill(0, m.tensor(I0), s[0, 0]),
    "index_put": lambda m, x, s: m.index_put(x, (m.tensor(I0), m.tensor(I1)), s[0, :3]),
    "index_put-accumulate": lambda m, x, s: x.index_put(
        (m.tensor(I1),), s[:3], accumulate=True),
    "index_put-mask": lambda m, x, s: m.index_put(x, (x.detach() > 0,), s[0, 0]),
    "index_reduce-prod": lambda m, x, s: m.index_reduce(x, 0, m.tensor(I1), s[:3], "prod"),
    "index_reduce-mean": lambda m, x, s: x.index_reduce(1, m.tensor(I0), s[:4, :3], "mean",
                                                        include_self=False),
    "index_reduce-amax": lambda m, x, s: m.index_reduce(x, 0, m.tensor(I0), s[:3], "amax"),
    "split_with_sizes": lambda m, x, s: m.split_with_sizes(x, [1, 3], 0)[1] * 2,
    "unsafe": lambda m, x, s: m.unsafe_split(x, 2, 1)[2] + x.unsafe_chunk(3, 1)[0][:, :1]
    + m.unsafe_split_with_sizes(x, [4, 1], 1)[1],
    "narrow_copy": lambda m, x, s: m.narrow_copy(x, 1, 1, 3) * x.narrow_copy(1, 0, 3),
}


def _matches_pytorch_forward_and_backward_case(rng, name, mode):
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 5))
    x, s = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    with cr.reference_mode() if mode == "reference" else contextlib.nullcontext():
        ours = CALLS[name](cr, x, s)
        theirs = CALLS[name](torch, tx, ts)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-13)
        g = rng.standard_normal(ours.shape)
        ours.backward(cr.tensor(g))
        theirs.backward(torch.tensor(g))
    for v, tv in ((x, tx), (s, ts)):
        want = np.zeros(tv.shape) if tv.grad is None else tv.grad.numpy()
        have = np.zeros(v.shape) if v.grad is None else v.grad.numpy()
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-14)


def test_matches_pytorch_forward_and_backward():
    each_case(with_rng(_matches_pytorch_forward_and_backward_case), grid(
        ("name", list(CALLS)),
        ("mode", ["fast", "reference"]),
    ))


@pytest.mark.parametrize("name", ["diagonal_scatter-offset", "select_scatter", "slice_scatter",
                                  "index_copy", "index_fill-tensor", "index_put",
                                  "index_put-accumulate", "index_reduce-prod"])
def test_gradchecks(rng, name):
    x = cr.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    s = cr.tensor(rng.standard_normal((5, 5)), requires_grad=True)
    assert cr.gradcheck(lambda u, v: CALLS[name](cr, u, v), (x, s))
    assert cr.gradgradcheck(lambda u, v: CALLS[name](cr, u, v), (x, s))


def test_keyword_names_pytorch_accepts(rng):
    """The keywords PyTorch's methods take at run time (some differ from their docstrings)."""
    a = rng.standard_normal((3, 4))
    i = np.array([0, 2])
    for m in (cr, torch):
        x, idx = m.tensor(a), m.tensor(i)
        got = [x.index_copy(0, idx, source=x[:2]), m.unsafe_split(x, split_size=2)[1],
               x.narrow_copy(dim=1, start=1, length=2), x.maximum(other=x * 2),
               x.minimum(other=x * 2), x.divide(other=x + 5, rounding_mode="floor"),
               x.multiply(other=x), x.index_fill(0, idx, value=1.5)]
        if m is cr:
            ours = got
        else:
            for o, t in zip(ours, got, strict=True):
                np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-13)


def test_integer_tensors_and_the_input_is_untouched():
    a = np.arange(12).reshape(3, 4)
    x, tx = cr.tensor(a), torch.tensor(a)
    for ours, theirs in (
            (cr.index_fill(x, 0, cr.tensor([1]), 7), torch.index_fill(tx, 0, torch.tensor([1]), 7)),
            (cr.slice_scatter(x, x[:, ::2] * 0, 1, step=2),
             torch.slice_scatter(tx, tx[:, ::2] * 0, 1, step=2)),
            (cr.index_put(x, (cr.tensor([0, 0]),), cr.tensor(5), True),
             torch.index_put(tx, (torch.tensor([0, 0]),), torch.tensor(5), True))):
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(x.numpy(), a)


def test_bad_inputs_get_clear_errors():
    x = cr.zeros(3, 4)
    with pytest.raises(ValueError, match=r"diagonal_scatter: src must have the shape of the "
                                         r"region it fills, \(3,\), got \(4,\)"):
        cr.diagonal_scatter(x, cr.zeros(4))
    # a src of another dtype is cast, as PyTorch's copy into the slice casts it
    assert cr.select_scatter(x, cr.ones(4, dtype=cr.float64), 0, 0).dtype == cr.float32
    with pytest.raises(IndexError, match="select_scatter: index 3 is out of range"):
        cr.select_scatter(x, cr.zeros(4), 0, 3)
    with pytest.raises(IndexError, match="index_copy: index holds 0..5, out of range for "
                                         "dimension 1 of size 4"):
        cr.index_copy(x, 1, cr.tensor([0, 5]), cr.zeros(3, 2))
    with pytest.raises(ValueError, match="index_reduce: reduce must be 'prod'"):
        cr.index_reduce(x, 0, cr.tensor([0]), cr.zeros(1, 4), "sum")
    with pytest.raises(ValueError, match="index_fill: value must be a number or a 0-d tensor"):
        cr.index_fill(x, 0, cr.tensor([0]), cr.zeros(2))
    with pytest.raises(TypeError, match="index_put: indices must be a tuple of Tensors"):
        cr.index_put(x, [[0, 1]], cr.tensor(1.0))
    with pytest.raises(ValueError, match=r"split: sections \[1, 1\] must be non-negative and "
                                         r"add up to 3"):
        cr.split_with_sizes(x, [1, 1])
    with pytest.raises(ValueError, match="slice_scatter: step must be positive"):
        cr.slice_scatter(x, x, step=0)
