"""The run behind `chainrule evaluate RUN --uncertainty METHOD`: how sure a trained classifier is.

Each method gives predictive probabilities for the test images as the average of sampled ones
(S, N, C): MC dropout's dropout masks, Laplace's weight (or logit) draws, Bayes by Backprop's
weight draws, or an ensemble's members. Reported, beside the plain network's: accuracy, NLL,
Brier score and ECE of the average; the mean predictive entropy (total uncertainty, also for the
right and the wrong predictions apart) and mean mutual information (the samples' disagreement,
the epistemic part). Laplace fits on the run's training images and chooses its prior precision
by the NLL of the run's validation images (its split drawn again from the recorded seed); the
test set is used only to report. The figures go into the run's results.json, under
``uncertainty``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .. import bayes
from ..backend import get_array_module
from ..backend.files import write_json
from ..data import as_generator
from ..data.arguments import check_int
from ..nn import BayesianConv2d, BayesianLinear
from ..robust.ood import logits_of
from .calibration import _validation_images, seed_layers
from .catalog import load_image_dataset
from .classify import load_model

__all__ = ["LAPLACE_STRUCTURES", "METHODS", "evaluate_uncertainty"]

METHODS = ("mc-dropout", "laplace", "bayes-by-backprop", "ensemble")
LAPLACE_STRUCTURES = ("last-layer", "diag", "kfac")
PRIORS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)


def summary(samples, y, *, bins: int = 15) -> dict:
    """Scores of the averaged ``samples`` (S, N, C) against labels ``y``, and their uncertainty."""
    probs = samples.mean(0)
    right = probs.argmax(1) == y
    entropy = bayes.predictive_entropy(probs)
    return {"accuracy": float(right.mean()), "nll": bayes.nll(probs, y),
           "brier": bayes.brier(probs, y),
           "ece": bayes.expected_calibration_error(probs, y, n_bins=bins),
           "mean_entropy": float(entropy.mean()),
           "mean_entropy_right": float(entropy[right].mean()) if right.any() else None,
           "mean_entropy_wrong": float(entropy[~right].mean()) if (~right).any() else None,
           "mean_mutual_information": float(bayes.mutual_information(samples).mean())
           if len(samples) > 1 else 0.0, "samples": int(len(samples))}


def _laplace_samples(net, structure, fit, val, x, samples, rng):
    """(S, N, C) Laplace predictive samples for ``x`` and the chosen prior precision."""
    if structure == "diag":
        la = bayes.DiagonalLaplace(net).fit(*fit)

        def draw(inputs, prior):
            la.set_prior_precision(prior)
            return xp_softmax(la.sample_outputs(inputs, samples=samples, rng=rng))
    else:  # the linearized (GLM) predictive: logits drawn from their Gaussian
        cls = bayes.LastLayerLaplace if structure == "last-layer" else bayes.KFACLaplace
        la = cls(net).fit(*fit)

        def draw(inputs, prior):
            la.set_prior_precision(prior)
            mean, cov = la.logits_distribution(inputs)
            xp = get_array_module(mean)
            chol = xp.linalg.cholesky(cov + 1e-10 * xp.eye(cov.shape[-1]))
            eps = as_generator(rng).standard_normal((samples, *mean.shape))
            return xp.stack([bayes.softmax_probs(mean + xp.einsum("nce,ne->nc", chol, e))
                             for e in eps])
    val_nll = [bayes.nll(draw(val[0], a).mean(0), val[1]) for a in PRIORS]
    best = PRIORS[min(range(len(PRIORS)), key=val_nll.__getitem__)]
    return draw(x, best), best, dict(zip(map(str, PRIORS), val_nll))


def xp_softmax(outs):
    """Softmax over the last axis of an array of logits (any leading axes)."""
    xp = get_array_module(outs)
    e = xp.exp(outs - outs.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def evaluate_uncertainty(checkpoint, method: str, *, samples: int = 30,
                         structure: str = "last-layer", fit_size: int | None = 1000,
                         bins: int = 15, seed: int = 0, data_dir=None,
                         download: bool = True) -> dict:
    """Score ``method``'s predictive on the test set of the run in ``checkpoint``.

    Args:
        checkpoint: a run folder of ``chainrule train``; its results.json gets the figures.
        method: one of ``METHODS``.
        samples: draws averaged (MC dropout, Laplace, Bayes by Backprop).
        structure: Laplace's Hessian structure, one of ``LAPLACE_STRUCTURES``.
        fit_size: Laplace fits on the first this many training images (None: all); the diagonal
            and KFAC fits cost one backward pass per image and class.
        seed: seeds the draws.

    Returns:
        ``{"method", "plain": {...}, "plain_label", METHOD: {...}, ...}``, also stored in
        results.json; "plain" is one network's deterministic prediction ("plain_label" says
        which: the network, an ensemble's first member alone, or Bayes by Backprop's means).
    """
    if method not in METHODS:
        raise ValueError(f"--uncertainty {method!r}: expected one of {', '.join(METHODS)}")
    if structure not in LAPLACE_STRUCTURES:
        raise ValueError(f"--laplace-structure {structure!r}: expected one of "
                         f"{', '.join(LAPLACE_STRUCTURES)}")
    samples = check_int("evaluate", "samples", samples)
    folder = Path(checkpoint)
    if not folder.is_dir():
        raise ValueError(f"--uncertainty needs a run folder of `chainrule train` (its results.json "
                         f"gets the figures), got {str(checkpoint)!r}")
    net, config = load_model(folder)
    data = load_image_dataset(config["dataset"], data_dir, download=download)
    x, y = data.x_test, data.y_test
    start = time.perf_counter()
    if method == "laplace" and isinstance(net, bayes.Ensemble):
        raise ValueError("--uncertainty laplace: the run is an ensemble; Laplace needs one network")
    # the baseline: one network's deterministic prediction (an ensemble's first member alone,
    # a Bayes-by-Backprop net's mean weights)
    one = net.members[0] if isinstance(net, bayes.Ensemble) else net
    plain = bayes.softmax_probs(logits_of(one, x))[None]
    label = ("member 0 alone" if one is not net else "mean weights"
             if any(isinstance(m, (BayesianLinear, BayesianConv2d)) for m in net.modules())
             else "plain network")
    result = {"method": method, "plain": summary(plain, y, bins=bins), "plain_label": label}
    if method == "mc-dropout":
        seed_layers([m for m in net.modules() if hasattr(m, "rng") and hasattr(m, "p")], seed)
        probs = bayes.mc_dropout_predict(net, x, samples=samples)
    elif method == "bayes-by-backprop":
        seed_layers([m for m in net.modules() if isinstance(m, (BayesianLinear, BayesianConv2d))],
                    seed)
        probs = bayes.sample_predict(net, x, samples=samples)
    elif method == "ensemble":
        if not isinstance(net, bayes.Ensemble):
            raise ValueError("--uncertainty ensemble: the run is not an ensemble (train it with "
                             "--ensemble M)")
        probs = xp_softmax(logits_of_members(net, x))
    else:
        fit, val = _validation_images(folder, data)
        if fit_size is not None:
            fit_size = check_int("evaluate", "fit_size", fit_size)
            fit = (fit[0][:fit_size], fit[1][:fit_size])
        probs, prior, val_nll = _laplace_samples(net, structure, fit, val, x, samples, seed)
        result.update({"structure": structure, "prior_precision": prior,
                       "val_nll_by_prior": val_nll, "fit_size": len(fit[1])})
    result[method] = summary(probs, y, bins=bins)
    result["seconds"] = round(time.perf_counter() - start, 1)
    key = method if method != "laplace" else f"laplace-{structure}"
    results_path = folder / "results.json"
    stored = json.loads(results_path.read_text()) if results_path.is_file() else {}
    stored.setdefault("uncertainty", {})[key] = result
    write_json(str(results_path), stored)
    return {**result, "dataset": data.name, "n_test": len(y), "results": str(results_path)}


def logits_of_members(ensemble, x):
    """Each member's logits for ``x``: an array (M, N, C)."""
    xp = get_array_module(x)
    return xp.stack([logits_of(m, x) for m in ensemble.members])
