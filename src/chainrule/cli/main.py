"""``chainrule train | evaluate | predict | generate | models | datasets`` and the explanation
commands ``explain | visualize | prune | rules`` (cli/explain.py); tests call main().

Exit status: 0 done; 2 a usage error or a refused input (one line on stderr, ``chainrule: error:
...``, naming the argument or file, what it received and what it expected); 3 training diverged
(the last finite checkpoint is kept); 1 an unexpected error, which is a bug (``--traceback`` shows
where); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata

from .. import experiments, models
from ..autograd.anomaly_mode import AnomalyError
from ..experiments import generative
from ..experiments.checks import TrainingDivergedError
from ..experiments.runs import RunFolderInUseError
from . import bayes as bayes_cli
from . import explain as explain_cli
from . import fitting, train_flags
from . import robust as robust_cli
from . import sequences as seq_cli
from . import text as text_cli
from .arguments import (
    command_settings,
    debugging_options,
    device_name,
    integer,
    model_arg,
    model_args,
    noise_spec,
    number,
    png_path,
    threads_option,
)

__all__ = ["main"]

EXIT_ERROR, EXIT_DIVERGED, EXIT_BUG, EXIT_INTERRUPTED = 2, 3, 1, 130


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, with each option's default appended where its help does not name one."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or default is None or default is False or default == []
                or default is argparse.SUPPRESS or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, ``chainrule: error: ...``, and exit status 2;
    its help shows every option's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(EXIT_ERROR, f"chainrule: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="chainrule", description="Train, evaluate and use the lecture's neural "
                "networks with chainrule.")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                       help="on an error, show Python's traceback instead of one line")
    p.add_argument("--traceback", action="store_true",
                   help="on an error, show Python's traceback instead of one line")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model on a dataset into a run folder",
                       parents=[debug])
    t.add_argument("model", help="a model name (see `chainrule models`), or a generative task: "
                   + ", ".join(generative.GENERATIVE_TASKS))
    t.add_argument("--dataset", default=None, help="a dataset name (see `chainrule datasets`; "
                   "default: digits for classifiers, sms_spam for text models, mnist for "
                   "generative tasks)")
    t.add_argument("--epochs", type=integer(1), default=10, help="epochs to train, >= 1")
    t.add_argument("--batch-size", type=integer(1), default=64, help="images per training step")
    t.add_argument("--optimizer", default="adam", choices=sorted(experiments.OPTIMIZERS),
                   help="the update rule (generative tasks and char_lm: Adam)")
    t.add_argument("--lr", type=number(0, low_ok=False), default=None,
                   help="learning rate, > 0 (default: per optimizer)")
    t.add_argument("--weight-decay", type=number(0), default=0.0,
                   help="L2 penalty on the weights, >= 0")
    t.add_argument("--schedule", default="constant", choices=list(experiments.SCHEDULES),
                   help="learning rate over the epochs (cyclic: per step, 0 up to --lr and down)")
    t.add_argument("--augment", default="none", choices=list(experiments.AUGMENTATIONS),
                   help="random distortion of the training images (image classifiers)")
    t.add_argument("--seed", type=integer(0), default=0,
                   help="seeds the weights, the shuffling and the augmentation, >= 0")
    t.add_argument("--val-split", type=number(0, high=1), default=None, metavar="F",
                   help="share of the training images held out for validation, the same of "
                   "every class, drawn by --seed (0 <= F < 1; default 0.1; 0: none; text models "
                   "keep their fixed 10 %%); the test set is used once, at the end")
    t.add_argument("--data-dir", default=None, help="folder with the dataset files "
                   "(default: $CHAINRULE_DATA or the user cache)")
    t.add_argument("--no-download", action="store_true",
                   help="fail instead of downloading missing dataset files")
    t.add_argument("--out", default=None, help="run folder (default: runs/MODEL-DATASET-TIME)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out, with the "
                   "settings it recorded (only --epochs may grow)")
    t.add_argument("--model-arg", action="append", default=[], metavar="KEY=JSON",
                   type=model_arg, help="extra model constructor argument, e.g. --model-arg "
                   "'sizes=[784,300,10]' (a bare word such as arch=mlp is a string); repeatable "
                   "(default: none, the model's defaults for the dataset)")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.add_argument("--device", default="cpu", type=device_name,
                   help="where to train: 'cpu' or 'cuda' (needs CuPy and an NVIDIA GPU: "
                   "pip install chainrule[cuda])")
    threads_option(t)
    debugging_options(t)
    text_cli.add_train_arguments(t, integer)
    _generative_arguments(t)
    robust_cli.add_train_arguments(t, integer, number)
    bayes_cli.add_train_arguments(t, integer, number)
    fitting.add_train_arguments(t, integer, number)

    e = sub.add_parser("evaluate", help="test accuracy of a saved model", parents=[debug])
    e.add_argument("checkpoint", help="a run folder or its model.safetensors")
    e.add_argument("--dataset", default=None, help="default: the dataset it was trained on")
    e.add_argument("--data-dir", default=None, help="folder with the dataset files "
                   "(default: $CHAINRULE_DATA or the user cache)")
    e.add_argument("--no-download", action="store_true",
                   help="fail instead of downloading missing dataset files")
    threads_option(e)
    bayes_cli.add_evaluate_arguments(e, integer)

    r = sub.add_parser("predict", help="classify image files (greyscale PNG/JPEG or .npy), or "
                       "texts with a text model", parents=[debug],
                       description="Classify each image (a file that cannot be read gets a "
                       "one-line error, the others are classified; the exit status is then 2), "
                       "or with a text model each argument (--text-files: each line of a file).")
    r.add_argument("checkpoint", help="a classifier's run folder (from `chainrule train`) or its "
                   "model.safetensors")
    r.add_argument("images", nargs="+", metavar="IMAGE", help="greyscale PNG/JPEG images or .npy "
                   "arrays (floats in [0, 1], uint8 or uint16) of the model's input size, or any "
                   "size with --resize; for a text model, texts")
    r.add_argument("--text-files", action="store_true", help="text models: each argument is a "
                   "UTF-8 file holding one text per line")
    inv = r.add_mutually_exclusive_group()
    inv.add_argument("--invert", action="store_const", const=True, default=False,
                     help="invert every image (1 - x), e.g. dark digits on white paper for a "
                     "model trained on light digits on black (default: classify as they are and "
                     "warn about images whose background disagrees with the training images')")
    inv.add_argument("--auto-invert", action="store_const", const="auto", dest="invert",
                     help="invert only the images whose background (the median of the border) "
                     "disagrees with the training images'")
    size = r.add_mutually_exclusive_group()
    size.add_argument("--resize", action="store_const", const="content", default=None,
                      help="fit images of another size as the training images were made: crop to "
                      "the content, scale it to the training images' typical extent (MNIST: "
                      "20x20 of 28x28), centre its mass, pad with the image's background "
                      "(at most 64 megapixels)")
    size.add_argument("--resize-whole", action="store_const", const="whole", dest="resize",
                      help="fit the whole image, margins included, into the model's size, "
                      "keeping its aspect ratio and padding with its background")
    r.add_argument("--top", type=integer(1), default=3, metavar="K",
                   help="how many of the most probable classes to show")
    r.add_argument("--json", action="store_true", help="print the results as JSON (a list with "
                   "one object per image, errors included)")
    threads_option(r)

    g = sub.add_parser("generate", help="draw images from a trained GAN into a PNG grid",
                       parents=[debug])
    g.add_argument("checkpoint", help="a GAN run folder or its model.safetensors")
    g.add_argument("--n", type=integer(1, generative.MAX_GRID_IMAGES), default=64,
                   help="how many images (a conditional GAN without --label: rounded up to the "
                   "same number of every class)")
    g.add_argument("--label", type=integer(0), default=None, help="the class to draw (cgan only; "
                   "default: every class, one row each)")
    g.add_argument("--out", default="grid.png", type=png_path, help="the PNG to write")
    g.add_argument("--seed", type=integer(0), default=0, help="seeds the generator's noise")

    explain_cli.add_parsers(sub, debug, threads_option)
    sub.add_parser("models", help="list the models", parents=[debug])
    sub.add_parser("datasets", help="list the datasets", parents=[debug])
    robust_cli.add_parsers(sub, debug, integer, number)
    bayes_cli.add_parsers(sub, debug, integer)
    seq_cli.add_parsers(sub, t, debug, integer, number)
    train_flags.remember_defaults(t)  # after every train option
    return p


def _generative_arguments(t) -> None:
    a = t.add_argument_group("autoencoders (autoencoder, denoising, colorization, watermark)")
    a.add_argument("--arch", choices=["dense", "conv"], default=None,
                   help="default: dense for autoencoder/denoising, conv for the others")
    a.add_argument("--bottleneck", type=integer(1), default=32,
                   help="code size (2: latent scatter)")
    a.add_argument("--tied", action="store_true", help="tie decoder weights to the encoder's")
    a.add_argument("--noise", default="mixed", type=noise_spec, help="denoising noise: 'mixed' or "
                   "specs like gaussian:0.3,mask:0.5")
    g = t.add_argument_group("GANs (gan, dcgan, cgan)")
    g.add_argument("--loss", default="non_saturating",
                   choices=["non_saturating", "minimax", "wgan-gp"], help="the GAN objective")
    g.add_argument("--label-smoothing", type=number(0, high=0.5), default=0.0,
                   help="D's target for real images is 1 minus this (0 <= s < 0.5)")
    g.add_argument("--n-critic", type=integer(1), default=None, help="D steps per G step "
                   "(default 1, WGAN-GP 5)")
    g.add_argument("--gp-weight", type=number(0), default=10.0,
                   help="weight of WGAN-GP's gradient penalty")
    g.add_argument("--prior", choices=["normal", "uniform"], default="normal",
                   help="distribution of the generator's noise")
    g.add_argument("--latent-dim", type=integer(1), default=64, help="size of the noise vector")
    g.add_argument("--judge", default=None, help="a classifier run folder (e.g. lenet5 on "
                   "mnist) for the LeNet Frechet distance and class histogram (default: none)")
    t.add_argument("--n-train", type=integer(1), default=None,
                   help="generative tasks: train on the first N training images only "
                   "(default: all)")


def _train(args) -> None:
    train_flags.refuse_unread(args)
    adversarial = robust_cli.adversarial_settings(args, generative.GENERATIVE_TASKS)
    bayes = bayes_cli.bayes_settings(args, generative.GENERATIVE_TASKS)
    text_cli.check_train_fraction(args)
    grads = fitting.grad_settings(args, generative.GENERATIVE_TASKS, experiments.TEXT_MODELS,
                                  seq_cli.TEXT_TASKS)
    if args.model in generative.GENERATIVE_TASKS:
        _train_generative(args)
        return
    if args.model in experiments.TEXT_MODELS:
        return text_cli.train(args, model_args(args.model_arg))
    if args.model in seq_cli.TEXT_TASKS:
        return seq_cli.train(args, model_args(args.model_arg))
    res = experiments.train_classifier(
        args.model, args.dataset or "digits", epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
        schedule=args.schedule, augment=args.augment, seed=args.seed, data_dir=args.data_dir,
        download=not args.no_download, out=args.out, resume=args.resume,
        model_kwargs=model_args(args.model_arg), verbose=0 if args.quiet else 1,
        device=args.device, val_split=fitting.val_split(args), threads=args.threads,
        adversarial=adversarial, bayes=bayes, profile=args.profile, grad_options=grads)
    if "val_accuracy" in res:
        print(f"validation accuracy {res['val_accuracy']:.4f} ({res['n_val']} training images "
              "held out)")
    print(f"test accuracy {res['test_accuracy']:.4f} ({res['test_errors']} errors in "
          f"{res['n_test']} test images), trained in {res['train_seconds']} s")
    if "soft_sharing" in res:
        bayes_cli.print_sharing(res["soft_sharing"])
    print(f"run folder: {res['out']} (figures in {res['out']}/figures)")


def _train_generative(args) -> None:
    common = {"epochs": args.epochs, "seed": args.seed, "n_train": args.n_train,
              "data_dir": args.data_dir, "download": not args.no_download, "out": args.out,
              "resume": args.resume, "model_kwargs": model_args(args.model_arg),
              "verbose": 0 if args.quiet else 1, "device": args.device,
              "threads": args.threads}
    dataset = args.dataset or "mnist"
    if args.model in generative.AUTOENCODER_TASKS:
        noise = args.noise if args.noise == "mixed" else args.noise.split(",")
        res = generative.train_autoencoder(
            args.model, dataset, arch=args.arch, bottleneck=args.bottleneck, tied=args.tied,
            noise=noise, batch_size=args.batch_size, lr=args.lr or 1e-3,
            val_split=fitting.val_split(args), **common)
        if "noise_levels" in res:
            for spec, r in res["noise_levels"].items():
                print(f"{spec:13s} input PSNR {r['input_psnr']:6.2f} dB -> reconstruction "
                      f"{r['psnr']:6.2f} dB (MSE {r['mse']:.4f})")
        else:
            print(f"test reconstruction MSE {res['test_mse']:.4f}, PSNR {res['test_psnr']:.2f} dB "
                  f"(input: {res['input_psnr']:.2f} dB)")
    else:
        fitting.val_split(args)
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


def _evaluate(args) -> None:
    bayes_cli.check_uncertainty_options(args)
    if seq_cli.evaluate(args):
        return
    if experiments.is_text_run(args.checkpoint):
        if args.uncertainty is not None:
            raise ValueError("--uncertainty is for image classifiers; a text run has none")
        text_cli.evaluate(args)
        return
    if args.uncertainty is not None:
        if args.dataset is not None:
            raise ValueError("--uncertainty scores the run on its own dataset; drop --dataset")
        bayes_cli.evaluate_uncertainty(args)
        return
    res = experiments.evaluate_checkpoint(args.checkpoint, args.dataset, data_dir=args.data_dir,
                                          download=not args.no_download)
    print(f"{res['dataset']}: test accuracy {res['test_accuracy']:.4f} "
          f"({res['test_errors']} errors in {res['n_test']})")


def _predict(args) -> int:
    seq_cli.refuse_language_model(args.checkpoint, "predict")
    if experiments.is_text_run(args.checkpoint):
        return text_cli.predict(args)
    if args.text_files:
        raise ValueError(f"--text-files: {args.checkpoint} is not a text model's run")
    results = experiments.predict_images(args.checkpoint, args.images, invert=args.invert,
                                         resize=args.resize)
    failed = [r for r in results if "error" in r]
    if args.json:
        print(json.dumps(results, indent=2))
        return EXIT_ERROR if failed else 0
    for r in results:
        if "error" in r:
            print(f"chainrule: error: {r['file']}: {r['error']}", file=sys.stderr)
            continue
        top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:args.top]
        print(f"{r['file']}: {r['class']}  (" + ", ".join(f"{c}: {p:.3f}" for c, p in top) + ")"
              + ("  [inverted]" if r["inverted"] else ""))
        if "warning" in r:
            hint = ": pass --invert (or --auto-invert)" if r.get("looks_inverted") else ""
            print(f"chainrule: warning: {r['file']} {r['warning']}{hint}", file=sys.stderr)
    if failed:
        print(f"chainrule: error: {len(failed)} of {len(results)} images could not be read",
              file=sys.stderr)
    return EXIT_ERROR if failed else 0


def _generate(args) -> None:
    res = generative.generate_images(args.checkpoint, n=args.n, label=args.label, out=args.out,
                                     seed=args.seed)
    every = (f" ({res['per_class']} of each class, one row per class)"
             if "per_class" in res else "")
    print(f"wrote {res['n']} images{every} from {res['model']} to {res['out']}")


def _models(args) -> None:
    infos = models.available()
    width = max(len(info.name) for info in infos)
    for info in infos:
        print(f"{info.name:{width}s}  {info.summary}\n{'':{width}s}  source: {info.source}")


def _datasets(args) -> None:
    width = max(len(name) for name in [*experiments.DATASETS, *experiments.TEXT_DATASETS])
    for name, (summary, _) in experiments.DATASETS.items():
        print(f"{name:{width}s}  {summary}")
    for name, summary in experiments.TEXT_DATASETS.items():
        print(f"{name:{width}s}  {summary}")


def _version() -> str:
    """The installed distribution's version; a source tree that is not installed has its own."""
    try:
        return metadata.version("chainrule")
    except metadata.PackageNotFoundError:
        from .. import __version__

        return __version__


_COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict, "generate": _generate,
             "models": _models, "datasets": _datasets, **robust_cli.COMMANDS,
             **explain_cli.COMMANDS, **bayes_cli.COMMANDS, **seq_cli.COMMANDS}


def _user_error(err: BaseException) -> bool:
    """Errors of the input, not of chainrule: bad values, files, folders, memory, a busy run."""
    if isinstance(err, (ValueError, OSError, ImportError, MemoryError, RunFolderInUseError)):
        return True
    return any(c.__name__ == "DecompressionBombError" for c in type(err).__mro__)  # PIL's


def _one_line(err: BaseException) -> str:
    """An exception as one line: an OSError as 'file: reason', other messages' lines joined."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        files = f"{err.filename}" + (f" -> {err.filename2}" if err.filename2 else "")
        return f"{files}: {err.strerror}"
    if isinstance(err, MemoryError):
        return f"out of memory{': ' + str(err) if str(err) else ''}"
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return lines[0] + ("" if len(lines) == 1 else " " + "; ".join(lines[1:]))


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default: sys.argv[1:]); returns the exit status.

    A usage error exits (SystemExit with status 2) like any argparse program; every other
    failure returns its status after one line on stderr, unless ``--traceback`` was given.
    """
    args = _parser().parse_args(argv)
    try:
        with command_settings(args):
            status = _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if getattr(args, "traceback", False):
            raise
        if isinstance(err, (TrainingDivergedError, AnomalyError)):
            print(f"chainrule: error: {_one_line(err)}", file=sys.stderr)
            return EXIT_DIVERGED
        if _user_error(err):
            print(f"chainrule: error: {_one_line(err)}", file=sys.stderr)
            return EXIT_ERROR
        print(f"chainrule: internal error: {type(err).__name__}: {_one_line(err)} (a bug in "
              "chainrule; rerun with --traceback to see where, and report it)", file=sys.stderr)
        return EXIT_BUG
    return status or 0
