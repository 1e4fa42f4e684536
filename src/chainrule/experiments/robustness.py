"""The robustness runs behind `chainrule attack | patch | shift | ood` and `train --adversarial`.

Each run reads a classifier's run folder (from ``chainrule train``), evaluates it on its test set
and writes a run folder of its own: ``config.json`` (the settings), ``results.json`` and
``figures/``.
"""

from __future__ import annotations

import time

from .. import robust
from ..backend import asnumpy, get_array_module
from ..backend.files import write_json
from ..data import as_generator
from ..data.arguments import check_int
from ..robust import figures
from ..robust.ood import logits_of
from ..robust.patch import apply_patch, paste_matrices, random_placements
from ..viz import image_grid
from .catalog import load_image_dataset
from .classify import load_model
from .runs import RunFolder, run_path

__all__ = ["OOD_SETS", "attack_run", "ood_run", "patch_run",
           "shift_run"]

DEFAULT_CURVE = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
OOD_SETS = ("fashion_mnist", "mnist", "noise", "inverted")


def _setup(checkpoint, data_dir, download, n, who):
    """The model, its config and its test set (the first ``n`` images when given)."""
    net, config = load_model(checkpoint)
    data = load_image_dataset(config["dataset"], data_dir, download=download)
    if n is not None:
        n = check_int(who, "n", n)
    x, y = data.x_test[:n], data.y_test[:n]
    return net, config, data, x, y


def _run(out, default_name: str, settings: dict, work):
    """Create and lock the run folder, write config.json, run ``work(out)``, write results."""
    out = run_path(out, default_name, False)
    with RunFolder(out, settings, resume=False):
        write_json(out / "config.json", settings)
        start = time.perf_counter()
        results = work(out)
        results["seconds"] = round(time.perf_counter() - start, 1)
        results["out"] = str(out)
        write_json(out / "results.json", results)
    return results


def attack_run(checkpoint, method: str = "pgd", *, eps: float | None = None, norm: str = "linf",
               steps: int | None = None, restarts: int = 1, alpha: float | None = None,
               target: int | None = None, n: int | None = None, curve=None,
               seed: int = 0, out=None, data_dir=None, download: bool = True,
               verbose: int = 1) -> dict:
    """Attack a trained classifier on its test set: robust accuracy, a curve over eps, a grid.

    ``eps`` (default 0.3) and ``curve`` (eps values, default ``DEFAULT_CURVE``; empty for none)
    are for the budgeted attacks (fgsm, pgd, apgd, apgd-t), each point of the curve the run's
    attack (with its ``target``) at that eps; cw and deepfool have no budget (they report the
    median perturbation norm instead) and refuse either. apgd-t attacks the 9 likeliest other
    classes (fewer when the dataset has fewer).
    """
    budgeted = method in ("fgsm", "pgd", "apgd", "apgd-t")
    if not budgeted:  # a budget the attack cannot honour is refused, not dropped without a word
        for option, given in ((f"--eps {eps}", eps is not None), (f"--curve {curve}", curve)):
            if given:
                raise ValueError(f"{option}: --method {method} has no perturbation budget (eps "
                                 "and its curve are for fgsm, pgd, apgd and apgd-t)")
    eps = 0.3 if eps is None else eps
    curve = (DEFAULT_CURVE if budgeted else ()) if curve is None else curve
    net, config, data, x, y = _setup(checkpoint, data_dir, download, n, "attack")
    kwargs = _attack_kwargs(method, eps, norm, steps, restarts, alpha, seed)
    if method == "apgd-t":
        kwargs["n_target_classes"] = min(9, len(data.classes) - 1)
    if target is not None:
        if method == "apgd-t":
            raise ValueError(f"--target {target}: --method apgd-t is untargeted (it picks its "
                             "target classes itself)")
        target = check_int("attack", "target", target, low=0)
        if target >= len(data.classes):
            raise ValueError(f"--target {target}: the model has {len(data.classes)} classes")
    settings = {"checkpoint": str(checkpoint), "method": method, "n": len(x), "target": target,
                **{k: v for k, v in kwargs.items() if k != "rng"}, "seed": seed}

    attack_kwargs = kwargs if target is None else {**kwargs, "target": target}

    def work(out):
        res = robust.robust_accuracy(net, (x, y), method, verbose=verbose, **attack_kwargs)
        results = {"dataset": data.name, **res}
        if budgeted and curve:
            rows = []
            for e in curve:
                # the run's own attack (its target too) at each eps
                r = robust.robust_accuracy(net, (x, y), method, verbose=0,
                                           **{**attack_kwargs, "eps": float(e), "rng": seed})
                rows.append({"eps": float(e), "robust_accuracy": r["robust_accuracy"]})
            results["curve"] = rows
            figures.plot_curve([r["eps"] for r in rows], {method: [r["robust_accuracy"]
                                                                   for r in rows]},
                               out / "figures" / "accuracy_vs_eps.png", xlabel="epsilon",
                               ylabel="robust accuracy", chance=1 / len(data.classes),
                               title=f"{method} on {data.name}")
        shown = robust.get_attack(method)(net, x[:12], y[:12], **attack_kwargs)
        conf = robust.msp_score(logits_of(net, shown.adversarial))
        what = f"eps {eps:g}" if budgeted else f"median L2 {results['median_norm']:.2f}"
        figures.plot_attack_grid(x[:12], shown.adversarial, y[:12], shown.predictions, conf,
                                 out / "figures" / "adversarial_grid.png", classes=data.classes,
                                 suptitle=f"{method} ({what}): original / perturbation / "
                                 "adversarial (answer, confidence)")
        return results

    return _run(out, f"attack-{method}", settings, work)


def _attack_kwargs(method, eps, norm, steps, restarts, alpha, seed) -> dict:
    robust.get_attack(method)  # an unknown name fails here, before any work
    # An option the method does not take is refused, not dropped without a word.
    unused = [(f"--alpha {alpha}", alpha is not None and method != "pgd", "pgd"),
              (f"--norm {norm}", norm != "linf" and method != "pgd", "pgd"),
              (f"--restarts {restarts}",
               restarts != 1 and method not in ("pgd", "apgd", "apgd-t"), "pgd, apgd and apgd-t"),
              (f"--steps {steps}", steps is not None and method == "fgsm",
               "every method but fgsm, a single step")]
    for option, given, takes in unused:
        if given:
            raise ValueError(f"{option}: --method {method} does not use it (it is for {takes})")
    if method == "fgsm":
        return {"eps": eps}
    if method == "pgd":
        return {"eps": eps, "norm": norm, "steps": steps or 40, "restarts": restarts,
                "alpha": alpha, "rng": seed}
    if method in ("apgd", "apgd-t"):
        return {"eps": eps, "steps": steps or 100, "restarts": restarts, "rng": seed}
    if method == "cw":
        return {"steps": steps or 100}
    return {"steps": steps or 50}


def patch_run(checkpoint, *, target: int = 0, areas=(0.04, 0.09, 0.16), epochs: int = 1,
              n_train: int | None = 10000, n: int | None = None, lr: float = 0.05,
              seed: int = 0, out=None, data_dir=None, download: bool = True) -> dict:
    """Train a universal targeted patch per area on training images; score it on test images."""
    net, config, data, x, y = _setup(checkpoint, data_dir, download, n, "patch")
    target = check_int("patch", "target", target, low=0)
    if target >= len(data.classes):
        raise ValueError(f"--target {target}: the model has {len(data.classes)} classes")
    sides = [robust.patch_side(a, data.input_shape[-1]) for a in areas]
    settings = {"checkpoint": str(checkpoint), "target": target, "areas": list(areas),
                "epochs": epochs, "n_train": n_train, "n": len(x), "lr": lr, "seed": seed}

    def work(out):
        rng = as_generator(seed)
        xtr = data.x_train[:n_train]
        rows, patches = [], []
        for area, side in zip(areas, sides):
            patch = robust.train_patch(net, xtr, target, area=area, epochs=epochs, lr=lr,
                                       rng=rng)
            score = robust.patch_success(net, x, y, patch, target, rng=rng)
            pixels = side * side / (data.input_shape[-1] * data.input_shape[-2])
            rows.append({"area": area, "side": side, "pixel_share": pixels, **score,
                         "patch": asnumpy(patch).round(4).tolist()})
            patches.append(patch)
        _patch_figures(net, data, x, y, patches, rows, target, out, rng)
        return {"dataset": data.name, "target": data.classes[target], "results": rows}

    return _run(out, f"patch-{target}", settings, work)


def _patch_figures(net, data, x, y, patches, rows, target, out, rng):
    xp = get_array_module(x)
    big = max(range(len(patches)), key=lambda i: rows[i]["side"])
    image_grid_titles = [f"{r['pixel_share']:.0%}: {r['success_rate']:.0%}" for r in rows]
    image_grid([_pad(p, x.shape[-1]) for p in patches], out / "figures" / "patches.png",
                       titles=image_grid_titles, ncols=len(patches),
                       suptitle=f"patches for '{data.classes[target]}' (area: success)")
    keep = asnumpy(y != target).nonzero()[0][:16]
    side = patches[big].shape[-1]
    mats = paste_matrices(side, x.shape[2:], random_placements(len(keep), side, x.shape[2:],
                                                               rng=rng), xp=xp, dtype=x.dtype)
    patched = apply_patch(x[keep], patches[big], mats)._data
    logits = logits_of(net, patched)
    conf, pred = robust.msp_score(logits), logits.argmax(axis=1)
    wide = max(len(c) for c in data.classes) > 3  # long class names get two lines
    titles = [f"{data.classes[int(y[i])]}{chr(10) if wide else ''}->{data.classes[int(p)]} "
              f"{float(c):.2f}" for i, p, c in zip(keep, pred, conf)]
    image_grid(patched, out / "figures" / "patched.png", titles=titles, ncols=4 if wide else 8,
                       suptitle=f"patched test images (true->answer confidence), area "
                       f"{rows[big]['pixel_share']:.0%}")


def _pad(patch, size):
    """A patch centred on a black canvas of the image's size, to show it at scale."""
    xp = get_array_module(patch)
    c, s, _ = patch.shape
    canvas = xp.zeros((c, size, size), dtype=patch.dtype)
    o = (size - s) // 2
    canvas[:, o:o + s, o:o + s] = patch
    return canvas


def shift_run(checkpoint, *, n: int | None = 2000, seed: int = 0, out=None, data_dir=None,
              download: bool = True) -> dict:
    """Accuracy and confidence against rotation, scale, translation and elastic distortion."""
    net, config, data, x, y = _setup(checkpoint, data_dir, download, n, "shift")
    settings = {"checkpoint": str(checkpoint), "n": len(x), "seed": seed}

    def work(out):
        curves = robust.pose_curves(net, x, y, rng=seed)
        figures.plot_pose_curves(curves, out / "figures" / "pose_curves.png",
                                 title=f"{data.name}: {len(x)} test images")
        mistakes = robust.confident_mistakes(net, x, y, robust.POSES["rotation"], k=30)
        image_grid([m["image"] for m in mistakes], out / "figures" / "mistakes.png",
                           titles=[f"{data.classes[m['label']]}->{data.classes[m['predicted']]}"
                                   f" {m['confidence']:.3f}" for m in mistakes], ncols=10,
                           suptitle="most confident wrong answers on rotated test images "
                           "(true->answer confidence)")
        return {"dataset": data.name, "curves": curves,
                "mistakes": [{k: v for k, v in m.items() if k != "image"} for m in mistakes]}

    return _run(out, "shift", settings, work)


def ood_run(checkpoint, *, against=("fashion_mnist", "noise", "inverted"), n: int | None = 5000,
            seed: int = 0, out=None, data_dir=None, download: bool = True) -> dict:
    """Confidence on out-of-distribution inputs and how well MSP and energy detect them."""
    net, config, data, x, y = _setup(checkpoint, data_dir, download, n, "ood")
    for name in against:
        if name not in OOD_SETS:
            raise ValueError(f"--against {name!r}: expected one of {', '.join(OOD_SETS)}")
    settings = {"checkpoint": str(checkpoint), "against": list(against), "n": len(x),
                "seed": seed}

    rng = as_generator(seed)
    inputs = {name: _ood_inputs(name, data, x, data_dir, download, rng) for name in against}

    def work(out):
        logits_in = logits_of(net, x)
        results, conf = {"dataset": data.name, "sets": {}}, {data.name: robust.msp_score(
            logits_in)}
        for name, x_out in inputs.items():
            logits_out = logits_of(net, x_out)
            results["sets"][name] = robust.ood_scores(logits_in, logits_out)
            conf[name] = robust.msp_score(logits_out)
        figures.plot_confidence_histograms(conf, out / "figures" / "confidence.png",
                                           title=f"a {data.name} model's confidence")
        return results

    return _run(out, "ood", settings, work)


def _ood_inputs(name, data, x, data_dir, download, rng):
    xp = get_array_module(x)
    if name == "noise":
        return xp.asarray(rng.uniform(0, 1, size=x.shape), dtype=x.dtype)
    if name == "inverted":
        return 1 - x
    other = load_image_dataset(name, data_dir, download=download)
    if other.input_shape != data.input_shape:
        raise ValueError(f"--against {name}: its images are {other.input_shape}, the model "
                         f"takes {data.input_shape}")
    return other.x_test[:len(x)]
