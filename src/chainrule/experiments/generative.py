"""Train autoencoders and GANs into run folders, and draw images from a saved generator.

What ``chainrule train autoencoder|denoising|colorization|watermark|gan|dcgan|cgan`` and
``chainrule generate`` run. A run folder holds ``config.json``, ``metrics.csv``,
``model.safetensors`` (weights with the architecture config), ``checkpoint/`` (for ``--resume``),
``results.json`` and ``figures/``. Autoencoder runs are validated after every epoch on training
images held out (``val_split``) and report reconstruction MSE and PSNR on the test set, used once
at the end (per noise level for denoising), with input / corrupted / reconstruction rows; GAN runs
write a
sample grid per epoch, a fixed-noise progress strip, both players' loss curves and, given a trained
classifier (``judge``), the LeNet Frechet distance, classifier confidence and class histogram.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .. import generative as gen
from .. import optim
from ..backend import asnumpy, get_array_module, validate_device
from ..backend.files import write_json
from ..data import ArrayDataset, DataLoader, as_generator
from ..data import corruptions as cor
from ..data.arguments import check_int, check_number
from ..io import save_weights
from ..ops import mse_loss
from ..train import CSVLogger, ModelCheckpoint, Trainer
from ..viz import plot_history
from .catalog import load_image_dataset
from .checks import (
    build_model,
    check_model_kwargs,
    check_outputs,
    fit_watched,
    lr_hint,
)
from .classify import load_model
from .repeat import run_threads, validation_split
from .runs import RunFolder, run_path

__all__ = ["AUTOENCODER_TASKS", "GAN_MODELS", "GENERATIVE_TASKS", "generate_images",
           "train_autoencoder", "train_gan"]

AUTOENCODER_TASKS = {
    "autoencoder": "reconstruct the input through a bottleneck",
    "denoising": "remove Gaussian or masking noise",
    "colorization": "colour digits from their grey version",
    "watermark": "remove synthetic text and logo watermarks",
}
GAN_MODELS = {"gan": "MLP GAN", "dcgan": "DCGAN", "cgan": "conditional GAN (ask for a digit)"}
GENERATIVE_TASKS = tuple(AUTOENCODER_TASKS) + tuple(GAN_MODELS)
_ARCHS = ("dense", "conv")


def _check_common(who: str, epochs, batch_size, lr, seed, n_train, n_eval) -> tuple:
    """``(epochs, batch_size, lr, seed, n_train, n_eval)`` checked, as plain Python numbers."""
    return (check_int(who, "epochs", epochs), check_int(who, "batch_size", batch_size),
            check_number(who, "lr", lr, above=0, allow_none=True),
            check_int(who, "seed", seed, low=0),
            None if n_train is None else check_int(who, "n_train", n_train),
            check_int(who, "n_eval", n_eval))


def _subset(x, y, n):
    return (x, y) if n is None else (x[:n], y[:n])


def _autoencoder(task, arch, shape, bottleneck, tied, overrides, rng):
    c, h, w = shape
    if arch == "dense":
        bottleneck = 32 if bottleneck is None else bottleneck
        if task == "colorization":
            raise ValueError("colorization maps 1 channel to 3: use --arch conv")
        kwargs = {"sizes": (c * h * w, 256, bottleneck), "tied": tied}
        return build_model("autoencoder", {**kwargs, **overrides}, rng)
    if tied:
        raise ValueError("tied weights are for the dense autoencoder (--arch dense)")
    kwargs = {"in_channels": c, "channels": (32, 64), "input_size": h,
              "out_channels": 3 if task == "colorization" else c}
    if bottleneck is not None and task == "autoencoder":
        kwargs["latent_dim"] = bottleneck
    return build_model("conv_autoencoder", {**kwargs, **overrides}, rng)


def _pairs(task, noise):
    """The (input, target) maker of a task, for training batches and the fixed test pairs."""
    if task == "denoising":
        return cor.denoising_pair, {"noise": noise}
    if task == "colorization":
        return cor.colorization_pair, {}
    if task == "watermark":
        return cor.watermark_pair, {}
    return (lambda x, rng: (x, x)), {}


def train_autoencoder(task: str = "denoising", dataset: str = "mnist", *, arch: str | None = None,
                      bottleneck: int | None = 32, tied: bool = False, noise="mixed",
                      epochs: int = 5, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                      n_train: int | None = None, n_eval: int = 2000, data_dir=None,
                      download: bool = True, out=None, resume: bool = False,
                      model_kwargs: dict | None = None, verbose: int = 1,
                      device: str = "cpu", val_split: float = 0.1,
                      threads: int | str | None = None) -> dict:
    """Train an autoencoder for ``task`` on ``dataset`` and write a run folder; returns results.

    Args:
        task: "autoencoder", "denoising", "colorization" or "watermark".
        dataset: a grey image dataset of ``catalog.DATASETS`` (mnist, fashion_mnist, digits).
        arch: "dense" or "conv" (default: dense for autoencoder and denoising, conv otherwise).
        bottleneck: code size of the dense autoencoder (2 adds a latent scatter plot); for the conv
            autoencoder of task "autoencoder" a dense code of this size (None: the feature map).
        tied: tie the dense decoder's weights to the encoder's.
        noise: denoising's training noise: a spec ("gaussian:0.3", "mask:0.5"), a list of them, or
            "mixed" (each batch draws one of ``data.corruptions.NOISE_LEVELS``).
        epochs, batch_size, lr: Adam training.
        seed: seeds the weights, shuffling and corruptions.
        n_train: use the first n training images (None: all); n_eval: test images evaluated,
            once, after training.
        val_split: share of those training images (0 <= f < 1, the same of every class, drawn by
            a stream of ``seed``) held out and evaluated after every epoch ("val_" logs); 0: none.
        threads: BLAS threads (a count or "auto"); None keeps the count in use, or, on resume,
            applies the one config.json recorded.
        data_dir, download: where the dataset is, and whether to download it if missing.
        out: the run folder; resume: continue the run in ``out``.
        model_kwargs: overrides of the model's constructor arguments.
        verbose: progress output (0, 1 or 2).
        device: "cpu" or "cuda", where training runs (the report afterwards runs on the CPU).
    """
    device = validate_device(device)
    if task not in AUTOENCODER_TASKS:
        raise ValueError(f"unknown autoencoder task {task!r}; expected one of "
                         f"{list(AUTOENCODER_TASKS)}")
    epochs, batch_size, lr, seed, n_train, n_eval = _check_common(
        "train_autoencoder", epochs, batch_size, lr, seed, n_train, n_eval)
    val_split = check_number("train_autoencoder", "val_split", val_split, low=0, below=1)
    if bottleneck is not None:
        bottleneck = check_int("train_autoencoder", "bottleneck", bottleneck)
    arch = arch or ("dense" if task in ("autoencoder", "denoising") else "conv")
    if arch not in _ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {_ARCHS}")
    noise = list(cor.NOISE_LEVELS) if noise == "mixed" else noise
    for spec in [noise] if isinstance(noise, str) else noise:
        cor.parse_corruption(spec)
    check_model_kwargs("autoencoder" if arch == "dense" else "conv_autoencoder",
                       model_kwargs or {})
    out = run_path(out, f"{task}-{dataset}", resume)
    data = load_image_dataset(dataset, data_dir, download=download)
    if data.input_shape[0] != 1:
        raise ValueError(f"autoencoder tasks expect grey images, {dataset!r} has shape "
                         f"{data.input_shape}")
    # One stream per consumer: the model, the loader, the validation split.
    rng, data_rng, split_rng = as_generator(seed).spawn(3)
    x_all, y_all = _subset(data.x_train, data.y_train, n_train)
    fit_idx, val_idx, split = validation_split("train_autoencoder", y_all, val_split, split_rng)
    net = _autoencoder(task, arch, data.input_shape, bottleneck, tied, model_kwargs or {}, rng)
    config = {"model": net.config, "task": task, "dataset": dataset,
              "input_shape": list(data.input_shape)}
    settings = {**config, "arch": arch, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                "seed": seed, "n_train": n_train, "val_split": val_split, "split": split,
                **({"noise": noise} if task == "denoising" else {})}
    x_train, x_val = x_all[fit_idx], x_all[val_idx]
    x_test, y_test = data.x_test[:n_eval], data.y_test[:n_eval]
    make, options = _pairs(task, noise)
    loader = DataLoader(ArrayDataset(x_train), batch_size, shuffle=True, rng=data_rng,
                        transform=lambda batch, r: make(batch[0], r, **options))
    val = make(x_val, as_generator(seed + 1), **options) if len(x_val) else None
    with RunFolder(out, settings, resume=resume) as run:
        n_threads, note = run_threads(run, threads)
        if note:
            print(note, file=sys.stderr)
        write_json(out / "config.json", {**run.record, "threads": n_threads})
        trainer = Trainer(net, mse_loss, optim.Adam(net.parameters(), lr=lr), metrics=[gen.psnr],
                          device=device,
                          callbacks=[CSVLogger(out / "metrics.csv", append=run.resumes),
                                     ModelCheckpoint(out / "checkpoint", save_best_only=False,
                                                     config=config)])
        start = time.perf_counter()
        history = fit_watched(trainer, loader, val, epochs=epochs, verbose=verbose,
                              resume_from=run.resume_from, checkpoint=out / "checkpoint",
                              hint=lr_hint(lr))
        wall = time.perf_counter() - start
        net.to("cpu")  # the report and the saved weights are made on the host
        save_weights(net, out / "model.safetensors", config=config)
        test = make(x_test, as_generator(seed + 1), **options)
        results = _autoencoder_report(net, task, x_test, y_test, test, out, seed, arch)
        plot_history(history.history, out / "figures" / "curves.png",
                     title=f"{task} ({dataset})")
        final = {k: v[-1] for k, v in history.history.items() if k.startswith("val_")}
        results.update({"task": task, "arch": arch, "epochs": epochs, "n_train": len(x_train),
                        "n_val": len(x_val), "n_eval": len(x_test), "val_split": val_split,
                        **final, "threads": n_threads, "train_seconds": round(wall, 1),
                        "out": str(out), "parameters": net.num_parameters()})
        write_json(out / "results.json", results)
    return results


def _autoencoder_report(net, task, x_test, y_test, test, out, seed, arch) -> dict:
    """Reconstruction errors and figures on the test set (``test``: its input/target pairs)."""
    figures = out / "figures"
    if task == "denoising":
        report = gen.reconstruction_report(net, x_test, rng=seed + 2)
        for spec in cor.NOISE_LEVELS:
            noisy = cor.corrupt(x_test[:10], spec, rng=as_generator(seed + 3))
            gen.reconstruction_rows([x_test[:10], noisy, gen.reconstruct(net, noisy)],
                                    figures / f"denoising_{spec.replace(':', '-')}.png",
                                    title=f"{spec}: input / corrupted / reconstruction")
        return {"noise_levels": report}
    inputs, targets = test
    recon = gen.reconstruct(net, inputs)
    results = {"test_mse": float(gen.mse_per_image(targets, recon).mean()),
               "test_psnr": gen.psnr(targets, recon),
               "input_mse": float(gen.mse_per_image(targets, _as_target(inputs, targets)).mean()),
               "input_psnr": gen.psnr(targets, _as_target(inputs, targets))}
    rows = {"autoencoder": ([targets, recon], ("input", "reconstruction")),
            "colorization": ([targets, inputs, recon], ("colour", "grey input", "colorized")),
            "watermark": ([targets, inputs, recon], ("clean", "watermarked", "restored"))}[task]
    gen.reconstruction_rows(rows[0], figures / f"{task}.png", labels=rows[1])
    if task == "autoencoder" and arch == "dense" and net.latent_dim == 2:
        codes = gen.reconstruct(net.encoder, x_test)
        gen.latent_scatter(codes, y_test, figures / "latent_2d.png")
    return results


def _as_target(inputs, targets):
    """The input as a guess of the target: grey replicated to 3 channels for colorization."""
    if inputs.shape == targets.shape:
        return inputs
    xp = get_array_module(inputs)
    return xp.repeat(inputs, targets.shape[1], axis=1)


def _gan_kwargs(model, shape, latent_dim, prior, loss, overrides):
    c, h, w = shape
    kwargs = {"latent_dim": latent_dim, "prior": prior}
    arch = overrides.get("arch", "dcgan") if model == "cgan" else model
    if arch in ("gan", "mlp"):
        kwargs["image_shape"] = (c, h, w)
    else:
        kwargs.update(image_channels=c, image_size=h)
        if loss == "wgan-gp":
            kwargs["d_norm"] = "layer"  # the per-sample penalty must not mix a batch (no BN)
    return {**kwargs, **overrides}


def train_gan(model: str = "dcgan", dataset: str = "mnist", *, epochs: int = 5,
              batch_size: int = 64, lr: float | None = None, beta1: float = 0.5,
              loss: str = "non_saturating", label_smoothing: float = 0.0,
              n_critic: int | None = None, gp_weight: float = 10.0, prior: str = "normal",
              latent_dim: int = 64, seed: int = 0, n_train: int | None = None, judge=None,
              n_eval: int = 1000, data_dir=None, download: bool = True, out=None,
              resume: bool = False, model_kwargs: dict | None = None, verbose: int = 1,
              device: str = "cpu", threads: int | str | None = None) -> dict:
    """Train a GAN ("gan", "dcgan" or "cgan") on ``dataset`` and write a run folder.

    Images are scaled to [-1, 1] for the generator's tanh. ``lr`` defaults to 2e-4 (1e-4 for
    WGAN-GP, with Adam betas (0.5, 0.9) and ``n_critic`` 5, as in Gulrajani et al.); ``judge`` is
    a classifier run folder (e.g. ``chainrule train lenet5 --dataset mnist``) used to compute the
    LeNet Frechet distance, confidence and class histogram of ``n_eval`` samples. ``device``
    ("cpu" or "cuda") is where training runs; the evaluation afterwards runs on the CPU.
    ``threads``: BLAS threads (a count or "auto"); None keeps the count in use, or, on resume,
    applies the one config.json recorded.
    """
    device = validate_device(device)
    if model not in GAN_MODELS:
        raise ValueError(f"unknown GAN {model!r}; expected one of {list(GAN_MODELS)}")
    if loss not in gen.GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {loss!r}; expected one of {gen.GAN_LOSSES}")
    who = "train_gan"
    epochs, batch_size, lr, seed, n_train, n_eval = _check_common(
        who, epochs, batch_size, lr, seed, n_train, n_eval)
    beta1 = check_number(who, "beta1", beta1, low=0, below=1)
    label_smoothing = check_number(who, "label_smoothing", label_smoothing, low=0, below=1)
    gp_weight = check_number(who, "gp_weight", gp_weight, low=0)
    latent_dim = check_int(who, "latent_dim", latent_dim)
    if n_critic is not None:
        n_critic = check_int(who, "n_critic", n_critic)
    if n_train is not None and n_train < batch_size:
        raise ValueError(f"{who}: n_train {n_train} is fewer than one batch of {batch_size} "
                         "(GAN batches are always full); lower batch_size or raise n_train")
    check_model_kwargs(model, model_kwargs or {})
    classifier = None if judge is None else load_model(judge)[0]  # a wrong judge fails now
    wgan = loss == "wgan-gp"
    lr = lr if lr is not None else (1e-4 if wgan else 2e-4)
    n_critic = n_critic if n_critic is not None else (5 if wgan else 1)
    betas = (beta1, 0.9 if wgan else 0.999)
    out = run_path(out, f"{model}-{dataset}", resume)
    data = load_image_dataset(dataset, data_dir, download=download)
    if classifier is not None:
        check_outputs(classifier, data.x_test[:2], (len(data.classes),), str(judge),
                      f"{dataset} images", " (--judge must be a classifier of its classes)")
    rng, data_rng = as_generator(seed).spawn(2)  # one stream per consumer: the model, the loader
    kwargs = _gan_kwargs(model, data.input_shape, latent_dim, prior, loss, model_kwargs or {})
    net = build_model(model, kwargs, rng)
    config = {"model": net.config, "dataset": dataset, "classes": list(data.classes),
              "input_shape": list(data.input_shape)}
    settings = {"loss": loss, "lr": lr, "betas": betas, "n_critic": n_critic,
                "label_smoothing": label_smoothing, "gp_weight": gp_weight, "epochs": epochs,
                "batch_size": batch_size, "seed": seed, "n_train": n_train}
    x_train, y_train = _subset(data.x_train, data.y_train, n_train)
    arrays = (x_train * 2 - 1,) + ((y_train,) if net.conditional else ())
    with RunFolder(out, {**config, **settings}, resume=resume) as run:
        n_threads, note = run_threads(run, threads)
        if note:
            print(note, file=sys.stderr)
        write_json(out / "config.json", {**run.record, "threads": n_threads})
        trainer = gen.GANTrainer(
            net, optim.Adam(net.generator.parameters(), lr=lr, betas=betas),
            optim.Adam(net.discriminator.parameters(), lr=lr, betas=betas), loss=loss,
            label_smoothing=label_smoothing, gp_weight=gp_weight, n_critic=n_critic,
            rng=seed + 1, device=device,
            callbacks=[CSVLogger(out / "metrics.csv", append=run.resumes),
                       ModelCheckpoint(out / "checkpoint", save_best_only=False, config=config),
                       gen.GANMonitor(out / "figures", seed=seed + 2)])
        start = time.perf_counter()
        fit_watched(trainer, DataLoader(ArrayDataset(*arrays), batch_size, shuffle=True,
                                        rng=data_rng, drop_last=True),
                    epochs=epochs, verbose=verbose, resume_from=run.resume_from,
                    checkpoint=out / "checkpoint", hint=lr_hint(lr))
        wall = time.perf_counter() - start
        net.to("cpu")  # the evaluation and the saved weights are made on the host
        save_weights(net, out / "model.safetensors", config=config)
        results = {"model": model, **settings, "threads": n_threads,
                   "train_seconds": round(wall, 1), "out": str(out),
                   "generator_parameters": net.generator.num_parameters(),
                   "discriminator_parameters": net.discriminator.num_parameters(),
                   "final": {k: v[-1] for k, v in trainer.history.history.items()}}
        if classifier is not None:
            results["evaluation"] = _judge(net, classifier, judge, data, n_eval, seed, out)
        write_json(out / "results.json", results)
    return results


def _judge(net, classifier, judge, data, n_eval, seed, out) -> dict:
    rng = as_generator(seed + 3)
    n_eval = min(n_eval, len(data.x_test), len(data.x_train))
    xp = get_array_module(data.x_test)
    labels = xp.arange(n_eval) % net.num_classes if net.conditional else None
    fake = asnumpy(net.sample(n_eval, rng=rng, labels=labels)._data)
    real = data.x_test[:n_eval]
    report = gen.evaluate_samples(classifier, real, fake, labels=labels)
    report["real_vs_real_frechet_distance"] = gen.lenet_frechet_distance(
        classifier, real, data.x_train[:n_eval])
    report["judge"] = str(judge)
    gen.class_histogram(report["class_histogram"], out / "figures" / "class_histogram.png",
                        class_names=data.classes)
    return report


MAX_GRID_IMAGES = 4096


def generate_images(checkpoint, *, n: int = 64, label: int | None = None, out="grid.png",
                    seed: int = 0, ncols: int = 8) -> dict:
    """Draw ``n`` images from a saved generator into a PNG grid; returns what was written.

    A conditional GAN given no ``label`` draws every class: one row per class, labelled with
    its name, ``ceil(n / classes)`` images each (so at least ``n`` in all).

    Args:
        checkpoint: a GAN run folder or its model.safetensors.
        n: how many images.
        label: the class to generate (conditional GANs only), e.g. 7; None: every class.
        out: the PNG file to write.
        seed: seed of the noise.
        ncols: columns of the grid (of one label or an unconditional GAN).
    """
    # A grid is for looking at: more images than this would only fill memory (a hostile --n).
    n = check_int("generate_images", "n", n, high=MAX_GRID_IMAGES)
    seed = check_int("generate_images", "seed", seed, low=0)
    if label is not None:
        label = check_int("generate_images", "label", label, low=0)
    if Path(out).is_dir():
        raise ValueError(f"--out {str(out)!r} is a folder; expected the path of the PNG to write")
    if Path(out).suffix.lower() != ".png":  # matplotlib named no flag ("Format 'txt' is not...")
        raise ValueError(f"--out {str(out)!r}: expected the path of a .png file to write")
    net, config = load_model(checkpoint)
    if not hasattr(net, "sample"):
        raise ValueError(f"{checkpoint}: model {config['model'].get('name')!r} is not a generator "
                         f"(known GANs: {', '.join(GAN_MODELS)})")
    if label is not None and not net.conditional:
        raise ValueError(f"{checkpoint}: --label needs a conditional GAN (cgan); this one is "
                         "unconditional")
    if label is not None and not 0 <= label < net.num_classes:
        raise ValueError(f"{checkpoint}: --label {label} is out of range; this conditional GAN "
                         f"draws the classes 0..{net.num_classes - 1}")
    name = config["model"]["name"]
    classes = config.get("classes")
    if not (isinstance(classes, list) and len(classes) == net.num_classes):
        classes = [str(c) for c in range(net.num_classes)]
    if net.conditional and label is None:
        return _every_class(net, n, classes, out, seed, name)
    images = net.sample(n, rng=as_generator(seed), labels=label)
    what = f"class {classes[label]}" if label is not None else "samples"
    path = gen.sample_grid(images._data, out, ncols=ncols, title=f"{name}: {n} {what}")
    return {"out": str(path), "n": n, "label": label, "model": name}


def _every_class(net, n, classes, out, seed, name) -> dict:
    """Every class of a conditional GAN, one labelled row each, ceil(n / classes) per row."""
    per_class = -(-n // net.num_classes)
    labels = [c for c in range(net.num_classes) for _ in range(per_class)]
    images = net.sample(len(labels), rng=as_generator(seed), labels=labels)
    path = gen.sample_grid(images._data, out, ncols=per_class, row_labels=list(classes),
                           title=f"{name}: {per_class} of each class, one row per class")
    return {"out": str(path), "n": len(labels), "label": None, "model": name,
            "per_class": per_class}
