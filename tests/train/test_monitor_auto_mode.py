"""``mode="auto"`` of EarlyStopping/ModelCheckpoint follows Keras 3: known losses and errors are
minimized, accuracy-like metrics maximized, and any other name is refused with a ValueError
(Keras 2's rule, "acc" in the name or else minimize, silently minimized a custom "f1")."""

import pytest

from chainrule.train import EarlyStopping, LearningRateScheduler, ModelCheckpoint
from chainrule.train._monitor import Monitor, auto_mode
from chainrule.train.metrics import get_metric

from .._case_loop import each_case, grid


def _known_names_case(name, mode):
    assert auto_mode("EarlyStopping", name) == mode
    assert EarlyStopping(name)._monitor.mode == mode


def test_known_names():
    each_case(_known_names_case, grid(
        ("name, mode", [
    ("loss", "min"), ("val_loss", "min"), ("d_loss", "min"), ("val_g_loss", "min"),
    ("mse", "min"), ("val_mae", "min"), ("mean_squared_error", "min"),
    ("binary_crossentropy", "min"), ("reconstruction_error", "min"),
    ("accuracy", "max"), ("val_accuracy", "max"), ("acc", "max"), ("val_acc", "max"),
    ("top_5_accuracy", "max"), ("val_top5_accuracy", "max"), ("binary_acc", "max"),
    ("auc", "max"), ("val_precision", "max"), ("recall", "max"), ("f1", "max"),
    ("val_f1_score", "max"),
]),
    ))


@pytest.mark.parametrize("spec", ["accuracy", "acc", "mse", "mae", "top_3_accuracy"])
def test_every_trainer_metric_resolves(spec):
    name = get_metric(spec)[0]
    for logged in (name, "val_" + name):
        auto_mode("EarlyStopping", logged)


@pytest.mark.parametrize("name", ["my_score", "val_dice", "learning_rate"])
def test_unknown_name_asks_for_mode(name):
    message = (rf"EarlyStopping: cannot tell whether monitor='{name}' should be minimized or "
               r"maximized .*pass mode='min' or mode='max'")
    with pytest.raises(ValueError, match=message):
        EarlyStopping(name)
    with pytest.raises(ValueError, match="ModelCheckpoint: cannot tell"):
        ModelCheckpoint("run", monitor=name)
    assert EarlyStopping(name, mode="max")._monitor.mode == "max"


def test_callbacks_that_do_not_compare_accept_any_name():
    # a ModelCheckpoint that keeps every epoch and a scheduler's monitor only read the value
    assert ModelCheckpoint("run", monitor="my_score", save_best_only=False)._monitor.mode is None
    assert Monitor("X", "my_score", "auto", compares=False).best_of([1.0, 2.0]) is None

    class Stepper:
        def step(self, *args):
            pass

    LearningRateScheduler(Stepper(), monitor="my_score")
