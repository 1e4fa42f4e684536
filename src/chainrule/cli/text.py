"""The text models' side of `chainrule train | predict | evaluate`: train and evaluate of the
n-gram models (ngram, fasttext), predict of every text classifier (char_cnn and lstm_text too);
thin shells over experiments.text."""

from __future__ import annotations

import argparse
import json

from ..experiments import text
from ..experiments.text_classify import TEXT_MODELS as CHARACTER_MODELS

__all__ = ["add_train_arguments", "check_train_fraction", "evaluate", "predict", "train"]


def add_train_arguments(t, int_type) -> None:
    """The options of `chainrule train` that only text models read."""
    x = t.add_argument_group("text models (ngram, fasttext; datasets ag_news, sms_spam)")
    x.add_argument("--ngram", type=int_type(1), default=2, metavar="N",
                   help="use word 1-grams to N-grams as features")
    x.add_argument("--min-count", type=int_type(1), default=1,
                   help="keep n-grams seen at least this often in the training texts")
    x.add_argument("--max-features", type=int_type(1), default=None,
                   help="keep at most this many n-grams, the most frequent (default: all)")
    x.add_argument("--train-fraction", type=_fraction, default=None, metavar="F",
                   help="text classifiers (ngram, fasttext, char_cnn, lstm_text): train on this "
                   "part of the training texts only, stratified and nested "
                   "(data.text.training_subset, seed 0; a learning curve's point); validated "
                   "and tested on the same fixed parts (default: all)")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def check_train_fraction(args) -> None:
    """--train-fraction is for the text classifiers only: a usage error for any other model."""
    classifiers = (*text.TEXT_MODELS, *CHARACTER_MODELS)
    if args.train_fraction is not None and args.model not in classifiers:
        raise ValueError(f"--train-fraction {args.train_fraction:g}: only the text classifiers "
                         f"({', '.join(classifiers)}) take a part of their training texts")


def train(args, model_kwargs: dict) -> None:
    for flag, value, default in (("--val-split", args.val_split, None),
                                 ("--augment", args.augment, "none"),
                                 ("--resume", args.resume, False),
                                 ("--device", args.device, "cpu")):
        if value != default:
            shown = flag if value is True else f"{flag} {value}"  # not "--resume True"
            raise ValueError(f"{shown}: text models train on the CPU with a fixed "
                             "70/10/20 split, no augmentation and no resume")
    res = text.train_text_classifier(
        args.model, args.dataset or "sms_spam", epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
        schedule=args.schedule, seed=args.seed, data_dir=args.data_dir,
        download=not args.no_download, out=args.out,
        ngram_range=args.ngram, min_count=args.min_count, max_features=args.max_features,
        model_kwargs=model_kwargs, verbose=0 if args.quiet else 1,
        train_fraction=args.train_fraction)
    print(f"validation accuracy {res['val_accuracy']:.4f} ({res['n_val']} texts); test accuracy "
          f"{res['test_accuracy']:.4f} ({res['test_errors']} errors in {res['n_test']} texts; "
          f"split {res['split']}); {res['n_features']} features; trained in "
          f"{res['train_seconds']} s CPU ({res['wall_seconds']} s wall)")
    print(f"run folder: {res['out']} (figures in {res['out']}/figures)")


def predict(args) -> int:
    """Classify the arguments (texts, or with --text-files files of one text per line)."""
    texts = args.images
    if args.text_files:
        texts = []
        for name in args.images:
            with open(name, encoding="utf-8-sig") as f:  # a BOM is not part of the text
                try:
                    texts.extend(line.rstrip("\n") for line in f if line.strip())
                except UnicodeDecodeError as err:  # it named no file
                    raise ValueError(f"{name}: not UTF-8 text ({err.reason}); --text-files "
                                     "reads UTF-8 files of one text per line") from None
        if not texts:
            raise ValueError(f"--text-files {' '.join(args.images)}: no text in the file(s); "
                             "expected one text per line")
    results = text.predict_texts(args.checkpoint, texts)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:args.top]
        shown = r["text"] if len(r["text"]) <= 60 else r["text"][:57] + "..."
        print(f"{shown!r}: {r['class']}  (" + ", ".join(f"{c}: {p:.3f}" for c, p in top) + ")")
    return 0


def evaluate(args) -> None:
    res = text.evaluate_text_run(args.checkpoint, args.data_dir, args.dataset,
                                 download=not args.no_download)
    print(f"{res['dataset']} (fixed test split): test accuracy {res['test_accuracy']:.4f} "
          f"({res['test_errors']} errors in {res['n_test']})")
