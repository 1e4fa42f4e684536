"""The three Laplace structures against one GGN built by PyTorch, and the evidence against scipy.

For a 3-4-3 tanh MLP (float64) the full generalized Gauss-Newton matrix ``sum_n J_n^T Lambda_n
J_n`` comes from ``torch.autograd.functional.jacobian`` (``Lambda = diag(p) - p p^T`` for a
softmax, ``I / sigma^2`` for a Gaussian). Where they must agree: ``DiagonalLaplace.ggn`` is its
diagonal; ``LastLayerLaplace`` is its last-layer block, with the prior, the covariance and the
probit predictive by hand; ``KFACLaplace`` fitted on one example is that example's blocks.
Bayesian linear regression: ``linear_evidence`` is the Gaussian log density (by Cholesky) of
``t`` under ``N(0, phi phi^T / alpha + I / beta)``, and MacKay's fixed point is a stationary point
of it.
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from chainrule import nn  # noqa: E402
from chainrule.bayes import (  # noqa: E402
    DiagonalLaplace,
    KFACLaplace,
    LastLayerLaplace,
    evidence_fixed_point,
    linear_evidence,
)


def _mlp(rng):
    return nn.Sequential(
        nn.Linear(3, 4, rng=rng, dtype="float64"),
        nn.Tanh(),
        nn.Linear(4, 3, rng=rng, dtype="float64"),
    )


def _torch_ggn(net, x, likelihood, sigma):
    """Jacobian-based GGN (P, P) over [W0, b0, W1, b1] in parameters() order, and the logits."""
    ps = [torch.tensor(p.numpy()) for p in net.parameters()]
    sizes = [p.numel() for p in ps]

    def logits(flat):
        w0, b0, w1, b1 = (q.reshape(p.shape) for q, p in zip(torch.split(flat, sizes), ps))
        return torch.tanh(torch.tensor(x) @ w0.T + b0) @ w1.T + b1

    flat = torch.cat([p.reshape(-1) for p in ps])
    jac = torch.autograd.functional.jacobian(logits, flat).numpy()  # (N, C, P)
    out = logits(flat).numpy()
    if likelihood == "classification":
        p = torch.softmax(torch.tensor(out), 1).numpy()
        lam = np.stack([np.diag(q) - np.outer(q, q) for q in p])
    else:
        lam = np.broadcast_to(np.eye(3) / sigma**2, (len(x), 3, 3))
    return np.einsum("ncp,ncd,ndq->pq", jac, lam, jac), jac, out, sizes


def _rows(sizes, w, b, out, inp):
    """Indices of layer (w, b)'s [W | b] row by row inside the flat parameter vector."""
    w0, b0 = sum(sizes[:w]), sum(sizes[:b])
    return [i for r in range(out) for i in [w0 + r * inp + c for c in range(inp)] + [b0 + r]]


@pytest.mark.parametrize("likelihood", ["classification", "regression"])
def test_diagonal_last_layer_and_kfac_are_parts_of_one_torch_ggn(likelihood):
    rng = np.random.default_rng(0)
    net, x = _mlp(rng), rng.standard_normal((6, 3))
    alpha, sigma = 0.7, 0.6
    opts = {"likelihood": likelihood, "prior_precision": alpha, "sigma_noise": sigma}
    ggn, jac, out, sizes = _torch_ggn(net, x, likelihood, sigma)
    diag = DiagonalLaplace(net, **opts).fit(x)
    np.testing.assert_allclose(
        np.concatenate([g.reshape(-1) for g in diag.ggn]), np.diag(ggn), rtol=1e-10, atol=1e-14
    )
    last = _rows(sizes, 2, 3, 3, 4)
    y = rng.integers(0, 3, 6) if likelihood == "classification" else rng.standard_normal((6, 3))
    la = LastLayerLaplace(net, **opts).fit(x, y)
    block = ggn[np.ix_(last, last)]
    np.testing.assert_allclose(la.ggn, block, rtol=1e-10, atol=1e-14)
    cov = np.linalg.inv(block + alpha * np.eye(len(block)))
    np.testing.assert_allclose(la.covariance, cov, rtol=1e-9, atol=1e-12)
    jl = jac[:, :, last]
    var = np.einsum("ncp,pq,ncq->nc", jl, cov, jl)
    if likelihood == "classification":
        z = out / np.sqrt(1 + math.pi / 8 * var)
        want = np.exp(z - z.max(1, keepdims=True))
        np.testing.assert_allclose(la.predict(x), want / want.sum(1, keepdims=True), rtol=1e-10)
    else:
        mean, v = la.predict(x)
        np.testing.assert_allclose(mean, out, rtol=1e-10)
        np.testing.assert_allclose(v, var + sigma**2, rtol=1e-10)
    one, _, _, _ = _torch_ggn(net, x[:1], likelihood, sigma)
    kfac = KFACLaplace(net, **opts).fit(x[:1])
    for layer, rows in enumerate([_rows(sizes, 0, 1, 4, 3), last]):
        b, a = kfac.factors[layer]
        np.testing.assert_allclose(np.kron(b, a), one[np.ix_(rows, rows)], rtol=1e-9, atol=1e-13)


def test_linear_evidence_is_the_gaussian_density_and_the_fixed_point_is_stationary():
    rng = np.random.default_rng(1)
    phi = np.c_[rng.standard_normal((15, 3)), np.ones(15)]
    t = phi @ rng.normal(0, 0.5, 4) + rng.normal(0, 0.2, 15)
    for alpha, beta in ((0.3, 20.0), (4.0, 2.5)):
        cov = phi @ phi.T / alpha + np.eye(15) / beta
        chol = np.linalg.cholesky(cov)  # log N(t | 0, cov) by its Cholesky factor
        z = np.linalg.solve(chol, t)
        want = -0.5 * z @ z - np.log(np.diag(chol)).sum() - 7.5 * math.log(2 * math.pi)
        assert linear_evidence(phi, t, alpha, beta)["log_evidence"] == pytest.approx(
            want, rel=1e-12
        )
    fp = evidence_fixed_point(phi, t, tol=1e-14, iters=2000)

    def ev(log_a, log_b):
        return linear_evidence(phi, t, math.exp(log_a), math.exp(log_b))["log_evidence"]

    h, la, lb = 1e-5, math.log(fp["alpha"]), math.log(fp["beta"])
    assert abs(ev(la + h, lb) - ev(la - h, lb)) / (2 * h) < 1e-7
    assert abs(ev(la, lb + h) - ev(la, lb - h)) / (2 * h) < 1e-7
    assert ev(la, lb) > max(ev(la + 0.1, lb), ev(la - 0.1, lb), ev(la, lb + 0.1), ev(la, lb - 0.1))


def test_a_fixed_point_not_reached_within_iters_is_reported():
    # a slow case (170 steps): after 20 alpha is 7% short of the fixed point, and nothing told
    # the last iterate from the fixed point (iters == the limit either way); where alpha grows
    # without bound (another seed) 100,000 steps returned alpha ~1e162 as a fixed point
    rng = np.random.default_rng(19)
    phi = rng.standard_normal((12, 3))
    t = phi @ rng.standard_normal(3) * 0.15 + rng.standard_normal(12)
    with pytest.warns(RuntimeWarning, match=r"no fixed point within iters=20 .*raise iters"):
        short = evidence_fixed_point(phi, t, iters=20)
    full = evidence_fixed_point(phi, t, iters=1000)
    assert not short["converged"] and full["converged"] and 20 < full["iters"] < 1000
    assert abs(short["alpha"] / full["alpha"] - 1) > 0.05
