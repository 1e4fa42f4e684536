"""What ``chainrule explain | visualize | prune | rules`` run: explanations into a folder.

Each command reads a classifier's run folder (from ``chainrule train``; ``rules`` trains its own
tabular networks) and writes ``results.json`` and figures into its output folder (by default a
folder inside the run: ``explain-METHOD``, ``visualize-LAYER``, ``pruned-SPARSITY``).
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import explain, optim
from ..backend import numpy
from ..backend.files import write_atomically, write_json
from ..data.arguments import check_number
from ..data.images import read_image
from ..explain import figures
from ..io import save_weights
from ..ops import cross_entropy
from ..train import Trainer
from .catalog import load_image_dataset
from .checks import fit_watched, lr_hint
from .classify import _run_config, load_model
from .explain_methods import LRP_RULES, MORE_METHODS, attribute_more

__all__ = ["EXPLAIN_METHODS", "LRP_RULES", "explain_images", "prune_run", "rules_run",
           "visualize_layer"]

CLASSIC_METHODS = ("saliency", "gradxinput", "smoothgrad", "ig", "occlusion", "deconvnet",
                   "guided")  # what --method all shows side by side
EXPLAIN_METHODS = CLASSIC_METHODS + MORE_METHODS  # the others: experiments/explain_methods.py


def _inputs(run, config, images, data_dir, download):
    """Images from files, or ``test:I`` entries (the I-th test image of the run's dataset)."""
    shape = tuple(config["input_shape"])
    xs, names, labels, data = [], [], [], None
    for item in images:
        if str(item).startswith("test:"):
            if data is None:
                data = load_image_dataset(config["dataset"], data_dir, download=download)
            try:
                i = int(str(item)[5:])
                xs.append(data.x_test[i])
            except (ValueError, IndexError):
                raise ValueError(f"image {item!r}: expected test:I with 0 <= I < "
                                 f"{len(data.x_test)}") from None
            labels.append(int(data.y_test[i]))
        else:
            xs.append(read_image(item, shape))
            labels.append(None)
        names.append(str(item))
    return numpy.stack(xs).astype(numpy.float32), names, labels


def _attribute(method, model, x, target, steps, n_samples, window, stride, seed, progress,
               **more):
    if method in MORE_METHODS:
        return attribute_more(method, model, x, target, steps=steps, n_samples=n_samples,
                              window=window, seed=seed, **more)
    if method == "saliency":
        return explain.saliency(model, x, target, progress=progress), {}
    if method == "gradxinput":
        return explain.gradient_x_input(model, x, target, progress=progress), {}
    if method == "smoothgrad":
        return explain.smoothgrad(model, x, target, n_samples=n_samples, rng=seed,
                                  progress=progress), {}
    if method == "ig":
        res = explain.integrated_gradients(model, x, target, steps=steps, progress=progress)
        return res.attributions, {"completeness_error": res.delta.tolist(),
                                  "f_x_minus_f_baseline":
                                  (res.scores - res.baseline_scores).tolist()}
    if method == "occlusion":
        return explain.occlusion(model, x, target, window=window, stride=stride,
                                 progress=progress), {}
    if method == "deconvnet":
        return explain.deconvnet(model, x, target), {}
    return explain.guided_backprop(model, x, target), {}


def explain_images(run, images, *, method: str = "saliency", out=None, target=None,
                   steps: int = 50, n_samples: int = 25, window: int = 4, stride: int = 2,
                   stdev: float = 0.15, layer=None, rule=None, seed: int = 0, data_dir=None,
                   download: bool = True, progress: bool = False) -> dict:
    """Attribution maps of a classifier's decision for each image; one figure for all.

    Args:
        run: a classifier's run folder. images: image files or ``test:I``.
        method: one of EXPLAIN_METHODS, or "all" (the seven CLASSIC_METHODS).
        target: the class to explain (None: each image's predicted class).
        steps, n_samples, window, stride: of integrated gradients, SmoothGrad and occlusion;
            ``n_samples`` also counts Shapley sampling's orderings, noise tunnel's copies and
            DeepLIFT-SHAP's baselines, ``window`` is the superpixels' side.
        stdev: noise tunnel's noise; layer: layer_ig's layer (None: the last Conv2d with a map
            larger than 1 x 1); rule: lrp's rule, one of LRP_RULES (None: epsilon).
    """
    methods = CLASSIC_METHODS if method == "all" else (method,)
    if method != "all" and method not in EXPLAIN_METHODS:
        raise ValueError(f"--method {method!r}: expected one of {EXPLAIN_METHODS} or 'all'")
    if rule is not None and method != "lrp":
        raise ValueError(f"--rule {rule!r} is lrp's; give --method lrp (got {method!r})")
    model, config = load_model(run)
    _run_config(Path(run), config, "input_shape", "classes", "dataset")
    x, names, labels = _inputs(run, config, images, data_dir, download)
    out = Path(out) if out else Path(run) / f"explain-{method}"
    scores = explain.predict_scores(model, x, output="probability")
    pred = scores.argmax(axis=1)
    t = pred if target is None else numpy.full(len(x), int(target))
    maps, extra, seconds = {}, {}, {}
    more = {"stdev": stdev, "layer": layer, "rule": rule}
    if method == "deeplift_shap":  # baselines: n_samples test images, drawn with the seed
        test = load_image_dataset(config["dataset"], data_dir, download=download).x_test
        pick = numpy.random.default_rng(seed).choice(len(test), min(n_samples, len(test)),
                                                     replace=False)
        more["background"] = numpy.asarray(test[numpy.sort(pick)], dtype=numpy.float32)
    for m in methods:
        start = time.perf_counter()
        maps[m], extra[m] = _attribute(m, model, x, t, steps, n_samples, window, stride, seed,
                                       progress, **more)
        seconds[m] = round(time.perf_counter() - start, 2)
    classes = config["classes"]
    titles = [f"{classes[p]} ({scores[i, p]:.2f})" for i, p in enumerate(pred)]
    fig = figures.plot_attributions(x, maps, out / f"{method}.png", titles=titles,
                                    suptitle=f"{config['model'].get('name')} on "
                                    f"{config['dataset']}: explaining class "
                                    f"{'predicted' if target is None else classes[int(target)]}")
    results = {"run": str(run), "methods": list(methods), "seconds": seconds,
               "images": [{"image": n, "label": None if lab is None else classes[lab],
                           "predicted": classes[p], "probability": float(scores[i, p]),
                           "explained_class": classes[t[i]]}
                          for i, (n, lab, p) in enumerate(zip(names, labels, pred))],
               "figure": fig, **{f"{m}_details": e for m, e in extra.items() if e}}
    write_json(out / "results.json", results)
    return results


def visualize_layer(run, *, layer: str, out=None, channels=None, n_images: int = 2000,
                    k: int = 8, steps: int = 150, seed: int = 0, data_dir=None,
                    download: bool = True) -> dict:
    """Filters, top-activating patches, their deconvnet projections and activation maximization.

    Args:
        layer: a dotted layer name (``model.named_modules()``), e.g. "features.3".
        channels: the channels to show (None: the first 8).
        n_images: test images searched for the top patches; k: patches per channel.
        steps: activation maximization steps.
    """
    model, config = load_model(run)
    _run_config(Path(run), config, "input_shape", "dataset")
    out = Path(out) if out else Path(run) / f"visualize-{layer}"
    data = load_image_dataset(config["dataset"], data_dir, download=download)
    x = data.x_test[:n_images]
    acts = explain.layer_activations(model, layer, x[:2])
    n_channels = acts.shape[1]
    channels = list(range(min(n_channels, 8))) if channels is None else [int(c) for c in channels]
    for c in channels:
        if not 0 <= c < n_channels:
            raise ValueError(f"--channels: {c} is not a channel of {layer!r} (0..{n_channels - 1})")
    figs = []
    try:
        filters = explain.first_layer_filters(model)
        figs.append(figures.plot_filters(filters, out / "first_layer_filters.png",
                                         suptitle="first-layer filters"))
    except ValueError:
        pass
    patches, projections, tops, maxed, traces, summary = [], [], [], [], {}, {}
    for c in channels:
        top = explain.top_activating_patches(model, layer, x, c, k=k)
        patches.append(top["patches"])
        best = x[top["samples"][:k]]
        proj = explain.project_activation(model, layer, best, c, rule="deconvnet")
        scale = numpy.abs(proj).reshape(len(proj), -1).max(axis=1).reshape(-1, 1, 1, 1)
        projections.append(0.5 + 0.5 * proj / numpy.where(scale > 0, scale, 1))
        tops.append(best)
        am = explain.activation_maximization(model, layer, c, tuple(config["input_shape"]),
                                             steps=steps, rng=seed + c)
        maxed.append(am["image"])
        traces[f"channel {c}"] = am["activations"]
        summary[c] = {"top_activations": top["values"].tolist(),
                      "top_samples": top["samples"].tolist(),
                      "maximization_start": float(am["activations"][0]),
                      "maximization_end": float(am["activations"][-1])}
    cols = k
    figs.append(explain_grid(numpy.concatenate(patches), out / "top_patches.png", cols,
                             f"{layer}: top-{k} patches per channel (rows: channels "
                             f"{channels})"))
    figs.append(explain_grid(numpy.concatenate(tops), out / "top_images.png", cols,
                             f"{layer}: the images with those patches"))
    figs.append(explain_grid(numpy.concatenate(projections), out / "deconvnet.png", cols,
                             f"{layer}: deconvnet projections of the top activations"))
    figs.append(explain_grid(numpy.stack(maxed), out / "activation_maximization.png",
                             len(channels), f"{layer}: activation maximization, channels "
                             f"{channels}"))
    figs.append(figures.plot_traces(traces, out / "activation_maximization_trace.png",
                                    ylabel=f"mean activation of {layer}",
                                    title="activation maximization (jitter 2 px, blur)"))
    results = {"run": str(run), "layer": layer, "channels": summary, "figures": figs,
               "n_images_searched": len(x)}
    write_json(out / "results.json", results)
    return results


def explain_grid(images, path, ncols, title):
    """A grid of images in [0, 1] (one row per channel)."""
    from ..viz import image_grid

    return image_grid(images, path, ncols=ncols, suptitle=title)


def prune_run(run, *, sparsity: float = 0.9, iterative: bool = False, steps: int = 5,
              criterion: str = "magnitude", scope: str = "global", finetune_epochs: int = 1,
              batch_size: int = 64, lr: float = 1e-3, out=None, seed: int = 0, data_dir=None,
              download: bool = True, verbose: int = 0) -> dict:
    """Prune a classifier to ``sparsity`` and report test accuracy against sparsity.

    One-shot: the curve is the accuracy of the trained weights pruned to each sparsity of the
    schedule, without retraining. Iterative: at each sparsity the model is pruned further and
    fine-tuned for ``finetune_epochs`` epochs (the masks held by ``explain.KeepPruned``).
    criterion: "magnitude" or "obd" (Optimal Brain Damage's saliency, with the Hessian's
    diagonal approximated by the empirical Fisher diagonal of 1,000 training images).
    """
    if criterion not in ("magnitude", "obd"):
        raise ValueError(f"--criterion {criterion!r}: expected 'magnitude' or 'obd'")
    if not 0 < sparsity < 1:
        raise ValueError(f"--sparsity {sparsity!r}: expected a share in (0, 1)")
    lr = check_number("prune", "lr", lr, above=0)  # inf trained the pruned weights to NaN
    model, config = load_model(run)
    _run_config(Path(run), config, "input_shape", "dataset")
    out = Path(out) if out else Path(run) / f"pruned-{sparsity:g}"
    data = load_image_dataset(config["dataset"], data_dir, download=download)
    rng = numpy.random.default_rng(seed)

    def accuracy(net):
        logits = Trainer(net, cross_entropy, None).predict(data.x_test, batch_size=256)
        return float((logits.argmax(axis=1) == data.y_test).mean())

    def obd_scores(net):
        idx = rng.choice(len(data.x_train), min(1000, len(data.x_train)), replace=False)
        return explain.obd_saliency(net, cross_entropy, data.x_train[idx], data.y_train[idx],
                                    method="fisher")

    def prune_to(net, s):
        if criterion == "magnitude":
            return explain.prune_magnitude(net, s, scope=scope)
        return explain.prune_by_saliency(net, obd_scores(net), s, scope=scope)

    base = accuracy(model)
    schedule = explain.sparsity_schedule(sparsity, steps)
    curve = [{"sparsity": 0.0, "test_accuracy": base}]
    start = time.perf_counter()
    if iterative:
        opt = optim.Adam(model.parameters(), lr=lr)
        trainer = Trainer(model, cross_entropy, opt, callbacks=[explain.KeepPruned()])

        def fine_tune(net, step):
            before = accuracy(net)
            fit_watched(trainer, (data.x_train, data.y_train),
                        epochs=(step + 1) * finetune_epochs, batch_size=batch_size, rng=rng,
                        verbose=verbose, hint=lr_hint(lr))
            return {"test_accuracy_before_finetuning": before, "test_accuracy": accuracy(net)}

        scores = None if criterion == "magnitude" else obd_scores
        curve += explain.prune_iteratively(model, sparsity, steps, fine_tune, scores=scores,
                                           scope=scope)
    else:
        for s in schedule:
            achieved = prune_to(model, s)["global"]
            curve.append({"sparsity": achieved, "test_accuracy": accuracy(model)})
    seconds = round(time.perf_counter() - start, 1)
    final = explain.sparsity(model)
    explain.remove_masks(model)  # the saved weights hold the zeros: any loader reads them
    save_weights(model, out / "model.safetensors", config=config)
    label = f"{'iterative' if iterative else 'one-shot'} {criterion} ({scope})"
    fig = figures.plot_sparsity_curves(
        {label: [(c["sparsity"], c["test_accuracy"]) for c in curve]},
        out / "sparsity.png", title=f"{config['model'].get('name')} on {config['dataset']}")
    results = {"run": str(run), "criterion": criterion, "scope": scope, "iterative": iterative,
               "finetune_epochs": finetune_epochs if iterative else 0, "curve": curve,
               "final_sparsity": final, "test_accuracy": curve[-1]["test_accuracy"],
               "unpruned_test_accuracy": base, "seconds": seconds, "figure": fig,
               "out": str(out)}
    write_json(out / "results.json", results)
    return results


def rules_run(dataset: str, *, out=None, hidden: int = 4, levels: int = 3,
              max_accuracy_drop: float = 0.01, table: str = "auto", seed: int = 0) -> dict:
    """NeuroRule on a tabular set, a decision tree of the same size, and sensitivity rules.

    Writes rules.txt (the merged rules, then each hidden unit's and the output rules),
    rules.json and results.json into ``out`` (default runs/rules-DATASET).
    """
    data = explain.load_tabular(dataset, test_share=0.5 if dataset.startswith("monk") else 0.3,
                                rng=seed)
    out = Path(out) if out else Path("runs") / f"rules-{dataset}"
    start = time.perf_counter()
    res = explain.neurorule(data, hidden=hidden, levels=levels,
                            max_accuracy_drop=max_accuracy_drop, table=table, seed=seed)
    seconds = round(time.perf_counter() - start, 1)
    tree = explain.compare_decision_tree(data, res, seed=seed)
    sens = _sensitivity(data, seed)
    lines = [f"# NeuroRule on {dataset}: {res.metrics['n_rules']} rules, "
             f"{res.metrics['n_conditions']} conditions; test accuracy "
             f"{res.metrics['rules_test_accuracy']:.4f}, fidelity "
             f"{res.metrics['fidelity_test']:.4f}", *res.rules.lines(), ""]
    for unit, rs in res.hidden_rules.items():
        lines += [f"# hidden unit {unit}", *rs.lines(), ""]
    lines += ["# hidden clusters -> classes", *res.output_rules.lines(), "",
              "# sensitivity (an MLP on the standardized raw inputs)", *sens["rules"]]
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(str(out / "rules.txt"), ("\n".join(lines) + "\n").encode(), make_folder=True)
    write_json(out / "rules.json", res.report())
    results = {**res.metrics, "decision_tree": tree, "sensitivity": sens, "seconds": seconds,
               "notes": data.notes, "out": str(out), "rule_text": res.rules.lines()}
    write_json(out / "results.json", results)
    return results


def _sensitivity(data, seed: int) -> dict:
    """A plain MLP on standardized raw inputs, its permutation importance and sensitivity rules."""
    from .. import nn

    x = numpy.asarray(data.x_train, dtype=numpy.float32)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-8
    xs = (x - mean) / std
    xt = ((numpy.asarray(data.x_test, dtype=numpy.float32) - mean) / std).astype(numpy.float32)
    rng = numpy.random.default_rng(seed)
    net = nn.Sequential(nn.Linear(x.shape[1], 16, rng=rng), nn.Tanh(),
                        nn.Linear(16, len(data.class_names), rng=rng))
    trainer = Trainer(net, cross_entropy, optim.Adam(net.parameters(), lr=0.01),
                      metrics=["accuracy"])
    fit_watched(trainer, (xs, data.y_train), epochs=150, batch_size=None, rng=seed, verbose=0)
    acc = trainer.evaluate((xt, data.y_test))["accuracy"]
    names = [f"{n} (sd {s:.3g})" for n, s in zip(data.feature_names, std)]
    try:  # stated for the samples the network is less sure of: elsewhere little moves it
        rules = explain.sensitivity_rules(net, xs, feature_names=names,
                                          class_names=data.class_names, delta=1.0,
                                          threshold=0.1, coverage=0.75, max_confidence=0.95)
    except ValueError:  # the network is sure of every sample
        rules = []
    perm = explain.permutation_importance(net, xt, data.y_test, n_repeats=5, rng=seed)
    order = numpy.argsort(-perm["mean"])[:5]
    return {"mlp_test_accuracy": acc, "rules": [str(r).replace("rises by 1,", "rises by 1 sd,")
                                                for r in rules[:10]],
            "permutation_importance_top5": {data.feature_names[j]: float(perm["mean"][j])
                                            for j in order}}
