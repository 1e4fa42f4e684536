"""linalg.ldl_factor / ldl_factor_ex / ldl_solve against PyTorch's (LAPACK's sytrf/sytrs): the
same packed factors and pivots, 1x1 and 2x2 blocks, solutions, singular matrices, batches, and
clear errors; no gradient, as in PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

L = cr.linalg


def _symmetric(rng, shape, kind):
    a = rng.standard_normal(shape)
    if kind == "zero diagonal":  # forces 2x2 blocks
        a[..., np.arange(shape[-1]), np.arange(shape[-1])] = 0
    elif kind == "sparse":
        a = a * (rng.random(shape) < 0.4)
    return a + np.swapaxes(a, -1, -2)


@pytest.mark.torch
@pytest.mark.parametrize("n", [1, 2, 3, 6, 10])
@pytest.mark.parametrize("kind", ["dense", "zero diagonal", "sparse"])
def test_factors_and_solutions_match_torch(n, kind, rng):
    torch = pytest.importorskip("torch")
    a = _symmetric(rng, (4, n, n), kind)
    ld, pivots, info = L.ldl_factor_ex(cr.tensor(a))
    tld, tpivots, tinfo = torch.linalg.ldl_factor_ex(torch.tensor(a))
    np.testing.assert_array_equal(pivots.numpy(), tpivots.numpy())
    np.testing.assert_array_equal(info.numpy(), tinfo.numpy())
    assert pivots.dtype == np.int32 and info.dtype == np.int32 and ld.shape == (4, n, n)
    np.testing.assert_allclose(ld.numpy(), tld.numpy(), rtol=1e-11, atol=1e-12)
    ok = info.numpy() == 0
    b = rng.standard_normal((4, n, 3))
    x = L.ldl_solve(ld[ok], pivots[ok], cr.tensor(b[ok])).numpy()
    tx = torch.linalg.ldl_solve(tld[ok], tpivots[ok], torch.tensor(b[ok])).numpy()
    np.testing.assert_allclose(x, tx, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a[ok] @ x, b[ok], rtol=1e-8, atol=1e-8)


@pytest.mark.torch
def test_two_by_two_blocks_lower_triangle_only_and_float32():
    torch = pytest.importorskip("torch")
    a = np.array([[0.0, 1, 2], [1, 0, 3], [2, 3, 0]])
    ld, pivots = L.ldl_factor(cr.tensor(a))
    assert pivots.tolist() == [-3, -3, 3]  # a 2x2 block swapped with row 3, then a 1x1
    np.testing.assert_allclose(ld.numpy(), [[0, 0, 0], [2, 0, 0], [1.5, 0.5, -3]], atol=1e-15)
    lopsided = np.array([[1.0, 5.0], [7.0, 2.0]], dtype=np.float32)  # only 7 is read
    ours = L.ldl_factor(cr.tensor(lopsided), hermitian=True)
    theirs = torch.linalg.ldl_factor(torch.tensor(lopsided), hermitian=True)
    assert ours.LD.dtype == np.float32
    np.testing.assert_allclose(ours.LD.numpy(), theirs.LD.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())


@pytest.mark.torch
def test_singular_matrices():
    torch = pytest.importorskip("torch")
    for a in (np.zeros((3, 3)), np.array([[1.0, 2.0], [2.0, 4.0]])):
        ours = L.ldl_factor_ex(cr.tensor(a))
        theirs = torch.linalg.ldl_factor_ex(torch.tensor(a))
        assert int(ours.info) == int(theirs.info) > 0
        np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
        np.testing.assert_allclose(ours.LD.numpy(), theirs.LD.numpy(), atol=1e-15)
        with pytest.raises(ValueError, match=r"ldl_factor: D's block at step \d is zero: the "
                                             r"matrix is singular"):
            L.ldl_factor(cr.tensor(a))
        with pytest.raises(ValueError, match="ldl_factor_ex: D's block"):
            L.ldl_factor_ex(cr.tensor(a), check_errors=True)


def test_batches_broadcast_and_empty_ones(rng):
    a = _symmetric(rng, (2, 1, 4, 4), "zero diagonal")
    ld, pivots = L.ldl_factor(cr.tensor(a))
    b = rng.standard_normal((3, 4, 2))
    x = L.ldl_solve(ld, pivots, cr.tensor(b))  # batch (2, 1) with (3,): (2, 3)
    assert x.shape == (2, 3, 4, 2)
    np.testing.assert_allclose(a @ x.numpy(), np.broadcast_to(b, (2, 3, 4, 2)), atol=1e-10)
    empty = L.ldl_factor_ex(cr.zeros(0, 3, 3, dtype=cr.float64))
    assert empty.LD.shape == (0, 3, 3) and empty.pivots.shape == (0, 3) and empty.info.shape == (0,)
    none = L.ldl_factor(cr.zeros(0, 0, dtype=cr.float64))
    assert none.LD.shape == (0, 0) and none.pivots.shape == (0,)
    assert L.ldl_solve(empty.LD, empty.pivots, cr.zeros(0, 3, 1, dtype=cr.float64)).shape == (
        0, 3, 1)


def test_no_gradient_as_in_torch(rng):
    a = cr.tensor(_symmetric(rng, (3, 3), "dense"), requires_grad=True)
    ld, pivots = L.ldl_factor(a)
    with pytest.raises(NotImplementedError, match="ldl_factor: the gradient is not implemented"):
        ld.sum().backward()
    b = cr.tensor(rng.standard_normal((3, 1)), requires_grad=True)
    x = L.ldl_solve(ld.detach(), pivots, b)
    with pytest.raises(NotImplementedError, match="ldl_solve: the gradient is not implemented"):
        x.sum().backward()


def test_bad_arguments_are_named(rng):
    with pytest.raises(ValueError, match=r"ldl_factor_ex: A must be square matrices .* got "
                                         r"shape \(2, 3\)"):
        L.ldl_factor(cr.zeros(2, 3))
    with pytest.raises(TypeError, match="A must be floating point or complex, got dtype int64"):
        L.ldl_factor(cr.zeros(2, 2, dtype=cr.int64))
    with pytest.raises(TypeError, match="hermitian must be a bool, got 1"):
        L.ldl_factor(cr.eye(2), hermitian=1)
    ld, pivots = L.ldl_factor(cr.eye(3, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"ldl_solve: B must be \(\*, 3, k\) .* got \(3,\)"):
        L.ldl_solve(ld, pivots, cr.ones(3, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"pivots must be an integer Tensor of shape \(3,\)"):
        L.ldl_solve(ld, pivots[:2], cr.ones(3, 1, dtype=cr.float64))
    with pytest.raises(ValueError, match=r"pivots must lie in \[-3, -1\] or \[1, 3\], got "
                                         r"\[0, 1, 2\]"):
        L.ldl_solve(ld, cr.tensor(np.array([0, 1, 2], np.int32)), cr.ones(3, 1,
                                                                          dtype=cr.float64))
    with pytest.raises(ValueError, match=r"batch shapes of LD \(2, 3, 3\) and B \(4, 3, 1\)"):
        L.ldl_solve(ld.expand(2, 3, 3), pivots.expand(2, 3), cr.ones(4, 3, 1, dtype=cr.float64))
    with pytest.raises(TypeError, match="B's dtype float32 differs from LD's float64"):
        L.ldl_solve(ld, pivots, cr.ones(3, 1))
