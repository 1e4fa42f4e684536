"""The command line's argument types and shared options: each checks its value and says what it
expected (argparse turns the message into ``chainrule: error: argument --x: ...``)."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from pathlib import Path

from ..autograd import detect_anomaly
from ..backend import set_num_threads, validate_device
from ..backend.settings import parse_threads
from ..backend.threads import oversubscription_hint
from ..data import corruptions
from ..experiments import TEXT_MODELS, generative
from ..experiments.checks import parse_model_arg
from .sequences import TEXT_TASKS

__all__ = ["command_settings", "debugging_options", "device_name", "integer", "model_arg",
           "model_args", "noise_spec", "number", "png_path", "thread_count", "threads_option",
           "use_threads"]


def integer(low: int, high: int | None = None):
    """argparse type: an integer >= ``low`` (and <= ``high``)."""
    bound = f">= {low}" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {bound}, got {text!r}")
        return value

    return parse


def number(low: float, *, low_ok: bool = True, high: float | None = None):
    """argparse type: a finite number >= ``low`` (> without ``low_ok``), below ``high``."""
    bound = f"{'>=' if low_ok else '>'} {low:g}" + ("" if high is None else f" and < {high:g}")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value >= low if low_ok else value > low)
                and (high is None or value < high)):
            raise argparse.ArgumentTypeError(f"expected a finite number {bound}, got {text!r}")
        return value

    return parse


def model_arg(text: str) -> tuple:
    """argparse type of --model-arg: KEY=JSON as (key, value)."""
    try:
        return parse_model_arg(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def noise_spec(text: str) -> str:
    """argparse type of --noise: 'mixed' or comma-separated corruption specs."""
    if text != "mixed":
        for spec in text.split(","):
            try:
                corruptions.parse_corruption(spec)
            except ValueError as err:
                raise argparse.ArgumentTypeError(str(err)) from None
    return text


def png_path(text: str) -> str:
    """argparse type of generate's --out: the path of a PNG file to write (not a folder)."""
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; expected the path of the PNG to "
                                         "write")
    if Path(text).suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"expected the path of a .png file to write, got "
                                         f"{text!r}")
    return text


def device_name(name: str) -> str:
    """argparse type of --device: a usable device name, or a usage error that says why not (the
    meta device holds no values, so nothing can train or be evaluated there)."""
    if name == "meta":
        raise argparse.ArgumentTypeError("device 'meta' holds no values (shapes only), so the "
                                         "CLI cannot train or evaluate on it; expected 'cpu' "
                                         "or 'cuda'")
    try:
        return validate_device(name)
    except (TypeError, ValueError, RuntimeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def threads_option(parser) -> None:
    parser.add_argument("--threads", type=thread_count, default=None, metavar="N",
                        help="threads for matrix products: a number or 'auto' (default: "
                        "$CHAINRULE_NUM_THREADS, else 'auto': the CPUs other processes leave free)")


def debugging_options(parser) -> None:
    """--detect-anomaly and --profile N."""
    parser.add_argument("--detect-anomaly", action="store_true",
                        help="debugging: stop at the first NaN gradient, naming the op and the "
                        "line of the forward pass that made it (chainrule.autograd."
                        "detect_anomaly; slows training down)")
    parser.add_argument("--profile", type=integer(1), default=0, metavar="N",
                        help="print where the time of N training steps (after the first) goes: "
                        "each op, backward node, layer and optimizer step, as PyTorch's profiler "
                        "table (chainrule.profiler; image classifiers; default: off)")


def _check_profile(args) -> None:
    model = getattr(args, "model", None)
    if getattr(args, "profile", 0) and model in {*generative.GENERATIVE_TASKS, *TEXT_MODELS,
                                                 *TEXT_TASKS}:
        raise ValueError(f"--profile {args.profile}: profiling is wired into the image "
                         f"classifiers' training only, not into {model!r}'s; use "
                         "chainrule.profiler.profile (or train.ProfileSteps) in a script")


@contextlib.contextmanager
def command_settings(args):
    """Apply --threads, check the run folder a command reads, then run the command under
    ``detect_anomaly`` if --detect-anomaly."""
    _check_profile(args)
    use_threads(args)  # first: a refused run folder leaves the threads as asked, as any command
    _check_run_path(args)
    with detect_anomaly() if getattr(args, "detect_anomaly", False) else contextlib.nullcontext():
        yield


def _check_run_path(args) -> None:
    """A command's CHECKPOINT or RUN (a run folder or its model.safetensors) must exist: say so
    naming the argument, before any work (or an internal reader's name) gets in the way."""
    for name in ("checkpoint", "run"):
        value = getattr(args, name, None)
        if not isinstance(value, str):
            continue
        path = Path(value)
        expected = "expected a run folder (from `chainrule train`) or its model.safetensors"
        if not path.exists():
            raise ValueError(f"argument {name}: {value!r} does not exist; {expected}")
        if path.is_dir() and not (path / "model.safetensors").exists():
            raise ValueError(f"argument {name}: the folder {value!r} holds no model.safetensors "
                             f"(an unfinished or foreign run?); {expected}")
    data_dir = getattr(args, "data_dir", None)  # a file was read as a folder to look in
    if isinstance(data_dir, str) and Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise ValueError(f"--data-dir {data_dir!r} is a file; expected the folder that holds the "
                         "dataset files")


def thread_count(value: str):
    """argparse type of --threads: a positive integer or 'auto'."""
    try:
        return parse_threads(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def use_threads(args) -> None:
    """Apply --threads; without it, a one-line hint on stderr when training on a busy machine."""
    if getattr(args, "threads", None) is not None:
        set_num_threads(args.threads)
    elif args.command == "train" and (hint := oversubscription_hint()):
        print(hint, file=sys.stderr)


def model_args(pairs) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"--model-arg {key} is given twice ({out[key]!r} and {value!r})")
        out[key] = value
    return out
