"""The Kronecker-factored (KFAC) Laplace approximation of a whole network, one block per Linear.

For a Linear layer ``s = W a + b`` write ``a~ = [a, 1]`` and ``W~ = [W | b]``. The Jacobian of the
logits ``f`` with respect to ``W~`` (flattened row by row) is ``g_c (x) a~`` per logit ``c``, with
``g_c = df_c / ds``, so the layer's block of the generalized Gauss-Newton matrix is exactly

    G = sum_n B_n (x) A_n,   B_n = g_n^T Lambda_n g_n (out x out),   A_n = a~_n a~_n^T,

``Lambda_n = diag(p_n) - p_n p_n^T`` for a softmax (``I / sigma^2`` for a Gaussian). KFAC
(Martens & Grosse 2015; Ritter et al. 2018 for Laplace) replaces the sum of products by a product
of sums, ``G ~ (sum_n B_n) (x) (1/N sum_n A_n)``: exact for one example, and for any number of
examples in the bias-by-bias part (where ``A_n = 1``); an approximation otherwise. Layers are
independent of each other (block diagonal). With the prior ``alpha I`` the posterior precision
``B (x) A + alpha I`` is inverted exactly through the eigenvectors of the two factors.

The ``g_n`` come from one backward pass per class for a whole batch (the examples of a batch do
not interact in eval mode), so fitting costs ``C`` backward passes per batch, not per example.
Predictive: the linearized (GLM) logits' mean and covariance with the probit approximation, or
Monte Carlo over sampled weights. Conv2d layers are not covered: they stay at their trained values.
"""

from __future__ import annotations

import math

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, get_array_module
from ..nn import Linear, Module, unfuse
from ..ops import softmax
from ._checks import check_int, check_positive, resolve_rng
from .calibration import softmax_probs

__all__ = ["KFACLaplace"]

_LIKELIHOODS = ("classification", "regression")


class KFACLaplace:
    """A Gaussian posterior over every ``nn.Linear`` of ``model``, Kronecker-factored per layer.

    Args:
        model: a trained Module; fused ``LinearReLU`` layers are unfused in place first (the same
            Parameters and values) so that each Linear's output is its pre-activation.
        likelihood: "classification" (softmax) or "regression" (Gaussian, ``sigma_noise``).
        prior_precision: the prior's ``alpha`` on every weight and bias of the Linear layers.

    Attributes (after ``fit``): ``layers`` (the Linear modules), ``factors`` (one ``(B, A)``
    pair per layer: B (out, out), A (in + 1, in + 1), the GGN block ~ ``kron(B, A)``), ``mean``
    (``[W | b]`` per layer), ``n_data``.
    """

    def __init__(self, model: Module, *, likelihood: str = "classification",
                 prior_precision: float = 1.0, sigma_noise: float = 1.0):
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"KFACLaplace: likelihood must be one of {_LIKELIHOODS}, got "
                             f"{likelihood!r}")
        if not isinstance(model, Module):
            raise ValueError(f"KFACLaplace: model must be a chainrule Module, got "
                             f"{type(model).__name__}")
        self.model, self.likelihood = unfuse(model), likelihood
        layers = [m for m in model.modules() if isinstance(m, Linear)]
        if not layers:
            raise ValueError(f"KFACLaplace: {type(model).__name__} has no nn.Linear layer")
        self._weights = [m.weight for m in layers]
        self._bias = [m.bias is not None for m in layers]
        self.prior_precision = check_positive("KFACLaplace", "prior_precision", prior_precision)
        self.sigma_noise = check_positive("KFACLaplace", "sigma_noise", sigma_noise)

    @property
    def layers(self) -> list:
        """The model's Linear layers, unfused (a ``Trainer`` made since may have fused them again:
        a fused layer holds the same Parameters, so each is found by its weight)."""
        unfuse(self.model)
        by_weight = {id(m.weight): m for m in self.model.modules() if isinstance(m, Linear)}
        if any(id(w) not in by_weight for w in self._weights):
            raise ValueError("KFACLaplace: the model's Linear layers changed since it was made")
        return [by_weight[id(w)] for w in self._weights]

    def _capture(self, x):
        """Logits of ``x`` with each Linear's (input, output) Tensors, recorded for ``grad``."""
        seen: dict = {}
        layers = self.layers

        def keep(index):
            return lambda mod, args, out: seen.setdefault(index, []).append((args[0], out))
        hooks = [m.register_forward_hook(keep(i)) for i, m in enumerate(layers)]
        try:
            out = self.model(Tensor(x))
        finally:
            for h in hooks:
                h.remove()
        if sorted(len(v) for v in seen.values()) != [1] * len(layers):
            raise ValueError(f"KFACLaplace: each of the {len(layers)} Linear layers must be "
                             "called exactly once per forward pass (a layer used twice, or not "
                             "at all, has no Kronecker-factored block)")
        if out.ndim != 2:
            raise ValueError(f"KFACLaplace: the model's output must be 2-D (N, outputs), got "
                             f"shape {out.shape}")
        return out, [seen[i][0] for i in range(len(layers))]

    def _augmented(self, l, a):
        a = asnumpy(a.data).astype("float64")
        xp = get_array_module(a)
        return a if not self._bias[l] else xp.concatenate([a, xp.ones((len(a), 1))], axis=1)

    def _output_grads(self, out, seen):
        """``g[l]``: (C, N, out_l) arrays, the gradient of logit c w.r.t. layer l's output."""
        per_class = []
        for c in range(out.shape[1]):
            g = grad(out[:, c].sum(), [s for _, s in seen], retain_graph=True,
                     allow_unused=True)
            per_class.append([asnumpy(gi.data).astype("float64") if gi is not None
                              else 0 * asnumpy(s.data).astype("float64")
                              for gi, (_, s) in zip(g, seen)])
        xp = get_array_module(per_class[0][0])
        return [xp.stack([pc[l] for pc in per_class]) for l in range(len(seen))]

    def fit(self, x, y=None, *, batch_size: int = 256) -> KFACLaplace:
        """Accumulate the Kronecker factors over the inputs ``x`` (labels are not needed)."""
        check_int("KFACLaplace.fit", "batch_size", batch_size)
        x = asnumpy(x)
        if len(x) == 0:
            raise ValueError("KFACLaplace.fit: x is empty")
        was = self.model.training
        self.model.eval()
        b_sums, a_sums = None, None
        try:
            for i in range(0, len(x), batch_size):
                out, seen = self._capture(x[i:i + batch_size])
                grads = self._output_grads(out, seen)
                if b_sums is None:
                    b_sums = [0.0 * g[0, 0][:, None] * g[0, 0][None] for g in grads]
                    a_sums = [0.0 for _ in seen]
                p = (asnumpy(softmax(out, axis=-1).data).astype("float64")
                     if self.likelihood == "classification" else None)
                for l, (g, (a, _)) in enumerate(zip(grads, seen)):
                    xp = get_array_module(g)
                    if p is None:
                        b_sums[l] = (b_sums[l] + xp.einsum("cno,cnp->op", g, g)
                                     / self.sigma_noise ** 2)
                    else:
                        gp = xp.einsum("nc,cno->no", p, g)
                        b_sums[l] = b_sums[l] + xp.einsum("nc,cno,cnp->op", p, g, g) - gp.T @ gp
                    a_aug = self._augmented(l, a)
                    a_sums[l] = a_sums[l] + a_aug.T @ a_aug
        finally:
            self.model.train(was)
        self.n_data = len(x)
        self.factors = [(0.5 * (b + b.T), 0.5 * (a + a.T) / self.n_data)
                        for b, a in zip(b_sums, a_sums)]
        self._eig = [(get_array_module(b).linalg.eigh(b), get_array_module(a).linalg.eigh(a))
                     for b, a in self.factors]
        self.mean = []
        for layer in self.layers:
            w = asnumpy(layer.weight.data).astype("float64")
            xp = get_array_module(w)
            self.mean.append(w if layer.bias is None else xp.concatenate(
                [w, asnumpy(layer.bias.data).astype("float64")[:, None]], axis=1))
        return self.set_prior_precision(self.prior_precision)

    def set_prior_precision(self, alpha: float) -> KFACLaplace:
        """Change the prior precision of a fitted posterior (the factors do not depend on it)."""
        self.prior_precision = check_positive("KFACLaplace", "prior_precision", alpha)
        if hasattr(self, "_eig"):
            # posterior variance along eigenvector pair (i, j): 1 / (lambda_B_i lambda_A_j + alpha)
            self._scale = [1.0 / (get_array_module(lb).clip(lb, 0, None)[:, None]
                                  * get_array_module(la).clip(la, 0, None)[None, :] + alpha)
                           for (lb, _), (la, _) in self._eig]
        return self

    def _check_fitted(self, who: str) -> None:
        if not hasattr(self, "_scale"):
            raise RuntimeError(f"KFACLaplace.{who}: call fit(x) first")

    def covariance(self, layer: int):
        """The dense posterior covariance of layer ``layer``'s ``[W | b]`` (row by row): for tests
        and small layers only, its size is the square of the layer's parameter count."""
        self._check_fitted("covariance")
        (_, ub), (_, ua) = self._eig[layer]
        u = get_array_module(ub).kron(ub, ua)
        return (u * self._scale[layer].reshape(-1)) @ u.T

    def logits_distribution(self, x, *, batch_size: int = 256):
        """Mean (N, C) and covariance (N, C, C) of the linearized model's logits at ``x``."""
        self._check_fitted("logits_distribution")
        x = asnumpy(x)
        was = self.model.training
        self.model.eval()
        means, covs = [], []
        try:
            for i in range(0, len(x), batch_size):
                out, seen = self._capture(x[i:i + batch_size])
                grads = self._output_grads(out, seen)
                cov = 0.0
                for l, (g, (a, _)) in enumerate(zip(grads, seen)):
                    xp = get_array_module(g)
                    (_, ub), (_, ua) = self._eig[l]
                    a_rot = self._augmented(l, a) @ ua          # (N, in+1)
                    g_rot = xp.einsum("cno,oi->cni", g, ub)                   # (C, N, out)
                    w = (a_rot ** 2) @ self._scale[l].T                      # (N, out)
                    cov = cov + xp.einsum("cni,ni,dni->ncd", g_rot, w, g_rot)
                means.append(asnumpy(out.data).astype("float64"))
                covs.append(cov)
        finally:
            self.model.train(was)
        xp = get_array_module(means[0])
        return xp.concatenate(means), xp.concatenate(covs)

    def sample_outputs(self, x, *, samples: int = 30, rng=None):
        """The model's outputs at ``x`` for ``samples`` weight draws: an array (S, N, ...).

        Each draw sets every Linear's ``[W | b]`` to ``mean + U_B (E * sqrt(scale)) U_A^T``, E
        standard normal: a sample of the Kronecker-factored posterior. The trained weights are
        restored afterwards.
        """
        self._check_fitted("sample_outputs")
        check_int("KFACLaplace.sample_outputs", "samples", samples)
        rng = resolve_rng("KFACLaplace.sample_outputs", rng)
        xt = Tensor(asnumpy(x))
        layers = self.layers
        was = self.model.training
        self.model.eval()
        outs = []
        try:
            with no_grad():
                for _ in range(samples):
                    for layer, m, ((_, ub), (_, ua)), s in zip(layers, self.mean, self._eig,
                                                                self._scale):
                        eps = rng.standard_normal(m.shape)
                        self._set(layer, m + ub @ (eps * s ** 0.5) @ ua.T)
                    outs.append(asnumpy(self.model(xt).data))
        finally:
            with no_grad():
                for layer, m in zip(layers, self.mean):
                    self._set(layer, m)
            self.model.train(was)
        return get_array_module(outs[0]).stack(outs)

    @staticmethod
    def _set(layer, wb):
        dtype = layer.weight.data.dtype
        if layer.bias is None:
            layer.weight.copy_(wb.astype(dtype))
            return
        layer.weight.copy_(wb[:, :-1].astype(dtype))
        layer.bias.copy_(wb[:, -1].astype(dtype))

    def predict(self, x, *, link: str = "probit", samples: int = 30, rng=None):
        """Classification: probabilities (N, C) by ``link="probit"`` (linearized logits,
        ``softmax(mu / sqrt(1 + pi/8 var))``) or ``"mc"`` (sampled weights, averaged softmax).
        Regression: ``(mean, variance)`` of the linearized outputs, the noise included."""
        if link not in ("probit", "mc"):
            raise ValueError(f"KFACLaplace.predict: link must be 'probit' or 'mc', got {link!r}")
        if link == "mc":
            outs = self.sample_outputs(x, samples=samples, rng=rng)
            if self.likelihood == "regression":
                return outs.mean(0), outs.var(0) + self.sigma_noise ** 2
            return sum(softmax_probs(o) for o in outs) / len(outs)
        mean, cov = self.logits_distribution(x)
        xp = get_array_module(mean)
        var = xp.diagonal(cov, axis1=1, axis2=2)
        if self.likelihood == "regression":
            return mean, var + self.sigma_noise ** 2
        return softmax_probs(mean / xp.sqrt(1.0 + math.pi / 8.0 * var))
