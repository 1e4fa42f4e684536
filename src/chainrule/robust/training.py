"""Adversarial training: train on the attack's images instead of the clean ones.

Madry et al. (2017) train on PGD's adversarial examples, the inner maximization of
``min_theta E max_{||delta|| <= eps} loss(x + delta, y)``. Wong, Rice & Kolter (2020) showed
that one FGSM step from a random start, with a step of 1.25 eps, does nearly as well at a
fraction of the cost ("fast is better than free"), though it can still overfit catastrophically.
N-FGSM (de Jorge et al. 2022, "Make some noise") is the single-step method made against that:
stronger noise (uniform in [-k eps, k eps], k = 2), one FGSM step of eps from the noisy point, and
no projection back onto the eps ball (only into the valid input box); GradAlign (Andriushchenko &
Flammarion 2020) is a penalty on the loss that keeps the input gradients aligned inside the ball.
All plug into the Trainer:
``Trainer(..., perturb=AdversarialTraining("fgsm", eps=0.3))`` replaces each training batch's
inputs by their adversarial version before the step.
"""

from __future__ import annotations

from ..autograd import Tensor, enable_grad, grad
from ..backend import get_array_module
from ..ops import cross_entropy
from ._core import check_bounds, check_eps, check_int, input_gradient, prepare, resolve_rng
from .attacks import _TINY, _project, _random_start, _step, fgsm_points, pgd_points

__all__ = ["ADVERSARIAL_METHODS", "GRAD_ALIGN_VARIANTS", "AdversarialTraining"]

ADVERSARIAL_METHODS = ("fgsm", "pgd", "n_fgsm")
GRAD_ALIGN_VARIANTS = ("symmetric", "authors")


class AdversarialTraining:
    """The Trainer's ``perturb`` hook for adversarial training with FGSM, PGD or N-FGSM.

    Args:
        method: "fgsm" (fast: one step of ``alpha`` from a uniform random start in the ball,
            Wong et al. 2020), "pgd" (``steps`` steps of ``alpha`` from a random start,
            Madry et al. 2017) or "n_fgsm" (one step of ``alpha`` from ``x`` plus uniform noise
            in [-noise * eps, noise * eps], kept in ``bounds`` but not in the eps ball; de Jorge
            et al. 2022).
        eps: the L-infinity radius, > 0.
        alpha: the step (default: 1.25 eps for FGSM, 2.5 eps / steps for PGD, eps for N-FGSM).
        steps: PGD's steps, >= 1 (FGSM ignores it).
        bounds: the valid input box.
        rng: Generator or seed of the random starts (the Trainer checkpoints it).
        clip_start: FGSM only: clip the random start ``x + delta`` into ``bounds`` before its
            gradient is taken. False (the default) is Wong et al.'s MNIST code: the gradient is
            taken at ``x + delta`` even where that leaves the box, and only the final point is
            clipped to the ball and the box. On MNIST, whose pixels are mostly exactly 0 or 1,
            clipping the start removes half of the noise on them, and FGSM training overfitted
            catastrophically where the same seed unclipped did not (docs/robustness.md; other
            seeds overfit even unclipped); de Jorge et al. (2022) also find unclipped noise helps.
            N-FGSM: None (the default) clips the noisy start into ``bounds``, as de Jorge et
            al.'s code does; False takes the gradient at the unclipped noisy point.
        noise: N-FGSM only: the noise's half-width as a multiple ``k`` of eps, >= 0 (default 2,
            the paper's; 0 is FGSM from the clean point without random start).
        grad_align: GradAlign's weight ``lambda`` >= 0 (Andriushchenko & Flammarion 2020; 0, the
            default, is off): ``penalty`` adds ``lambda * mean(1 - cos(g(x), g(x + eta)))`` to
            the loss, with ``g`` the input gradient of each example's cross-entropy and ``eta``
            uniform in the eps ball (the point clipped into ``bounds``). It keeps the loss
            locally linear, the condition a single-step attack needs; it costs two
            double-backward passes per batch. Any method can use it.
        grad_align_variant: how the penalty is taken. "symmetric" (the default, used for the
            results in docs/robustness.md): both input gradients are on the graph, the noisy
            point is clipped into ``bounds``, and every example counts in the mean. "authors":
            as Andriushchenko & Flammarion's code: the clean gradient is a constant (only the
            noisy one is differentiated), ``x + eta`` is not clipped, and examples whose
            gradient is zero at either point are left out of the mean (0 when none is left).

    The model stays in training mode while the attack runs, as in both papers; its parameter
    gradients are untouched (the attack differentiates with ``grad``, not ``backward``).
    """

    def __init__(self, method: str = "fgsm", *, eps: float = 0.3, alpha: float | None = None,
                 steps: int = 10, bounds=(0.0, 1.0), rng=None, clip_start: bool | None = None,
                 noise: float | None = None, grad_align: float = 0.0,
                 grad_align_variant: str = "symmetric"):
        who = "AdversarialTraining"
        if method not in ADVERSARIAL_METHODS:
            raise ValueError(f"{who}: method must be one of {ADVERSARIAL_METHODS}, got "
                             f"{method!r}")
        self.method, self.eps = method, check_eps(who, eps, positive=True)
        self.steps = check_int(who, "steps", steps)
        self.alpha = None if alpha is None else check_eps(who, alpha, name="alpha",
                                                          positive=True)
        self.bounds = check_bounds(who, bounds)
        if clip_start is None:
            clip_start = method == "n_fgsm"
        if not isinstance(clip_start, bool):
            raise TypeError(f"{who}: clip_start must be True or False, got {clip_start!r}")
        self.clip_start = clip_start
        if noise is not None and method != "n_fgsm":
            raise ValueError(f"{who}: noise is for method 'n_fgsm' only, got noise={noise!r} "
                             f"with method {method!r}")
        self.noise = None if method != "n_fgsm" else (
            2.0 if noise is None else check_eps(who, noise, name="noise"))
        self.grad_align = check_eps(who, grad_align, name="grad_align")
        if grad_align_variant not in GRAD_ALIGN_VARIANTS:
            raise ValueError(f"{who}: grad_align_variant must be one of {GRAD_ALIGN_VARIANTS}, "
                             f"got {grad_align_variant!r}")
        if grad_align_variant != "symmetric" and not self.grad_align:
            raise ValueError(f"{who}: grad_align_variant={grad_align_variant!r} needs a "
                             f"grad_align weight > 0, got grad_align={grad_align!r}")
        self.grad_align_variant = grad_align_variant
        self.rng = resolve_rng(rng)

    def __call__(self, model, inputs, target):
        """The adversarial version of ``inputs`` (a tuple holding one Tensor) for ``target``
        (also under ``no_grad``: the attack records its own graph, as the attacks do)."""
        with enable_grad():
            return self._perturb(model, inputs, target)

    def _perturb(self, model, inputs, target):
        if len(inputs) != 1:
            raise ValueError(f"AdversarialTraining: the model must take one input, got "
                             f"{len(inputs)}")
        x, labels, _, _ = prepare("AdversarialTraining", model, inputs[0], target._data, None,
                                  self.bounds, ignored_ok=True)
        xp = get_array_module(x)
        if self.method == "fgsm":
            alpha = 1.25 * self.eps if self.alpha is None else self.alpha
            if self.clip_start:
                adv = fgsm_points(model, x, labels, False, self.eps, self.bounds, self.rng, alpha)
            else:  # Wong et al.'s MNIST code: the gradient at x + delta, even outside the box
                start = x + _random_start(x, self.eps, "linf", self.rng)
                _, g, _ = input_gradient(model, start, labels, targeted=False)
                adv = _project(start + alpha * _step(g, "linf"), x, self.eps, "linf", self.bounds)
        elif self.method == "n_fgsm":
            alpha = self.eps if self.alpha is None else self.alpha
            start = x
            if self.noise > 0:
                start = x + _random_start(x, self.noise * self.eps, "linf", self.rng)
                if self.clip_start:
                    start = xp.clip(start, self.bounds[0], self.bounds[1])
            _, g, _ = input_gradient(model, start, labels, targeted=False)
            adv = xp.clip(start + alpha * _step(g, "linf"), self.bounds[0], self.bounds[1])
        else:
            alpha = 2.5 * self.eps / self.steps if self.alpha is None else self.alpha
            adv = pgd_points(model, x, labels, False, self.eps, "linf", self.steps, alpha, 1,
                             self.bounds, self.rng)
        return (Tensor(adv),)

    def penalty(self, model, inputs, target):
        """GradAlign's term for the clean ``inputs`` (a scalar Tensor on the parameters' graph),
        or None when ``grad_align`` is 0. The Trainer calls it after ``__call__``, on the batch's
        clean inputs, and adds it to the loss."""
        if not self.grad_align:
            return None
        x, labels, _, _ = prepare("AdversarialTraining", model, inputs[0], target._data, None,
                                  self.bounds, ignored_ok=True)
        xp = get_array_module(x)
        eta = _random_start(x, self.eps, "linf", self.rng)
        authors = self.grad_align_variant == "authors"
        noisy = x + eta if authors else xp.clip(x + eta, self.bounds[0], self.bounds[1])
        g_clean = _flat_input_gradient(model, x, labels, create_graph=not authors)
        g_noisy = _flat_input_gradient(model, noisy, labels)
        clean_sq, noisy_sq = (g_clean * g_clean).sum(axis=1), (g_noisy * g_noisy).sum(axis=1)
        # the tiny term inside the root keeps a zero gradient's derivative finite (sqrt'(0) = inf)
        cos = (g_clean * g_noisy).sum(axis=1) / (clean_sq * noisy_sq + _TINY ** 2).sqrt()
        if not authors:
            return (1.0 - cos).mean() * self.grad_align
        kept = Tensor(((clean_sq._data != 0) & (noisy_sq._data != 0)).astype(x.dtype))
        return ((1.0 - cos) * kept).sum() * (self.grad_align / max(float(kept._data.sum()), 1.0))

    def config(self) -> dict:
        """The settings, for a run's config.json."""
        return {"method": self.method, "eps": self.eps, "alpha": self.alpha,
                "steps": self.steps, "bounds": list(self.bounds), "clip_start": self.clip_start,
                **({"noise": self.noise} if self.method == "n_fgsm" else {}),
                **({"grad_align": self.grad_align} if self.grad_align else {}),
                **({"grad_align_variant": self.grad_align_variant}
                   if self.grad_align_variant != "symmetric" else {})}

    def __repr__(self) -> str:
        noise = f", noise={self.noise:g}" if self.method == "n_fgsm" else ""
        noise += f", grad_align={self.grad_align:g}" if self.grad_align else ""
        if self.grad_align_variant != "symmetric":
            noise += f", grad_align_variant={self.grad_align_variant!r}"
        return (f"AdversarialTraining({self.method!r}, eps={self.eps:g}, alpha={self.alpha}, "
                f"clip_start={self.clip_start}{noise})")


def _flat_input_gradient(model, x, labels, create_graph=True):
    """Each example's cross-entropy gradient with respect to its input, (N, D), on the graph
    (``create_graph``), so that a penalty on it can be differentiated for the parameters;
    a constant without ``create_graph``."""
    xt = Tensor(x, requires_grad=True)
    loss = cross_entropy(model(xt), Tensor(labels), reduction="sum")
    (g,) = grad(loss, xt, create_graph=create_graph)
    return g.reshape(x.shape[0], -1)
