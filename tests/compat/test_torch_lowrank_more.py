"""svd_lowrank, pca_lowrank, histogramdd, nonzero_static and igamma/igammac against PyTorch.

The low-rank factorizations draw their random basis from chainrule's generator, so PyTorch's
factors are reproduced only for matrices of rank <= q: there the singular values, the
reconstruction and the projector U U^T are determined."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import chainrule as cr

from .torch_signature import check_signature

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("name", ["svd_lowrank", "pca_lowrank", "histogramdd",
                                  "nonzero_static", "igamma", "igammac"])
def test_signatures_follow_pytorch(name):
    check_signature(name, getattr(cr, name), getattr(torch, name))


def _low_rank(rng, m, n, r, batch=()):
    return rng.standard_normal(batch + (m, r)) @ rng.standard_normal(batch + (r, n))


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("m, n, q, niter, batch", [(8, 5, 4, 2, ()), (5, 9, 3, 0, ()),
                                                   (6, 6, 6, 1, (2,)), (7, 4, None, None, ())])
def test_svd_lowrank_matches_pytorch_on_low_rank_matrices(rng, m, n, q, niter, batch, mode):
    a = _low_rank(rng, m, n, 3, batch)
    cr.manual_seed(0)
    with cr.reference_mode() if mode == "reference" else contextlib.nullcontext():
        U, S, V = cr.svd_lowrank(cr.tensor(a), q, niter)
    tU, tS, tV = torch.svd_lowrank(torch.tensor(a), q, niter)
    assert U.shape == tuple(tU.shape) and S.shape == tuple(tS.shape) and V.shape == tuple(tV.shape)
    np.testing.assert_allclose(S.numpy()[..., :3], tS.numpy()[..., :3], rtol=1e-10)
    np.testing.assert_allclose((U * S[..., None, :]) @ V.transpose(-2, -1), a, atol=1e-10)
    pu, tpu = U[..., :3] @ U[..., :3].transpose(-2, -1), tU[..., :3] @ tU[..., :3].mT
    np.testing.assert_allclose(pu.numpy(), tpu.numpy(), atol=1e-10)


def test_svd_lowrank_with_mean_and_pca_lowrank_match_pytorch(rng):
    a = _low_rank(rng, 9, 5, 2) + rng.standard_normal(5)
    cr.manual_seed(1)
    mean = cr.tensor(a.mean(0, keepdims=True))
    _, S, _ = cr.svd_lowrank(cr.tensor(a), 3, M=mean)
    _, tS, _ = torch.svd_lowrank(torch.tensor(a), 3, M=torch.tensor(a.mean(0, keepdims=True)))
    np.testing.assert_allclose(S.numpy()[:2], tS.numpy()[:2], rtol=1e-10)
    for center in (True, False):
        U, S, V = cr.pca_lowrank(cr.tensor(a), center=center)
        tU, tS, tV = torch.pca_lowrank(torch.tensor(a), center=center)
        k = 2 if center else 3
        np.testing.assert_allclose(S.numpy()[:k], tS.numpy()[:k], rtol=1e-10)
        assert V.shape == tuple(tV.shape) == (5, 5)
        np.testing.assert_allclose((V[:, :k] @ V[:, :k].T).numpy(),
                                   (tV[:, :k] @ tV[:, :k].T).numpy(), atol=1e-10)


def test_svd_lowrank_gradients(rng):
    """The singular values' gradient is PyTorch's (u_i v_i^T, fixed by the exact subspace), and
    the whole factorization passes the finite-difference checks with the draw held fixed."""
    a = _low_rank(rng, 6, 4, 2)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    cr.svd_lowrank(x, 3)[1][:2].sum().backward()
    torch.svd_lowrank(tx, 3)[1][:2].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-9)

    def f(b):
        cr.manual_seed(0)
        U, S, V = cr.svd_lowrank(b, 3, 1)
        return (U * S[None, :]) @ V.T
    full = cr.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    assert cr.gradcheck(f, (full,))


def test_histogramdd_matches_pytorch(rng):
    pts = rng.standard_normal((40, 3))
    w = rng.random(40)
    calls = [
        lambda m, x, w: m.histogramdd(x, 4),
        lambda m, x, w: m.histogramdd(x, [2, 3, 4], weight=w, density=True),
        lambda m, x, w: m.histogramdd(x, [2, 3, 1], range=[-1.0, 1.0, -2.0, 2.0, 0.0, 1.0]),
        lambda m, x, w: m.histogramdd(x, [m.tensor(e, dtype=m.float64) for e in (
            [-3.0, 0.0, 3.0], [-1.0, 1.0], [-2.0, -1.0, 0.5, 2.0])]),
        lambda m, x, w: m.histogramdd(x[:, :2].reshape(4, 10, 2), 3),
    ]
    for call in calls:
        ours = call(cr, cr.tensor(pts), cr.tensor(w))
        theirs = call(torch, torch.tensor(pts), torch.tensor(w))
        np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-12)
        assert ours.hist.dtype == np.float64
        for e, te in zip(ours.bin_edges, theirs.bin_edges, strict=True):
            np.testing.assert_allclose(e.numpy(), te.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"histogramdd: bins must give one entry per "
                                         r"dimension \(3\), got 2"):
        cr.histogramdd(cr.tensor(pts), [2, 2])
    with pytest.raises(ValueError, match="histogramdd: range must hold 2 \\* 3 numbers"):
        cr.histogramdd(cr.tensor(pts), 2, range=[0.0, 1.0])


def test_nonzero_static_matches_pytorch(rng):
    a = rng.integers(0, 2, (3, 4))
    for size, fill in ((0, -1), (3, -1), (20, 7), (int(a.sum()), -1)):
        ours = cr.nonzero_static(cr.tensor(a), size=size, fill_value=fill)
        theirs = torch.nonzero_static(torch.tensor(a), size=size, fill_value=fill)
        assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(cr.tensor(a).nonzero_static(size=2).numpy(),
                                  torch.tensor(a).nonzero_static(size=2).numpy())
    assert cr.nonzero_static(cr.tensor(2.0), size=2).shape == (2, 0)


def test_igamma_is_the_regularized_incomplete_gamma(rng):
    a, x = rng.random(6) * 3 + 0.1, rng.random(6) * 4
    for name in ("igamma", "igammac"):
        ours = getattr(cr, name)(cr.tensor(a), cr.tensor(x))
        theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(x))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
        np.testing.assert_allclose(getattr(cr.tensor(a), name)(cr.tensor(x)).numpy(),
                                   theirs.numpy(), rtol=1e-12)


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="svd_lowrank: A must be floating-point matrices"):
        cr.svd_lowrank(cr.ones(3))
    with pytest.raises(ValueError, match="svd_lowrank: niter must be a nonnegative int"):
        cr.svd_lowrank(cr.ones(3, 3), 2, -1)
    with pytest.raises(ValueError, match=r"pca_lowrank: q\(=4\) must be non-negative integer "
                                         r"and not greater than min\(m, n\)=3"):
        cr.pca_lowrank(cr.ones(3, 5), 4)
    with pytest.raises(ValueError, match="nonzero_static: size must be a nonnegative int"):
        cr.nonzero_static(cr.ones(3), size=-1)
