"""``chainrule train | evaluate | predict | models | datasets``; tests call ``main([...])``."""

from __future__ import annotations

import argparse
import json
import sys

from .. import experiments, models

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chainrule", description="Train, evaluate and use the "
                                "lecture's neural networks with chainrule.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model on a dataset into a run folder")
    t.add_argument("model", help="a model name (see `chainrule models`)")
    t.add_argument("--dataset", default="digits", help="a dataset name (see `chainrule datasets`)")
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

    e = sub.add_parser("evaluate", help="test accuracy of a saved model")
    e.add_argument("checkpoint", help="a run folder or its model.safetensors")
    e.add_argument("--dataset", default=None, help="default: the dataset it was trained on")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--no-download", action="store_true")

    r = sub.add_parser("predict", help="classify image files (greyscale PNG/JPEG or .npy)")
    r.add_argument("checkpoint")
    r.add_argument("images", nargs="+")

    sub.add_parser("models", help="list the models")
    sub.add_parser("datasets", help="list the datasets")
    return p


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
    try:
        if args.command == "train":
            res = experiments.train_classifier(
                args.model, args.dataset, epochs=args.epochs, batch_size=args.batch_size,
                optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
                schedule=args.schedule, augment=args.augment, seed=args.seed,
                data_dir=args.data_dir, download=not args.no_download, out=args.out,
                resume=args.resume,
                model_kwargs=_model_args(args.model_arg), verbose=0 if args.quiet else 1)
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
