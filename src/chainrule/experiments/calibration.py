"""The run behind `chainrule calibrate RUN`: temperature scaling and reliability of a classifier.

The temperature is fitted on the run's own validation images (the ``val_split`` of its training
set, drawn again from the seed recorded in config.json and checked against the recorded digest),
so the test set is used only to report: NLL, Brier score, ECE and accuracy before and after, a
reliability diagram, and with ``mc_dropout`` the MC-dropout predictive beside them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import bayes
from ..data import as_generator
from ..data.split import holdout_split, take_split
from ..robust.ood import logits_of
from .catalog import load_image_dataset
from .classify import load_model
from .robustness import _run

__all__ = ["LAPLACE_PRIORS", "calibrate_run"]

LAPLACE_PRIORS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def _validation_images(folder: Path, data):
    """The validation images of the run in ``folder``, as ``chainrule train`` held them out."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ValueError(f"calibrate: {folder} holds no config.json; give the run folder of "
                         "`chainrule train` (its validation split is needed to fit T)")
    config = json.loads(config_path.read_text())
    fraction, seed = config.get("val_split"), config.get("seed")
    if not fraction or not isinstance(seed, int):
        raise ValueError(f"calibrate: the run in {folder} was trained without a validation split "
                         f"(val_split={fraction!r}); temperature scaling needs held-out images")
    streams = as_generator(seed).spawn(4 if config.get("adversarial") else 3)
    fit, val = holdout_split(data.y_train, fraction, streams[2])
    digest = hashlib.sha256(val.astype("<i8").tobytes()).hexdigest()[:16]
    recorded = (config.get("split") or {}).get("val_indices_sha256")
    if recorded != digest:
        raise ValueError(f"calibrate: the validation split drawn again for {folder} does not "
                         f"match the one recorded (sha256 {recorded!r}, drawn {digest!r})")
    # As train does: the fit part in the training set's own memory, which data then holds.
    parts = take_split(data.x_train, data.y_train, fit, val)
    data.x_train, data.y_train = parts[0]
    return parts


def _scores(probs, y, bins) -> dict:
    return {"accuracy": float((probs.argmax(1) == y).mean()), "nll": bayes.nll(probs, y),
            "brier": bayes.brier(probs, y),
            "ece": bayes.expected_calibration_error(probs, y, n_bins=bins)}


def seed_layers(layers, seed: int) -> None:
    """Give each of ``layers`` (dropout or Bayesian layers) a stream of its own from ``seed``.

    One generator seeded alike in every layer drew the same masks (or weight noise) in layers of
    the same size. The first layer keeps the seed's own stream, so a model with one such layer
    draws as before; the others get streams spawned from the seed (independent of it).
    """
    layers = list(layers)
    streams = [as_generator(seed)] + as_generator(seed).spawn(max(len(layers) - 1, 0))
    for m, stream in zip(layers, streams):
        m.rng = stream


def calibrate_run(checkpoint, *, bins: int = 15, mc_dropout: int = 0, laplace: bool = False,
                  seed: int = 0, out=None, data_dir=None, download: bool = True) -> dict:
    """Fit a temperature on the run's validation images; score the test set before and after.

    Args:
        checkpoint: a run folder of ``chainrule train`` (with a validation split).
        bins: confidence bins of the ECE and the reliability diagram.
        mc_dropout: 0, or the number of MC-dropout samples to score as well (needs dropout).
        laplace: also score last-layer Laplace (GGN on the training images, probit
            predictive), its prior precision chosen from ``LAPLACE_PRIORS`` by validation NLL.
        out: the run folder to write (default runs/calibrate-TIME).

    Returns:
        ``{"temperature", "before", "after", ["mc_dropout"], "n_val", "n_test", "out"...}``.
    """
    folder = Path(checkpoint)
    if not folder.is_dir():
        raise ValueError(f"calibrate: {checkpoint!r} is not a run folder")
    net, config = load_model(folder)
    net.eval()
    data = load_image_dataset(config["dataset"], data_dir, download=download)
    (x_fit, y_fit), (x_val, y_val) = _validation_images(folder, data)
    settings = {"checkpoint": str(checkpoint), "bins": bins, "mc_dropout": mc_dropout,
                "laplace": laplace, "seed": seed}

    def work(run_out):
        val_logits = logits_of(net, x_val)
        ts = bayes.TemperatureScaling().fit(val_logits, y_val)
        logits = logits_of(net, data.x_test)
        before, after = bayes.softmax_probs(logits), ts.probs(logits)
        results = {"dataset": data.name, "temperature": ts.temperature, "n_val": len(y_val),
                   "n_test": len(data.y_test), "before": _scores(before, data.y_test, bins),
                   "after": _scores(after, data.y_test, bins),
                   "val_nll_before": bayes.nll(bayes.softmax_probs(val_logits), y_val),
                   "val_nll_after": bayes.nll(ts.probs(val_logits), y_val)}
        curves = {"as trained": before, f"T = {ts.temperature:.2f}": after}
        if mc_dropout:
            seed_layers([m for m in net.modules() if hasattr(m, "rng") and hasattr(m, "p")],
                        seed)
            mc = bayes.mc_dropout_predict(net, data.x_test, samples=mc_dropout).mean(0)
            results["mc_dropout"] = _scores(mc, data.y_test, bins)
            curves[f"MC dropout ({mc_dropout})"] = mc
        if laplace:
            la = bayes.LastLayerLaplace(net).fit(x_fit, y_fit)
            val_nll = [bayes.nll(la.set_prior_precision(a).predict(x_val), y_val)
                       for a in LAPLACE_PRIORS]
            best = min(range(len(LAPLACE_PRIORS)), key=val_nll.__getitem__)
            lp = la.set_prior_precision(LAPLACE_PRIORS[best]).predict(data.x_test)
            results["laplace"] = {**_scores(lp, data.y_test, bins),
                                  "prior_precision": LAPLACE_PRIORS[best]}
            curves[f"last-layer Laplace ({LAPLACE_PRIORS[best]:g})"] = lp
        diagram = {k: {**bayes.reliability(p, data.y_test, n_bins=bins),
                       "ece": bayes.expected_calibration_error(p, data.y_test, n_bins=bins)}
                   for k, p in curves.items()}
        bayes.figures.plot_reliability(diagram, run_out / "figures" / "reliability.png",
                                       title=f"{data.name} test set")
        return results

    return _run(out, "calibrate", settings, work)
