"""PyTorch's ``torch.utils.tensorboard``: ``SummaryWriter`` writing TensorBoard event files.

``from chainrule.utils.tensorboard import SummaryWriter``. The files are written here byte by
byte (TFRecord framing with CRC32C, hand-encoded protobuf ``Event`` messages), so neither
TensorFlow nor the ``tensorboard`` package is needed to write them; ``tensorboard --logdir runs``
reads them. Images need Pillow (imported when the first image is logged).
"""

from __future__ import annotations

import atexit
import itertools
import os
import socket
import time
import weakref

from . import _records as rec
from ._hparams import hparams
from ._summary import histogram, png_image, scalar_float, tensorflow_bins, to_numpy

__all__ = ["SummaryWriter", "FileWriter"]

_file_ids = itertools.count()  # the <n> of events.out.tfevents.<time>.<host>.<pid>.<n>
_open_writers: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _flush_open_writers() -> None:
    """A program that ends without close() still gets its queued events written."""
    for writer in list(_open_writers):
        writer.flush()


class FileWriter:
    """One event file in ``log_dir``: records are buffered and appended on ``flush``, when
    ``max_queue`` records wait, at the first write ``flush_secs`` after the last flush, and when
    the interpreter exits."""

    def __init__(self, log_dir: str, max_queue: int = 10, flush_secs: float = 120,
                 filename_suffix: str = ""):
        self.log_dir = str(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_file_ids)}{filename_suffix}")
        self.path = os.path.join(self.log_dir, name)
        self.max_queue = int(max_queue)
        self.flush_secs = float(flush_secs)
        self._queue: list[bytes] = []
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open until close()
        self._last_flush = time.monotonic()
        _open_writers.add(self)
        self.add_event(rec.event(time.time(), file_version="brain.Event:2"))
        self.flush()

    def get_logdir(self) -> str:
        return self.log_dir

    def add_event(self, serialized_event: bytes) -> None:
        if self._file is None:
            raise RuntimeError(f"the event file {self.path} is closed")
        self._queue.append(rec.frame_record(serialized_event))
        if (len(self._queue) >= self.max_queue
                or time.monotonic() - self._last_flush >= self.flush_secs):
            self.flush()

    def add_summary(self, values: list[bytes], global_step=None, walltime=None) -> None:
        self.add_event(rec.event(_walltime(walltime), _step(global_step),
                                 summary_values=values))

    def flush(self) -> None:
        if self._file is None:
            return
        if self._queue:
            self._file.write(b"".join(self._queue))
            self._queue.clear()
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None
            _open_writers.discard(self)


def _walltime(walltime) -> float:
    return time.time() if walltime is None else float(walltime)


def _step(global_step):
    if global_step is None:
        return None
    if isinstance(global_step, int) and not isinstance(global_step, bool):
        return global_step
    step = to_numpy(global_step, "global_step")
    if step.size == 1 and step.dtype.kind in "iu":
        return int(step.reshape(()))
    value = scalar_float(step, "global_step")
    if value != int(value):
        raise ValueError(f"global_step: expected an integer, got {global_step!r}")
    return int(value)


class SummaryWriter:
    """Log scalars, histograms, images and text for TensorBoard, as ``torch.utils.tensorboard``.

    ``log_dir`` defaults to ``runs/<Mon DD_HH-MM-SS>_<hostname><comment>`` (``comment`` is used
    only then). ``purge_step`` writes TensorBoard's marker that hides the events at or after
    that step left by an earlier, crashed run. Values may be chainrule Tensors, NumPy arrays or
    Python numbers.
    """

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: float = 120, filename_suffix: str = ""):
        if not log_dir:
            stamp = time.strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self._get_file_writer()
        self.default_bins = tensorflow_bins()

    def _get_file_writer(self) -> FileWriter:
        """The writer of ``log_dir`` (opened again after ``close``)."""
        if self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers = {self.log_dir: self.file_writer}
            if self.purge_step is not None:
                step = _step(self.purge_step)
                now = time.time()
                self.file_writer.add_event(rec.event(now, step, file_version="brain.Event:2"))
                self.file_writer.add_event(rec.event(now, step, session_start=True))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """One point of the curve ``tag``. ``new_style`` writes it as a one-element tensor of the
        scalars plugin (float32, or float64 with ``double_precision``) instead of the
        ``simple_value`` float."""
        value = scalar_float(scalar_value)
        tag = _tag(tag)
        if new_style:
            tensor = (rec.tensor_proto(rec.DT_DOUBLE, double_val=[value]) if double_precision
                      else rec.tensor_proto(rec.DT_FLOAT, float_val=[value]))
            summary = rec.summary_value(tag, tensor=tensor,
                                        metadata=rec.plugin_metadata("scalars"))
        else:
            summary = rec.summary_value(tag, simple_value=value)
        self._get_file_writer().add_summary([summary], global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None) -> None:
        """Several curves on one chart: each ``tag`` goes, under the tag ``main_tag``, to its own
        run directory ``<log_dir>/<main_tag with / as _>_<tag>``."""
        main_tag = _tag(main_tag, "main_tag")
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError(f"tag_scalar_dict: expected a dict of tag to value, got "
                            f"{type(tag_scalar_dict).__name__}")
        walltime = _walltime(walltime)
        log_dir = self._get_file_writer().get_logdir()
        for tag, scalar_value in tag_scalar_dict.items():
            value = scalar_float(scalar_value, f"tag_scalar_dict[{tag!r}]")
            sub_dir = log_dir + "/" + main_tag.replace("/", "_") + "_" + str(tag)
            writer = self.all_writers.get(sub_dir)
            if writer is None:
                writer = FileWriter(sub_dir, self.max_queue, self.flush_secs,
                                    self.filename_suffix)
                self.all_writers[sub_dir] = writer
            writer.add_summary([rec.summary_value(main_tag, simple_value=value)],
                               global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None) -> None:
        """A histogram of ``values``. ``bins`` is 'tensorflow' (PyTorch's default exponential
        edges), a NumPy bin rule ('auto', 'fd', 'sturges', ...), a count, or explicit edges."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        minimum, maximum, num, total, squares, limits, counts = histogram(values, bins, max_bins)
        histo = rec.histogram_proto(minimum, maximum, num, total, squares, limits, counts)
        self._get_file_writer().add_summary([rec.summary_value(_tag(tag), histo=histo)],
                                            global_step, walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None,
                  dataformats: str = "CHW") -> None:
        """One image, PNG-encoded: floats are taken in [0, 1] (scaled by 255 and clipped),
        uint8 as they are; one channel becomes grey RGB, four RGBA."""
        self._log_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None,
                   dataformats: str = "NCHW") -> None:
        """A batch of images tiled into one image, 8 per row with no padding (PyTorch's
        layout); one or three channels."""
        self._log_image(tag, img_tensor, global_step, walltime, dataformats)

    def _log_image(self, tag, img_tensor, global_step, walltime, dataformats):
        height, width, channels, png = png_image(img_tensor, dataformats)
        image = rec.image_proto(height, width, channels, png)
        self._get_file_writer().add_summary([rec.summary_value(_tag(tag), image=image)],
                                            global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None) -> None:
        """Text (Markdown in TensorBoard's text tab) under the tag ``<tag>/text_summary``."""
        if not isinstance(text_string, str):
            raise TypeError(f"text_string: expected a str, got {type(text_string).__name__}")
        tensor = rec.tensor_proto(rec.DT_STRING, string_val=[text_string.encode("utf-8")],
                                  shape=(1,))
        value = rec.summary_value(_tag(tag) + "/text_summary", tensor=tensor,
                                  metadata=rec.plugin_metadata("text"))
        self._get_file_writer().add_summary([value], global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None) -> None:
        """One row of TensorBoard's HPARAMS tab: the hyperparameters (numbers, strings, bools,
        one-element Tensors) and final metrics, written as PyTorch does into the run directory
        ``<log_dir>/<run_name>`` (default: the current time), each metric also as a scalar."""
        values = hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run_name = run_name or str(time.time())
        log_dir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=log_dir) as run:
            for value in values:
                run.file_writer.add_summary([value], global_step)
            for k, v in metric_dict.items():
                run.add_scalar(k, v, global_step)

    def flush(self) -> None:
        """Write every pending event of every run directory to disk."""
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the files; a later ``add_*`` opens a new event file."""
        for writer in (self.all_writers or {}).values():
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _tag(tag, name: str = "tag") -> str:
    if not isinstance(tag, str):
        raise TypeError(f"{name}: expected a str, got {type(tag).__name__} {tag!r}")
    return tag
