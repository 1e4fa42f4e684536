"""einsum with a letter repeated within one operand (a diagonal: "ii->", "bii->b", "ibi->b",
"ijij->ij"): values and gradients against PyTorch (float64), gradcheck and gradgradcheck. Such an
operand is taken along its diagonals first (ops/einsum.py ``_diagonals``)."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

pytestmark = pytest.mark.kernel_free

CASES = {  # equation: operand shapes
    "ii->": [(4, 4)],
    "ii": [(3, 3)],
    "ii->i": [(4, 4)],
    "bii->b": [(2, 3, 3)],
    "ibi->b": [(3, 4, 3)],
    "ibi->ib": [(3, 2, 3)],
    "ij,jj->i": [(3, 4), (4, 4)],
    "bjj,bj->b": [(2, 3, 3), (2, 3)],
    "aaa->a": [(2, 2, 2)],
    "ijij->ij": [(2, 3, 2, 3)],
    "...ii->...i": [(2, 3, 3)],
}


def _einsum_with_a_repeated_index_matches_pytorch_case(equation):
    # a repeated index in an operand that requires grad was a ValueError ("has no gradient in
    # chainrule"); a continuous normalizing flow takes its exact trace by einsum("ibi->b")
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s) for s in CASES[equation]]
    out = {}
    for L in (cr, torch):
        ts = [L.tensor(a, requires_grad=True) for a in arrays]
        y = L.einsum(equation, *ts)
        w = np.cos(np.arange(y.numel()) + 0.5).reshape(tuple(y.shape))
        (y * L.tensor(w)).sum().backward()
        out[L.__name__] = [y.detach().numpy()] + [t.grad.numpy() for t in ts]
    for a, b in zip(out["chainrule"], out["torch"]):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_einsum_with_a_repeated_index_matches_pytorch():
    each_case(_einsum_with_a_repeated_index_matches_pytorch_case, grid(("equation", list(CASES))))


@pytest.mark.parametrize("equation", ["ii->", "ibi->b", "ij,jj->i", "ijij->ij"])
def test_einsum_with_a_repeated_index_gradchecks(equation):
    rng = np.random.default_rng(7)
    ts = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in CASES[equation]]
    assert cr.gradcheck(lambda *a: cr.einsum(equation, *a), ts)
    assert cr.gradgradcheck(lambda *a: cr.einsum(equation, *a) ** 2, ts)


def test_einsum_of_a_diagonal_without_grad_and_a_size_mismatch():
    m = cr.tensor(np.arange(9.0).reshape(3, 3))
    assert cr.einsum("ii->i", m).tolist() == [0.0, 4.0, 8.0]
    assert cr.einsum("ii", m).item() == 12.0
    with pytest.raises(ValueError, match=r"index 'i' has sizes 2 and 3"):
        cr.einsum("ii->i", cr.ones(2, 3, requires_grad=True))
