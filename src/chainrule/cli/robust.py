"""The robustness subcommands (``attack``, ``patch``, ``shift``, ``ood``) and ``train``'s
adversarial-training options; ``cli.main`` registers them."""

from __future__ import annotations

import argparse

from ..experiments import robustness
from ..robust import ADVERSARIAL_METHODS

__all__ = ["COMMANDS", "add_parsers", "add_train_arguments", "adversarial_settings"]


def add_train_arguments(t, int_type, float_type) -> None:
    """``train``'s options for adversarial training."""
    a = t.add_argument_group("adversarial training (classifiers)")
    a.add_argument("--adversarial", choices=ADVERSARIAL_METHODS, default=None,
                   help="train on adversarial examples: fgsm (one step from a random start, "
                   "Wong et al. 2020), pgd (Madry et al. 2017) or n_fgsm (one step of eps from "
                   "stronger noise, no projection onto the eps ball; de Jorge et al. 2022) "
                   "(default: plain training)")
    a.add_argument("--eps", type=float_type(0, low_ok=False), default=0.3,
                   help="L-infinity radius of the training attack, > 0")
    a.add_argument("--adv-alpha", type=float_type(0, low_ok=False), default=None,
                   help="its step (default: 1.25 eps for fgsm, 2.5 eps / steps for pgd, eps for "
                   "n_fgsm)")
    a.add_argument("--adv-steps", type=int_type(1), default=10, help="pgd's steps, >= 1")
    a.add_argument("--adv-clip-start", action=argparse.BooleanOptionalAction, default=None,
                   help="clip the random start into [0, 1] before its gradient (default: no for "
                   "fgsm, Wong et al.'s unclipped start, which avoids catastrophic overfitting "
                   "on MNIST; yes for n_fgsm, as de Jorge et al.'s code)")
    a.add_argument("--adv-noise", type=float_type(0), default=None, metavar="K",
                   help="n_fgsm: the noise is uniform in [-K eps, K eps] (default 2)")
    a.add_argument("--adv-grad-align", type=float_type(0), default=0.0, metavar="LAMBDA",
                   help="add GradAlign's gradient-alignment penalty with this weight to the loss "
                   "(Andriushchenko & Flammarion 2020) (default 0: off)")
    a.add_argument("--adv-grad-align-variant", choices=("symmetric", "authors"),
                   default="symmetric",
                   help="symmetric (default): both input gradients differentiated, the noisy "
                   "point clipped into [0, 1]; authors: as the authors' code, the clean gradient "
                   "a constant, the noisy point unclipped, zero gradients left out")
    a.add_argument("--adv-check", type=int_type(0), default=0, metavar="N",
                   help="after every epoch, PGD-10 accuracy on the first N training images "
                   "(metrics.csv: pgd_accuracy); a fall of more than 0.2 below the best stops "
                   "training and keeps the best epoch's weights, Wong et al.'s guard against "
                   "catastrophic overfitting (default 0: off)")


def adversarial_settings(args, generative_tasks) -> dict | None:
    """``train_classifier``'s ``adversarial`` argument from the options (None: plain training)."""
    if args.adversarial is None:
        return None
    if args.model in generative_tasks:
        raise ValueError(f"--adversarial {args.adversarial}: adversarial training is for "
                         f"classifiers, not the generative task {args.model!r}")
    if args.adv_noise is not None and args.adversarial != "n_fgsm":
        raise ValueError(f"--adv-noise is for --adversarial n_fgsm, got --adversarial "
                         f"{args.adversarial}")
    variant = args.adv_grad_align_variant
    if variant != "symmetric" and not args.adv_grad_align:
        raise ValueError(f"--adv-grad-align-variant {variant} needs --adv-grad-align LAMBDA > 0")
    return {"method": args.adversarial, "eps": args.eps, "alpha": args.adv_alpha,
            "steps": args.adv_steps, "clip_start": args.adv_clip_start,
            **({"noise": args.adv_noise} if args.adv_noise is not None else {}),
            **({"grad_align": args.adv_grad_align} if args.adv_grad_align else {}),
            **({"grad_align_variant": variant} if variant != "symmetric" else {}),
            **({"check": args.adv_check} if args.adv_check else {})}


def _common(parser, int_type, n_default) -> None:
    parser.add_argument("checkpoint", help="a classifier's run folder (from `chainrule train`) "
                        "or its model.safetensors")
    parser.add_argument("--n", type=int_type(1), default=n_default,
                        help="use the first N test images (default: all)" if n_default is None
                        else "use the first N test images")
    parser.add_argument("--seed", type=int_type(0), default=0,
                        help="seeds the random starts and placements, >= 0")
    parser.add_argument("--out", default=None, help="run folder (default: runs/NAME-TIME)")
    parser.add_argument("--data-dir", default=None, help="folder with the dataset files "
                        "(default: $CHAINRULE_DATA or the user cache)")
    parser.add_argument("--no-download", action="store_true",
                        help="fail instead of downloading missing dataset files")


def _floats(text: str) -> list:
    """argparse type: comma-separated finite numbers >= 0."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = None
    if values is None or any(not (v >= 0 and v < float("inf")) for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 0, got {text!r}")
    return values


def add_parsers(sub, debug, int_type, float_type) -> None:
    """Add the ``attack``, ``patch``, ``shift`` and ``ood`` subcommands to ``sub``."""
    a = sub.add_parser("attack", parents=[debug], help="attack a trained classifier: robust "
                       "accuracy, accuracy against epsilon, adversarial examples")
    _common(a, int_type, None)
    a.add_argument("--method", default="pgd", choices=["fgsm", "pgd", "apgd", "apgd-t", "cw",
                                                      "deepfool"], help="the attack")
    a.add_argument("--eps", type=float_type(0), default=None,
                   help="the perturbation budget (fgsm, pgd, apgd, apgd-t; default 0.3)")
    a.add_argument("--norm", choices=["linf", "l2"], default="linf", help="pgd's norm")
    a.add_argument("--steps", type=int_type(1), default=None,
                   help="iterations (default: pgd 40, apgd and apgd-t 100 (per target class), "
                   "cw 100, deepfool 50)")
    a.add_argument("--restarts", type=int_type(1), default=1,
                   help="random restarts (pgd, apgd; apgd-t: per target class)")
    a.add_argument("--alpha", type=float_type(0, low_ok=False), default=None,
                   help="pgd's step (default 2.5 eps / steps)")
    a.add_argument("--target", type=int_type(0), default=None,
                   help="a class to reach (default: untargeted)")
    a.add_argument("--curve", type=_floats, default=None, metavar="E1,E2,...",
                   help="epsilons of the accuracy curve ('' for none; default "
                   f"{','.join(map(str, robustness.DEFAULT_CURVE))}; fgsm, pgd, apgd, apgd-t)")
    a.add_argument("--quiet", action="store_true", help="no progress output")

    p = sub.add_parser("patch", parents=[debug], help="learn a universal adversarial patch "
                       "(the sticker) and its targeted success on test images")
    _common(p, int_type, None)
    p.add_argument("--target", type=int_type(0), default=0, help="the class the patch forces")
    p.add_argument("--area", type=_floats, default=[0.04, 0.09, 0.16], metavar="A1,A2,...",
                   help="patch areas as shares of the image (each 0 < a < 1)")
    p.add_argument("--epochs", type=int_type(1), default=1, help="passes over the images")
    p.add_argument("--n-train", type=int_type(1), default=10000,
                   help="training images the patch is learned on")
    p.add_argument("--lr", type=float_type(0, low_ok=False), default=0.05,
                   help="Adam's learning rate for the patch")

    s = sub.add_parser("shift", parents=[debug], help="accuracy and confidence of a classifier "
                       "under rotation, scale, translation and elastic distortion")
    _common(s, int_type, 2000)

    o = sub.add_parser("ood", parents=[debug], help="confidence on out-of-distribution inputs "
                       "and its detection (MSP, energy: AUROC, FPR at 95%% TPR)")
    _common(o, int_type, 5000)
    o.add_argument("--against", action="append", choices=list(robustness.OOD_SETS),
                   default=None, help="out-of-distribution inputs, repeatable (default: "
                   "fashion_mnist, noise and inverted)")


def _data(args) -> dict:
    return {"n": args.n, "seed": args.seed, "out": args.out, "data_dir": args.data_dir,
            "download": not args.no_download}


def _attack(args) -> None:
    res = robustness.attack_run(
        args.checkpoint, args.method, eps=args.eps, norm=args.norm, steps=args.steps,
        restarts=args.restarts, alpha=args.alpha, target=args.target, curve=args.curve,
        verbose=0 if args.quiet else 1, **_data(args))
    median = res["median_norm"]  # nan when no attack succeeded
    norm = (f"median perturbation norm {median:.4f}" if median == median
            else "no attack succeeded, so no perturbation norm")
    print(f"{args.method}: clean accuracy {res['clean_accuracy']:.4f}, robust accuracy "
          f"{res['robust_accuracy']:.4f} on {res['n']} {res['dataset']} test images; {norm}")
    for row in res.get("curve", []):
        print(f"  eps {row['eps']:<5g} robust accuracy {row['robust_accuracy']:.4f}")
    print(f"run folder: {res['out']} (figures in {res['out']}/figures)")


def _patch(args) -> None:
    for a in args.area:
        if not 0 < a < 1:
            raise ValueError(f"--area {a:g}: expected a share of the image, 0 < area < 1")
    res = robustness.patch_run(args.checkpoint, target=args.target, areas=args.area,
                               epochs=args.epochs, n_train=args.n_train, lr=args.lr,
                               **_data(args))
    for row in res["results"]:
        print(f"patch {row['side']}x{row['side']} ({row['pixel_share']:.1%} of the image): "
              f"{row['success_rate']:.1%} of {row['n']} test images become "
              f"'{res['target']}' (unpatched: {row['clean_target_rate']:.1%})")
    print(f"run folder: {res['out']} (figures in {res['out']}/figures)")


def _shift(args) -> None:
    res = robustness.shift_run(args.checkpoint, **_data(args))
    for kind, rows in res["curves"].items():
        print(f"{kind:11s} " + "  ".join(f"{r['value']:g}: {r['accuracy']:.2f}" for r in rows))
    print(f"run folder: {res['out']} (figures in {res['out']}/figures)")


def _ood(args) -> None:
    against = args.against or ["fashion_mnist", "noise", "inverted"]
    res = robustness.ood_run(args.checkpoint, against=against, **_data(args))
    for name, r in res["sets"].items():
        print(f"{name:13s} mean confidence {r['mean_confidence_out']:.3f} (in-distribution "
              f"{r['mean_confidence_in']:.3f}); AUROC msp {r['msp']['auroc']:.4f}, energy "
              f"{r['energy']['auroc']:.4f}; FPR@95TPR msp {r['msp']['fpr_at_95tpr']:.4f}, "
              f"energy {r['energy']['fpr_at_95tpr']:.4f}")
    print(f"run folder: {res['out']} (figures in {res['out']}/figures)")


COMMANDS = {"attack": _attack, "patch": _patch, "shift": _shift, "ood": _ood}
