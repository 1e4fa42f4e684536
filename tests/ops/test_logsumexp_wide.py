"""float32 ``logsumexp`` over many terms sums in float64 and rounds once: along a leading axis
NumPy's float32 sum adds the rows one at a time, and 3e5 rows were 3e-5 relative off where
PyTorch's is near float32's resolution. Checked against a float64 reference and torch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck

pytestmark = pytest.mark.kernel_free


@pytest.mark.parametrize("shape, dim", [((300000, 2), 0), ((100000, 3), 0), ((2000, 2, 50), 0),
                                        ((2, 100000), 1), ((100000,), 0), ((1000, 100), None)])
def test_float32_many_terms_near_float64(shape, dim):
    torch = pytest.importorskip("torch")
    x = (3 * np.random.default_rng(0).standard_normal(shape)).astype(np.float32)
    axes = dim if dim is not None else tuple(range(len(shape)))
    ref = np.log(np.exp(x.astype(np.float64)).sum(axis=axes))
    ours = cr.logsumexp(cr.tensor(x), axes)
    theirs = torch.logsumexp(torch.tensor(x), axes).numpy()
    assert ours.dtype == np.float32
    ours_err = np.abs(ours.numpy() / ref - 1).max()
    assert ours_err < 2e-7  # within a couple of float32 roundings, as PyTorch's
    assert ours_err <= 2 * np.abs(theirs / ref - 1).max() + 1e-7


def test_complex64_many_terms():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((70000, 2)) + 1j * rng.standard_normal((70000, 2))).astype(
        np.complex64)
    ref = np.log(np.exp(x.astype(np.complex128)).sum(axis=0))
    ours = cr.logsumexp(cr.tensor(x), 0)
    assert ours.dtype == np.complex64
    np.testing.assert_allclose(ours.numpy(), ref, rtol=2e-7)


def test_edge_values_kept():
    x = np.full((70000, 3), -np.inf, dtype=np.float32)
    x[5, 1] = np.inf
    x[:, 2] = np.float32(80.0)  # exp overflows float32 unshifted
    out = cr.logsumexp(cr.tensor(x), 0).numpy()
    assert out[0] == -np.inf and out[1] == np.inf
    np.testing.assert_allclose(out[2], 80 + np.log(70000), rtol=1e-7)


def test_small_and_float64_unchanged_and_gradient():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(cr.logsumexp(cr.tensor(x), 0).numpy(),
                               np.log(np.exp(x).sum(axis=0)), rtol=1e-14)
    t = cr.tensor(x, requires_grad=True)
    assert gradcheck(lambda a: cr.logsumexp(a, 0), (t,))
