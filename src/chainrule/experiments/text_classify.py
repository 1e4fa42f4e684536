"""Train a text classifier (``char_cnn``, ``lstm_text``) on AG News or the SMS Spam Collection.

Neither corpus comes with a usable train/test split here (AG News's directory holds only its
official test split of 7,600 articles; the SMS collection has none), so each is read in the fixed
split of ``data.text`` (``split_texts``: 70 % train, 10 % validation, 20 % test, stratified,
seed 0): the same texts for every ``--seed`` and every text model, the n-gram ones included, so
all their test accuracies are counted on one test set.

``train_fraction`` trains on a stratified, nested part of the training part only
(``data.text.training_subset(y_train, fraction, seed=0)``, whatever the run's ``seed``: the very
subsets of the n-gram model's learning curve), validated and tested on the same fixed parts.

Texts are kept as small integer arrays and turned into the model's input one batch at a time:
Zhang et al.'s one-hot frames (70 x 1,014) for ``char_cnn``, which would take 2 GB for AG News
at once, and padded character ids (each batch padded to its longest text) for ``lstm_text``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from ..backend import get_array_module
from ..backend.files import write_json
from ..data import ArrayDataset, DataLoader, as_generator
from ..data.arguments import check_int, check_number
from ..data.sequences import (
    CHARACTER_VOCABULARY_SIZE,
    PAD,
    one_hot_frames,
    padded_characters,
    trim_padding,
    zhang_positions,
)
from ..data.text import PAPER_LENGTH, load_text_corpus, split_texts, training_subset
from ..data.text import TEXT_DATASETS as CORPORA
from ..io import save_weights
from ..ops import cross_entropy
from ..train import CSVLogger, ModelCheckpoint, Trainer
from .checks import build_model, check_model_kwargs, fit_watched, lr_hint
from .classify import OPTIMIZERS, load_model
from .repeat import run_threads
from .runs import RunFolder, run_path
from .schedules import check_epoch_schedule
from .schedules import epoch_scheduler as _schedule

__all__ = ["TEXT_DATASETS", "TEXT_MODELS", "TextData", "encode_for", "evaluate_text_checkpoint",
           "load_text_dataset", "predict_text_logits", "train_text_classifier"]

TEXT_MODELS = ("char_cnn", "lstm_text")
LSTM_MAX_LENGTH = 300  # characters an LSTM reads per text (AG News averages about 240)
SPLIT_NOTE = "70/10/20 train/val/test, stratified, seed 0"


@dataclass
class TextData:
    """Texts and int64 labels of the fixed stratified split, and the class names."""

    name: str
    texts_train: list
    y_train: object
    texts_val: list
    y_val: object
    texts_test: list
    y_test: object
    classes: tuple


def _corpus(name):
    return lambda data_dir, download: load_text_corpus(name, data_dir, download=download)


TEXT_DATASETS = {name: (description, _corpus(name))
                 for name, description in CORPORA.items()}


def load_text_dataset(name: str, data_dir=None, *, download: bool = True) -> TextData:
    """The corpus ``name`` of ``TEXT_DATASETS`` in the fixed split (``data.text.split_texts``)."""
    if name not in TEXT_DATASETS:
        raise ValueError(f"unknown text dataset {name!r}; known: {', '.join(TEXT_DATASETS)}")
    texts, labels, classes = TEXT_DATASETS[name][1](data_dir, download)
    parts = split_texts(texts, labels)
    return TextData(name, *parts["train"], *parts["val"], *parts["test"], tuple(classes))


def encode_for(model: str, texts, length: int):
    """The compact form of ``texts`` that ``model``'s batches are made from.

    ``char_cnn``: Zhang's alphabet positions, last character first, -1 for none (int8, (N, L)).
    ``lstm_text``: character ids in reading order padded with 0 to the longest (int8, (N, <=L)).
    """
    return zhang_positions(texts, length) if model == "char_cnn" else padded_characters(texts,
                                                                                        length)


def _one_hot(batch):
    """A DataLoader transform: (alphabet positions, labels) -> (one-hot frames, labels)."""
    return one_hot_frames(batch[0]), batch[1]


def _padded_to_longest(batch):
    """A DataLoader transform: character ids cut to the batch's longest text, as int64."""
    return trim_padding(batch[0]).astype("int64"), batch[1]


def _loader(model, x, y, batch_size, *, shuffle=False, rng=None):
    transform = _one_hot if model == "char_cnn" else _padded_to_longest
    return DataLoader(ArrayDataset(x, y), batch_size, shuffle=shuffle, rng=rng,
                      transform=lambda b, _rng: transform(b), prefetch=2 if shuffle else 0)


def train_text_classifier(model: str = "char_cnn", dataset: str = "ag_news", *, epochs: int = 5,
                          batch_size: int = 128, optimizer: str = "adam", lr: float | None = None,
                          weight_decay: float = 0.0, schedule: str = "constant", seed: int = 0,
                          data_dir=None, download: bool = True, out=None,
                          resume: bool = False, model_kwargs: dict | None = None,
                          verbose: int = 1, threads=None, device: str = "cpu",
                          train_fraction: float | None = None) -> dict:
    """Train ``model`` (``TEXT_MODELS``) on ``dataset`` (``TEXT_DATASETS``) into a run folder.

    The run folder holds config.json, metrics.csv, checkpoint/ (for ``resume``),
    model.safetensors and results.json with the test accuracy and the training time.
    ``model_kwargs`` go to the model (``length`` of ``char_cnn`` is also the characters read;
    ``lstm_text`` reads at most ``max_length``, default 300, which is not a model argument).
    ``train_fraction`` in (0, 1]: train on ``training_subset(y_train, train_fraction, seed=0)``
    only (a learning curve's point); None (the default) or 1 is the whole training part.

    Raises:
        ValueError: an unknown model, dataset or optimizer, or settings out of range.
    """
    who = "train_text_classifier"
    if model not in TEXT_MODELS:
        raise ValueError(f"{who}: model {model!r} does not read text; text models: "
                         f"{', '.join(TEXT_MODELS)}")
    epochs, batch_size = check_int(who, "epochs", epochs), check_int(who, "batch_size", batch_size)
    seed = check_int(who, "seed", seed, low=0)
    lr = check_number(who, "lr", lr, above=0, allow_none=True)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"{who}: unknown optimizer {optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    kwargs = dict(model_kwargs or {})
    max_length = kwargs.pop("max_length", LSTM_MAX_LENGTH) if model == "lstm_text" else None
    if max_length is not None:
        max_length = check_int(who, "max_length", max_length)
    check_model_kwargs(model, kwargs)
    if model == "lstm_text" and kwargs.get("padding_idx", PAD) != PAD:  # padding read as text
        raise ValueError(f"{who}: lstm_text's texts are padded with id {PAD} "
                         f"(data.sequences.PAD), got padding_idx={kwargs['padding_idx']!r}")
    train_fraction = check_train_fraction(who, train_fraction)
    check_epoch_schedule(schedule)  # cyclic was refused after the run folder was made
    out = run_path(out, f"{model}-{dataset}", resume)
    data = load_text_dataset(dataset, data_dir, download=download)
    if train_fraction is not None:
        keep = training_subset(data.y_train, train_fraction, seed=0)
        data.texts_train = [data.texts_train[i] for i in keep]
        data.y_train = data.y_train[keep]
    model_rng, data_rng = as_generator(seed).spawn(2)
    kwargs.setdefault("num_classes", len(data.classes))
    if kwargs["num_classes"] != len(data.classes):  # more: logits of no class, which predict named
        raise ValueError(f"{who}: num_classes={kwargs['num_classes']!r}, but {dataset} has "
                         f"{len(data.classes)} classes")
    if model == "lstm_text":
        kwargs.setdefault("vocab_size", CHARACTER_VOCABULARY_SIZE)
    net = build_model(model, kwargs, model_rng)
    length = kwargs.get("length", PAPER_LENGTH) if model == "char_cnn" else max_length
    x_train = encode_for(model, data.texts_train, length)
    x_val = encode_for(model, data.texts_val, length)
    x_test = encode_for(model, data.texts_test, length)
    config = {"model": net.config, "dataset": dataset, "classes": list(data.classes),
              "text_encoding": "zhang" if model == "char_cnn" else "characters",
              "max_length": length, "input": "text", "split": SPLIT_NOTE}
    opt_cls, opt_defaults = OPTIMIZERS[optimizer]
    opt_kwargs = {**opt_defaults, **({} if lr is None else {"lr": lr})}
    if weight_decay:
        opt_kwargs["weight_decay"] = weight_decay
    opt = opt_cls(net.parameters(), **opt_kwargs)
    run_args = {"model": model, "dataset": dataset, "epochs": epochs, "batch_size": batch_size,
                "optimizer": optimizer, "optimizer_kwargs": opt_kwargs, "schedule": schedule,
                "seed": seed, **config}
    if train_fraction is not None:
        run_args["train_fraction"] = float(train_fraction)
    with RunFolder(out, run_args, resume=resume, epochs_fixed=schedule != "constant") as run:
        n_threads, note = run_threads(run, threads)
        if note:
            print(note, file=sys.stderr)
        write_json(out / "config.json", {**run.record, "threads": n_threads})
        trainer = Trainer(net, cross_entropy, opt, metrics=["accuracy"], device=device,
                          scheduler=_schedule(schedule, opt, epochs),
                          callbacks=[CSVLogger(out / "metrics.csv", append=run.resumes),
                                     ModelCheckpoint(out / "checkpoint", save_best_only=False,
                                                     config=config)])
        train_data = _loader(model, x_train, data.y_train, batch_size, shuffle=True,
                             rng=data_rng)
        validation = _loader(model, x_val, data.y_val, batch_size)
        start = time.perf_counter()
        cpu = time.process_time()
        history = fit_watched(trainer, train_data, validation, epochs=epochs, verbose=verbose,
                              resume_from=run.resume_from, checkpoint=out / "checkpoint",
                              hint=lr_hint(opt_kwargs["lr"]))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        test = trainer.evaluate(_loader(model, x_test, data.y_test, 256))
        net.to("cpu")
        save_weights(net, out / "model.safetensors", config=config)
        results = {k: v[-1] for k, v in history.history.items() if k.startswith("val_")}
        results.update({"test_accuracy": float(test["accuracy"]),
                        "test_errors": int(round((1 - test["accuracy"]) * len(data.y_test))),
                        "n_test": len(data.y_test), "n_train": len(data.y_train),
                        "n_val": len(data.y_val), "split": SPLIT_NOTE,
                        "train_fraction": 1.0 if train_fraction is None else float(train_fraction),
                        "epochs": epochs, "threads": n_threads, "train_seconds": round(wall, 1),
                        "train_cpu_seconds": round(cpu, 1), "out": str(out)})
        write_json(out / "results.json", results)
    return results


def check_train_fraction(who: str, fraction) -> float | None:
    """``fraction``, None or a number in (0, 1] (a learning curve's training fraction), as a
    float."""
    if fraction is None:
        return None
    return check_number(who, "train_fraction", fraction, above=0, high=1,
                        why="the part of the training texts to train on")


def predict_text_logits(net, config: dict, texts) -> object:
    """A trained ``char_cnn`` or ``lstm_text``'s logits (N, classes), a NumPy array, for
    ``texts``, each encoded as its training texts were (``config``: the run's saved config)."""
    x = encode_for(config["model"]["name"], list(texts), config["max_length"])
    dummy = get_array_module().zeros(len(x), dtype="int64")  # the loader wants labels
    return Trainer(net, None, None).predict(_loader(config["model"]["name"], x, dummy, 256))


def evaluate_text_checkpoint(checkpoint, dataset: str | None = None, *, data_dir=None,
                             download: bool = True) -> dict:
    """Test accuracy of a saved text classifier on ``dataset``'s test split (by default the
    corpus it was trained on), its texts encoded as in training."""
    net, config = load_model(checkpoint)
    name = config["model"].get("name")
    if name not in TEXT_MODELS or not isinstance(config.get("max_length"), int):
        raise ValueError(f"{checkpoint}: not a text classifier run (model {name!r})")
    dataset = dataset or config.get("dataset")
    if dataset == config.get("dataset") and config.get("split") != SPLIT_NOTE:
        raise ValueError(f"{checkpoint}: trained on an earlier split of {dataset} (split "
                         f"{config.get('split')!r}), some of whose training texts are in the "
                         f"test part of today's {SPLIT_NOTE} split; train it again to score it")
    data = load_text_dataset(dataset, data_dir, download=download)
    if len(data.classes) != len(config.get("classes", [])):
        raise ValueError(f"{checkpoint}: trained for {len(config.get('classes', []))} classes, "
                         f"but {data.name} has {len(data.classes)}")
    x = encode_for(name, data.texts_test, config["max_length"])
    test = Trainer(net, cross_entropy, None, metrics=["accuracy"]).evaluate(
        _loader(name, x, data.y_test, 256))
    errors = int(round((1 - test["accuracy"]) * len(data.y_test)))
    return {"dataset": data.name, "test_accuracy": float(test["accuracy"]),
            "test_errors": errors, "n_test": len(data.y_test)}
