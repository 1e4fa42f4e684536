"""The diagonal Laplace approximation of a whole network (every weight, every layer).

The posterior precision of each weight is the diagonal of the generalized Gauss-Newton matrix plus
the prior's ``alpha``. For a softmax output the GGN of one example is ``J^T (diag(p) - p p^T) J``
with ``J`` the Jacobian of the logits, so its diagonal is ``sum_c p_c J_c^2 - (sum_c p_c J_c)^2``
(``J_c`` the gradient of logit c): exact, from one backward pass per example and class. For a
Gaussian likelihood it is ``J^2 / sigma^2``. The predictive samples weights from the Gaussian and
averages the softmax outputs (Daxberger et al. 2021 call this the "diag" Hessian structure).
"""

from __future__ import annotations

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, get_array_module
from ..nn import Module
from ..ops import softmax
from ._checks import (
    check_finite_batch,
    check_int,
    check_positive,
    eval_modes,
    resolve_rng,
    restore_modes,
)
from ._state import check_unchanged, model_state

__all__ = ["DiagonalLaplace"]

_LIKELIHOODS = ("classification", "regression")


class DiagonalLaplace:
    """A factorized Gaussian over all trainable parameters of ``model``, by the GGN diagonal.

    Args:
        model: a trained Module.
        likelihood: "classification" (softmax) or "regression" (Gaussian, ``sigma_noise``).
        prior_precision: the prior's ``alpha`` on every parameter.
        sigma_noise: the regression noise standard deviation.

    Attributes (after ``fit``): ``ggn`` (list of arrays, one per parameter, the GGN diagonal) and
    ``variance`` (``1 / (ggn + alpha)``).
    """

    def __init__(self, model: Module, *, likelihood: str = "classification",
                 prior_precision: float = 1.0, sigma_noise: float = 1.0):
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"DiagonalLaplace: likelihood must be one of {_LIKELIHOODS}, got "
                             f"{likelihood!r}")
        self.model, self.likelihood = model, likelihood
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.prior_precision = check_positive("DiagonalLaplace", "prior_precision",
                                              prior_precision)
        self.sigma_noise = check_positive("DiagonalLaplace", "sigma_noise", sigma_noise)

    def fit(self, x, y=None) -> DiagonalLaplace:
        """Accumulate the GGN diagonal over the examples ``x`` (labels are not needed)."""
        x = check_finite_batch("DiagonalLaplace.fit", "x", x)
        # the model as it is now: parameters replaced since __init__ were the old ones, whose
        # samples the model never saw (a predictive without weight uncertainty, silently)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        modes = eval_modes(self.model)
        acc = [p._data.astype("float64") * 0 for p in self.params]
        try:
            for i in range(len(x)):
                out = self.model(Tensor(x[i:i + 1]))
                if i == 0:
                    self._check_output(out)
                jac = []
                for c in range(out.shape[1]):
                    g = grad(out[0, c], self.params, retain_graph=True, allow_unused=True)
                    jac.append([(gi._data if gi is not None else 0 * p._data).astype("float64")
                                for gi, p in zip(g, self.params)])
                if self.likelihood == "regression":
                    for k in range(len(acc)):
                        acc[k] += sum(j[k] ** 2 for j in jac) / self.sigma_noise ** 2
                    continue
                p = asnumpy(softmax(out, axis=-1)._data[0]).astype("float64")
                for k in range(len(acc)):
                    first = sum(p[c] * jac[c][k] for c in range(len(p)))
                    acc[k] += sum(p[c] * jac[c][k] ** 2 for c in range(len(p))) - first ** 2
        finally:
            restore_modes(modes)
        self.ggn = acc
        self.variance = [1.0 / (a + self.prior_precision) for a in acc]
        self.mean = [p._data.copy() for p in self.params]
        self._state = model_state(self.model)  # predicting after it changed is refused
        return self

    def _check_output(self, out) -> None:
        if out.ndim != 2:
            raise ValueError("DiagonalLaplace.fit: the model's output must be 2-D (N, outputs), "
                             f"got shape {out.shape}")
        if self.likelihood == "classification" and out.shape[1] < 2:
            raise ValueError("DiagonalLaplace.fit: a softmax classifier needs at least 2 outputs, "
                             f"got {out.shape[1]} (its GGN would be zero, the posterior the "
                             "prior)")

    def set_prior_precision(self, alpha: float) -> DiagonalLaplace:
        """Change the prior's precision of a fitted posterior (the GGN does not depend on it)."""
        self.prior_precision = check_positive("DiagonalLaplace", "prior_precision", alpha)
        if hasattr(self, "ggn"):
            self.variance = [1.0 / (a + self.prior_precision) for a in self.ggn]
        return self

    def sample_outputs(self, x, *, samples: int = 30, rng=None):
        """The model's outputs for ``x`` under ``samples`` weight draws: an array (S, N, ...).

        The model's weights are given back afterwards as they were before the call. A model
        changed since ``fit`` (trained on, weights loaded) is refused: call ``fit`` again.
        """
        if not hasattr(self, "variance"):
            raise RuntimeError("DiagonalLaplace.sample_outputs: call fit(x) first")
        check_unchanged("DiagonalLaplace.sample_outputs", self.model, self._state)
        check_int("DiagonalLaplace.sample_outputs", "samples", samples)
        rng = resolve_rng("DiagonalLaplace.sample_outputs", rng)
        x = Tensor(asnumpy(x))
        saved = [p._data.copy() for p in self.params]
        modes = eval_modes(self.model)
        outs = []
        try:
            with no_grad():
                for _ in range(samples):
                    for p, m, v in zip(self.params, self.mean, self.variance):
                        eps = rng.standard_normal(m.shape)
                        p.copy_((m + eps * v ** 0.5).astype(m.dtype))
                    outs.append(asnumpy(self.model(x)._data))
        finally:
            with no_grad():
                for p, w in zip(self.params, saved):
                    p.copy_(w)
            restore_modes(modes)
        return get_array_module(outs[0]).stack(outs)

    def predict(self, x, *, samples: int = 30, rng=None):
        """Classification: the mean softmax over weight draws (N, C). Regression: ``(mean,
        variance)`` of the sampled outputs, the noise variance included."""
        outs = self.sample_outputs(x, samples=samples, rng=rng)
        xp = get_array_module(outs)
        if self.likelihood == "regression":
            return outs.mean(0), outs.var(0) + self.sigma_noise ** 2
        e = xp.exp(outs - outs.max(-1, keepdims=True))
        return (e / e.sum(-1, keepdims=True)).mean(0)
