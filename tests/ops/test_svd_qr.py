"""linalg.svd/svdvals/qr and torch.svd/torch.qr: factorizations, float64 gradients (first and
second order), PyTorch parity on sign-invariant losses, batches, and the refused gradients."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

SHAPES = [(4, 3), (3, 5), (2, 3, 3), (2, 4, 2)]


def _mats(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _assert_orthonormal_columns(x):
    gram = np.swapaxes(x, -1, -2) @ x
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(x.shape[-1]), gram.shape), atol=1e-13)


def _invariant_loss(L, U, S, Vh, k):  # noqa: N803 - the factors' names
    """Independent of the sign pairing of U's columns and Vh's rows."""
    u, vh = U[..., :k], Vh[..., :k, :]
    rebuilt = L.matmul(u * S.unsqueeze(-2), vh)
    return ((rebuilt ** 3).sum() + (2.5 * L.matmul(u, u.transpose(-1, -2))).sin().sum()
            + L.matmul(vh.transpose(-1, -2), vh).cos().sum() + (S ** 2).sum() + (u * u).sum())


@pytest.mark.kernel_free
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_svd_factorizes_with_orthonormal_factors(shape, full):
    a0 = _mats(0, shape)
    U, S, Vh = cr.linalg.svd(cr.tensor(a0), full_matrices=full)  # noqa: N806
    m, n = shape[-2:]
    k = min(m, n)
    assert U.shape == shape[:-2] + ((m, m) if full else (m, k))
    assert Vh.shape == shape[:-2] + ((n, n) if full else (k, n))
    u, s, vh = U.numpy(), S.numpy(), Vh.numpy()
    np.testing.assert_allclose((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], a0, atol=1e-13)
    _assert_orthonormal_columns(u)
    _assert_orthonormal_columns(np.swapaxes(vh, -1, -2))
    assert np.all(np.diff(s, axis=-1) <= 0) and np.all(s > 0)
    np.testing.assert_allclose(cr.linalg.svdvals(cr.tensor(a0)).numpy(), s, rtol=1e-13)


def _qr_factorizes_with_lapacks_signs_case(shape, mode):
    a0 = _mats(1, shape)
    Q, R = cr.linalg.qr(cr.tensor(a0), mode=mode)  # noqa: N806
    m, n = shape[-2:]
    k = min(m, n)
    r = R.numpy()
    assert np.all(np.tril(r, -1) == 0)
    if mode == "r":
        assert Q.shape == (0,) and R.shape == shape[:-2] + (k, n)
        return
    q = Q.numpy()
    assert q.shape == shape[:-2] + ((m, m) if mode == "complete" else (m, k))
    np.testing.assert_allclose(q @ r, a0, atol=1e-13)
    _assert_orthonormal_columns(q)
    # geqrf's Householder convention: R's diagonal is -sign(pivot column's first entry) * norm
    assert np.all(np.sign(r[..., 0, 0]) == -np.sign(a0[..., 0, 0]))


@pytest.mark.kernel_free
def test_qr_factorizes_with_lapacks_signs():
    each_case(_qr_factorizes_with_lapacks_signs_case, grid(
        ("shape", SHAPES),
        ("mode", ["reduced", "complete", "r"]),
    ))


@pytest.mark.parametrize("shape", SHAPES)
def test_svd_gradients(shape):
    a = cr.tensor(_mats(2, shape), requires_grad=True)
    k = min(shape[-2:])

    def f(a):
        return _invariant_loss(cr, *cr.linalg.svd(a, full_matrices=False), k)

    assert cr.gradcheck(f, [a])
    assert cr.gradgradcheck(f, [a])
    assert cr.gradgradcheck(lambda a: cr.linalg.svdvals(a), [a])


@pytest.mark.parametrize("shape", SHAPES)
def test_qr_gradients(shape):
    a = cr.tensor(_mats(3, shape), requires_grad=True)
    rng = np.random.default_rng(4)
    Q, R = cr.linalg.qr(a)  # noqa: N806
    wq, wr = cr.tensor(rng.standard_normal(Q.shape)), cr.tensor(rng.standard_normal(R.shape))

    def f(a):
        q, r = cr.linalg.qr(a)
        return (q * wq).sum() + (r * wr).sum() + (q ** 3).sum()

    assert cr.gradcheck(f, [a])
    assert cr.gradgradcheck(f, [a])


@pytest.mark.torch
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_svd_matches_pytorch(shape, full):
    torch = pytest.importorskip("torch")
    a0 = _mats(5, shape)
    a, t = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    ours, theirs = cr.linalg.svd(a, full), torch.linalg.svd(t, full)
    np.testing.assert_allclose(ours.S.numpy(), theirs.S.detach().numpy(), rtol=1e-12)
    k = min(shape[-2:])  # the first k are equal up to paired signs, the rest any basis
    for x, y in ((ours.U, theirs.U), (ours.Vh.mT, theirs.Vh.mT)):
        np.testing.assert_allclose(np.abs(x.numpy()[..., :k]),
                                   np.abs(y.detach().numpy()[..., :k]), atol=1e-12)
    _invariant_loss(cr, *ours, k).backward()
    _invariant_loss(torch, *theirs, k).backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_svd_old_api_and_svdvals_match_pytorch():
    torch = pytest.importorskip("torch")
    a0 = _mats(6, (2, 5, 3))
    a, t = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    for some in (True, False):
        U, S, V = cr.svd(a, some)  # noqa: N806
        tu, ts, tv = torch.svd(t, some)
        assert (U.shape, V.shape) == (tuple(tu.shape), tuple(tv.shape))
        np.testing.assert_allclose(np.abs(V.numpy()), np.abs(tv.detach().numpy()), atol=1e-12)
        np.testing.assert_allclose((U[..., :3] * S.unsqueeze(-2)).matmul(V.mT).numpy(), a0,
                                   atol=1e-13)
    U, S, V = a.svd(compute_uv=False)  # noqa: N806
    tu, ts, tv = t.svd(compute_uv=False)
    np.testing.assert_array_equal(U.numpy(), tu.numpy())
    np.testing.assert_array_equal(V.numpy(), tv.numpy())
    (S * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    (ts * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    a.grad = None
    t.grad = None
    cr.linalg.svdvals(a).sum().backward()
    torch.linalg.svdvals(t).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["reduced", "complete"])
@pytest.mark.parametrize("shape", SHAPES)
def test_qr_matches_pytorch(shape, mode):
    torch = pytest.importorskip("torch")
    a0 = _mats(7, shape)
    a, t = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    (q, r), (tq, tr) = cr.linalg.qr(a, mode), torch.linalg.qr(t, mode)
    np.testing.assert_allclose(q.numpy(), tq.detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(r.numpy(), tr.detach().numpy(), atol=1e-13)
    if mode == "complete" and shape[-2] > shape[-1]:
        return
    rng = np.random.default_rng(8)
    wq, wr = rng.standard_normal(q.shape), rng.standard_normal(r.shape)
    ((q * cr.tensor(wq)).sum() + (r * cr.tensor(wr)).sum()).backward()
    ((tq * torch.tensor(wq)).sum() + (tr * torch.tensor(wr)).sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    q2, r2 = cr.qr(cr.tensor(a0), some=mode == "reduced")
    np.testing.assert_array_equal(q2.numpy(), q.numpy())
    np.testing.assert_array_equal(cr.tensor(a0).qr(mode == "reduced").R.numpy(), r.numpy())


def test_singular_values_alone_have_a_gradient_where_they_repeat():
    a = cr.eye(3, dtype=cr.float64, requires_grad=True)
    cr.linalg.svdvals(a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.eye(3))  # d tr(A)/dA for A = I
    b = cr.eye(3, dtype=cr.float64, requires_grad=True)
    cr.linalg.svd(b).S.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), np.eye(3))


def test_undefined_gradients_are_refused_clearly():
    a = cr.eye(3, dtype=cr.float64, requires_grad=True)
    with pytest.raises(ValueError, match="not defined for repeated singular values"):
        cr.linalg.svd(a).U.sum().backward()
    tall = cr.tensor(_mats(9, (4, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"columns of U \(or rows of Vh\) past min\(m, n\) = 3"):
        cr.linalg.svd(tall).U.sum().backward()
    with pytest.raises(ValueError, match="mode='r' does not compute"):
        cr.linalg.qr(tall, mode="r").R.sum().backward()
    with pytest.raises(ValueError, match=r"mode='complete' of a tall matrix \(4 > 3 rows\)"):
        cr.linalg.qr(tall, mode="complete").Q.sum().backward()
    rank1 = cr.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]], requires_grad=True)
    with pytest.raises(ValueError, match="non-square matrix is not defined when a singular"):
        (cr.linalg.svd(rank1, False).U ** 3).sum().backward()


@pytest.mark.kernel_free
def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match=r"svd: expected matrices \(\*, m, n\), got shape \(3,\)"):
        cr.linalg.svd(cr.ones(3))
    with pytest.raises(TypeError,
                       match="qr: expected a floating-point or complex Tensor, got dtype int64"):
        cr.linalg.qr(cr.tensor([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match="mode must be 'reduced', 'complete' or 'r', got 'full'"):
        cr.linalg.qr(cr.eye(2), mode="full")
    with pytest.raises(ValueError, match="driver= names a CUDA"):
        cr.linalg.svd(cr.eye(2), driver="gesvd")
    with pytest.raises(TypeError, match="svdvals: expected a Tensor, got ndarray"):
        cr.linalg.svdvals(np.eye(2))
