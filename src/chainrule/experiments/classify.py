"""Train, evaluate and use an image classifier: what ``chainrule train/evaluate/predict`` run.

A training run writes one folder: ``config.json``, ``metrics.csv``, ``model.safetensors`` (weights
with the architecture config, loadable by any safetensors reader), ``checkpoint/`` (what
``--resume`` needs), ``results.json`` and ``figures/`` (loss and accuracy curves, the confusion
matrix, and the misclassified test images labelled "true->predicted"). Training is validated on
images held out from the training set (``val_split``); the test set is used once, at the end.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from .. import optim
from ..backend import get_array_module, validate_device
from ..backend.files import write_json
from ..data import ArrayDataset, DataLoader, as_generator, transforms
from ..data.arguments import check_int, check_number
from ..data.images import image_statistics
from ..data.split import take_split
from ..io import read_config, read_shapes, save_weights
from ..io.checkpoint import load_weights
from ..models import build_from_config
from ..nn import init
from ..ops import cross_entropy
from ..robust import AdversarialTraining, OverfittingCheck
from ..train import CSVLogger, ModelCheckpoint, ProfileSteps, Trainer, confusion_matrix
from ..train._grad_options import GradOptions
from ..viz import image_grid, plot_confusion_matrix, plot_history
from . import bayes_runs
from .catalog import load_image_dataset
from .checks import (
    build_model,
    check_model_kwargs,
    check_outputs,
    fit_watched,
    lr_hint,
)
from .repeat import run_threads, validation_split
from .runs import RunFolder, run_path
from .schedules import SCHEDULES, scheduler_callback

__all__ = ["AUGMENTATIONS", "OPTIMIZERS", "evaluate_checkpoint", "load_model", "train_classifier"]

OPTIMIZERS = {
    "sgd": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "adam": (optim.Adam, {"lr": 1e-3}),
    "adamw": (optim.AdamW, {"lr": 1e-3}),
    "rmsprop": (optim.RMSprop, {"lr": 1e-3}),
    "adagrad": (optim.Adagrad, {"lr": 1e-2}),
}
AUGMENTATIONS = {
    "none": None,
    "shift": lambda x, rng: transforms.random_shift(x, 2, rng=rng),
    "affine": lambda x, rng: transforms.random_affine(x, rng=rng, degrees=10, translate=0.08),
    "elastic": lambda x, rng: transforms.elastic_distortion(
        transforms.random_affine(x, rng=rng, degrees=8, translate=0.06),
        rng=rng, alpha=8.0, sigma=3.0),
}


def _augmenting(distort):
    """A DataLoader transform that distorts the images of a batch and keeps its labels."""
    return lambda batch, rng: (distort(batch[0], rng), batch[1])


def _model_kwargs(name: str, input_shape, num_classes: int, overrides: dict) -> dict:
    c, h, _ = input_shape
    defaults = {
        "mlp": {"sizes": (c * h * h, 800, num_classes)},
        "lenet5": {"in_channels": c, "num_classes": num_classes, "input_size": h},
        "small_cnn": {"in_channels": c, "num_classes": num_classes, "input_size": h},
        "madry_cnn": {"in_channels": c, "num_classes": num_classes, "input_size": h},
        "wong_cnn": {"in_channels": c, "num_classes": num_classes, "input_size": h},
    }.get(name, {})
    return {**defaults, **overrides}


def train_classifier(model: str = "small_cnn", dataset: str = "digits", *, epochs: int = 10,
                     batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
                     weight_decay: float = 0.0, schedule: str = "constant", augment: str = "none",
                     seed: int = 0, data_dir=None, download: bool = True, out=None,
                     resume: bool = False, model_kwargs: dict | None = None,
                     verbose: int = 1, device: str = "cpu", val_split: float = 0.1,
                     threads: int | str | None = None, adversarial: dict | None = None,
                     bayes: dict | None = None, profile: int = 0,
                     grad_options: dict | None = None) -> dict:
    """Train ``model`` on ``dataset`` and write a run folder; returns the results dict.

    ``val_split`` (0 <= f < 1) of the training images, the same share of every class, drawn by a
    stream of ``seed``, are held out and evaluated after every epoch ("val_" in the logs, the
    curves and results.json's ``val_accuracy``); 0 trains on all of them without validation. The
    test set is evaluated once, after training, for ``test_accuracy``, the confusion matrix and
    the misclassified images; the weights saved are those of the last epoch. ``threads`` fixes
    the BLAS threads (a count or "auto"); None keeps the count in use, or, on resume, applies the
    one config.json recorded. ``device`` ("cpu" or "cuda") is where training runs; the report
    afterwards runs on the CPU. ``adversarial`` (``{"method": "fgsm", "eps": 0.3, ...}``, the
    arguments of ``robust.AdversarialTraining``) trains on adversarial examples instead; its
    ``"check": n`` adds a ``robust.OverfittingCheck`` on the first n training images (PGD accuracy
    after every epoch; a collapse stops training and keeps the best epoch's weights).
    ``bayes`` (``{"ensemble": 5}``, ``{"bayes_by_backprop": {"prior_sigma": 1.0}}``,
    ``{"soft_sharing": {"components": 16, "strength": 1.0, "warmup": 0}}``; see
    ``experiments.bayes_runs``) trains a deep ensemble (members one after another, each with its
    own initialization and data order, ``metrics-member{i}.csv``; figures/curves.png shows the last
    member's), a Bayes-by-Backprop version of the model (loss: cross-entropy plus KL / training
    images) or the model under a learned mixture prior (results.json then holds
    ``soft_sharing``: accuracy after quantizing to the mixture's centres, distinct weights and
    bits; ``quantized.safetensors`` the quantized model). ``profile`` > 0 prints where the time
    of that many training steps went, after the first (``train.ProfileSteps``).
    ``grad_options`` (``{"clip_grad_norm": 1.0, "accumulate_grad_batches": 4}``) are the
    Trainer's gradient clipping and accumulation; a per-batch schedule counts optimizer steps.
    """
    device = validate_device(device)
    epochs, batch_size, lr, seed = _check_run_settings("train_classifier", epochs, batch_size,
                                                       lr, seed)
    weight_decay = check_number("train_classifier", "weight_decay", weight_decay, low=0)
    val_split = check_number("train_classifier", "val_split", val_split, low=0, below=1)
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; known optimizers: {', '.join(OPTIMIZERS)}"
        )
    if augment not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augment!r}; expected one of {list(AUGMENTATIONS)}")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
    check_model_kwargs(model, model_kwargs or {})  # before the data: a typo fails at once
    bayes = bayes_runs.check_options(bayes)
    grad_options = dict(grad_options or {})
    accumulate = GradOptions(**grad_options).accumulate  # checked before any data is read
    profile = check_int("train_classifier", "profile", profile, low=0)
    if "soft_sharing" in bayes and bayes["soft_sharing"]["warmup"] >= epochs:
        raise ValueError(f"--sharing-warmup {bayes['soft_sharing']['warmup']} must be less than "
                         f"--epochs {epochs}: the mixture prior would never be trained")
    if resume and "ensemble" in bayes:
        raise ValueError("--resume is not supported for an ensemble run (its members are "
                         "trained one after another); train it again")
    out = run_path(out, f"{model}-{dataset}", resume)
    data = load_image_dataset(dataset, data_dir, download=download)
    # One stream per consumer: the model (initialization, dropout), the loader, the split.
    model_rng, data_rng, split_rng, *adv_rng = as_generator(seed).spawn(4 if adversarial else 3)
    adv_args = dict(adversarial or {})
    check_n = check_int("train_classifier", "adversarial check", adv_args.pop("check", 0), low=0)
    perturb = AdversarialTraining(**adv_args, rng=adv_rng[0]) if adversarial else None
    fit_idx, val_idx, split = validation_split("train_classifier", data.y_train, val_split,
                                               split_rng)
    images = image_statistics(data.x_train)  # for predict; in the weights' metadata
    # The fit part in the training set's own memory (not a second copy of it: 180 MiB for
    # MNIST). The set's array now holds the fit part in front, so data's training set becomes
    # that part: nothing below can read the rearranged whole by that name.
    (x_fit, y_fit), validation = take_split(data.x_train, data.y_train, fit_idx, val_idx)
    data.x_train, data.y_train = x_fit, y_fit
    kwargs = _model_kwargs(model, data.input_shape, len(data.classes), model_kwargs or {})
    spec_extra = bayes_runs.spec_of(bayes)
    member_rngs = model_rng.spawn(bayes["ensemble"]) if "ensemble" in bayes else [model_rng]
    plain = [build_model(model, kwargs, r) for r in member_rngs]
    spec = {**plain[0].config, **spec_extra}
    net = bayes_runs.assemble(plain, spec, member_rngs)
    members = list(net.members) if "ensemble" in bayes else [net]
    check_outputs(net, x_fit[:2], (len(data.classes),), model, f"{dataset} images",
                  " (one logit per class)")
    config = {"model": spec, "dataset": dataset, "classes": list(data.classes),
              "input_shape": list(data.input_shape)}
    opt_cls, opt_defaults = OPTIMIZERS[optimizer]
    opt_kwargs = {**opt_defaults, **({} if lr is None else {"lr": lr})}
    if weight_decay:
        opt_kwargs["weight_decay"] = weight_decay
    opts = [opt_cls(m.parameters(), **opt_kwargs) for m in members]
    run_args = {"model": model, "dataset": dataset, "epochs": epochs, "batch_size": batch_size,
                "optimizer": optimizer, "optimizer_kwargs": opt_kwargs, "schedule": schedule,
                "augment": augment, "seed": seed, "val_split": val_split, "split": split,
                **config, **({"adversarial": {**perturb.config(), **(
                    {"check": check_n} if check_n else {})}} if perturb else {}),
                **({"bayes": bayes} if bayes else {}),
                **({"grad_options": grad_options} if grad_options else {})}
    config["images"] = images
    # Everything above only checks and builds in memory; the folder is created and locked here.
    with RunFolder(out, run_args, resume=resume, epochs_fixed=schedule != "constant") as run:
        n_threads, note = run_threads(run, threads)
        if note:
            print(note, file=sys.stderr)
        write_json(out / "config.json", {**run.record, "threads": n_threads})
        aug = AUGMENTATIONS[augment]
        data_rngs = data_rng.spawn(len(members)) if len(members) > 1 else [data_rng]
        start = time.perf_counter()
        for i, (member, opt, member_data_rng) in enumerate(zip(members, opts, data_rngs)):
            suffix = f"-member{i}" if len(members) > 1 else ""
            loss, extra = bayes_runs.member_loss(member, len(fit_idx), bayes)
            keep = ([] if len(members) > 1 else
                    [ModelCheckpoint(out / "checkpoint", save_best_only=False, config=config)])
            train_data = DataLoader(ArrayDataset(x_fit, y_fit), batch_size,
                                    shuffle=True, rng=member_data_rng,
                                    transform=None if aug is None else _augmenting(aug),
                                    prefetch=2)
            sched = scheduler_callback(schedule, opt, epochs, -(-len(train_data) // accumulate))
            if check_n:
                watch = OverfittingCheck(x_fit[:check_n], y_fit[:check_n], eps=perturb.eps)
                extra = [*extra, watch]
            if profile:
                extra = [*extra, ProfileSteps(profile)]
            trainer = Trainer(member, loss, opt, metrics=["accuracy"], device=device,
                              perturb=perturb, callbacks=[*([sched] if sched else []), *extra,
                                                          CSVLogger(out / f"metrics{suffix}.csv",
                                                                    append=run.resumes), *keep],
                              **grad_options)
            history = fit_watched(trainer, train_data, validation, epochs=epochs,
                                  batch_size=batch_size, verbose=verbose,
                                  resume_from=run.resume_from, checkpoint=out / "checkpoint",
                                  hint=lr_hint(opt_kwargs["lr"]))
            member.to("cpu")
        wall = time.perf_counter() - start
        net.to("cpu")  # the report and the saved weights are made on the host
        trainer = Trainer(net, cross_entropy, None, metrics=["accuracy"])
        save_weights(net, out / "model.safetensors", config=config)
        final = {k: v[-1] for k, v in history.history.items() if k.startswith("val_")}
        if len(members) > 1 and validation is not None:  # the ensemble's, not the last member's
            final = {f"val_{k}": v for k, v in trainer.evaluate(validation).items()}
        results = {**final, **_report(trainer, data, out, history.history)}
        if check_n:
            results["overfitting_check"] = {"images": min(check_n, len(fit_idx)),
                                            "collapsed_at_epoch": watch.collapsed_at,
                                            "kept_epoch": watch.best_epoch}
        if "soft_sharing" in bayes:
            report = bayes_runs.quantize_report(net, lambda m: _test_accuracy(m, data))
            save_weights(report.pop("model"), out / "quantized.safetensors", config=config)
            results["soft_sharing"] = report
        results.update({"n_train": len(fit_idx), "n_val": len(val_idx), "val_split": val_split,
                        "epochs": epochs, "threads": n_threads, "train_seconds": round(wall, 1),
                        "out": str(out)})
        write_json(out / "results.json", results)
    return results


def _test_accuracy(net, data) -> float:
    logits = Trainer(net, cross_entropy, None).predict(data.x_test, batch_size=_PREDICT_BATCH)
    return float((logits.argmax(axis=1) == data.y_test).mean())


def _check_run_settings(who: str, epochs, batch_size, lr, seed) -> tuple:
    """The settings every training run shares, as plain Python numbers ``(epochs, batch_size,
    lr, seed)``: at least one epoch and one sample per batch, lr > 0 (or None), seed >= 0."""
    return (check_int(who, "epochs", epochs), check_int(who, "batch_size", batch_size),
            check_number(who, "lr", lr, above=0, allow_none=True),
            check_int(who, "seed", seed, low=0))


# Test-set predictions in batches of 128: faster than bigger batches, and their arrays stay
# within what the training step already used (bigger ones came on top of it: the CLI's peak RSS).
# Figures in docs/performance.md.
_PREDICT_BATCH = 128


def _report(trainer, data, out: Path, history: dict) -> dict:
    """Test accuracy, errors and the figures of a trained classifier: the test set's one use."""
    logits = trainer.predict(data.x_test, batch_size=_PREDICT_BATCH)
    pred = logits.argmax(axis=1)
    wrong = (pred != data.y_test).nonzero()[0]
    cm = confusion_matrix(data.y_test, pred, len(data.classes))
    figures = out / "figures"
    plot_history(history, figures / "curves.png", title=f"{data.name}")
    plot_confusion_matrix(cm, figures / "confusion_matrix.png", class_names=data.classes)
    shown = wrong[:100]
    titles = [f"{data.classes[data.y_test[i]]}->{data.classes[pred[i]]}" for i in shown]
    image_grid(data.x_test[shown], figures / "misclassified.png", titles=titles,
               suptitle=f"{len(wrong)} misclassified of {len(pred)} test images "
               "(titles: true->predicted)")
    return {"test_accuracy": float(1 - len(wrong) / len(pred)), "test_errors": int(len(wrong)),
            "n_test": int(len(pred)), "figures": sorted(str(p) for p in figures.iterdir())}


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _run_config(path: Path, config, *need: str) -> dict:
    """The run config stored in ``path``, checked for the entries ``need`` ("model" always)."""
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ValueError(f"{path}: no chainrule model config in the file's metadata")
    shape = config.get("input_shape")
    checks = {
        "dataset": (isinstance(config.get("dataset"), str), "a dataset name"),
        "classes": (isinstance(config.get("classes"), list) and len(config["classes"]) > 0
                    and all(isinstance(c, str) for c in config["classes"]),
                    "a non-empty list of class names"),
        "input_shape": (isinstance(shape, list) and len(shape) == 3
                        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                for d in shape), "[channels, height, width] (positive ints)"),
    }
    for key in need:
        ok, expected = checks[key]
        if not ok:
            raise ValueError(f"{path}: the config's {key!r} entry is "
                             f"{_short(config.get(key, 'missing'))}, expected {expected}")
    return config


def load_model(checkpoint):
    """Rebuild the model saved in ``checkpoint`` (a run folder or its model.safetensors).

    The file is checked before the model is built: its safetensors header first (bounded, every
    tensor's dtype, shape and place in the file); then the model is built from the stored config
    with initialization deferred (``nn.init.deferred``: parameters stay untouched ``empty``
    arrays) and a budget of the file's own tensor count and elements, so a config asking for
    more than the file holds (``sizes=[64, 4000000, 10]`` beside a small checkpoint) fails before
    that memory is used; the model's shapes are compared with the header's before any weight is
    read, and each weight's SHA-256 is verified as it is read. Every skipped tensor is then
    overwritten by the file's, and non-finite weights are refused.

    Raises:
        ValueError: a damaged file, a config that cannot be built or does not match the weights,
            or weights with NaN or infinite entries; the message names the file.
    """
    path = Path(checkpoint)
    if path.is_dir():
        path = path / "model.safetensors"
    shapes = read_shapes(path)
    config = _run_config(path, read_config(path))
    spec = config["model"]
    name = _short(spec.get("name"))
    try:
        with init.deferred(max_elements=sum(math.prod(s) for s in shapes.values()),
                           max_tensors=len(shapes)) as skipped:
            plain = [build_from_config(spec) for _ in range(bayes_runs.members_of(spec))]
        built = {id(t) for m in plain for t in m.state_dict(keep_vars=True).values()}
        net = bayes_runs.assemble(plain, spec)
    except MemoryError:
        raise ValueError(f"{path}: the config builds a model {name} too large to allocate; the "
                         "file's weights cannot fill it") from None
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{path}: the config's model {name} with kwargs "
                         f"{_short(spec.get('kwargs'))} cannot be rebuilt: {err}") from None
    load_weights(net, path)
    state = net.state_dict(keep_vars=True)
    if any(id(t) not in built for t in skipped):
        raise ValueError(f"{path}: model {name} has initialized tensors outside its state dict, "
                         "which the file cannot restore")
    for key, t in state.items():
        if t.dtype.kind == "f" and not get_array_module(t._data).isfinite(t._data).all():
            raise ValueError(f"{path}: weight {key!r} holds NaN or infinite values (did the run "
                             "diverge?); retrain, or use an earlier checkpoint")
    return net.eval(), config


def evaluate_checkpoint(checkpoint, dataset: str | None = None, *, data_dir=None,
                        download: bool = True) -> dict:
    """Test accuracy of a saved classifier on ``dataset`` (by default the one it was trained on)."""
    net, config = load_model(checkpoint)
    path = Path(checkpoint)
    _run_config(path, config, "input_shape", *(() if dataset else ("dataset",)))
    data = load_image_dataset(dataset or config["dataset"], data_dir, download=download)
    if list(data.input_shape) != list(config["input_shape"]):
        raise ValueError(
            f"checkpoint expects inputs of shape {tuple(config['input_shape'])} but dataset "
            f"{data.name!r} has shape {data.input_shape}"
        )
    check_outputs(net, data.x_test[:2], (len(data.classes),), config["model"].get("name"),
                  f"{data.name} images", f" (one logit per class; is {path} a classifier?)")
    trainer = Trainer(net, cross_entropy, None, metrics=["accuracy"])
    logits = trainer.predict(data.x_test, batch_size=_PREDICT_BATCH)
    pred = logits.argmax(axis=1)
    errors = int((pred != data.y_test).sum())
    return {"dataset": data.name, "test_accuracy": 1 - errors / len(pred), "test_errors": errors,
            "n_test": len(pred)}
