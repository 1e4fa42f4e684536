"""The `chainrule calibrate` subcommand: a thin shell over experiments.calibrate_run."""

from __future__ import annotations

from ..experiments import uncertainty
from ..experiments.calibration import calibrate_run

__all__ = ["COMMANDS", "add_evaluate_arguments", "add_parsers", "add_train_arguments",
           "bayes_settings", "check_uncertainty_options", "evaluate_uncertainty"]


def add_evaluate_arguments(e, int_type) -> None:
    """``evaluate``'s options for the predictive uncertainty of a run."""
    u = e.add_argument_group("predictive uncertainty (a run folder of `chainrule train`)")
    u.add_argument("--uncertainty", choices=uncertainty.METHODS, default=None,
                   help="score a Bayesian predictive on the test set: NLL, Brier, ECE, "
                   "accuracy, predictive entropy and mutual information, beside the plain "
                   "network's; stored in the run's results.json (default: accuracy only)")
    u.add_argument("--samples", type=int_type(1), default=30,
                   help="draws averaged (MC dropout, Laplace, Bayes by Backprop)")
    u.add_argument("--laplace-structure", choices=uncertainty.LAPLACE_STRUCTURES,
                   default="last-layer", help="Laplace: the last layer's full GGN, the "
                   "diagonal GGN of every weight, or Kronecker factors per layer (KFAC)")
    u.add_argument("--fit-size", type=int_type(1), default=1000, metavar="N",
                   help="Laplace: fit on the first N training images")
    u.add_argument("--bins", type=int_type(1, MAX_BINS), default=15,
                   help=f"confidence bins of the ECE, 1 to {MAX_BINS}")
    u.add_argument("--seed", type=int_type(0), default=0, help="seeds the draws, >= 0")
    e.set_defaults(_uncertainty_defaults={a.dest: (a.option_strings[0], a.default)
                                          for a in u._group_actions})


_DRAWN = ("mc-dropout", "bayes-by-backprop", "laplace")
_READ_BY = {"samples": _DRAWN, "seed": _DRAWN, "laplace_structure": ("laplace",),
            "fit_size": ("laplace",), "bins": uncertainty.METHODS}


def check_uncertainty_options(args) -> None:
    """A ValueError for an option of ``evaluate --uncertainty`` that the method given (or no
    --uncertainty at all) would not read: before, ``evaluate RUN --samples 100`` printed the
    plain accuracy and ``--uncertainty mc-dropout --laplace-structure kfac`` dropped the
    structure, in silence."""
    for dest, (flag, default) in args._uncertainty_defaults.items():
        value, methods = getattr(args, dest), _READ_BY.get(dest, ())
        if dest != "uncertainty" and value != default and args.uncertainty not in methods:
            given = ("has no effect without --uncertainty" if args.uncertainty is None
                     else f"is not read by --uncertainty {args.uncertainty}")
            raise ValueError(f"{flag} {value} {given} (it is for --uncertainty "
                             f"{', '.join(methods)})")


def evaluate_uncertainty(args) -> None:
    """``chainrule evaluate RUN --uncertainty METHOD``: a table of the plain and Bayesian scores."""
    res = uncertainty.evaluate_uncertainty(
        args.checkpoint, args.uncertainty, samples=args.samples,
        structure=args.laplace_structure, fit_size=args.fit_size, bins=args.bins,
        seed=args.seed, data_dir=args.data_dir, download=not args.no_download)
    name = args.uncertainty + (f" ({res['structure']}, prior {res['prior_precision']:g})"
                               if "structure" in res else "")
    print(f"{res['dataset']}, {res['n_test']} test images:")
    for label, r in ((res["plain_label"], res["plain"]), (name, res[args.uncertainty])):
        print(f"  {label:34s} accuracy {r['accuracy']:.4f}  NLL {r['nll']:.4f}  Brier "
              f"{r['brier']:.4f}  ECE {100 * r['ece']:.2f}%  entropy {r['mean_entropy']:.4f}  "
              f"mutual information {r['mean_mutual_information']:.4f}")
    print(f"written to {res['results']} (uncertainty)")


MAX_BINS = 10**6  # 99999999999999999999 bins failed as "Maximum allowed size exceeded"
MAX_ENSEMBLE = 1000  # a bigger count overflowed inside NumPy's seed spawning (an internal error)


def add_train_arguments(t, int_type, float_type) -> None:
    """``train``'s options for ensembles, Bayes by Backprop and soft weight sharing."""
    b = t.add_argument_group("model averaging and Bayesian fitting (classifiers)")
    b.add_argument("--ensemble", type=int_type(2, MAX_ENSEMBLE), default=None, metavar="M",
                   help=f"train a deep ensemble of M members, 2 to {MAX_ENSEMBLE} (each its own "
                   "initialization and data order), saved and evaluated as one model (default: "
                   "one network)")
    b.add_argument("--bayes-by-backprop", action="store_true",
                   help="make every Linear/Conv2d layer Bayesian (a Gaussian per weight) and "
                   "train by the ELBO: cross-entropy + KL / training images")
    b.add_argument("--prior-sigma", type=float_type(0, low_ok=False), default=1.0,
                   help="Bayes by Backprop: standard deviation of the N(0, s^2) prior, > 0")
    b.add_argument("--soft-sharing", type=int_type(2), default=None, metavar="K",
                   help="soft weight sharing: a learned K-component mixture prior on the "
                   "weights (one fixed at 0); afterwards the weights are quantized to its "
                   "centres (default: off)")
    b.add_argument("--sharing-strength", type=float_type(0, low_ok=False), default=1.0,
                   help="soft sharing: weight of the mixture penalty (per training image), > 0")
    b.add_argument("--sharing-warmup", type=int_type(0), default=0, metavar="E",
                   help="soft sharing: epochs of plain training before the penalty starts")


def bayes_settings(args, generative_tasks) -> dict | None:
    """``train_classifier``'s ``bayes`` argument from the options (None: none given)."""
    options = {}
    if args.ensemble is not None:
        options["ensemble"] = args.ensemble
    if args.bayes_by_backprop:
        options["bayes_by_backprop"] = {"prior_sigma": args.prior_sigma}
    if args.soft_sharing is not None:
        options["soft_sharing"] = {"components": args.soft_sharing,
                                   "strength": args.sharing_strength,
                                   "warmup": args.sharing_warmup}
    if options and args.model in generative_tasks:
        raise ValueError(f"--{next(iter(options)).replace('_', '-')} is for classifiers, not "
                         f"the generative task {args.model!r}")
    return options or None


def add_parsers(sub, debug, int_type) -> None:
    """Add the ``calibrate`` subcommand to ``sub``."""
    c = sub.add_parser("calibrate", parents=[debug], help="temperature scaling of a trained "
                       "classifier on its validation split: NLL, Brier, ECE, reliability diagram")
    c.add_argument("checkpoint", help="a classifier's run folder (from `chainrule train`, "
                   "trained with a validation split)")
    c.add_argument("--bins", type=int_type(1, MAX_BINS), default=15,
                   help=f"confidence bins of the ECE, 1 to {MAX_BINS}")
    c.add_argument("--mc-dropout", type=int_type(0), default=0, metavar="N",
                   help="also score the MC-dropout predictive of N samples (0: no)")
    c.add_argument("--laplace", action="store_true", help="also score last-layer Laplace "
                   "(probit predictive; prior precision chosen by validation NLL)")
    c.add_argument("--seed", type=int_type(0), default=0, help="seeds the dropout masks, >= 0")
    c.add_argument("--out", default=None, help="run folder (default: runs/calibrate-TIME)")
    c.add_argument("--data-dir", default=None, help="folder with the dataset files "
                   "(default: $CHAINRULE_DATA or the user cache)")
    c.add_argument("--no-download", action="store_true",
                   help="fail instead of downloading missing dataset files")


def _calibrate(args) -> None:
    if args.seed != 0 and not args.mc_dropout:  # it seeds nothing else
        raise ValueError(f"--seed {args.seed}: it seeds the dropout masks of --mc-dropout N, "
                         "which is not given")
    res = calibrate_run(args.checkpoint, bins=args.bins, mc_dropout=args.mc_dropout,
                        laplace=args.laplace, seed=args.seed, out=args.out, data_dir=args.data_dir,
                        download=not args.no_download)
    print(f"temperature {res['temperature']:.4f}, fitted on {res['n_val']} validation images")
    rows = [("as trained", res["before"]), ("temperature-scaled", res["after"])]
    if "mc_dropout" in res:
        rows.append((f"MC dropout ({args.mc_dropout})", res["mc_dropout"]))
    if "laplace" in res:
        rows.append((f"Laplace ({res['laplace']['prior_precision']:g})", res["laplace"]))
    for name, r in rows:
        print(f"{name:20s} accuracy {r['accuracy']:.4f}  NLL {r['nll']:.4f}  Brier "
              f"{r['brier']:.4f}  ECE {100 * r['ece']:.2f}%  ({res['n_test']} test images)")
    print(f"run folder: {res['out']} (figures in {res['out']}/figures)")


def print_sharing(r: dict) -> None:
    """The soft-sharing lines of ``chainrule train``'s output."""
    print(f"soft sharing: {r['weights']} weights -> {r['distinct_weights']} distinct values "
          f"({r['bits_per_weight']} bits each, {100 * r['zero_share']:.1f}% zero); test accuracy "
          f"{r['accuracy_before']:.4f} before quantizing, {r['accuracy_quantized']:.4f} after")


COMMANDS = {"calibrate": _calibrate}
