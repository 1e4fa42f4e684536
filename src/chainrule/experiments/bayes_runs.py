"""The Bayesian and averaging options of ``chainrule train``: ensembles, Bayes by Backprop, soft
weight sharing; and how a run folder made with them is rebuilt.

A run's model config is the registered model's ``{"name", "kwargs"}`` plus, when used,
``"ensemble": M`` (M members of that model, one ``bayes.Ensemble``, state-dict keys
``members.i.``), ``"bayes_by_backprop": {"prior_sigma": s}`` (its Linear/Conv2d layers made
Bayesian by ``bayes.to_bayesian``) and ``"soft_sharing": {"components": K, ...}`` (a
``bayes.MixturePrior`` attached as ``sharing_prior``, saved with the weights). ``assemble`` turns
the plain models built from ``name``/``kwargs`` into that model, for training and loading alike.
"""

from __future__ import annotations

import copy
import math

from .. import bayes
from ..autograd import no_grad
from ..backend import asnumpy, get_array_module
from ..data.arguments import check_int, check_number
from ..ops import cross_entropy
from ..train import Callback

__all__ = ["assemble", "check_options", "member_loss", "quantize_report", "spec_of"]


def check_options(options: dict | None) -> dict:
    """The normalized options ``{"ensemble", "bayes_by_backprop", "soft_sharing"}`` (absent: off).

    ``ensemble``: members (>= 2); ``bayes_by_backprop``: ``{"prior_sigma"}``; ``soft_sharing``:
    ``{"components" (>= 2), "strength" (> 0), "warmup" (epochs >= 0 without the penalty)}``.
    """
    who = "train_classifier"
    options = dict(options or {})
    unknown = set(options) - {"ensemble", "bayes_by_backprop", "soft_sharing"}
    if unknown:
        raise ValueError(f"{who}: unknown bayes options {sorted(unknown)}; expected ensemble, "
                         "bayes_by_backprop, soft_sharing")
    out = {}
    if options.get("ensemble") is not None:
        out["ensemble"] = check_int(who, "ensemble", options["ensemble"], low=2)
    if options.get("bayes_by_backprop") is not None:
        bbb = {"prior_sigma": 1.0, **options["bayes_by_backprop"]}
        out["bayes_by_backprop"] = {
            "prior_sigma": check_number(who, "prior_sigma", bbb["prior_sigma"], above=0)}
    if options.get("soft_sharing") is not None:
        if "bayes_by_backprop" in out:
            raise ValueError(f"{who}: soft_sharing and bayes_by_backprop cannot be combined (the "
                             "mixture prior needs point weights)")
        s = {"strength": 1.0, "warmup": 0, **options["soft_sharing"]}
        out["soft_sharing"] = {"components": check_int(who, "components", s["components"], low=2),
                               "strength": check_number(who, "strength", s["strength"],
                                                        above=0),
                               "warmup": check_int(who, "warmup", s["warmup"], low=0)}
    return out


def spec_of(options: dict) -> dict:
    """What the model config records of the options (the training-only ones left out)."""
    out = {k: options[k] for k in ("ensemble", "bayes_by_backprop") if k in options}
    if "soft_sharing" in options:
        out["soft_sharing"] = {"components": options["soft_sharing"]["components"]}
    return out


def _check_spec(spec: dict, n_members: int) -> None:
    m = spec.get("ensemble")
    if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 2):
        raise ValueError(f"model config: 'ensemble' must be an int >= 2, got {m!r}")
    if (m or 1) != n_members:
        raise ValueError(f"model config: {m} ensemble members expected, {n_members} built")
    bbb = spec.get("bayes_by_backprop")
    if bbb is not None and not (isinstance(bbb, dict) and set(bbb) == {"prior_sigma"}
                                and isinstance(bbb["prior_sigma"], (int, float))
                                and bbb["prior_sigma"] > 0):
        raise ValueError(f"model config: 'bayes_by_backprop' must be {{'prior_sigma': s > 0}}, "
                         f"got {bbb!r}")
    s = spec.get("soft_sharing")
    if s is not None and not (isinstance(s, dict) and isinstance(s.get("components"), int)
                              and 2 <= s["components"] <= 1024):
        raise ValueError(f"model config: 'soft_sharing' must be {{'components': 2..1024}}, "
                         f"got {s!r}")


def members_of(spec: dict) -> int:
    """How many plain models ``assemble`` needs for ``spec`` (1 unless an ensemble)."""
    m = spec.get("ensemble")
    return m if isinstance(m, int) and not isinstance(m, bool) and m >= 2 else 1


def assemble(members: list, spec: dict, rngs=None):
    """The model ``spec`` describes, from its plain registered ``members`` (modified in place).

    Args:
        members: ``members_of(spec)`` models built from ``spec``'s name and kwargs.
        spec: the run's model config.
        rngs: one Generator per member for the Bayesian layers' samples (None: the default).
    """
    _check_spec(spec, len(members))
    rngs = rngs or [None] * len(members)
    for net, rng in zip(members, rngs):
        if spec.get("bayes_by_backprop"):
            bayes.to_bayesian(net, prior_sigma=spec["bayes_by_backprop"]["prior_sigma"], rng=rng)
        if spec.get("soft_sharing"):
            k = spec["soft_sharing"]["components"]
            net.sharing_prior = bayes.MixturePrior([0.0] * k, sigma=0.1, fixed_zero=True)
    if spec.get("ensemble"):
        return bayes.Ensemble(members)
    return members[0]


def shared_weights(net) -> list:
    """The weights soft sharing acts on: those of the linear and convolution layers
    (``bayes.shared_weights``), not normalization scales or embeddings."""
    return bayes.shared_weights(net)


class _StartSharing(Callback):
    """Switch the mixture penalty on at epoch ``warmup``, its centres spread over the weights.

    The centres then are zero (fixed) and ``K - 1`` values evenly over ``[-m, m]`` without zero,
    ``m`` the largest weight magnitude; every width ``m / K`` (Ullrich et al., 2017's start).
    """

    def __init__(self, net, state: dict, warmup: int):
        self.net, self.state, self.warmup = net, state, warmup

    def on_epoch_begin(self, epoch, logs=None):
        self.state["on"] = epoch >= self.warmup
        if epoch != self.warmup:
            return
        prior = self.net.sharing_prior
        k = prior.means.shape[0]
        span = max(float(max(abs(asnumpy(w._data)).max() for w in shared_weights(self.net))),
                   1e-3)
        xp = get_array_module(prior.means._data)
        grid = [v for v in xp.linspace(-span, span, k + (k % 2 == 0)) if abs(v) > 1e-9 * span]
        with no_grad():
            prior.means.copy_(xp.asarray([0.0, *grid[:k - 1]], dtype=prior.means.dtype))
            prior.log_sigmas.copy_(xp.full(k, math.log(span / k), dtype=prior.means.dtype))
            prior.logits.copy_(xp.zeros(k, dtype=prior.means.dtype))


def member_loss(net, n_train: int, options: dict):
    """``(loss, callbacks)`` for training one member under ``options``."""
    if "bayes_by_backprop" in options:
        return bayes.elbo_loss(net, n_train, loss=cross_entropy), []
    if "soft_sharing" not in options:
        return cross_entropy, []
    s = options["soft_sharing"]
    state = {"on": s["warmup"] == 0}
    penalized = bayes.sharing_loss(net, net.sharing_prior, n_train, loss=cross_entropy,
                                   strength=s["strength"], params=shared_weights(net))

    def loss(output, target):
        return penalized(output, target) if state["on"] else cross_entropy(output, target)
    return loss, [_StartSharing(net, state, s["warmup"])]


def quantize_report(net, accuracy_of) -> dict:
    """Quantize a copy of a soft-sharing net to its mixture's centres; what that costs and saves.

    ``accuracy_of(model) -> float`` scores a model on the test set. Returns the accuracy before
    and after, the number of weights, of distinct weight values after, the bits an index into
    them needs, the centres and mixing proportions, and the quantized copy (key ``model``).
    """
    quantized = copy.deepcopy(net)
    weights = shared_weights(quantized)
    quantized.sharing_prior.quantize(*weights)
    values = get_array_module(weights[0]._data).concatenate(
        [asnumpy(w._data).reshape(-1) for w in weights])
    distinct = len(set(values.tolist()))
    prior = net.sharing_prior
    logits = asnumpy(prior.logits._data).astype("float64")
    pis = get_array_module(logits).exp(logits - logits.max())
    centres = asnumpy(prior.means._data).astype("float64")
    centres[0] = 0.0
    return {"accuracy_before": accuracy_of(net), "accuracy_quantized": accuracy_of(quantized),
            "weights": int(values.size), "distinct_weights": distinct,
            "bits_per_weight": max(1, math.ceil(math.log2(distinct))) if distinct > 1 else 0,
            "zero_share": float((values == 0).mean()),
            "centres": [round(float(c), 6) for c in centres],
            "mixing": [round(float(p), 6) for p in pis / pis.sum()], "model": quantized}
