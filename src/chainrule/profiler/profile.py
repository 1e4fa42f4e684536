"""``profile``, ``schedule`` and the trace handler, as ``torch.profiler``'s.

The state machine is PyTorch's: a schedule maps each step number to a ``ProfilerAction``; moving
from one action to the next starts or stops the recording, and the step that ends an active
stretch (``RECORD_AND_SAVE``) hands the profiler to ``on_trace_ready``. Warmup records nothing
here (there is no device tracer to warm up); it only keeps PyTorch's cycle arithmetic.
"""

from __future__ import annotations

import enum
import os
import socket
import time
import warnings

from ..backend import GPU_POSSIBLE
from . import _record
from .events import EventList, link

__all__ = ["ProfilerAction", "ProfilerActivity", "profile", "schedule", "supported_activities",
           "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    """What is profiled: ``CPU`` (the host: every op, backward node, module and step), ``CUDA``
    (accepted only with a GPU backend, and then timed on the host like the rest)."""

    CPU = 0
    CUDA = 2


class ProfilerAction(enum.Enum):
    """What the profiler does at a step: nothing, warm up, record, or record and hand over."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """``{ProfilerActivity.CPU}``, plus ``CUDA`` where a GPU backend (CuPy, a device) is in use."""
    found = {ProfilerActivity.CPU}
    if _gpu_in_use():
        found.add(ProfilerActivity.CUDA)
    return found


def _gpu_in_use() -> bool:
    if not GPU_POSSIBLE:
        return False
    from ..backend.device import cuda
    return bool(cuda.is_available())


def _count(who: str, name: str, value, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError(f"{who}: {name} must be an int >= {least}, got {value!r}")
    return value


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """The action at each step (PyTorch's ``torch.profiler.schedule``): after ``skip_first``
    steps, cycles of ``wait`` idle steps, ``warmup`` steps and ``active`` recorded steps, the last
    of which is ``RECORD_AND_SAVE``; ``repeat`` cycles (0: for ever). ``skip_first_wait``: the
    first cycle starts without its wait.

    >>> from chainrule.profiler import schedule
    >>> s = schedule(wait=1, warmup=1, active=2, repeat=1)
    >>> [s(i).name for i in range(5)]
    ['NONE', 'WARMUP', 'RECORD', 'RECORD_AND_SAVE', 'NONE']
    """
    _count("schedule", "wait", wait, 0)
    _count("schedule", "warmup", warmup, 0)
    _count("schedule", "active", active, 1)
    _count("schedule", "repeat", repeat, 0)
    _count("schedule", "skip_first", skip_first, 0)
    cycle = wait + warmup + active
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)

    def action(step: int) -> ProfilerAction:
        if step < 0:
            raise ValueError(f"schedule: step must be >= 0, got {step}")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat and step >= repeat * cycle:
            return ProfilerAction.NONE
        place = step % cycle
        if place < wait:
            return ProfilerAction.NONE
        if place < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if place < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name: str | None = None, use_gzip: bool = False,
                              use_python_export: bool = False):
    """An ``on_trace_ready`` that writes each finished cycle as a Chrome trace JSON file in
    ``dir_name`` (made if missing), named ``{worker_name}.{time in ns}.pt.trace.json`` as
    PyTorch's (the TensorBoard profiler plugin and Perfetto read them), gzipped and with ``.gz``
    added with ``use_gzip``. ``use_python_export`` changes nothing (the export is Python's)."""
    dir_name = os.fspath(dir_name)
    suffix = ".pt.trace.json.gz" if use_gzip else ".pt.trace.json"

    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        name = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        prof.export_chrome_trace(os.path.join(dir_name, f"{name}.{time.time_ns()}{suffix}"))

    return handler


class profile:  # noqa: N801 - PyTorch's name
    """Record where the time of the code inside goes (``torch.profiler.profile``).

    Args:
        activities: ``[ProfilerActivity.CPU]`` (the default). ``CUDA`` without a GPU backend is
            dropped with a warning, as PyTorch does on a CPU-only build; nothing left is an error.
        schedule: step -> ``ProfilerAction`` (see ``schedule``); default: record throughout.
        on_trace_ready: called with the profiler at the end of each active stretch (and on exit
            while recording).
        record_shapes: keep each event's input shapes.
        profile_memory: keep the bytes of the arrays each op (or backward node) returns.
        with_stack: accepted; no source stacks are recorded.
        with_flops: count the floating-point operations of matmul, linear and convolution.
        with_modules: also record each ``Module`` call (``nn.Module: Linear``), nesting its ops.

        acc_events: keep the events of every cycle, as PyTorch's: ``events()``,
            ``key_averages()`` and ``table()`` then add up all cycles so far (the Chrome trace
            still holds the last cycle only, as PyTorch's).

    Use as a context manager, or ``start()``/``stop()``; call ``step()`` at the end of each
    training step when a schedule is given. Then ``events()``, ``key_averages()`` and
    ``export_chrome_trace(path)`` describe the last recording.
    """

    def __init__(self, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, with_modules: bool = False,
                 experimental_config=None, execution_trace_observer=None, acc_events: bool = False,
                 use_cuda=None, custom_trace_id_callback=None):
        self.activities = _activities(activities, use_cuda)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"profile: schedule must be callable (step -> ProfilerAction), got "
                            f"{type(schedule).__name__}")
        if on_trace_ready is not None and not callable(on_trace_ready):
            raise TypeError(f"profile: on_trace_ready must be callable, got "
                            f"{type(on_trace_ready).__name__}")
        self.schedule = schedule or _always_record
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self._options = {"record_shapes": bool(record_shapes),
                         "profile_memory": bool(profile_memory), "with_flops": bool(with_flops),
                         "with_modules": bool(with_modules)}
        self.with_stack = with_stack
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._recorder = None
        self._origin = self._stop_ns = 0
        self._acc_events = bool(acc_events)
        self._events = self._cycle = EventList()  # all the events kept, the last cycle's
        self._step_region = None

    # The recording itself: each start_trace/stop_trace pair is one recording (one cycle).
    def _start_trace(self) -> None:
        rec = _record.Recorder(**self._options)
        _record.install(rec)  # refused while another profile records: this one holds nothing
        self._recorder = rec
        if not (self._acc_events and self._origin):  # kept cycles share the first one's origin
            self._origin = _record._clock()

    def _stop_trace(self) -> None:
        rec = self._recorder
        if rec is None:
            return
        _record.uninstall()
        self._stop_ns = _record._clock()
        kept = list(self._events) if self._acc_events else []
        cycle = link(rec.events, self._origin, self._stop_ns, first_id=len(kept))
        self._cycle = EventList(cycle, profile_memory=rec.profile_memory,
                                with_flops=rec.with_flops)
        self._events = EventList(kept + cycle, profile_memory=rec.profile_memory,
                                 with_flops=rec.with_flops) if kept else self._cycle
        self._recorder = None

    def _trace_ready(self) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def _transit(self, prev, now) -> None:
        A = ProfilerAction  # noqa: N806
        recording = (A.RECORD, A.RECORD_AND_SAVE)
        if prev in recording and now is None:
            self._stop_trace()
            self._trace_ready()
        elif prev == A.RECORD_AND_SAVE:
            self._stop_trace()
            self._trace_ready()
            if now in recording:
                self._start_trace()
        elif prev == A.RECORD and now not in recording:
            warnings.warn(f"Incorrect schedule: RECORD followed by {now.name}", stacklevel=3)
            self._stop_trace()
        elif prev == A.WARMUP and now in (A.NONE, None):  # PyTorch's: an empty recording
            if now is not None:
                warnings.warn("Incorrect schedule: WARMUP followed by NONE", stacklevel=3)
            self._start_trace()
            self._stop_trace()
        elif prev in (A.NONE, A.WARMUP) and now in recording:
            self._start_trace()

    def _enter_step(self) -> None:
        if self.record_steps:
            self._step_region = _record.record_function(f"ProfilerStep#{self.step_num}")
            self._step_region.__enter__()

    def _exit_step(self) -> None:
        region, self._step_region = self._step_region, None
        if region is not None:
            region.__exit__(None, None, None)

    def start(self) -> None:
        """Begin at step 0: record now if the schedule says so."""
        self._transit(ProfilerAction.NONE, self.current_action)
        self._enter_step()

    def stop(self) -> None:
        """End: a recording in progress stops (and goes to ``on_trace_ready``); every entry
        point of the engine is the original again."""
        try:
            self._exit_step()
        finally:
            self._transit(self.current_action, None)
            if self._recorder is not None:  # never leave the engine instrumented
                self._stop_trace()

    def step(self) -> None:
        """The next training step starts: move to the schedule's action for it."""
        self._exit_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if not isinstance(self.current_action, ProfilerAction):
            raise TypeError(f"profile: the schedule must return a ProfilerAction, got "
                            f"{self.current_action!r} for step {self.step_num}")
        self._transit(prev, self.current_action)
        self._enter_step()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def events(self) -> EventList:
        """The events of the last recording, in the order they began."""
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0):
        """The last recording's events added up per name (see ``EventList.key_averages``)."""
        return self._events.key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self):
        return self._events.total_average()

    def table(self, *args, **kwargs) -> str:
        return self._events.table(*args, **kwargs)

    def export_chrome_trace(self, path) -> None:
        """The last recording (cycle) as Chrome trace-event JSON (written atomically)."""
        self._cycle.export_chrome_trace(path)

    @property
    def self_cpu_time_total(self) -> float:
        return self._events.self_cpu_time_total


def _activities(activities, use_cuda) -> set:
    if use_cuda:  # the old API's flag
        activities = [ProfilerActivity.CPU, ProfilerActivity.CUDA]
    if activities is None:
        return supported_activities()
    chosen = set()
    for a in activities:
        if not isinstance(a, ProfilerActivity):
            raise TypeError(f"profile: activities must be ProfilerActivity values, got {a!r}")
        if a == ProfilerActivity.CUDA and not _gpu_in_use():
            warnings.warn("CUDA is not available, disabling CUDA profiling", stacklevel=3)
            continue
        chosen.add(a)
    if not chosen:
        raise ValueError(f"profile: no activities left to profile (got {list(activities)!r}; "
                         "CUDA needs a GPU backend); pass [ProfilerActivity.CPU]")
    return chosen
