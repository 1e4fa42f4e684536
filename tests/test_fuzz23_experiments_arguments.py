"""Fuzz wave 23, experiments: the run settings are checked by ``data.arguments`` as everywhere else.

Before, experiments had its own ``check_int``/``check_float``: NumPy scalars (``np.int64(1)``
epochs from a config array, ``np.float32`` learning rates) were refused with "must be an integer",
where every other package accepts them. Now they are accepted, and come back as plain Python
numbers (results.json and config.json stay JSON); ``True``/``False`` stay refused."""

import json

import numpy as np
import pytest

from chainrule.experiments import bayes_runs, text, text_classify
from chainrule.experiments.char_lm import train_char_lm
from chainrule.experiments.classify import train_classifier
from chainrule.experiments.generative import generate_images, train_gan
from chainrule.experiments.repeat import validation_split
from chainrule.experiments.text import fit_text_model

TEXTS = ["free prize call now", "win cash now", "see you at lunch", "lunch moved to noon"]


def test_numpy_scalars_train_a_text_model():
    net, features, history = fit_text_model(
        "ngram",
        TEXTS,
        [1, 1, 0, 0],
        np.int64(2),
        epochs=np.int64(1),
        batch_size=np.int32(2),
        lr=np.float32(0.01),
        weight_decay=np.float32(0.0),
        seed=np.int64(3),
    )
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])


def test_numpy_scalars_come_back_as_python_numbers():
    options = bayes_runs.check_options(
        {
            "ensemble": np.int64(3),
            "soft_sharing": {
                "components": np.int64(4),
                "strength": np.float32(0.5),
                "warmup": np.int16(0),
            },
        }
    )
    assert json.loads(json.dumps(options)) == options  # np.int64 is not JSON
    assert options == {
        "ensemble": 3,
        "soft_sharing": {"components": 4, "strength": 0.5, "warmup": 0},
    }
    assert type(options["ensemble"]) is int and type(options["soft_sharing"]["strength"]) is float
    labels = np.repeat(np.arange(2), 10)
    train, val, record = validation_split("t", labels, np.float32(0.5), np.random.default_rng(0))
    assert len(train) == len(val) == 10 and json.dumps(record)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda t: train_classifier("mlp", epochs=True, out=t),
            "train_classifier: epochs must be an int >= 1, got True",
        ),
        (
            lambda t: train_classifier("mlp", lr=np.float32("nan"), out=t),
            "train_classifier: lr must be None or a finite number > 0, got np.float32\\(nan\\)",
        ),
        (
            lambda t: train_classifier("mlp", val_split=True, out=t),
            r"train_classifier: val_split must be a number in \[0, 1\), got True",
        ),
        (
            lambda t: train_classifier("mlp", profile=np.float64(2), out=t),
            "train_classifier: profile must be an int >= 0, got np.float64\\(2.0\\)",
        ),
        (
            lambda t: train_gan("gan", seed=False, out=t),
            "train_gan: seed must be an int >= 0, got False",
        ),
        (
            lambda t: train_gan("gan", beta1=np.float32(1), out=t),
            r"train_gan: beta1 must be a number in \[0, 1\), got np.float32\(1.0\)",
        ),
        (
            lambda t: train_char_lm(t / "x.txt", bptt=True, out=t),
            "train_char_lm: bptt must be an int >= 1, got True",
        ),
        (
            lambda t: train_char_lm(t / "x.txt", val_fraction=0.5, out=t),
            r"train_char_lm: val_fraction must be a number in \(0, 0.5\), got 0.5",
        ),
        (
            lambda t: generate_images(t, n=True, out=t / "g.png"),
            r"generate_images: n must be an int in \[1, 4096\], got True",
        ),
        (
            lambda t: generate_images(t, n=2, label=np.int64(-1), out=t / "g.png"),
            "generate_images: label must be an int >= 0, got np.int64\\(-1\\)",
        ),
    ],
)
def test_bools_and_bad_values_are_refused_with_the_argument_and_value(call, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        call(tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before a run folder was made


@pytest.mark.parametrize("module, model", [(text, "ngram"), (text_classify, "char_cnn")])
def test_a_text_model_refuses_the_cyclic_schedule_before_making_its_run_folder(
    module, model, tmp_path
):
    # Before, it was refused when the optimizer was built: after config.json was written, so the
    # same command into the same --out then failed with "output folder is not empty".
    with pytest.raises(ValueError, match="schedule 'cyclic' is laid out over the training steps"):
        module.train_text_classifier(
            model,
            "sms_spam",
            schedule="cyclic",
            out=tmp_path / "run",
            data_dir=tmp_path / "no-data",
            download=False,
        )
    assert not (tmp_path / "run").exists()
