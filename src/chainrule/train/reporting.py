"""The callbacks that report a run: ``ProgressBar`` (terminal or log) and ``CSVLogger`` (a file).

Both see every epoch's logs; the progress bar also prints the lines other callbacks ``report``.
"""

from __future__ import annotations

import csv
import io
import sys
import warnings
from pathlib import Path

from ..backend.files import write_atomically
from ..data.arguments import check_int
from .callbacks import Callback
from .metrics import MeanTracker
from .progress import ProgressPrinter

__all__ = ["CSVLogger", "ProgressBar"]


class CSVLogger(Callback):
    """Append one row per epoch (epoch, then the logs) to a CSV file, writing the header once.

    Each row is written and the file closed at the end of its epoch, so the file is complete up to
    the last finished epoch even if the run is killed. The first row (or the header of the file
    appended to) fixes the columns: names that appear only later are left out (with a warning
    when the file appended to has no column for a name of the run's first row).

    As Keras' CSVLogger, the header is written when the file is new or empty, and appending to a
    file that holds one (a fresh run or a resumed one) adds rows below it without a second one.
    A file to append to must be such a log: its first row a header that starts with ``epoch``
    (else a ValueError, say for another separator; nothing is overwritten).

    Args:
        path: the CSV file.
        separator: the field separator.
        append: continue an existing file (e.g. when resuming) instead of starting it afresh.
            Partial rows are dropped first and, when ``fit`` resumes a checkpoint, so are the
            rows after its epoch (logged by a run that crashed before saving them).
    """

    def __init__(self, path, *, separator: str = ",", append: bool = False):
        self.path, self.separator, self.append = Path(path), separator, append

    def on_train_begin(self, logs=None):
        self.columns = None
        self._warned = False
        if self.append and self.path.is_file() and self.path.stat().st_size > 0:
            try:
                with open(self.path, newline="") as f:
                    text = f.read()
                rows = list(csv.reader(io.StringIO(text), delimiter=self.separator))
            except (csv.Error, UnicodeDecodeError) as err:
                raise ValueError(f"CSVLogger: {self.path} is not a CSV log to append to: "
                                 f"{err}") from None
            # every row this logger writes ends its line: a last line without an end is a row
            # (or a header) cut off mid-write, left out (or, a lone header, started afresh)
            ended = text.endswith(("\n", "\r"))
            if not ended:
                rows = rows[:-1]
            if any(rows) and (not rows[0] or rows[0][0] != "epoch"):
                raise ValueError(f"CSVLogger: {self.path} is not a CSV log to append to: its "
                                 f"first row {rows[0][:4]!r} is not a header starting with "
                                 f"'epoch' (separator {self.separator!r}); give another path "
                                 "or append=False")
            self.columns = rows[0] if any(rows) else None
            if self.columns is not None:
                last = getattr(self.trainer, "epoch", -1)  # >= 0: fit resumed a checkpoint
                self._keep_until(rows, last if isinstance(last, int) and last >= 0 else None,
                                 rewrite=not ended)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def _keep_until(self, rows: list, last, *, rewrite: bool = False) -> None:
        """Drop the rows after epoch ``last`` (None: none) and any partial row.

        A run killed after logging an epoch but before saving its checkpoint logged rows that the
        resumed run logs again; a kill mid-write leaves a partial row.
        """
        kept = [r for r in rows[1:] if len(r) == len(self.columns)
                and (last is None or _row_epoch(r) is not None and _row_epoch(r) <= last)]
        if len(kept) == len(rows) - 1 and not rewrite:
            return
        text = io.StringIO()
        csv.writer(text, delimiter=self.separator).writerows([self.columns, *kept])
        write_atomically(str(self.path), text.getvalue().encode(), make_folder=True)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **(logs or {})}
        fresh = self.columns is None
        if fresh:
            self.columns = list(row)
        elif not self._warned:
            self._warned = True
            lost = [k for k in row if k not in self.columns]
            if lost:
                warnings.warn(f"CSVLogger: {self.path}, appended to, has no column for "
                              f"{', '.join(lost)}: they are left out of its rows (append to a "
                              "log of the same columns, or start a new one)", UserWarning,
                              stacklevel=2)
        try:
            with open(self.path, "w" if fresh else "a", newline="") as f:
                writer = csv.DictWriter(f, self.columns, delimiter=self.separator, restval="",
                                        extrasaction="ignore")
                if fresh:
                    writer.writeheader()
                writer.writerow(row)
        except OSError as err:  # a full disk says which file
            if err.strerror and err.filename is None:
                err.filename = str(self.path)
            raise


def _row_epoch(row: list):
    try:
        return int(row[0])
    except ValueError:
        return None


class ProgressBar(Callback):
    """Report progress: a bar fitted to the terminal's width, else plain lines.

    On a terminal (verbose=1) one line is redrawn while an epoch runs, its numbers fitted to the
    width; each epoch ends with all of its logs (``val_*`` included) on their own line(s),
    wrapped at the width, never cut. Elsewhere (a pipe, a file, a CI log) each epoch ends with
    one line, and verbose=1 adds a line every ``interval`` seconds during the epoch:
    ``Epoch 3/10 - batch 120/469 - 12.3s, ETA 36.0s - loss: 0.3412 - accuracy: 0.9012``.
    Other callbacks print through it with ``report`` (see ``chainrule.train.progress``).

    Args:
        verbose: 0 prints nothing; 1 a bar on a terminal, plain lines elsewhere; 2 one line per
            epoch and nothing else.
        file: where to write (default: ``sys.stdout`` at the start of training).
        interval: seconds between the lines printed during an epoch when not on a terminal
            (None: none).
        width: the terminal's width in columns (None: ``shutil.get_terminal_size()``, measured
            as the bar is redrawn).
    """

    order = 100
    prints_reports = True

    def __init__(self, verbose: int = 1, *, file=None, interval: float | None = 15.0,
                 width: int | None = None):
        if verbose not in (0, 1, 2):
            raise ValueError(f"ProgressBar: verbose must be 0, 1 or 2, got {verbose!r}")
        if interval is not None and (isinstance(interval, bool) or not isinstance(
                interval, (int, float)) or not interval >= 0):
            raise ValueError(f"ProgressBar: interval must be a number of seconds >= 0 or None, "
                             f"got {interval!r}")
        if width is not None:
            width = check_int("ProgressBar", "width", width, why="or None")
        self.verbose, self.file, self.interval, self.width = verbose, file, interval, width
        self._printer = None

    def on_train_begin(self, logs=None):
        self._printer = None
        if self.verbose:
            out = self.file or sys.stdout
            tty = bool(getattr(out, "isatty", lambda: False)())
            self._printer = ProgressPrinter(
                out, bar=self.verbose == 1 and tty, width=self.width,
                interval=self.interval if self.verbose == 1 else None)
        self._epochs = self.trainer.params.get("epochs")

    def on_epoch_begin(self, epoch, logs=None):
        self._running = MeanTracker()
        if self._printer is not None:
            self._printer.begin_epoch(epoch, self._epochs, self.trainer.params.get("steps"))

    def on_batch_end(self, batch, logs=None):
        if self._printer is not None:
            self._running.update(logs or {})
            self._printer.batch_done(batch + 1, self._running)

    def on_epoch_end(self, epoch, logs=None):
        if self._printer is not None:
            self._printer.end_epoch(logs or {})

    def on_train_end(self, logs=None):
        if self._printer is not None:
            self._printer.close()

    def write(self, text: str) -> None:
        """Print a line of text through the progress output (nothing when verbose=0)."""
        if self._printer is not None:
            self._printer.write(text)
