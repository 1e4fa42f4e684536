"""Fuzz wave 22, text: ``experiments.text.fit_text_model`` (the loop of `chainrule train ngram |
fasttext`) refuses what it used to train on silently: labels fewer than the texts (it trained on
the first texts only), fractional labels (1.5 was read as 1), a negative weight decay (a reward
for large weights), and a vocabulary left empty by min_count (every text an empty bag: a model
that learns nothing, reported as trained)."""

import pytest

from chainrule.experiments.text import fit_text_model

TEXTS = ["free prize call now", "win cash now", "see you at lunch", "lunch moved to noon"]
LABELS = [1, 1, 0, 0]
LABELS_OF = r"texts and y must be a non-empty list of texts and as many integer labels in \[0, 2\)"


@pytest.mark.parametrize(
    "change, match",
    [
        ({"y": LABELS[:3]}, LABELS_OF + r", got 4 texts and labels int64 of shape \(3,\)"),
        ({"y": LABELS + [0]}, LABELS_OF),
        ({"y": [1.5, 1, 0, 0]}, LABELS_OF + r".*float64 of shape \(4,\): \[1.5,"),
        ({"y": [float("nan"), 1, 0, 0]}, LABELS_OF),
        ({"y": [2, 1, 0, 0]}, LABELS_OF),
        ({"y": [-1, 1, 0, 0]}, LABELS_OF),
        ({"y": [[1], [1], [0], [0]]}, LABELS_OF + r".*shape \(4, 1\)"),
        ({"y": ["spam", "spam", "ham", "ham"]}, LABELS_OF),
        ({"texts": [], "y": []}, LABELS_OF + ", got 0 texts"),
        ({"validation": (["win now"], [1, 0])}, "validation must be a non-empty list"),
        ({"weight_decay": -0.1}, "weight_decay must be a finite number >= 0, got -0.1"),
        ({"weight_decay": True}, "weight_decay must be a finite number >= 0, got True"),
        ({"weight_decay": "0.1"}, "weight_decay must be a finite number >= 0, got '0.1'"),
        ({"min_count": 3}, "no n-gram of the 4 training texts is seen min_count=3 times"),
        ({"model_kwargs": {"num_classes": 3}}, "num_classes=3 in model_kwargs, but the data has 2"),
        ({"model_kwargs": {"num_features": 2}}, r"num_features=2 in model_kwargs, but the data "),
    ],
)
def test_refuses_what_it_trained_on_silently(change, match):
    args = {"texts": TEXTS, "y": LABELS, **change}
    texts, y = args.pop("texts"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        fit_text_model("ngram", texts, y, 2, epochs=1, batch_size=2, **args)


def test_integral_float_labels_and_a_validation_part_still_train():
    net, features, history = fit_text_model(
        "ngram",
        TEXTS,
        [1.0, 1.0, 0.0, 0.0],
        2,
        epochs=1,
        batch_size=2,
        min_count=2,
        validation=(["free lunch now"], [1]),
    )
    assert features.n_features > 1 and len(history["val_accuracy"]) == 1


def test_a_string_lr_is_named_rather_than_failing_to_compare_it():
    with pytest.raises(
        ValueError, match="fit_text_model: lr must be None or a finite number > 0, got '1e-3'"
    ):
        fit_text_model("ngram", TEXTS, LABELS, 2, epochs=1, batch_size=2, lr="1e-3")


def test_evaluate_no_download_reaches_the_corpus_reader(monkeypatch):
    # Before: `chainrule evaluate RUN --no-download` of an n-gram run read its corpus with
    # download=True, fetching AG News's test.csv where it was missing.
    import argparse

    from chainrule.cli import text as text_cli
    from chainrule.experiments import text

    asked = {}

    def splits(name, data_dir=None, *, download=True):
        asked.update(name=name, download=download)
        raise LookupError("stop here")

    monkeypatch.setattr(text, "_load_text_run", lambda run: (None, {"dataset": "ag_news"}, None))
    monkeypatch.setattr(text, "load_text_splits", splits)
    args = argparse.Namespace(checkpoint="run", data_dir=None, dataset=None, no_download=True)
    with pytest.raises(LookupError, match="stop here"):
        text_cli.evaluate(args)
    assert asked == {"name": "ag_news", "download": False}


def test_zhang_positions_and_frames_check_their_arguments():
    # Before: zhang_positions([], -1) failed in numpy ("negative dimensions"), ([], 1.5) gave a
    # (0, 1) array; one_hot_frames of a 1-D array failed inside numpy's indexing.
    import numpy as np

    from chainrule.data.sequences import one_hot_frames, zhang_positions

    for bad in (-1, 1.5, True):
        with pytest.raises(
            ValueError, match=f"zhang_positions: length must be a positive int, got {bad!r}"
        ):
            zhang_positions([], bad)
    assert zhang_positions([], 7).shape == (0, 7)
    with pytest.raises(
        ValueError,
        match=r"one_hot_frames: positions must be a 2-D int array "
        r"\(N, L\), as zhang_positions gives, got int64 of shape",
    ):
        one_hot_frames(np.array([1, 2]))
    frames = one_hot_frames(zhang_positions(["ab"], 3))
    assert frames.shape == (1, 70, 3) and frames[0, :, 2].sum() == 0
