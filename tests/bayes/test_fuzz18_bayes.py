"""Wave-18 checks of chainrule.bayes against exact answers: the Laplace approximations of a
linear-Gaussian model (exact there, Bishop PRML 3.5), a softmax-regression Hessian against
torch.autograd.functional.hessian, Bayes by Backprop's KL against torch.distributions; and
regression targets that gave a NaN or a wrong evidence silently."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

from chainrule import Tensor, bayes, nn, no_grad  # noqa: E402

N, D, C = 12, 3, 2


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D))
    return x, np.c_[x, np.ones(N)], rng.standard_normal((N, C))


def _linear(weight, bias):
    net = nn.Sequential(nn.Linear(weight.shape[1], weight.shape[0], dtype="float64"))
    with no_grad():
        net[0].weight.copy_(Tensor(np.ascontiguousarray(weight)))
        net[0].bias.copy_(Tensor(np.ascontiguousarray(bias)))
    return net


def test_laplace_of_a_linear_gaussian_model_is_the_exact_posterior_and_evidence():
    x, phi, y = _data()
    alpha, sigma = 0.7, 0.5
    cov = np.linalg.inv(alpha * np.eye(D + 1) + phi.T @ phi / sigma**2)
    mean = cov @ phi.T @ y / sigma**2  # (D + 1, C), the exact posterior mean per output
    net = _linear(mean[:D].T, mean[D])
    kw = dict(likelihood="regression", prior_precision=alpha, sigma_noise=sigma)
    la = bayes.LastLayerLaplace(net, **kw).fit(x, y)
    np.testing.assert_allclose(la.covariance, np.kron(np.eye(C), cov), atol=1e-12)
    exact = sum(
        bayes.linear_evidence(phi, y[:, c], alpha, sigma**-2)["log_evidence"] for c in range(C)
    )
    assert la.log_marginal_likelihood(x, y) == pytest.approx(exact, rel=1e-12)
    _, var = la.predict(x[:4])
    hand = np.einsum("nd,de,ne->n", phi[:4], cov, phi[:4])[:, None] + sigma**2
    np.testing.assert_allclose(var, np.repeat(hand, C, 1), rtol=1e-12)
    kfac = bayes.KFACLaplace(net, **kw).fit(x)  # B = I / sigma^2 for every example: exact
    np.testing.assert_allclose(kfac.covariance(0), np.kron(np.eye(C), cov), atol=1e-12)
    diag = bayes.DiagonalLaplace(net, **kw).fit(x)
    h = np.diag(phi.T @ phi) / sigma**2
    np.testing.assert_allclose(diag.ggn[0], np.tile(h[:D], (C, 1)), rtol=1e-12)
    np.testing.assert_allclose(diag.ggn[1], np.full(C, h[D]), rtol=1e-12)


def test_softmax_regression_ggn_is_torchs_hessian_and_diag_laplace_its_diagonal():
    x, phi, _ = _data(1)
    labels = np.random.default_rng(1).integers(0, 3, N)
    rng = np.random.default_rng(2)
    net = _linear(rng.standard_normal((3, D)), rng.standard_normal(3))
    la = bayes.LastLayerLaplace(net, prior_precision=0.5).fit(x, labels)
    flat = torch.tensor(np.c_[net[0].weight._data, net[0].bias._data].reshape(-1))

    def loss(w):
        logits = torch.tensor(phi) @ w.reshape(3, D + 1).T
        return torch.nn.functional.cross_entropy(logits, torch.tensor(labels), reduction="sum")

    hess = torch.autograd.functional.hessian(loss, flat).numpy()
    np.testing.assert_allclose(la.ggn, hess, atol=1e-12)
    diag = bayes.DiagonalLaplace(net).fit(x)
    np.testing.assert_allclose(
        np.c_[diag.ggn[0], diag.ggn[1]].reshape(-1), np.diag(hess), atol=1e-12
    )


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_bayes_by_backprop_kl_and_its_gradients_are_torchs_gaussian_kl(dtype, tol):
    layer = nn.BayesianLinear(3, 2, prior_sigma=0.3, rng=np.random.default_rng(0), dtype=dtype)
    with no_grad():
        layer.weight_rho.copy_(
            Tensor(np.random.default_rng(1).standard_normal((2, 3)).astype(dtype))
        )
    layer.kl().backward()
    ours = [layer.weight_mu, layer.weight_rho, layer.bias_mu, layer.bias_rho]
    theirs = [torch.tensor(p._data, dtype=torch.float64, requires_grad=True) for p in ours]
    normal, kl = torch.distributions.Normal, torch.distributions.kl_divergence
    prior = normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.3, dtype=torch.float64))
    total = sum(
        kl(normal(m, torch.nn.functional.softplus(r)), prior).sum()
        for m, r in (theirs[:2], theirs[2:])
    )
    total.backward()
    assert float(layer.kl().item()) == pytest.approx(total.item(), rel=tol)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad._data, t.grad.numpy(), rtol=tol, atol=tol)


def test_regression_evidence_refuses_non_finite_complex_and_transposed_targets():
    x, phi, y = _data()
    la = bayes.LastLayerLaplace(_linear(np.ones((C, D)), np.zeros(C)), likelihood="regression").fit(
        x, y
    )
    bad = y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="log_marginal_likelihood: y must be finite, got 1 NaN"):
        la.log_marginal_likelihood(x, bad)  # was a NaN evidence
    with pytest.raises(ValueError, match="y must hold real numbers, got dtype complex128"):
        la.log_marginal_likelihood(x, y + 1j)  # the imaginary part was dropped with a warning
    with pytest.raises(ValueError, match=r"shape \(12, 2\), got shape \(2, 12\)"):
        la.log_marginal_likelihood(x, y.T)  # was paired with the outputs in the wrong order
    net = _linear(np.ones((1, D)), np.zeros(1))
    t = y[:, :1]
    with pytest.raises(ValueError, match="log_evidence: y must be finite, got 1 NaN"):
        bayes.log_evidence(net, x, bad[:, :1], alpha=1.0, beta=1.0)  # was a NaN evidence
    with pytest.raises(ValueError, match="log_evidence: x must be finite, got 3 NaN"):
        bayes.log_evidence(
            net, np.where(np.isnan(bad[:, :1]), np.nan, x), t, alpha=1.0, beta=1.0
        )  # was a LinAlgError
    with pytest.raises(ValueError, match="log_evidence: y must hold real numbers"):
        bayes.log_evidence(net, x, t + 1j, alpha=1.0, beta=1.0)
    assert (
        bayes.log_evidence(net, x, t[:, 0], alpha=1.0, beta=1.0)["log_evidence"]
        == bayes.log_evidence(net, x, t, alpha=1.0, beta=1.0)["log_evidence"]
    )
    with pytest.raises(ValueError, match="fit_map: y must be finite"):  # trained to NaN weights
        bayes.fit_map(net, x, bad[:, :1], alpha=1.0, beta=1.0, steps=1)
    with pytest.raises(ValueError, match="fit_map: x must be finite"):
        bayes.fit_map(net, np.full((N, D), np.inf), t, alpha=1.0, beta=1.0, steps=1)
    with pytest.raises(ValueError, match=r"alphas\[1\] must be a finite number > 0, got 0"):
        bayes.choose_weight_decay(lambda: net, x, t, [1.0, 0], beta=1.0, steps=1)


def test_hessian_of_unused_parameters_and_constant_gradients_is_zero_as_in_torch():
    w = Tensor(np.array(1.5), requires_grad=True)
    v = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    hess = torch.autograd.functional.hessian
    start = (torch.tensor(1.5, dtype=torch.float64), torch.tensor([0.3, -0.2], dtype=torch.float64))
    for ours, theirs in [
        (lambda: (v * v).sum(), lambda a, b: (b * b).sum()),  # w unused: raised in grad
        (lambda: (v * w).sum(), lambda a, b: (b * a).sum()),
        (lambda: (v * 2).sum() + w, lambda a, b: (b * 2).sum() + a),  # constant gradient: raised
    ]:
        h = hess(theirs, start)
        want = np.block(
            [
                [h[0][0].reshape(1, 1).numpy(), h[0][1].reshape(1, 2).numpy()],
                [h[1][0].reshape(2, 1).numpy(), h[1][1].numpy()],
            ]
        )
        np.testing.assert_array_equal(bayes.hessian(ours, [w, v]), want)
