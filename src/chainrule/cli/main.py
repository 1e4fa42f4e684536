"""``chainrule train | evaluate | predict | generate | models | datasets``; tests call main()."""

from __future__ import annotations

import argparse
import json
import sys

from .. import experiments, models
from ..backend import set_num_threads, validate_device
from ..backend.settings import parse_threads
from ..backend.threads import oversubscription_hint
from ..experiments import generative

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chainrule", description="Train, evaluate and use the "
                                "lecture's neural networks with chainrule.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model on a dataset into a run folder")
    t.add_argument("model", help="a model name (see `chainrule models`), or a generative task: "
                   + ", ".join(generative.GENERATIVE_TASKS))
    t.add_argument("--dataset", default=None, help="a dataset name (see `chainrule datasets`; "
                   "default: digits for classifiers, mnist for generative tasks)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--optimizer", default="adam", choices=sorted(experiments.OPTIMIZERS))
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: per optimizer)")
    t.add_argument("--weight-decay", type=float, default=0.0)
    t.add_argument("--schedule", default="constant", choices=["constant", "cosine", "step"])
    t.add_argument("--augment", default="none", choices=list(experiments.AUGMENTATIONS))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir", default=None, help="folder with the dataset files "
                   "(default: $CHAINRULE_DATA or the user cache)")
    t.add_argument("--no-download", action="store_true",
                   help="fail instead of downloading missing dataset files")
    t.add_argument("--out", default=None, help="run folder (default: runs/MODEL-DATASET-TIME)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument("--model-arg", action="append", default=[], metavar="KEY=JSON",
                   help="extra model constructor argument, e.g. --model-arg 'sizes=[784,300,10]'")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--device", default="cpu", type=_device,
                   help="where to train: 'cpu' or 'cuda' (needs CuPy and an NVIDIA GPU: "
                   "pip install chainrule[cuda])")
    _threads_option(t)
    _generative_arguments(t)

    e = sub.add_parser("evaluate", help="test accuracy of a saved model")
    e.add_argument("checkpoint", help="a run folder or its model.safetensors")
    e.add_argument("--dataset", default=None, help="default: the dataset it was trained on")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--no-download", action="store_true")
    _threads_option(e)

    r = sub.add_parser("predict", help="classify image files (greyscale PNG/JPEG or .npy)")
    r.add_argument("checkpoint")
    r.add_argument("images", nargs="+")
    _threads_option(r)

    g = sub.add_parser("generate", help="draw images from a trained GAN into a PNG grid")
    g.add_argument("checkpoint", help="a GAN run folder or its model.safetensors")
    g.add_argument("--n", type=int, default=64, help="how many images")
    g.add_argument("--label", type=int, default=None, help="the class to draw (cgan only)")
    g.add_argument("--out", default="grid.png", help="the PNG to write")
    g.add_argument("--seed", type=int, default=0)

    sub.add_parser("models", help="list the models")
    sub.add_parser("datasets", help="list the datasets")
    return p


def _generative_arguments(t) -> None:
    a = t.add_argument_group("autoencoders (autoencoder, denoising, colorization, watermark)")
    a.add_argument("--arch", choices=["dense", "conv"], default=None,
                   help="default: dense for autoencoder/denoising, conv for the others")
    a.add_argument("--bottleneck", type=int, default=32, help="code size (2: latent scatter)")
    a.add_argument("--tied", action="store_true", help="tie decoder weights to the encoder's")
    a.add_argument("--noise", default="mixed", help="denoising noise: 'mixed' or specs like "
                   "gaussian:0.3,mask:0.5")
    g = t.add_argument_group("GANs (gan, dcgan, cgan)")
    g.add_argument("--loss", default="non_saturating",
                   choices=["non_saturating", "minimax", "wgan-gp"])
    g.add_argument("--label-smoothing", type=float, default=0.0)
    g.add_argument("--n-critic", type=int, default=None, help="D steps per G step "
                   "(default 1, WGAN-GP 5)")
    g.add_argument("--gp-weight", type=float, default=10.0)
    g.add_argument("--prior", choices=["normal", "uniform"], default="normal")
    g.add_argument("--latent-dim", type=int, default=64)
    g.add_argument("--judge", default=None, help="a classifier run folder (e.g. lenet5 on "
                   "mnist) for the LeNet Frechet distance and class histogram")
    t.add_argument("--n-train", type=int, default=None,
                   help="generative tasks: train on the first N training images only")


def _device(name: str) -> str:
    """argparse type of --device: a usable device name, or a usage error that says why not."""
    try:
        return validate_device(name)
    except (TypeError, ValueError, RuntimeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _threads_option(parser) -> None:
    parser.add_argument("--threads", type=_threads, default=None, metavar="N",
                        help="threads for matrix products: a number or 'auto' (default: "
                        "$CHAINRULE_NUM_THREADS, else 'auto': the CPUs other processes leave free)")


def _threads(value: str):
    """argparse type of --threads: a positive integer or 'auto'."""
    try:
        return parse_threads(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _train_generative(args) -> dict:
    common = {"epochs": args.epochs, "seed": args.seed, "n_train": args.n_train,
              "data_dir": args.data_dir, "download": not args.no_download, "out": args.out,
              "resume": args.resume, "model_kwargs": _model_args(args.model_arg),
              "verbose": 0 if args.quiet else 1, "device": args.device}
    dataset = args.dataset or "mnist"
    if args.model in generative.AUTOENCODER_TASKS:
        noise = args.noise if args.noise == "mixed" else args.noise.split(",")
        res = generative.train_autoencoder(
            args.model, dataset, arch=args.arch, bottleneck=args.bottleneck, tied=args.tied,
            noise=noise, batch_size=args.batch_size, lr=args.lr or 1e-3, **common)
        if "noise_levels" in res:
            for spec, r in res["noise_levels"].items():
                print(f"{spec:13s} input PSNR {r['input_psnr']:6.2f} dB -> reconstruction "
                      f"{r['psnr']:6.2f} dB (MSE {r['mse']:.4f})")
        else:
            print(f"test reconstruction MSE {res['test_mse']:.4f}, PSNR {res['test_psnr']:.2f} dB "
                  f"(input: {res['input_psnr']:.2f} dB)")
    else:
        res = generative.train_gan(
            args.model, dataset, batch_size=args.batch_size, lr=args.lr, loss=args.loss,
            label_smoothing=args.label_smoothing, n_critic=args.n_critic,
            gp_weight=args.gp_weight, prior=args.prior, latent_dim=args.latent_dim,
            judge=args.judge, **common)
        print("final epoch: " + ", ".join(f"{k} {v:.4f}" for k, v in res["final"].items()))
        ev = res.get("evaluation")
        if ev:
            print(f"LeNet Frechet distance {ev['lenet_frechet_distance']:.2f} (real vs real "
                  f"{ev['real_vs_real_frechet_distance']:.2f}), confidence "
                  f"{ev['confidence']:.3f}, classes covered {ev['classes_covered']}")
    print(f"trained in {res['train_seconds']} s; run folder: {res['out']} "
          f"(figures in {res['out']}/figures)")
    return res


def _model_args(pairs) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"chainrule: --model-arg expects KEY=JSON, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default: sys.argv[1:]); returns the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "threads", None) is not None:
        set_num_threads(args.threads)
    elif args.command == "train" and (hint := oversubscription_hint()):
        print(hint, file=sys.stderr)
    try:
        if args.command == "train" and args.model in generative.GENERATIVE_TASKS:
            _train_generative(args)
        elif args.command == "train":
            res = experiments.train_classifier(
                args.model, args.dataset or "digits", epochs=args.epochs,
                batch_size=args.batch_size,
                optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
                schedule=args.schedule, augment=args.augment, seed=args.seed,
                data_dir=args.data_dir, download=not args.no_download, out=args.out,
                resume=args.resume,
                model_kwargs=_model_args(args.model_arg), verbose=0 if args.quiet else 1,
                device=args.device)
            print(f"test accuracy {res['test_accuracy']:.4f} ({res['test_errors']} errors in "
                  f"{res['n_test']} test images), trained in {res['train_seconds']} s")
            print(f"run folder: {res['out']} (figures in {res['out']}/figures)")
        elif args.command == "evaluate":
            res = experiments.evaluate_checkpoint(args.checkpoint, args.dataset,
                                                  data_dir=args.data_dir,
                                                  download=not args.no_download)
            print(f"{res['dataset']}: test accuracy {res['test_accuracy']:.4f} "
                  f"({res['test_errors']} errors in {res['n_test']})")
        elif args.command == "predict":
            for r in experiments.predict_images(args.checkpoint, args.images):
                top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:3]
                print(f"{r['file']}: {r['class']}  (" +
                      ", ".join(f"{c}: {p:.3f}" for c, p in top) + ")")
        elif args.command == "generate":
            res = generative.generate_images(args.checkpoint, n=args.n, label=args.label,
                                             out=args.out, seed=args.seed)
            print(f"wrote {res['n']} images from {res['model']} to {res['out']}")
        elif args.command == "models":
            for info in models.available():
                print(f"{info.name:12s} {info.summary}\n{'':12s} source: {info.source}")
        elif args.command == "datasets":
            for name, (summary, _) in experiments.DATASETS.items():
                print(f"{name:14s} {summary}")
    except (ValueError, FileNotFoundError, FileExistsError, ImportError) as e:
        print(f"chainrule: error: {e}", file=sys.stderr)
        return 2
    return 0
