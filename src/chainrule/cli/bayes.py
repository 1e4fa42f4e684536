"""The `chainrule calibrate` subcommand: a thin shell over experiments.calibrate_run."""

from __future__ import annotations

from ..experiments.calibration import calibrate_run

__all__ = ["COMMANDS", "add_parsers"]


def add_parsers(sub, debug, int_type) -> None:
    """Add the ``calibrate`` subcommand to ``sub``."""
    c = sub.add_parser("calibrate", parents=[debug], help="temperature scaling of a trained "
                       "classifier on its validation split: NLL, Brier, ECE, reliability diagram")
    c.add_argument("checkpoint", help="a classifier's run folder (from `chainrule train`, "
                   "trained with a validation split)")
    c.add_argument("--bins", type=int_type(1), default=15, help="confidence bins of the ECE")
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


COMMANDS = {"calibrate": _calibrate}
