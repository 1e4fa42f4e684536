"""The Laplace approximation: a Gaussian around the trained weights, curved like the loss.

Near the MAP weights ``w*`` the log posterior is quadratic, so ``p(w | D) ~ N(w*, H^-1)`` with
``H`` the Hessian of the negative log posterior. ``LastLayerLaplace`` does this for the last
linear layer only (the features below it fixed), where the generalized Gauss-Newton matrix
``sum_n J_n^T Lambda_n J_n`` is cheap and, because the outputs are linear in those weights, equal
to the exact Hessian. The predictive integrates the Gaussian over the logits: for regression
exactly, for classification by the probit approximation (MacKay, 1992) or by sampling.
``hessian`` gives the exact Hessian of any scalar function of small parameters with chainrule's
second-order gradients, to check the approximations against.
"""

from __future__ import annotations

import math

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, get_array_module
from ..nn import Linear, Module, Sequential
from ..ops import concat, reshape
from ._checks import (
    check_batch,
    check_int,
    check_labels,
    check_positive,
    check_targets,
    eval_modes,
    resolve_rng,
    restore_modes,
)
from ._state import check_unchanged, model_state
from .calibration import softmax_probs

__all__ = ["hessian", "split_last_layer", "LastLayerLaplace"]

_LIKELIHOODS = ("classification", "regression")


def hessian(fn, params) -> object:
    """The exact Hessian of the scalar ``fn()`` with respect to ``params`` (a list of Tensors).

    Built row by row: one first-order gradient recorded with ``create_graph=True``, then one
    backward pass through it per parameter element, so it suits nets of up to a few thousand
    weights. The parameters are flattened in order and concatenated, as ``(P, P)`` array.
    """
    params = list(params)
    # a parameter fn does not use, or a gradient constant in the parameters, gives zeros (as
    # torch.autograd.functional.hessian does); both raised in grad
    g = grad(fn(), params, create_graph=True, allow_unused=True)
    flat = concat([reshape(gi if gi is not None else 0 * p, (-1,)) for gi, p in zip(g, params)],
                  axis=0)
    xp = get_array_module(flat._data)
    rows = []
    for i in range(flat.shape[0]):
        row = (grad(flat[i], params, retain_graph=True, allow_unused=True)
               if flat.requires_grad else [None] * len(params))
        rows.append(xp.concatenate([
            (r._data if r is not None else 0 * p._data).reshape(-1) for r, p in zip(row, params)]))
    return xp.stack(rows)


def split_last_layer(model: Module):
    """``(features, head)``: a callable for everything before the last Linear, and that Linear.

    The model must be a ``Sequential``, have one as ``model.layers`` (as ``models.MLP`` has), or
    compute ``model.classifier(model.features(x))`` (as ``models.LeNet5`` does), the Sequential
    ending in an ``nn.Linear``.
    """
    prefix = None
    if isinstance(model, Sequential):
        seq = model
    elif isinstance(getattr(model, "layers", None), Sequential):
        seq = model.layers
    elif isinstance(getattr(model, "classifier", None), Sequential) and isinstance(
            getattr(model, "features", None), Module):
        seq, prefix = model.classifier, model.features
    else:
        seq = None
    if seq is None or not len(seq) or not isinstance(seq[-1], Linear):
        raise ValueError("split_last_layer: the model must be a Sequential (or have one as "
                         ".layers, or .features and .classifier) ending in an nn.Linear; got "
                         f"{type(model).__name__} ending in "
                         f"{type(seq[-1]).__name__ if seq is not None and len(seq) else '?'}")
    body = list(seq)[:-1]

    def features(x):
        if prefix is not None:
            x = prefix(x)
        for layer in body:
            x = layer(x)
        return x
    return features, seq[-1]


class LastLayerLaplace:
    """A Gaussian posterior over the last linear layer's weights and bias (Laplace, GGN Hessian).

    Args:
        model: a trained model that ``split_last_layer`` can split.
        likelihood: "classification" (softmax) or "regression" (Gaussian noise ``sigma_noise``).
        prior_precision: ``alpha`` of the Gaussian prior ``N(0, 1/alpha)`` on each weight.
        sigma_noise: the regression noise standard deviation.

    Attributes (after ``fit``):
        mean: the MAP weights ``[W | b]`` flattened row by row (output c's weights, then bias),
        precision, covariance: (P, P) with ``P = C (D + 1)``; ggn: the data part of precision.

    The covariance is a dense (P, P) matrix: cheap for LeNet-5's head (P = 850) or a 64-128-10
    MLP (1,290), slow for a hidden layer of 800 (P = 8,010).
    """

    def __init__(self, model: Module, *, likelihood: str = "classification",
                 prior_precision: float = 1.0, sigma_noise: float = 1.0):
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"LastLayerLaplace: likelihood must be one of {_LIKELIHOODS}, got "
                             f"{likelihood!r}")
        self.model, self.likelihood = model, likelihood
        self._split()
        self.prior_precision = check_positive("LastLayerLaplace", "prior_precision",
                                              prior_precision)
        self.sigma_noise = check_positive("LastLayerLaplace", "sigma_noise", sigma_noise)

    def _split(self) -> None:
        self.features, self.head = split_last_layer(self.model)
        if self.likelihood == "classification" and self.head.out_features < 2:
            raise ValueError("LastLayerLaplace: a softmax classifier needs at least 2 outputs, "
                             f"the last Linear has out_features={self.head.out_features} (its "
                             "GGN would be zero, the posterior the prior)")

    def _phi(self, x, batch_size: int = 1024):
        modes = eval_modes(self.model)
        try:
            with no_grad():
                parts = [asnumpy(self.features(Tensor(x[i:i + batch_size]))._data)
                         for i in range(0, len(x), batch_size)]
        finally:
            restore_modes(modes)
        phi = get_array_module(parts[0]).concatenate(parts).astype("float64")
        if phi.ndim != 2:
            raise ValueError(f"LastLayerLaplace: the last Linear's input must be 2-D (N, "
                             f"features), got shape {phi.shape}")
        if not bool(get_array_module(phi).isfinite(phi).all()):
            raise ValueError("LastLayerLaplace: x must give finite features (the last Linear's "
                             f"input), got {int((~get_array_module(phi).isfinite(phi)).sum())} "
                             "NaN or infinite values (is x finite?)")
        return get_array_module(phi).concatenate([phi, phi[:, :1] * 0 + 1], axis=1)

    def fit(self, x, y) -> LastLayerLaplace:
        """Build the posterior from training inputs ``x`` and targets ``y``; returns self."""
        x = check_batch("LastLayerLaplace.fit", "x", x)
        self._split()  # the model as it is now (layers replaced since __init__ were the old ones)
        phi = self._phi(x)
        xp = get_array_module(phi)
        w = asnumpy(self.head.weight._data).astype("float64")
        b = asnumpy(self.head.bias._data).astype("float64") if self.head.bias is not None else None
        if b is None:
            raise ValueError("LastLayerLaplace: the last Linear must have a bias")
        self.mean = xp.concatenate([w, b[:, None]], axis=1).reshape(-1)
        c, d = w.shape[0], phi.shape[1]
        if self.likelihood == "classification":
            p = softmax_probs(phi @ self.mean.reshape(c, d).T)
            # block (c, e) of the GGN is phi^T diag(Lambda_ce) phi, Lambda = diag(p) - p p^T
            ggn = xp.empty((c, d, c, d))
            for i in range(c):
                for j in range(i, c):
                    lam = (i == j) * p[:, i] - p[:, i] * p[:, j]
                    ggn[i, :, j, :] = (phi * lam[:, None]).T @ phi
                    ggn[j, :, i, :] = ggn[i, :, j, :].T
            ggn = ggn.reshape(c * d, c * d)
        else:
            ggn = xp.kron(xp.eye(c), phi.T @ phi) / self.sigma_noise ** 2
        self.ggn = 0.5 * (ggn + ggn.T)
        self._shape = (c, d)
        self._check_split(x[:16], phi[:16])
        # one eigendecomposition serves every prior precision (set_prior_precision)
        self._eigenvalues, self._eigenvectors = xp.linalg.eigh(self.ggn)
        self._state = model_state(self.model)  # predicting after it changed is refused
        return self.set_prior_precision(self.prior_precision)

    def _check_split(self, x, phi) -> None:
        """The model's output must be ``head(features(x))``: a forward that does more after its
        Sequential (a scale, an offset) would make the posterior one of another function."""
        modes = eval_modes(self.model)
        try:
            with no_grad():
                out = asnumpy(self.model(Tensor(x))._data).astype("float64")
        finally:
            restore_modes(modes)
        c, d = self._shape
        head = phi @ self.mean.reshape(c, d).T
        xp = get_array_module(head)
        dtype = self.head.weight._data.dtype
        # float16's rounding alone (eps 1e-3) was past 1e-4: a float16 model was refused
        tol = 1e-9 if dtype == xp.float64 else max(1e-4, 16 * float(xp.finfo(dtype).eps))
        gap = (float(xp.abs(out - head).max()) if out.shape == head.shape else float("inf"))
        if gap > tol * (1 + float(xp.abs(head).max())):
            raise ValueError(f"LastLayerLaplace: {type(self.model).__name__}'s output (shape "
                             f"{out.shape}) is not its last Linear applied to the layers before "
                             f"it (shape {head.shape}, off by up to {gap:.3g}): does its forward "
                             "do more than its Sequential?")

    def set_prior_precision(self, alpha: float) -> LastLayerLaplace:
        """Change the prior precision of a fitted posterior without building the GGN again."""
        self.prior_precision = check_positive("LastLayerLaplace", "prior_precision", alpha)
        if hasattr(self, "ggn"):
            xp = get_array_module(self.ggn)
            self.precision = self.ggn + self.prior_precision * xp.eye(len(self.ggn))
            v = self._eigenvectors
            self.covariance = (v / (self._eigenvalues + self.prior_precision)) @ v.T
        return self

    def _check_fitted(self, who: str) -> None:
        if not hasattr(self, "covariance"):
            raise RuntimeError(f"LastLayerLaplace.{who}: call fit(x, y) first")
        check_unchanged(f"LastLayerLaplace.{who}", self.model, self._state)

    def logits_distribution(self, x):
        """Mean (N, C) and covariance (N, C, C) of the last layer's outputs under the posterior."""
        self._check_fitted("logits_distribution")
        return self._logits_distribution(x)

    def _logits_distribution(self, x):
        phi = self._phi(check_batch("LastLayerLaplace.logits_distribution", "x", x))
        xp = get_array_module(phi)
        c, d = self._shape
        mean = phi @ self.mean.reshape(c, d).T
        # cov_n[c, e] = phi_n^T Sigma_ce phi_n, in chunks of examples to bound the memory
        by_d = self.covariance.reshape(c, d, c, d).transpose(1, 0, 2, 3).reshape(d, c * c * d)
        cov = xp.empty((len(phi), c, c))
        for i in range(0, len(phi), 256):
            part = phi[i:i + 256]
            cov[i:i + 256] = ((part @ by_d).reshape(-1, c, c, d) * part[:, None, None, :]).sum(-1)
        return mean, cov

    def predict(self, x, *, link: str = "probit", samples: int = 100, rng=None):
        """The predictive distribution.

        Classification: probabilities (N, C), by ``link="probit"`` (``softmax(mu_c /
        sqrt(1 + pi/8 var_c))``) or ``link="mc"`` (``samples`` draws of the logits, averaged
        softmax). Regression: ``(mean, variance)`` with the noise variance included.
        """
        if link not in ("probit", "mc"):
            raise ValueError(f"LastLayerLaplace.predict: link must be 'probit' or 'mc', got "
                             f"{link!r}")
        self._check_fitted("predict")
        if link == "mc":
            check_int("LastLayerLaplace.predict", "samples", samples)
            rng = resolve_rng("LastLayerLaplace.predict", rng)
        mean, cov = self._logits_distribution(x)  # fit checked above
        xp = get_array_module(mean)
        if self.likelihood == "regression":
            return mean, xp.diagonal(cov, axis1=1, axis2=2) + self.sigma_noise ** 2
        if link == "probit":
            var = xp.diagonal(cov, axis1=1, axis2=2)
            return softmax_probs(mean / xp.sqrt(1.0 + math.pi / 8.0 * var))
        chol = xp.linalg.cholesky(cov + 1e-10 * xp.eye(cov.shape[-1]))
        eps = rng.standard_normal((samples, *mean.shape))
        draws = mean[None] + xp.einsum("nce,sne->snc", chol, eps)
        return sum(softmax_probs(s) for s in draws) / samples

    def log_marginal_likelihood(self, x, y) -> float:
        """Laplace's evidence: ``log p(y | x, w*) + log p(w*) + P/2 log 2 pi - 1/2 log |H|``."""
        self._check_fitted("log_marginal_likelihood")
        who = "LastLayerLaplace.log_marginal_likelihood"
        x, y = check_batch(who, "x", x), asnumpy(y)
        c, d = self._shape
        if self.likelihood == "classification":
            if y.shape != (len(x),):
                raise ValueError(f"{who}: y must hold one class index per example, shape "
                                 f"({len(x)},), got {y.shape}")
            y = check_labels(who, y, c, "y")
        else:  # real, finite, (N, C): a NaN or a transposed y gave a NaN or a wrong evidence
            y = check_targets(who, y, (len(x), c))
        phi = self._phi(x)
        xp = get_array_module(phi)
        f = phi @ self.mean.reshape(c, d).T
        if self.likelihood == "classification":
            logp = f - f.max(1, keepdims=True)
            logp = logp - xp.log(xp.exp(logp).sum(1, keepdims=True))
            loglik = float(logp[xp.arange(len(y)), y.astype("int64")].sum())
        else:
            r = f - y.reshape(f.shape)
            s2 = self.sigma_noise ** 2
            loglik = float(-0.5 * (r ** 2).sum() / s2 - 0.5 * r.size * math.log(2 * math.pi * s2))
        p = self.mean.size
        a = self.prior_precision
        logprior = -0.5 * a * float(self.mean @ self.mean) + 0.5 * p * math.log(a / (2 * math.pi))
        logdet = float(xp.log(self._eigenvalues + a).sum())
        return loglik + logprior + 0.5 * p * math.log(2 * math.pi) - 0.5 * float(logdet)
