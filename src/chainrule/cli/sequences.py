"""Sequences on the command line: ``train`` and ``evaluate`` of the character-level classifiers
(char_cnn, lstm_text), ``train`` of the character language model (char_lm), and the ``sample``
subcommand; ``cli.main`` registers them (cli/text.py has the n-gram models and ``predict`` of
every text classifier)."""

from __future__ import annotations

from pathlib import Path

from ..experiments.char_lm import LANGUAGE_MODELS, sample_text, train_char_lm
from ..experiments.text_classify import (
    TEXT_DATASETS,
    TEXT_MODELS,
    evaluate_text_checkpoint,
    train_text_classifier,
)
from ..io import read_config

__all__ = ["COMMANDS", "TEXT_TASKS", "add_parsers", "add_train_arguments", "evaluate",
           "refuse_language_model", "train"]

TEXT_TASKS = (*TEXT_MODELS, *LANGUAGE_MODELS)
_LM_ARGS = {"char_lm": ("hidden_size", "num_layers", "embedding_dim", "dropout"),
            "char_transformer": ("block", "d_model", "num_layers", "nhead", "dropout")}


def add_train_arguments(t, int_type, float_type) -> None:
    """``train``'s options for the character language model."""
    a = t.add_argument_group("character language models (char_lm, char_transformer)")
    a.add_argument("--text", default=None, metavar="FILE", help="the UTF-8 text to learn "
                   "(default: none; required for char_lm; docs/text.md names a "
                   "public-domain one)")
    a.add_argument("--bptt", type=int_type(1), default=100,
                   help="characters per chunk of truncated backpropagation through time")
    a.add_argument("--clip", type=float_type(0, low_ok=False), default=5.0,
                   help="largest gradient norm; larger gradients are scaled down to it")
    a.add_argument("--max-steps", type=int_type(1), default=None,
                   help="stop after this many steps (default: all --epochs)")
    a.add_argument("--temperature", type=float_type(0, low_ok=False), default=0.8,
                   help="temperature of the sample written at the end")


def add_parsers(sub, train_parser, debug, int_type, float_type) -> None:
    """Add the ``sample`` subcommand to ``sub`` and char_lm's options to ``train``."""
    add_train_arguments(train_parser, int_type, float_type)
    s = sub.add_parser("sample", parents=[debug], help="generate text from a trained char_lm")
    s.add_argument("run", help="a char_lm run folder (from `chainrule train char_lm`) or its "
                   "model.safetensors")
    s.add_argument("--length", type=int_type(1), default=500, help="characters to generate")
    s.add_argument("--temperature", type=float_type(0, low_ok=False), default=1.0,
                   help="below 1: likelier characters; above 1: more varied")
    s.add_argument("--prime", default="", help="text to start from (default: one random "
                   "character of the vocabulary)")
    s.add_argument("--seed", type=int_type(0), default=0, help="seeds the sampling, >= 0")
    s.add_argument("--top-k", type=int_type(1), default=None, metavar="K",
                   help="draw only among the K likeliest characters (1: greedy; default: all)")


def train(args, model_kwargs: dict) -> None:
    """``chainrule train`` for a model of ``TEXT_TASKS``."""
    if args.model in LANGUAGE_MODELS:
        _train_lm(args, model_kwargs)
        return
    if args.text is not None:
        raise ValueError(f"--text {args.text}: {args.model} learns from --dataset "
                         f"({', '.join(TEXT_DATASETS)}); --text is for "
                         f"{' and '.join(LANGUAGE_MODELS)}")
    if args.val_split is not None:
        raise ValueError(f"--val-split {args.val_split:g}: {args.model} validates on the fixed "
                         "10 % of the 70/10/20 split that every text model shares")
    res = train_text_classifier(
        args.model, args.dataset or "ag_news", epochs=args.epochs, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
        schedule=args.schedule, seed=args.seed, data_dir=args.data_dir,
        download=not args.no_download, out=args.out,
        resume=args.resume, model_kwargs=model_kwargs, verbose=0 if args.quiet else 1,
        threads=args.threads, device=args.device, train_fraction=args.train_fraction)
    if "val_accuracy" in res:
        print(f"validation accuracy {res['val_accuracy']:.4f} ({res['n_val']} texts)")
    print(f"test accuracy {res['test_accuracy']:.4f} ({res['test_errors']} errors in "
          f"{res['n_test']} test texts; split {res['split']}), trained on {res['n_train']} "
          f"texts in {res['train_seconds']} s")
    print(f"run folder: {res['out']}")


def _train_lm(args, model_kwargs: dict) -> None:
    name = args.model
    if args.text is None:
        raise ValueError(f"{name} needs --text FILE (a UTF-8 text to learn)")
    if args.dataset is not None:
        raise ValueError(f"--dataset {args.dataset}: {name} learns from --text FILE")
    unknown = sorted(set(model_kwargs) - set(_LM_ARGS[name]))
    if unknown:
        raise ValueError(f"--model-arg: {name} has no argument {', '.join(unknown)}; it "
                         f"accepts {', '.join(_LM_ARGS[name])}")
    common = {"batch_size": args.batch_size, "bptt": args.bptt, "epochs": args.epochs,
              "max_steps": args.max_steps, "clip": args.clip, "seed": args.seed, "out": args.out,
              "verbose": 0 if args.quiet else 1, "temperature": args.temperature}
    if name == "char_lm":
        res = train_char_lm(args.text, lr=args.lr or 2e-3, **common, **model_kwargs)
    else:
        res = train_char_lm(args.text, lr=args.lr or 1e-3, model=name, model_kwargs=model_kwargs,
                            **common)
    print(f"validation {res['val_bits_per_character']:.3f} bits per character after "
          f"{res['steps']} steps, trained in {res['train_seconds']} s")
    print(f"run folder: {res['out']} (a sample in {res['out']}/sample.txt)")


def _sample(args) -> None:
    print(args.prime + sample_text(args.run, length=args.length, temperature=args.temperature,
                                   prime=args.prime, seed=args.seed, top_k=args.top_k))


def _config(checkpoint):
    path = Path(checkpoint)
    path = path / "model.safetensors" if path.is_dir() else path
    try:
        return read_config(path)
    except (OSError, ValueError):
        return None  # the image path reports the problem with the file


def refuse_language_model(checkpoint, command: str) -> None:
    """A ValueError pointing to ``sample`` for a char_lm run given to ``command`` (``predict``,
    ``evaluate``), which the image classifiers' path refused for a missing input_shape."""
    config = _config(checkpoint)
    if isinstance(config, dict) and config.get("kind") == "char_lm":
        raise ValueError(f"{checkpoint} is a character language model's run, which has no "
                         f"classes to {command}; generate text with `chainrule sample "
                         f"{checkpoint}`")


def evaluate(args) -> bool:
    """``chainrule evaluate`` of a text classifier's run; False when the run is not one."""
    refuse_language_model(args.checkpoint, "evaluate")
    config = _config(args.checkpoint)
    if not isinstance(config, dict) or "text_encoding" not in config:
        return False
    res = evaluate_text_checkpoint(args.checkpoint, args.dataset, data_dir=args.data_dir,
                                   download=not args.no_download)
    print(f"{res['dataset']}: test accuracy {res['test_accuracy']:.4f} "
          f"({res['test_errors']} errors in {res['n_test']})")
    return True


COMMANDS = {"sample": _sample}
