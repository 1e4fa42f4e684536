"""A decomposition's output changed in place before backward (``q.mul_(2)``, ``u[0] = 0``): the
gradient is the one of the program as written, as for every other op. svd, qr, eigh and eig keep
their outputs for their backward (a second derivative goes through them), and read the changed
tensor, not the values they computed: a silently wrong gradient (51 off for qr of a 4x3 matrix;
noted by the sequence helper). They now read the stand-in the engine keeps for the old values."""

import numpy as np
import pytest

import chainrule as cr

X = np.random.default_rng(0).standard_normal((4, 3))

CASES = {
    "qr_q": lambda x: cr.linalg.qr(x)[0],
    "qr_r": lambda x: cr.linalg.qr(x)[1],
    "svd_u": lambda x: cr.linalg.svd(x, full_matrices=False)[0],
    "svd_s": lambda x: cr.linalg.svd(x, full_matrices=False)[1],
    "svd_vh": lambda x: cr.linalg.svd(x, full_matrices=False)[2],
    "eigh_vectors": lambda x: cr.linalg.eigh(x.T @ x)[1],
    "eigh_values": lambda x: cr.linalg.eigh(x.T @ x)[0],
    "eig_vectors": lambda x: cr.linalg.eig(x[:3]).eigenvectors,
}


def _loss(y):
    return (y * y.conj()).real.sum()


@pytest.mark.parametrize("name", list(CASES))
def test_an_output_changed_in_place_gives_the_programs_gradient(name):
    f = CASES[name]
    x = cr.tensor(X, requires_grad=True)
    want = cr.autograd.grad(_loss(f(x) * 2), x)[0].numpy()
    y = f(x)
    y.mul_(2)
    got = cr.autograd.grad(_loss(y), x)[0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_row_written_into_u_matches_finite_differences():
    def program(x):
        u = cr.linalg.svd(x, full_matrices=False)[0]
        u[0] = 0.0
        return (u * u * cr.tensor(np.arange(12.0).reshape(4, 3))).sum()

    x = cr.tensor(X, requires_grad=True)
    got = cr.autograd.grad(program(x), x)[0].numpy()
    eps, fd = 1e-6, np.zeros_like(X)
    for i in np.ndindex(X.shape):
        d = np.zeros_like(X)
        d[i] = eps
        fd[i] = (program(cr.tensor(X + d)).item() - program(cr.tensor(X - d)).item()) / (2 * eps)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-7)
