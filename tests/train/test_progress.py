"""The progress output: every number in full at any width, lines during long piped epochs, and
EarlyStopping saying what it did."""

import io
import os
import re
import shutil
import time

import pytest

import chainrule as cr
from chainrule import optim
from chainrule.train import EarlyStopping, ProgressBar, Trainer

from .conftest import make_blobs, make_mlp


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _trainer(model=None, lr=0.05, **kwargs):
    model = model or make_mlp()
    return Trainer(model, cr.ops.cross_entropy, optim.Adam(model.parameters(), lr=lr),
                   metrics=["accuracy", top_2_accuracy], **kwargs)


def top_2_accuracy(y_true, y_score):
    return cr.train.top_k_accuracy(y_true, y_score, k=2)


def _screen_lines(text):
    """What a terminal shows, one entry per drawing: the text split at carriage returns and
    newlines, trailing padding removed."""
    return [part.rstrip() for part in re.split(r"[\r\n]", text) if part.strip()]


def _expected_items(history, epoch):
    return [f"{name}: {values[epoch]:.4g}" for name, values in history.history.items()]


def _summary(lines, title):
    """The epoch's summary: its first line and the indented lines it wraps onto, joined."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{title} - "))
    end = start + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return " - ".join(line.strip() for line in lines[start:end])


def _shows_in_full(item, summary):
    return re.search(rf"(^| - ){re.escape(item)}( - |$)", summary) is not None


@pytest.mark.parametrize("columns", [80, 120])
def test_terminal_shows_every_log_in_full_within_the_width(blobs, monkeypatch, columns):
    monkeypatch.setattr(shutil, "get_terminal_size",
                        lambda fallback=(80, 24): os.terminal_size((columns, 24)))
    x, y = blobs
    out = Terminal()
    history = _trainer(callbacks=[ProgressBar(1, file=out)]).fit(
        (x, y), (x[:40], y[:40]), epochs=2, batch_size=20, rng=0)
    lines = _screen_lines(out.getvalue())
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert any(re.match(r"Epoch 1/2 10/10 \[=+\] .* loss: ", line) for line in lines)
    # The epoch's summary replaces the bar: its lines (wrapped) hold every log, val_* too.
    for epoch in (0, 1):
        summary = _summary(lines, f"Epoch {epoch + 1}/2")
        items = _expected_items(history, epoch)
        assert sum(item.startswith("val_") for item in items) == 3
        for item in items:
            assert _shows_in_full(item, summary), (item, summary)


def test_a_narrow_terminal_keeps_the_numbers_before_the_rate_and_the_bar(blobs):
    x, y = blobs
    for columns in (60, 80, 100, 140):
        out = Terminal()
        history = _trainer(callbacks=[ProgressBar(1, file=out, width=columns)]).fit(
            (x, y), (x[:40], y[:40]), epochs=1, batch_size=20, rng=0)
        lines = _screen_lines(out.getvalue())
        assert all(len(line) <= columns for line in lines)
        last_bar = [line for line in lines if line.startswith("Epoch 1/1 10/10")][-1]
        assert "loss: " in last_bar and ("acc: " in last_bar or "accuracy: " in last_bar)
        if columns <= 80:  # the rate and time left go first
            assert "ETA" not in last_bar
        if columns >= 140:
            assert "ETA" in last_bar and "accuracy: " in last_bar
        summary = _summary(lines, "Epoch 1/1")
        for item in _expected_items(history, 0):
            assert _shows_in_full(item, summary), (item, summary)


def test_piped_output_prints_progress_lines_during_an_epoch(blobs, capsys, monkeypatch):
    now = [0.0]

    def clock():  # each look at the clock is two seconds later: 20 batches take 40 s
        now[0] += 2.0
        return now[0]

    monkeypatch.setattr(time, "perf_counter", clock)
    x, y = blobs
    _trainer().fit((x, y), (x[:40], y[:40]), epochs=2, batch_size=10, rng=0, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    progress = [line for line in lines if re.match(r"Epoch \d/2 - batch \d+/20 - ", line)]
    assert len(progress) >= 4  # at least two per epoch (one every 15 s by default)
    for line in progress:
        assert re.search(r" - \d+\.\ds, ETA \d+\.\ds - loss: [\d.]+ - accuracy: [\d.]+"
                         r" - top_2_accuracy: [\d.]+$", line), line
    summaries = [i for i, line in enumerate(lines) if re.match(r"Epoch \d/2 - \d", line)]
    assert len(summaries) == 2 and "val_accuracy: " in lines[summaries[0]]
    assert lines[0].startswith("Epoch 1/2 - batch ")  # during the epoch, before its summary
    # verbose=2: one line per epoch and nothing else; verbose=0: nothing at all
    _trainer().fit((x, y), epochs=2, batch_size=10, rng=0, verbose=2)
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    _trainer().fit((x, y), epochs=2, batch_size=10, rng=0, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_line_interval_is_an_argument(blobs):
    x, y = blobs
    out = io.StringIO()
    _trainer(callbacks=[ProgressBar(1, file=out, interval=0)]).fit(
        (x, y), epochs=1, batch_size=50, rng=0)
    lines = out.getvalue().splitlines()
    assert [line.split(" - ")[1] for line in lines[:3]] == ["batch 1/4", "batch 2/4", "batch 3/4"]
    assert len(lines) == 4 and lines[3].startswith("Epoch 1/1 - ")
    out = io.StringIO()
    _trainer(callbacks=[ProgressBar(1, file=out, interval=None)]).fit(
        (x, y), epochs=1, batch_size=50, rng=0)
    assert len(out.getvalue().splitlines()) == 1
    with pytest.raises(ValueError, match="interval must be a number of seconds >= 0 or None"):
        ProgressBar(interval=-1)
    with pytest.raises(ValueError, match=r"width must be an int >= 1 \(or None\), got 0"):
        ProgressBar(width=0)


def _overfitting_problem():
    x, y = make_blobs(12, seed=3, spread=1.2)
    return (x, y), make_blobs(200, seed=4, spread=1.2)  # with lr=0.005: best val_loss at epoch 19


def test_early_stopping_says_when_it_stops_and_restores(capsys):
    train, val = _overfitting_problem()
    stopper = EarlyStopping(monitor="val_loss", patience=3)
    _trainer(make_mlp(hidden=64), lr=0.005, callbacks=[stopper]).fit(
        train, val, epochs=200, batch_size=None, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    best, stopped = stopper.best_epoch + 1, stopper.stopped_epoch + 1
    assert lines[-3].startswith(f"Epoch {stopped}/200 - ")
    assert lines[-2] == (f"EarlyStopping: val_loss did not improve for 3 epochs (best "
                         f"{stopper.best:.4g} at epoch {best}); stopping after epoch {stopped}")
    assert lines[-1] == f"EarlyStopping: restored the weights of epoch {best} (val_loss: " \
                        f"{stopper.best:.4g})"


def test_early_stopping_is_quiet_when_asked_or_when_the_run_is(capsys):
    train, val = _overfitting_problem()
    for verbose, quiet in ((2, 0), (0, 1)):
        _trainer(make_mlp(hidden=64), lr=0.005,
                 callbacks=[EarlyStopping(patience=3, verbose=quiet)]).fit(
            train, val, epochs=200, batch_size=None, verbose=verbose)
        assert "EarlyStopping" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="verbose must be 0 or 1, got 2"):
        EarlyStopping(verbose=2)


def test_early_stopping_message_is_written_above_a_bar(blobs):
    x, y = blobs
    out = Terminal()
    stopper = EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    _trainer(callbacks=[stopper, ProgressBar(1, file=out, width=80)]).fit(
        (x, y), epochs=5, batch_size=50, rng=0)
    lines = _screen_lines(out.getvalue())
    assert all(len(line) <= 80 for line in lines)
    assert lines[-3:] == [  # the long line wrapped between words at the terminal's width
        "EarlyStopping: loss did not improve by more than 10 for 1 epoch (best "
        f"{stopper.best:.4g} at",
        "    epoch 1); stopping after epoch 2",
        f"EarlyStopping: restored the weights of epoch 1 (loss: {stopper.best:.4g})"]
    assert lines[-4].startswith("    ") or lines[-4].startswith("Epoch 2/5 - ")
