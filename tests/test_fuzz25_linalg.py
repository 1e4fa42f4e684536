"""Fuzz wave 25: torch.linalg corners against PyTorch 2.13 (lstsq's drivers)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _lstsq_pair(a, b, **kw):
    t = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), **kw)
    c = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b), **kw)
    return t, c


def test_lstsq_gels_ignores_rcond_and_gives_residuals():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    t, c = _lstsq_pair(a, b, rcond=0.5, driver="gels")  # gels is a QR: rcond plays no part
    np.testing.assert_allclose(c.solution.numpy(), t.solution.numpy(), rtol=1e-10)
    np.testing.assert_allclose(c.residuals.numpy(), t.residuals.numpy(), rtol=1e-10)
    assert tuple(c.rank.shape) == tuple(t.rank.shape) == (0,)
    a[:, 2] = a[:, 0]  # rank-deficient: gels still reports residuals
    t, c = _lstsq_pair(a, b, driver="gels")
    assert tuple(c.residuals.shape) == tuple(t.residuals.shape) == (2,)
    error = a @ c.solution.numpy() - b  # PyTorch's solution there is LAPACK's garbage
    np.testing.assert_allclose(c.residuals.numpy(), (error ** 2).sum(0), rtol=1e-10)
