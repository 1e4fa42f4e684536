"""Training progress as text: a bar fitted to the terminal's width, or plain lines for logs.

``ProgressBar`` (the callback) drives a ``ProgressPrinter``. On a terminal one line is redrawn in
place while an epoch runs. Its numbers are fitted to the width: the rate and the time left go
first, then long names are shortened ("accuracy" -> "acc"), then digits and the bar itself, and
only then the last numbers. When the epoch ends the line is replaced by the epoch's complete logs,
``val_*`` included, wrapped at the width: a number is never cut. Elsewhere (a pipe, a file, a CI
log) the lines are plain: one per epoch and, during a long epoch, one every ``interval`` seconds,
each flushed as it is written.
"""

from __future__ import annotations

import shutil
import textwrap
import time

__all__ = ["ProgressPrinter", "bar_line", "duration", "format_logs", "wrap"]

REDRAW = 0.1  # seconds between two drawings of the bar: drawing every batch costs time
MIN_BAR, MAX_BAR = 10, 30
ABBREVIATIONS = (("accuracy", "acc"),)

# How much of the bar line to keep, in the order tried: (rate and time left, the bar, short
# names, significant digits). The first level whose line fits the width is drawn.
_LEVELS = (
    (True, True, False, 4),
    (True, True, True, 4),
    (False, True, True, 4),
    (False, True, True, 3),
    (False, False, True, 4),
    (False, False, True, 3),
)


def format_logs(logs: dict, *, digits: int = 4, short: bool = False) -> list[str]:
    """``["name: value", ...]`` with ``digits`` significant digits; ``short`` abbreviates names.

    >>> format_logs({"loss": 0.341234, "val_accuracy": 0.9}, short=True)
    ['loss: 0.3412', 'val_acc: 0.9']
    """
    items = []
    for name, value in logs.items():
        if short:
            for long, abbreviation in ABBREVIATIONS:
                name = name.replace(long, abbreviation)
        items.append(f"{name}: {value:.{digits}g}")
    return items


def wrap(items: list[str], width: int, *, indent: str = "    ") -> list[str]:
    """Join ``items`` with " - " into lines of at most ``width`` characters, never splitting one.

    Lines after the first are indented; an item longer than the width gets a line of its own.

    >>> wrap(["Epoch 1/2", "loss: 0.5", "val_loss: 0.25"], 24)
    ['Epoch 1/2 - loss: 0.5', '    val_loss: 0.25']
    """
    lines, line = [], ""
    for item in items:
        if not line:
            line = item
        elif len(line) + 3 + len(item) <= width:
            line += " - " + item
        else:
            lines.append(line)
            line = indent + item
    return [*lines, line] if line else lines


def duration(seconds: float) -> str:
    """``12.3s``, ``4m05s`` or ``1h02m``."""
    if seconds < 59.95:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _per_batch(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms/batch" if seconds < 1 else f"{seconds:.2f}s/batch"


def bar_line(title: str, done: int, steps: int | None, elapsed: float, logs: dict,
             width: int) -> str:
    """The bar's line after ``done`` of ``steps`` batches, at most ``width`` characters long.

    >>> bar_line("Epoch 3/10", 120, 469, 12.3, {"loss": 0.34121, "accuracy": 0.90123}, 79)
    'Epoch 3/10 120/469 [=====>.................] 12.3s - loss: 0.3412 - acc: 0.9012'
    """
    known = bool(steps)
    count = f"{done:>{len(str(steps))}}/{steps}" if known else f"{done}"
    left = elapsed / done * (steps - done) if known and done else None
    for timing, with_bar, short, digits in _LEVELS:
        if with_bar and not known:
            continue
        times = duration(elapsed)
        if timing and left is not None:
            times += f", ETA {duration(left)}, {_per_batch(elapsed / done)}"
        items = format_logs(logs, digits=digits, short=short)
        line = _compose(title, count, with_bar, done, steps, times, items, width)
        if line is not None:
            return line
    items = format_logs(logs, digits=3, short=True)
    for keep in range(len(items) - 1, -1, -1):  # the epoch's end shows all of them
        line = _compose(title, count, False, done, steps, duration(elapsed),
                        [*items[:keep], "..."], width)
        if line is not None:
            return line
    return f"{title} {count}"[:width]


def _compose(title, count, with_bar, done, steps, times, items, width) -> str | None:
    """The line, with the widest bar that fits (up to MAX_BAR), or None if it cannot fit."""
    tail = f" {times}" + "".join(f" - {item}" for item in items)
    if not with_bar:
        line = f"{title} {count}{tail}"
        return line if len(line) <= width else None
    inner = min(MAX_BAR, width - len(f"{title} {count} []{tail}"))
    if inner < MIN_BAR:
        return None
    filled = min(inner, inner * done // steps)
    bar = "=" * filled + (">" + "." * (inner - filled - 1) if filled < inner else "")
    return f"{title} {count} [{bar}]{tail}"


class ProgressPrinter:
    """Writes one run's progress to ``out``: a bar redrawn in place, or plain lines.

    Args:
        out: a text file.
        bar: draw a bar (on a terminal); False prints plain lines.
        interval: seconds between the lines printed during an epoch without a bar (None: none).
        width: the terminal's width in columns (None: ``shutil.get_terminal_size()``, measured
            at every redraw, so a resized window is followed).
    """

    def __init__(self, out, *, bar: bool, interval: float | None = None, width: int | None = None):
        self.out, self.bar, self.interval, self.width = out, bar, interval, width
        self._shown = ""  # the bar line on the screen ("" when none)

    def columns(self) -> int:
        return self.width if self.width is not None else shutil.get_terminal_size((80, 24)).columns

    def begin_epoch(self, epoch: int, epochs: int | None, steps: int | None) -> None:
        self._title = f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"
        self._steps = steps
        self._start = self._last = time.perf_counter()
        if self.bar:
            self._draw(bar_line(self._title, 0, steps, 0.0, {}, self.columns() - 1))

    def batch_done(self, done: int, running) -> None:
        """``done`` batches of the epoch are finished; ``running.result()`` gives their means."""
        now = time.perf_counter()
        last = self._steps is not None and done >= self._steps
        if self.bar:
            if last or now - self._last >= REDRAW:
                self._last = now
                self._draw(bar_line(self._title, done, self._steps, now - self._start,
                                    running.result(), self.columns() - 1))
        elif self.interval is not None and not last and now - self._last >= self.interval:
            self._last = now
            elapsed = now - self._start
            times = duration(elapsed)
            if self._steps:
                times += f", ETA {duration(elapsed / done * (self._steps - done))}"
            total = f"/{self._steps}" if self._steps else ""
            self._print(" - ".join([self._title, f"batch {done}{total}", times,
                                    *format_logs(running.result())]))

    def end_epoch(self, logs: dict) -> None:
        """Print the epoch's summary: its time and all of its logs, never cut."""
        items = [self._title, duration(time.perf_counter() - self._start), *format_logs(logs)]
        if self.bar:
            self._clear()
            for line in wrap(items, self.columns() - 1):
                self._print(line)
        else:
            self._print(" - ".join(items))

    def write(self, text: str) -> None:
        """Print a line of text (on a terminal, wrapped between words); a bar is redrawn below."""
        shown = self._shown
        self._clear()
        lines = [text]
        if self.bar:
            lines = textwrap.wrap(text, self.columns() - 1, subsequent_indent="    ",
                                  break_long_words=False, break_on_hyphens=False) or [""]
        for line in lines:
            self._print(line)
        if shown:
            self._draw(shown)

    def close(self) -> None:
        """End a bar left on the screen (training stopped mid-epoch) with a newline."""
        if self._shown:
            self.out.write("\n")
            self.out.flush()
            self._shown = ""

    def _draw(self, line: str) -> None:
        self.out.write("\r" + line.ljust(len(self._shown)))
        self.out.flush()
        self._shown = line

    def _clear(self) -> None:
        if self._shown:
            self.out.write("\r" + " " * len(self._shown) + "\r")
            self._shown = ""

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)
