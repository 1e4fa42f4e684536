"""The Kronecker-factored (KFAC) Laplace approximation of a whole network, one block per Linear
and Conv2d layer.

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
Monte Carlo over sampled weights.

A Conv2d layer (``groups=1``) is a Linear layer applied at every output location ``t`` to the
receptive field ``a_t`` (its patch, ``[W | b]`` with ``W`` flattened to (out, in * kh * kw)), so
the Jacobian of logit c is ``sum_t g_ct (x) a~_t`` and the exact GGN block has cross terms
between locations: ``sum_n sum_t,t' (g_nt^T Lambda_n g_nt') (x) (a~_nt a~_nt'^T)``. Two
Kronecker factorizations of it (Eschenhagen et al. 2023):

- ``"expand"`` (Grosse & Martens 2016's KFC): the locations as more examples, the cross terms
  dropped: ``B = sum_n,t g_nt^T Lambda_n g_nt``, ``A = mean_n,t a~_nt a~_nt^T``;
- ``"reduce"``: the locations summed first, ``B = sum_n (sum_t g_nt)^T Lambda_n (sum_t g_nt)``,
  ``A = mean_n (mean_t a~_nt)(mean_t a~_nt)^T``: exact for one example whose patches are all
  equal, and cheaper.

With one output location both are the Linear layer's factors. The predictive always uses the exact
Jacobian (the approximation is in the posterior only).
"""

from __future__ import annotations

import math

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, get_array_module
from ..nn import Conv2d, Linear, Module, unfuse
from ..ops import conv2d, softmax
from ._checks import (
    check_batch,
    check_finite_batch,
    check_int,
    check_positive,
    eval_modes,
    resolve_rng,
    restore_modes,
)
from ._state import check_unchanged, model_state
from .calibration import softmax_probs

__all__ = ["KFACLaplace"]

_LIKELIHOODS = ("classification", "regression")
_CONV_APPROXIMATIONS = ("expand", "reduce")
_LAYERS = (Linear, Conv2d)


class KFACLaplace:
    """A Gaussian posterior over every trainable ``nn.Linear`` and ``nn.Conv2d`` of ``model``,
    Kronecker-factored per layer (a frozen layer, every parameter ``requires_grad=False``, keeps
    its weights fixed, as ``DiagonalLaplace`` treats frozen parameters).

    Args:
        model: a trained Module; fused layers (``nn.fuse``) are unfused in place first (the same
            Parameters and values) so that each layer's output is its pre-activation.
        likelihood: "classification" (softmax) or "regression" (Gaussian, ``sigma_noise``).
        prior_precision: the prior's ``alpha`` on every weight and bias of those layers.
        conv_approximation: "expand" or "reduce", the factorization of a Conv2d block (see the
            module's docstring); Linear layers have one.

    Attributes (after ``fit``): ``layers`` (the modules), ``factors`` (one ``(B, A)`` pair per
    layer: B (out, out), A (P + 1, P + 1) with P the inputs of a Linear or ``in * kh * kw`` of a
    Conv2d, the GGN block ~ ``kron(B, A)``), ``mean`` (``[W | b]`` per layer, W flattened to
    (out, P)), ``n_data``.
    """

    def __init__(self, model: Module, *, likelihood: str = "classification",
                 prior_precision: float = 1.0, sigma_noise: float = 1.0,
                 conv_approximation: str = "expand"):
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"KFACLaplace: likelihood must be one of {_LIKELIHOODS}, got "
                             f"{likelihood!r}")
        if conv_approximation not in _CONV_APPROXIMATIONS:
            raise ValueError(f"KFACLaplace: conv_approximation must be one of "
                             f"{_CONV_APPROXIMATIONS}, got {conv_approximation!r}")
        if not isinstance(model, Module):
            raise ValueError(f"KFACLaplace: model must be a chainrule Module, got "
                             f"{type(model).__name__}")
        self.model, self.likelihood = unfuse(model), likelihood
        self.conv_approximation = conv_approximation
        self._collect()
        self.prior_precision = check_positive("KFACLaplace", "prior_precision", prior_precision)
        self.sigma_noise = check_positive("KFACLaplace", "sigma_noise", sigma_noise)

    def _collect(self) -> None:
        """Find the trainable Linear and Conv2d layers of the model as it is now."""
        layers = []
        for m in self.model.modules():
            if not isinstance(m, _LAYERS):
                continue
            trainable = [p.requires_grad for p in m.parameters()]
            if any(trainable) and not all(trainable):
                raise ValueError(f"KFACLaplace: {m!r} has frozen and trainable parameters; a "
                                 "Kronecker-factored block covers a layer's weight and bias "
                                 "together (freeze both or neither)")
            if all(trainable):
                layers.append(m)  # a frozen layer is no part of the posterior
        if not layers:
            raise ValueError(f"KFACLaplace: {type(self.model).__name__} has no nn.Linear or "
                             "nn.Conv2d layer with trainable parameters")
        for m in layers:
            if isinstance(m, Conv2d) and m.groups != 1:
                raise ValueError(f"KFACLaplace: a Conv2d with groups={m.groups} has no "
                                 "Kronecker-factored block here (groups=1 only)")
        self._weights = [m.weight for m in layers]

    @property
    def layers(self) -> list:
        """The model's Linear and Conv2d layers, unfused (a ``Trainer`` made since may have fused
        them again: a fused layer holds the same Parameters, so each is found by its weight)."""
        unfuse(self.model)
        by_weight = {id(m.weight): m for m in self.model.modules() if isinstance(m, _LAYERS)}
        if any(id(w) not in by_weight for w in self._weights):
            raise ValueError("KFACLaplace: the model's Linear and Conv2d layers changed since it "
                             "was made or fitted (call fit again)")
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
            raise ValueError(f"KFACLaplace: each of the {len(layers)} layers must be "
                             "called exactly once per forward pass (a layer used twice, or not "
                             "at all, has no Kronecker-factored block)")
        if out.ndim != 2:
            raise ValueError(f"KFACLaplace: the model's output must be 2-D (N, outputs), got "
                             f"shape {out.shape}")
        for layer, ((a, _),) in zip(layers, (seen[i] for i in range(len(layers)))):
            if isinstance(layer, Linear) and a.ndim != 2:
                raise ValueError(f"KFACLaplace: {layer!r} is applied to an input of shape "
                                 f"{a.shape}; only Linear layers on 2-D inputs (N, features) "
                                 "have a Kronecker-factored block here")
        if self.likelihood == "classification" and out.shape[1] < 2:
            raise ValueError("KFACLaplace: a softmax classifier needs at least 2 outputs, got "
                             f"{out.shape[1]} (its GGN would be zero, the posterior the prior)")
        return out, [seen[i][0] for i in range(len(layers))]

    def _augmented(self, layer, a):
        """A layer's inputs per output location, with a column of ones for the bias: (N, T, P + 1)
        for a Conv2d's patches (T locations), (N, 1, in + 1) for a Linear."""
        a = asnumpy(a._data).astype("float64")
        xp = get_array_module(a)
        if isinstance(layer, Conv2d):
            # The patches are the convolution's input to its GEMM: convolving with one-hot filters
            # (one per (channel, row, column) of the kernel) copies them out with the layer's own
            # stride, padding (and padding mode) and dilation.
            k = layer.weight.shape[1:]
            eye = xp.eye(math.prod(k)).reshape(-1, *k)
            padding, a = layer.padding, Tensor(a)
            with no_grad():
                if getattr(layer, "padding_mode", "zeros") != "zeros":
                    # the layer pads with its mode first (its own split of padding="same"),
                    # then convolves unpadded
                    a, padding = layer._padded(a)
                cols = conv2d(a, Tensor(eye), None, layer.stride, padding, layer.dilation)._data
            a = cols.reshape(cols.shape[0], len(eye), -1).transpose(0, 2, 1)
        else:
            a = a[:, None, :]
        if layer.bias is None:
            return a
        return xp.concatenate([a, xp.ones(a.shape[:2] + (1,))], axis=2)

    @staticmethod
    def _locations(g):
        """A layer's output gradients (C, N, out[, Ho, Wo]) as (C, N, T, out)."""
        if g.ndim == 3:
            return g[:, :, None, :]
        c, n, o = g.shape[:3]
        return g.reshape(c, n, o, -1).transpose(0, 1, 3, 2)

    def _output_grads(self, out, seen):
        """``g[l]``: (C, N, out_l) arrays, the gradient of logit c w.r.t. layer l's output."""
        if not all(s.requires_grad for _, s in seen):
            raise ValueError("KFACLaplace: a layer's output does not require grad (were its "
                             "parameters frozen after the KFACLaplace was made, or is it "
                             "called inside no_grad?)")
        per_class = []
        for c in range(out.shape[1]):
            g = grad(out[:, c].sum(), [s for _, s in seen], retain_graph=True,
                     allow_unused=True)
            per_class.append([asnumpy(gi._data).astype("float64") if gi is not None
                              else 0 * asnumpy(s._data).astype("float64")
                              for gi, (_, s) in zip(g, seen)])
        xp = get_array_module(per_class[0][0])
        return [xp.stack([pc[l] for pc in per_class]) for l in range(len(seen))]

    def fit(self, x, y=None, *, batch_size: int = 256) -> KFACLaplace:
        """Accumulate the Kronecker factors over the inputs ``x`` (labels are not needed)."""
        check_int("KFACLaplace.fit", "batch_size", batch_size)
        x = check_finite_batch("KFACLaplace.fit", "x", x)
        unfuse(self.model)
        self._collect()  # the model as it is now (layers replaced since __init__ included)
        layers = self.layers  # unfused before the modes are recorded (unfusing makes modules)
        modes = eval_modes(self.model)
        b_sums, a_sums, counts = None, None, None
        try:
            for i in range(0, len(x), batch_size):
                out, seen = self._capture(x[i:i + batch_size])
                grads = self._output_grads(out, seen)
                if b_sums is None:
                    b_sums = [0.0] * len(seen)
                    a_sums = [0.0] * len(seen)
                    counts = [0] * len(seen)
                p = (asnumpy(softmax(out, axis=-1)._data).astype("float64")
                     if self.likelihood == "classification" else None)
                for l, (g, (a, _)) in enumerate(zip(grads, seen)):
                    g, a = self._locations(g), self._augmented(layers[l], a)  # (C,N,T,o), (N,T,P)
                    if self.conv_approximation == "reduce":
                        g, a = g.sum(axis=2, keepdims=True), a.mean(axis=1, keepdims=True)
                    b_sums[l] = b_sums[l] + self._b_term(g, p)
                    a2 = a.reshape(-1, a.shape[-1])
                    a_sums[l] = a_sums[l] + a2.T @ a2
                    counts[l] += len(a2)
        finally:
            restore_modes(modes)
        self.n_data = len(x)
        self.factors = [(0.5 * (b + b.T), 0.5 * (a + a.T) / count)
                        for b, a, count in zip(b_sums, a_sums, counts)]
        self._eig = [(get_array_module(b).linalg.eigh(b), get_array_module(a).linalg.eigh(a))
                     for b, a in self.factors]
        self.mean = []
        for layer in self.layers:
            w = asnumpy(layer.weight._data).astype("float64").reshape(len(layer.weight), -1)
            xp = get_array_module(w)
            self.mean.append(w if layer.bias is None else xp.concatenate(
                [w, asnumpy(layer.bias._data).astype("float64")[:, None]], axis=1))
        self._state = model_state(self.model)  # predicting after it changed is refused
        return self.set_prior_precision(self.prior_precision)

    def _b_term(self, g, p):
        """One batch's sum over examples and locations of ``g^T Lambda g`` (out, out)."""
        xp = get_array_module(g)
        out = g.shape[-1]
        if p is None:
            g2 = g.reshape(-1, out)
            return g2.T @ g2 / self.sigma_noise ** 2
        # sum_c p_c g_c g_c^T - (sum_c p_c g_c)(sum_c p_c g_c)^T, per example and location, as
        # two matrix products
        root = (g * xp.sqrt(p).T[:, :, None, None]).reshape(-1, out)
        gp = xp.einsum("nc,cnto->nto", p, g).reshape(-1, out)
        return root.T @ root - gp.T @ gp

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
        check_int("KFACLaplace.logits_distribution", "batch_size", batch_size)
        x = check_batch("KFACLaplace.logits_distribution", "x", x)
        layers = self.layers  # unfused before the modes are recorded (unfusing makes modules)
        check_unchanged("KFACLaplace.logits_distribution", self.model, self._state)
        modes = eval_modes(self.model)
        means, covs = [], []
        try:
            for i in range(0, len(x), batch_size):
                out, seen = self._capture(x[i:i + batch_size])
                grads = self._output_grads(out, seen)
                cov = 0.0
                for l, (g, (a, _)) in enumerate(zip(grads, seen)):
                    cov = cov + self._logit_covariance(l, self._locations(g),
                                                       self._augmented(layers[l], a))
                means.append(asnumpy(out._data).astype("float64"))
                covs.append(cov)
        finally:
            restore_modes(modes)
        xp = get_array_module(means[0])
        return xp.concatenate(means), xp.concatenate(covs)

    def _logit_covariance(self, l, g, a):
        """Layer ``l``'s part of the logits' covariance (N, C, C): ``J_n Sigma_l J_n^T`` with the
        exact Jacobian ``J_n[c] = sum_t g_nct (x) a~_nt``, in the factors' eigenbases."""
        xp = get_array_module(g)
        (_, ub), (_, ua) = self._eig[l]
        g_rot = xp.einsum("cnto,oi->cnti", g, ub)
        a_rot = a @ ua                                                      # (N, T, P)
        scale = self._scale[l]
        if g.shape[2] == 1:  # one location: J_n[c] is an outer product
            w = (a_rot[:, 0] ** 2) @ scale.T                                # (N, out)
            return xp.einsum("cni,ni,dni->ncd", g_rot[:, :, 0], w, g_rot[:, :, 0])
        m = xp.einsum("cnti,ntj->ncij", g_rot, a_rot)                       # (N, C, out, P)
        m = m.reshape(m.shape[0], m.shape[1], -1)
        return (m * scale.reshape(-1)) @ m.transpose(0, 2, 1)

    def sample_outputs(self, x, *, samples: int = 30, rng=None):
        """The model's outputs at ``x`` for ``samples`` weight draws: an array (S, N, ...).

        Each draw sets every layer's ``[W | b]`` to ``mean + U_B (E * sqrt(scale)) U_A^T``, E
        standard normal: a sample of the Kronecker-factored posterior. The model's weights are given
        back afterwards as they were before the call. A model changed since ``fit`` (trained on,
        weights loaded) is refused: call ``fit`` again.
        """
        self._check_fitted("sample_outputs")
        check_int("KFACLaplace.sample_outputs", "samples", samples)
        rng = resolve_rng("KFACLaplace.sample_outputs", rng)
        xt = Tensor(asnumpy(x))
        layers = self.layers
        check_unchanged("KFACLaplace.sample_outputs", self.model, self._state)
        saved = [[p._data.copy() for p in (layer.weight, layer.bias) if p is not None]
                 for layer in layers]
        modes = eval_modes(self.model)
        outs = []
        try:
            with no_grad():
                for _ in range(samples):
                    for layer, m, ((_, ub), (_, ua)), s in zip(layers, self.mean, self._eig,
                                                                self._scale):
                        eps = rng.standard_normal(m.shape)
                        self._set(layer, m + ub @ (eps * s ** 0.5) @ ua.T)
                    outs.append(asnumpy(self.model(xt)._data))
        finally:
            with no_grad():
                for layer, arrays in zip(layers, saved):
                    for p, w in zip((layer.weight, layer.bias), arrays):
                        p.copy_(w)
            restore_modes(modes)
        return get_array_module(outs[0]).stack(outs)

    @staticmethod
    def _set(layer, wb):
        dtype, shape = layer.weight._data.dtype, layer.weight.shape
        if layer.bias is None:
            layer.weight.copy_(wb.reshape(shape).astype(dtype))
            return
        layer.weight.copy_(wb[:, :-1].reshape(shape).astype(dtype))
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
