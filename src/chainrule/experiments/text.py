"""Train, evaluate and use the bag-of-n-grams text classifiers: ``chainrule train ngram|fasttext``.

A run reads a local text corpus in its fixed split (``data.text.load_text_splits``: 70 % train,
10 % validation, 20 % test, stratified, seed 0), fits the n-gram features on the training texts
only, trains by minibatch steps on cross-entropy plus ``weight_decay / 2`` times the squared norm
of the weights (``model.penalized()``: not the biases, as scikit-learn's LogisticRegression), and
writes a run folder like the image classifiers': ``config.json``, ``features.json`` (the fitted
pipeline: n-gram settings, vocabulary, idf), ``model.safetensors``, ``metrics.csv``,
``results.json`` and ``figures/``. ``predict_texts`` reads ``features.json`` back, so a text is
featurized exactly as the training texts were.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from ..autograd.mode import no_grad
from ..backend import get_array_module
from ..backend.files import write_atomically, write_json
from ..data import as_generator
from ..data.arguments import check_int, check_number
from ..data.ngrams import TfidfFeatures
from ..data.text import SPLIT, TEXT_DATASETS, load_text_splits, training_subset
from ..io import save_weights
from ..ops import cat, cross_entropy
from ..train import TrainingDivergedError, confusion_matrix
from ..train.callbacks import blew_up
from ..viz import plot_confusion_matrix, plot_history
from .checks import build_model, check_model_kwargs, lr_hint
from .classify import OPTIMIZERS, _check_run_settings, load_model
from .runs import RunFolder, run_path
from .schedules import check_epoch_schedule
from .schedules import epoch_scheduler as _schedule
from .text_classify import check_train_fraction, predict_text_logits

__all__ = ["TEXT_DATASETS", "TEXT_MODELS", "evaluate_text_run", "fit_text_model",
           "is_text_run", "predict_texts", "train_text_classifier"]

# Per model: how its features weigh the n-grams, and its default update rule.
TEXT_MODELS = {"ngram": {"weighting": "tfidf", "lr": 0.05},
               "fasttext": {"weighting": "mean", "lr": 0.05}}
FEATURES_FILE = "features.json"
_host = get_array_module()  # the features, labels and batch indices live on the host


def fit_text_model(model: str, texts, y, num_classes: int, *, ngram_range: int = 2,
                   min_count: int = 1, max_features: int | None = None, epochs: int = 10,
                   batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
                   weight_decay: float = 0.0, schedule: str = "constant", seed: int = 0,
                   model_kwargs: dict | None = None, validation=None, on_epoch=None):
    """Fit the features on ``texts`` and train ``model`` (``"ngram"`` or ``"fasttext"``).

    Args:
        schedule: the learning rate over the epochs, as ``chainrule train``'s (``"constant"``,
            ``"cosine"`` to 0, ``"step"``).
        validation: ``(texts, y)`` evaluated after every epoch (``val_loss``, ``val_accuracy``).
        on_epoch: called as ``on_epoch(epoch, row)`` after each epoch (row: that epoch's metrics
            and the cumulative ``seconds`` of training, which exclude the evaluation).

    Returns:
        ``(net, features, history)``: the trained model, the fitted ``TfidfFeatures`` and a dict
        of per-epoch lists (``loss``, ``accuracy``, ``seconds`` and the ``val_`` ones).

    Raises:
        ValueError: not one integer label in [0, num_classes) per text (``texts``, ``y`` and
            ``validation``), a negative ``weight_decay``, or no n-gram kept by ``min_count``.
    """
    if model not in TEXT_MODELS:
        raise ValueError(f"unknown text model {model!r}; expected one of {list(TEXT_MODELS)}")
    epochs, batch_size, lr, seed = _check_run_settings("fit_text_model", epochs, batch_size, lr,
                                                       seed)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    # < 0 would reward big weights
    weight_decay = check_number("fit_text_model", "weight_decay", weight_decay, low=0)
    num_classes = check_int("fit_text_model", "num_classes", num_classes)
    texts, y = _labelled("texts and y", texts, y, num_classes)
    if validation is not None:
        validation = _labelled("validation", *validation, num_classes)
    model_rng, data_rng = as_generator(seed).spawn(2)
    start = time.process_time()
    features = TfidfFeatures(ngram_range, min_count=min_count, max_size=max_features,
                             weighting=TEXT_MODELS[model]["weighting"]).fit(texts)
    if features.n_features == 1:  # <unk> only: every text an empty bag, nothing to learn
        raise ValueError(f"fit_text_model: no n-gram of the {len(texts)} training texts is "
                         f"seen min_count={min_count} times; lower min_count")
    bags = features.transform(texts)
    kwargs = {"num_features": features.n_features, "num_classes": num_classes,
              **(model_kwargs or {})}
    for name, value in (("num_features", features.n_features), ("num_classes", num_classes)):
        if kwargs[name] != value:  # more classes: logits of no class, which predict named
            raise ValueError(f"fit_text_model: {name}={kwargs[name]!r} in model_kwargs, but the "
                             f"data has {value}")
    net = build_model(model, kwargs, model_rng)
    opt_cls, defaults = OPTIMIZERS[optimizer]
    opt = opt_cls(net.parameters(), **{**defaults, "lr": lr or TEXT_MODELS[model]["lr"]})
    scheduler = _schedule(schedule, opt, epochs)
    val = None if validation is None else (features.transform(validation[0]), validation[1])
    featurize = time.process_time() - start
    history = {"loss": [], "accuracy": [], "seconds": []}
    elapsed, first = featurize, None
    for epoch in range(1, epochs + 1):
        t0 = time.process_time()
        net.train()
        total, correct = 0.0, 0
        for step, batch in enumerate(_host.array_split(data_rng.permutation(len(y)),
                                                       max(1, -(-len(y) // batch_size)))):
            logits = net(bags.take(batch))
            loss = cross_entropy(logits, y[batch])
            if weight_decay:
                loss = loss + 0.5 * weight_decay * sum((p ** 2).sum() for p in net.penalized())
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = float(loss._data)
            first = value if first is None else first
            _check_diverged(value, first, epoch, step, opt.param_groups[0]["lr"])
            total += value * len(batch)
            correct += int((logits._data.argmax(1) == y[batch]).sum())
        if scheduler is not None:
            scheduler.step()
        elapsed += time.process_time() - t0
        row = {"loss": total / len(y), "accuracy": correct / len(y), "seconds": elapsed}
        if val is not None:
            row.update(_scores(net, *val, prefix="val_"))
        for k, v in row.items():
            history.setdefault(k, []).append(v)
        if on_epoch is not None:
            on_epoch(epoch, row)
    return net.eval(), features, history


def _labelled(what: str, texts, y, num_classes) -> tuple:
    """``(texts, y)`` checked: one integer label in [0, num_classes) per text, at least one text
    (a shorter ``y`` trained on the first texts only, a float label was truncated)."""
    texts, raw = list(texts), _host.asarray(y)
    with _host.errstate(invalid="ignore"):  # NaN: refused below, as 1.5 is
        y = raw.astype(_host.int64) if raw.dtype.kind in "iuf" else raw
    if (raw.ndim != 1 or len(raw) != len(texts) or not len(texts) or raw.dtype.kind not in "iuf"
            or (raw != y).any() or (y < 0).any() or (y >= num_classes).any()):
        raise ValueError(f"fit_text_model: {what} must be a non-empty list of texts and as many "
                         f"integer labels in [0, {num_classes}), got {len(texts)} texts and "
                         f"labels {raw.dtype} of shape {raw.shape}: {raw.ravel()[:6].tolist()}")
    return texts, y


def _check_diverged(loss: float, first: float, epoch: int, step: int, lr: float) -> None:
    """As the Trainer's TerminateOnNaN: a NaN or infinite loss, or one that grew over 1e10 times
    its first value (``train.callbacks.blew_up``), stops the run (the CLI exits with code 3)."""
    what = f"loss is {loss}" if loss != loss or abs(loss) == float("inf") else blew_up(
        "loss", loss, first)
    if what:
        raise TrainingDivergedError(f"training diverged: {what} at epoch {epoch}, batch "
                                    f"{step + 1}; {lr_hint(lr)}", epoch=epoch - 1,
                                    last_epoch=epoch - 2)


def _scores(net, bags, y, prefix=""):
    logits = predict_logits(net, bags)
    loss = float(cross_entropy(logits, y)._data)
    return {f"{prefix}loss": loss,
            f"{prefix}accuracy": float((logits._data.argmax(1) == y).mean())}


def predict_logits(net, bags, batch_size: int = 4096):
    """The model's logits for ``bags`` (a ``data.ngrams.Bags``), in batches, without gradients."""
    with no_grad():
        net.eval()
        parts = [net(bags.take(_host.arange(i, min(i + batch_size, len(bags)))))
                 for i in range(0, len(bags), batch_size)]
    return cat(parts, axis=0)


def train_text_classifier(model: str = "ngram", dataset: str = "sms_spam", *, epochs: int = 10,
                          batch_size: int = 64, optimizer: str = "adam", lr: float | None = None,
                          weight_decay: float = 0.0, schedule: str = "constant", seed: int = 0,
                          data_dir=None, download: bool = True, out=None,
                          ngram_range: int = 2, min_count: int = 1,
                          max_features: int | None = None, model_kwargs: dict | None = None,
                          verbose: int = 1, train_fraction: float | None = None) -> dict:
    """Train a text model on a local corpus's fixed split and write a run folder.

    ``train_fraction`` in (0, 1]: train on ``data.text.training_subset(y_train, train_fraction,
    seed=0)`` only (features fitted on that part), as ``text_classify.train_text_classifier``.

    Returns the results dict (also in results.json): ``val_accuracy``, ``test_accuracy``,
    ``test_errors``, ``n_train``/``n_val``/``n_test``, ``n_features``, ``train_seconds`` (CPU
    time of the features and the training, ``time.process_time``) and ``wall_seconds``.
    """
    if model not in TEXT_MODELS:
        raise ValueError(f"unknown text model {model!r}; expected one of {list(TEXT_MODELS)}")
    if dataset not in TEXT_DATASETS:
        raise ValueError(f"{model} trains on a text dataset ({', '.join(TEXT_DATASETS)}), got "
                         f"{dataset!r}")
    check_model_kwargs(model, model_kwargs or {})
    epochs, batch_size, lr, seed = _check_run_settings("train_text_classifier", epochs,
                                                       batch_size, lr, seed)
    train_fraction = check_train_fraction("train_text_classifier", train_fraction)
    check_epoch_schedule(schedule)  # cyclic was refused after the run folder was made
    out = run_path(out, f"{model}-{dataset}", False)
    parts, classes = load_text_splits(dataset, data_dir, download=download)
    if train_fraction is not None:
        texts, y = parts["train"]
        keep = training_subset(y, train_fraction, seed=0)
        parts["train"] = ([texts[i] for i in keep], y[keep])
    settings = {"model": model, "dataset": dataset, "epochs": epochs, "batch_size": batch_size,
                "optimizer": optimizer, "lr": lr or TEXT_MODELS[model]["lr"],
                "weight_decay": weight_decay, "schedule": schedule, "seed": seed,
                "ngram_range": ngram_range,
                "min_count": min_count, "max_features": max_features,
                "model_kwargs": model_kwargs or {}, "split": SPLIT, "classes": list(classes)}
    if train_fraction is not None:
        settings["train_fraction"] = float(train_fraction)
    with RunFolder(out, settings, resume=False) as run:
        write_json(out / "config.json", run.record)
        log = io.StringIO()

        def report(epoch, row):
            if verbose:
                extra = "".join(f", {k} {v:.4f}" for k, v in row.items() if k.startswith("val_"))
                print(f"epoch {epoch}/{epochs}: loss {row['loss']:.4f}, accuracy "
                      f"{row['accuracy']:.4f}{extra} ({row['seconds']:.1f} s CPU)")

        wall = time.perf_counter()
        net, features, history = fit_text_model(
            model, *parts["train"], len(classes), ngram_range=ngram_range, min_count=min_count,
            max_features=max_features, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
            lr=lr, weight_decay=weight_decay, schedule=schedule, seed=seed,
            model_kwargs=model_kwargs,
            validation=parts["val"], on_epoch=report)
        wall = time.perf_counter() - wall
        features.save(out / FEATURES_FILE)
        config = {"model": net.config, "dataset": dataset, "classes": list(classes),
                  "input": "text", "features": FEATURES_FILE}
        save_weights(net, out / "model.safetensors", config=config)
        writer = csv.writer(log)
        keys = list(history)
        writer.writerow(["epoch", *keys])
        for i in range(epochs):
            writer.writerow([i + 1, *(f"{history[k][i]:.6g}" for k in keys)])
        write_atomically(str(out / "metrics.csv"), log.getvalue().encode(), make_folder=True)
        test_texts, y_test = parts["test"]
        pred = predict_logits(net, features.transform(test_texts))._data.argmax(1)
        errors = int((pred != y_test).sum())
        figures = out / "figures"
        plot_history({k: v for k, v in history.items() if k != "seconds"},
                     figures / "curves.png", title=dataset)
        plot_confusion_matrix(confusion_matrix(y_test, pred, len(classes)),
                              figures / "confusion_matrix.png", class_names=classes)
        results = {"val_accuracy": history["val_accuracy"][-1],
                   "test_accuracy": 1 - errors / len(y_test), "test_errors": errors,
                   "n_train": len(parts["train"][1]), "n_val": len(parts["val"][1]),
                   "n_test": len(y_test), "n_features": features.n_features,
                   "split": "70/10/20 train/val/test, stratified, seed 0", "epochs": epochs,
                   "train_fraction": 1.0 if train_fraction is None else float(train_fraction),
                   "train_seconds": round(history["seconds"][-1], 1),
                   "wall_seconds": round(wall, 1), "out": str(out)}
        write_json(out / "results.json", results)
    return results


def _run_file(checkpoint) -> Path:
    path = Path(checkpoint)
    return path / "model.safetensors" if path.is_dir() else path


def is_text_run(checkpoint) -> bool:
    """True when ``checkpoint`` (a run folder or its model.safetensors) holds a text model: an
    n-gram one of this module or a character-level one of ``text_classify``."""
    from ..io import read_config

    path = _run_file(checkpoint)
    if not path.is_file():
        return False
    try:
        config = read_config(path)
    except ValueError:
        return False
    return isinstance(config, dict) and (config.get("input") == "text"
                                         or "text_encoding" in config)


def _load_text_run(checkpoint, loaded=None):
    net, config = loaded or load_model(checkpoint)
    name = config.get("features")
    if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{checkpoint}: the config's 'features' entry is {name!r}, expected "
                         f"the name of the features file beside the weights ({FEATURES_FILE})")
    features = TfidfFeatures.load(_run_file(checkpoint).parent / name)
    if features.n_features != net.bag.weight.shape[0]:
        raise ValueError(f"{checkpoint}: {name} has {features.n_features} features but the model "
                         f"reads {net.bag.weight.shape[0]}")
    return net, config, features


def predict_texts(checkpoint, texts) -> list[dict]:
    """Class and class probabilities of each text, read by a trained text model as its training
    texts were: the n-gram models through their saved features, ``char_cnn`` and ``lstm_text``
    through their character encodings (``text_classify.predict_text_logits``).

    Returns one dict per text: ``text``, ``class`` and ``probabilities`` (class name -> p).
    """
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"predict_texts: expected a non-empty list of strings, got "
                         f"{str(texts)[:80]}")
    net, config = load_model(checkpoint)
    if "text_encoding" in config:
        logits = predict_text_logits(net, config, texts)
    else:
        net, config, features = _load_text_run(checkpoint, (net, config))
        logits = predict_logits(net, features.transform(texts))._data
    classes = config["classes"]
    z = _host.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    return [{"text": t, "class": classes[int(p.argmax())],
             "probabilities": {c: round(float(v), 4) for c, v in zip(classes, p)}}
            for t, p in zip(texts, probs)]


def evaluate_text_run(checkpoint, data_dir=None, dataset: str | None = None, *,
                      download: bool = True) -> dict:
    """Test accuracy of a trained text model on its dataset's fixed test split (``download``:
    fetch AG News's test.csv where it is missing, as ``data.text.load_text_corpus``).

    Raises:
        ValueError: ``dataset`` names another corpus than the model was trained on (its classes
            would differ).
    """
    net, config, features = _load_text_run(checkpoint)
    if dataset is not None and dataset != config["dataset"]:
        raise ValueError(f"{checkpoint} was trained on {config['dataset']!r}; a text model is "
                         f"evaluated on its own corpus's test part, not on {dataset!r}")
    parts, _ = load_text_splits(config["dataset"], data_dir, download=download)
    texts, y = parts["test"]
    pred = predict_logits(net, features.transform(texts))._data.argmax(1)
    errors = int((pred != y).sum())
    return {"dataset": config["dataset"], "test_accuracy": 1 - errors / len(y),
            "test_errors": errors, "n_test": len(y)}
