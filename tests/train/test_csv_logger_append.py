"""CSVLogger(append=True) on an existing file in a fresh run, and Keras' header rules: the header
is written only to a new or empty file, a fresh run appends its epochs (from 0) below the
existing header. Found open: a file whose last line had no end (a row cut off mid-write) got the
next row glued onto it; a file that is no log of this logger (text, another separator, a blank
first line) was appended to with a junk row or overwritten; a run logging columns the appended
file lacks lost them without a word."""

import csv

import pytest

import chainrule as cr
from chainrule import optim
from chainrule.train import CSVLogger, Trainer

from .conftest import make_blobs, make_mlp

X, Y = make_blobs(64)


def _fit(path, *, epochs=2, val=True, **kw):
    model = make_mlp()
    trainer = Trainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                      metrics=["accuracy"], callbacks=[CSVLogger(path, **kw)])
    trainer.fit((X, Y), (X[:16], Y[:16]) if val else None, epochs=epochs, rng=0, verbose=0)


def _rows(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


HEADER = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]


@pytest.mark.parametrize("existing", [None, "", "\n\n"])
def test_a_new_or_empty_file_gets_the_header_as_keras(tmp_path, existing):
    path = tmp_path / "log.csv"
    if existing is not None:
        path.write_text(existing)
    _fit(path, append=True)
    rows = _rows(path)
    assert rows[0] == HEADER and [r[0] for r in rows[1:]] == ["0", "1"]


def test_a_fresh_run_appends_below_the_header_without_a_second_one(tmp_path):
    path = tmp_path / "log.csv"
    _fit(path, epochs=3)
    before = path.read_text()
    _fit(path, append=True)  # a new trainer, nothing resumed: Keras appends epochs 0, 1
    assert path.read_text().startswith(before)
    rows = _rows(path)
    assert [r[0] for r in rows] == ["epoch", "0", "1", "2", "0", "1"]
    assert all(len(r) == len(HEADER) for r in rows)
    _fit(path, epochs=1)  # append=False starts afresh, as Keras' "w"
    assert [r[0] for r in _rows(path)] == ["epoch", "0"]


def test_a_last_line_without_its_end_is_a_cut_row_and_is_dropped(tmp_path):
    path = tmp_path / "log.csv"
    _fit(path, epochs=2)
    text = path.read_text()
    path.write_text(text + "2,0.51")  # killed while writing epoch 2's row
    _fit(path, append=True, epochs=1)
    rows = _rows(path)  # was: "2,0.510,<loss>,..." glued into one broken row
    assert [r[0] for r in rows] == ["epoch", "0", "1", "0"]
    assert all(len(r) == len(HEADER) for r in rows)
    lone = tmp_path / "lone.csv"
    lone.write_text("epoch,lo")  # a header cut off: started afresh
    _fit(lone, append=True, epochs=1)
    assert _rows(lone)[0] == HEADER


@pytest.mark.parametrize("text", ["hello world\n", "\nepoch,loss\n0,1\n",
                                  "epoch;loss;accuracy\n0;1;0.5\n"])
def test_a_file_that_is_no_log_is_refused_and_left_alone(tmp_path, text):
    path = tmp_path / "log.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"log.csv is not a CSV log to append to: its first row "
                                         r".* is not a header starting with 'epoch' \(separator "
                                         r"','\); give another path or append=False"):
        _fit(path, append=True)
    assert path.read_text() == text
    if ";" in text:  # read with its own separator, it is a log
        _fit(path, append=True, separator=";", val=False)
        assert [r[0] for r in _rows(path, ";")] == ["epoch", "0", "0", "1"]


def test_columns_the_appended_file_lacks_are_left_out_with_a_warning(tmp_path):
    path = tmp_path / "log.csv"
    _fit(path, epochs=1, val=False)
    with pytest.warns(UserWarning, match=r"log.csv, appended to, has no column for val_loss, "
                                         r"val_accuracy: they are left out"):
        _fit(path, append=True)
    rows = _rows(path)
    assert rows[0] == ["epoch", "loss", "accuracy"] and len(rows) == 4
    _fit(path, append=True, val=False)  # the same columns: no warning (warnings are errors)
