"""``chainrule explain | visualize | prune | rules``: thin shells over experiments.explain."""

from __future__ import annotations

import argparse

from ..experiments import explain as runs
from ..explain import TABULAR_DATASETS
from .arguments import integer, number

__all__ = ["COMMANDS", "add_parsers"]


def _share(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1), got {text!r}")
    return value


def add_parsers(sub, debug, threads_option) -> None:
    """Add the four subcommands to ``sub`` (an argparse subparsers object).

    ``debug`` is the parent parser of --traceback; ``threads_option(parser)`` adds --threads.
    """
    e = sub.add_parser("explain", parents=[debug], help="attribution maps of a classifier's "
                       "decisions (saliency, integrated gradients, occlusion, LRP, SHAP...)")
    e.add_argument("run", help="a classifier's run folder")
    e.add_argument("images", nargs="+", metavar="IMAGE",
                   help="image files, or test:I for the I-th test image of the run's dataset")
    e.add_argument("--method", default="saliency", choices=[*runs.EXPLAIN_METHODS, "all"],
                   help="the attribution method, or all the classic ones (saliency to guided) "
                   "side by side")
    e.add_argument("--target", type=integer(0), default=None,
                   help="the class index to explain (default: each image's predicted class)")
    e.add_argument("--steps", type=integer(1), default=50, help="integrated gradients' steps")
    e.add_argument("--samples", type=integer(1), default=25,
                   help="SmoothGrad's and noise_tunnel's copies, shapley's orderings, "
                   "deeplift_shap's baseline test images")
    e.add_argument("--window", type=integer(1), default=4,
                   help="occlusion's square; the superpixels of shapley and feature_permutation")
    e.add_argument("--stride", type=integer(1), default=2, help="occlusion's step")
    e.add_argument("--stdev", type=number(0, low_ok=False), default=0.15,
                   help="noise_tunnel's noise, in pixel units")
    e.add_argument("--layer", default=None, help="layer_ig's convolution layer, a dotted name "
                   "(default: the last Conv2d whose map is larger than 1x1)")
    e.add_argument("--rule", default=None, choices=runs.LRP_RULES,
                   help="lrp's rule for the Linear and Conv2d layers (default: epsilon); "
                   "composite: gamma for convolutions, epsilon in the middle, LRP-0 on top")
    _common(e)

    v = sub.add_parser("visualize", parents=[debug], help="filters, top-activating patches, "
                       "deconvnet projections and activation maximization of a layer")
    v.add_argument("run", help="a CNN classifier's run folder")
    v.add_argument("--layer", required=True,
                   help="a layer's dotted name, e.g. features.3 (required: no default)")
    v.add_argument("--channels", type=int, nargs="+", default=None,
                   help="channels to show (default: the first 8)")
    v.add_argument("--images", type=integer(1), default=2000,
                   help="test images searched for the top patches")
    v.add_argument("--steps", type=integer(1), default=150,
                   help="activation maximization steps")
    _common(v)

    p = sub.add_parser("prune", parents=[debug], help="prune a classifier and report accuracy "
                       "against sparsity")
    p.add_argument("run", help="a classifier's run folder")
    p.add_argument("--sparsity", type=_share, default=0.9, help="share of weights to remove")
    p.add_argument("--iterative", action="store_true",
                   help="prune in --steps steps, fine-tuning after each (default: one-shot)")
    p.add_argument("--steps", type=integer(1), default=5, help="points of the schedule")
    p.add_argument("--criterion", default="magnitude", choices=["magnitude", "obd"],
                   help="which weights go first: smallest |w|, or Optimal Brain Damage's "
                   "saliency")
    p.add_argument("--scope", default="global", choices=["global", "layer"],
                   help="one ranking over all layers, or the same sparsity in each layer")
    p.add_argument("--finetune-epochs", type=integer(1), default=1,
                   help="epochs of fine-tuning after each step (--iterative)")
    p.add_argument("--lr", type=number(0, low_ok=False), default=1e-3,
                   help="fine-tuning's Adam step")
    _common(p)

    r = sub.add_parser("rules", parents=[debug], help="NeuroRule: train and prune an MLP on a "
                       "tabular set and extract IF-THEN rules")
    r.add_argument("dataset", choices=list(TABULAR_DATASETS),
                   help="a tabular set: generated MONK-style problems or scikit-learn's")
    r.add_argument("--hidden", type=integer(1), default=4, help="hidden units")
    r.add_argument("--levels", type=integer(1), default=3,
                   help="bins per continuous attribute")
    r.add_argument("--max-accuracy-drop", type=float, default=0.01,
                   help="how far pruning may lower the training accuracy")
    r.add_argument("--table", default="auto", choices=["auto", "all", "seen"],
                   help="rules from every attribute combination, or those seen in training")
    r.add_argument("--out", default=None, help="output folder (default: runs/rules-DATASET)")
    r.add_argument("--seed", type=int, default=0, help="seeds the split and the weights")
    for parser in (e, v, p, r):
        threads_option(parser)


def _common(parser) -> None:
    parser.add_argument("--out", default=None, help="output folder (default: a folder inside the "
                        "run)")
    parser.add_argument("--seed", type=int, default=0, help="seeds any random choice")
    parser.add_argument("--data-dir", default=None, help="folder with the dataset files "
                        "(default: $CHAINRULE_DATA or the user cache)")
    parser.add_argument("--no-download", action="store_true",
                        help="fail instead of downloading missing dataset files")


# explain's method options -> (default, the methods that read it); "all" shows the classic seven
_METHOD_OPTIONS = {
    "steps": (50, ("ig", "noise_tunnel", "layer_ig")),
    "samples": (25, ("smoothgrad", "shapley", "noise_tunnel", "deeplift_shap")),
    "window": (4, ("occlusion", "shapley", "feature_permutation")),
    "stride": (2, ("occlusion",)),
    "stdev": (0.15, ("noise_tunnel",)),
    "layer": (None, ("layer_ig",)),
}


def _check_method_options(args) -> None:
    """An option the method would not read is a usage error: ``--method saliency --steps 200``
    or ``--method smoothgrad --stdev 0.5`` (SmoothGrad has its own noise) made the same map as
    without the option, in silence."""
    methods = runs.CLASSIC_METHODS if args.method == "all" else (args.method,)
    for dest, (default, readers) in _METHOD_OPTIONS.items():
        value = getattr(args, dest)
        if value != default and not set(methods) & set(readers):
            raise ValueError(f"--{dest} {value}: --method {args.method} does not use it (it is "
                             f"for {', '.join(readers)})")


def _explain(args) -> None:
    _check_method_options(args)
    res = runs.explain_images(args.run, args.images, method=args.method, out=args.out,
                              target=args.target, steps=args.steps, n_samples=args.samples,
                              window=args.window, stride=args.stride, stdev=args.stdev,
                              layer=args.layer, rule=args.rule, seed=args.seed,
                              data_dir=args.data_dir, download=not args.no_download,
                              progress=True)
    for im in res["images"]:
        print(f"{im['image']}: predicted {im['predicted']} ({im['probability']:.3f}), "
              f"explaining {im['explained_class']}")
    if "ig_details" in res:
        err = max(abs(d) for d in res["ig_details"]["completeness_error"])
        print(f"integrated gradients: completeness error at most {err:.2e}")
    print(f"figure: {res['figure']}")


def _visualize(args) -> None:
    res = runs.visualize_layer(args.run, layer=args.layer, out=args.out, channels=args.channels,
                               n_images=args.images, steps=args.steps, seed=args.seed,
                               data_dir=args.data_dir, download=not args.no_download)
    for c, s in res["channels"].items():
        print(f"channel {c}: top activation {s['top_activations'][0]:.3f}; activation "
              f"maximization {s['maximization_start']:.3f} -> {s['maximization_end']:.3f}")
    print("figures: " + ", ".join(res["figures"]))


def _prune(args) -> None:
    for flag, value, default in (("--finetune-epochs", args.finetune_epochs, 1),
                                 ("--lr", args.lr, 1e-3)):
        if value != default and not args.iterative:  # one-shot pruning read neither
            raise ValueError(f"{flag} {value:g}: one-shot pruning does not fine-tune; add "
                             "--iterative")
    res = runs.prune_run(args.run, sparsity=args.sparsity, iterative=args.iterative,
                         steps=args.steps, criterion=args.criterion, scope=args.scope,
                         finetune_epochs=args.finetune_epochs, lr=args.lr, out=args.out,
                         seed=args.seed, data_dir=args.data_dir, download=not args.no_download)
    for c in res["curve"]:
        print(f"sparsity {c['sparsity']:.3f}: test accuracy {c['test_accuracy']:.4f}")
    print(f"pruned model: {res['out']}/model.safetensors; figure: {res['figure']}")


def _rules(args) -> None:
    res = runs.rules_run(args.dataset, out=args.out, hidden=args.hidden, levels=args.levels,
                         max_accuracy_drop=args.max_accuracy_drop, table=args.table,
                         seed=args.seed)
    print("\n".join(res["rule_text"]))
    tree = res["decision_tree"]
    print(f"{res['n_rules']} rules, {res['n_conditions']} conditions: test accuracy "
          f"{res['rules_test_accuracy']:.4f}, fidelity {res['fidelity_test']:.4f} "
          f"(network {res['network_test_accuracy']:.4f}; {res['links']} of "
          f"{res['links_initial']} links kept)")
    print(f"decision tree with {tree['leaves']} leaves: test accuracy "
          f"{tree['test_accuracy']:.4f}")
    print(f"rules: {res['out']}/rules.txt, rules.json")


COMMANDS = {"explain": _explain, "visualize": _visualize, "prune": _prune, "rules": _rules}
