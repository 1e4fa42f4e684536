"""What a profile gives back, in PyTorch's shapes: ``FunctionEvent`` (one call),
``FunctionEventAvg`` (the calls of one name added up), ``EventList`` (with ``key_averages``,
``table``, ``total_average`` and ``export_chrome_trace``).

Times are microseconds (floats), as PyTorch's; memory is bytes; flops a count.
"""

from __future__ import annotations

import gzip
import json
import os
from typing import NamedTuple

from ..backend.files import atomic_file
from ._table import build_table

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "Interval"]


class Interval(NamedTuple):
    """An event's ``time_range``, as PyTorch's ``Interval``: ``start`` and ``end`` in microseconds
    from the start of the recording, ``elapsed_us()`` their difference (also a pair)."""

    start: float
    end: float

    def elapsed_us(self) -> float:
        return self.end - self.start


def _key(name: str) -> str:
    """PyTorch's row name: every ``ProfilerStep#N`` is ``ProfilerStep*``, so that the steps add up
    to one row of ``key_averages`` (the Chrome trace keeps ``ProfilerStep#N``)."""
    return "ProfilerStep*" if name.startswith("ProfilerStep#") else name


class FunctionEvent:
    """One recorded call (``prof.events()``): its name, thread, times, shapes, memory and flops.

    Attributes:
        name, key: the event's name (``Linear``, ``LinearBackward0``, ``nn.Module: Linear``,
            ``Optimizer.step#SGD.step`` or a ``record_function`` name); a step's
            ``ProfilerStep#N`` is ``ProfilerStep*`` here, as in PyTorch.
        trace_name: the name in the Chrome trace (``ProfilerStep#N`` for a step).
        id, thread: its index in the profile and the OS id of the thread that ran it
            (``threading.get_native_id()``, the Chrome trace's ``tid``).
        time_range: an ``Interval`` (``start``, ``end``, ``elapsed_us()``) in microseconds from
            the start of the recording.
        cpu_time_total, self_cpu_time_total: its whole time and the time not spent in the events
            nested in it (``cpu_children``), in microseconds.
        input_shapes: one list per input (``[]`` for a number) when ``record_shapes``.
        cpu_memory_usage, self_cpu_memory_usage: bytes of the arrays it and its children
            returned, and it alone, when ``profile_memory``.
        flops: floating-point operations (the 2*M*N*K rule) of a matmul, linear or convolution
            when ``with_flops``; 0 otherwise.
    """

    count = 1

    def __init__(self, raw, id_: int, origin: int, stop: int):
        self.name = self.key = _key(raw.name)
        self.trace_name = raw.name
        self.id, self.thread, self.kind = id_, raw.tid, raw.kind
        end = raw.end or stop  # still open in another thread when the recording stopped
        self.time_range = Interval((raw.start - origin) / 1000.0, (end - origin) / 1000.0)
        self._ns = end - raw.start
        self.input_shapes = raw.input_shapes
        self.self_cpu_memory_usage = raw.self_memory
        self.cpu_memory_usage = raw.self_memory
        self.flops = raw.flops
        self.cpu_parent = None
        self.cpu_children: list[FunctionEvent] = []
        self._self_ns = self._ns

    @property
    def cpu_time_total(self) -> float:
        return self._ns / 1000.0

    @property
    def self_cpu_time_total(self) -> float:
        return self._self_ns / 1000.0

    cpu_time = cpu_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name!r} thread={self.thread} "
                f"cpu_time_total={self.cpu_time_total:.3f} "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}>")


def link(raws, origin: int, stop: int, first_id: int = 0) -> list[FunctionEvent]:
    """The recorder's events as FunctionEvents (ids from ``first_id``), with parents, children,
    self times and the children's memory added into each parent's (children close before their
    parent)."""
    index = {id(r): i for i, r in enumerate(raws)}
    out = [FunctionEvent(r, first_id + i, origin, stop) for i, r in enumerate(raws)]
    for r, ev in zip(raws, out):
        if r.parent is not None and id(r.parent) in index:
            parent = out[index[id(r.parent)]]
            ev.cpu_parent = parent
            parent.cpu_children.append(ev)
    for ev in reversed(out):  # a child comes after its parent: children are complete first
        for c in ev.cpu_children:
            ev._self_ns -= c._ns
            ev.cpu_memory_usage += c.cpu_memory_usage
    return out


class FunctionEventAvg:
    """The calls of one name (and input shapes, if grouped by them) added up: ``key``, ``count``,
    ``cpu_time_total``, ``self_cpu_time_total``, ``cpu_time`` (the average per call),
    ``input_shapes``, ``cpu_memory_usage``, ``self_cpu_memory_usage`` and ``flops``."""

    def __init__(self, key: str, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = self.flops = 0

    def add(self, ev) -> FunctionEventAvg:
        self.count += ev.count
        self.cpu_time_total += ev.cpu_time_total
        self.self_cpu_time_total += ev.self_cpu_time_total
        self.cpu_memory_usage += ev.cpu_memory_usage
        self.self_cpu_memory_usage += ev.self_cpu_memory_usage
        self.flops += ev.flops
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key!r} count={self.count} "
                f"cpu_time_total={self.cpu_time_total:.3f} "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}>")


class EventList(list):
    """A list of ``FunctionEvent`` or ``FunctionEventAvg`` with PyTorch's summaries."""

    def __init__(self, events=(), *, profile_memory: bool = False, with_flops: bool = False):
        super().__init__(events)
        self._profile_memory, self._with_flops = profile_memory, with_flops

    def _like(self, events) -> EventList:
        return EventList(events, profile_memory=self._profile_memory, with_flops=self._with_flops)

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of every event's self time: the time of the top-level events, in microseconds."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False,
                     group_by_stack_n: int = 0) -> EventList:
        """One ``FunctionEventAvg`` per name (and per input shapes with
        ``group_by_input_shape``), in the order the names first ran."""
        if group_by_stack_n:
            raise NotImplementedError("key_averages: group_by_stack_n is not supported (no "
                                      "stacks are recorded); leave it 0")
        groups: dict = {}
        for ev in self:
            shapes = str(ev.input_shapes) if group_by_input_shape else None
            avg = groups.get((ev.key, shapes))
            if avg is None:
                avg = groups[(ev.key, shapes)] = FunctionEventAvg(
                    ev.key, ev.input_shapes if group_by_input_shape else None)
            avg.add(ev)
        return self._like(groups.values())

    def total_average(self) -> FunctionEventAvg:
        """Every event added up, under the key ``Total``."""
        total = FunctionEventAvg("Total")
        for ev in self:
            total.add(ev)
        return total

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        """The events as PyTorch's text table (see ``_table.build_table``); no source column
        is shown (no stacks are recorded). Each time is in ``time_unit`` ("s", "ms" or "us"),
        or with None in the unit that suits it."""
        rows = [e for e in self if not top_level_events_only
                or getattr(e, "cpu_parent", None) is None]
        return build_table(rows, sort_by=sort_by, row_limit=row_limit, header=header,
                           name_width=max_name_column_width, shapes_width=max_shapes_column_width,
                           memory=self._profile_memory, flops=self._with_flops,
                           total=self.self_cpu_time_total, time_unit=time_unit)

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path) -> None:
        """Write the events as Chrome trace-event JSON (``chrome://tracing``, Perfetto): one
        complete ("X") event per call, ``tid`` the thread; atomically (a temporary file renamed);
        gzipped when ``path`` ends in ``.gz``, as PyTorch's."""
        pid = os.getpid()
        trace = []
        for ev in self:
            start, end = ev.time_range
            args = {}
            if ev.input_shapes:
                args["Input Dims"] = ev.input_shapes
            if ev.self_cpu_memory_usage:
                args["Bytes"] = ev.self_cpu_memory_usage
            if ev.flops:
                args["flops"] = ev.flops
            trace.append({"name": ev.trace_name, "ph": "X", "cat": ev.kind, "ts": start,
                          "dur": end - start, "pid": pid, "tid": ev.thread, "args": args})
        write_json_atomically(path, {"traceEvents": trace, "displayTimeUnit": "ms"})


def write_json_atomically(path, obj) -> None:
    """``obj`` as JSON at ``path`` (gzipped if it ends in ``.gz``), by way of a temporary file in
    the same folder and a rename: a reader never sees half a file, and a failure leaves no
    partial one."""
    path = os.fspath(path)
    with atomic_file(path) as raw:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb") as packed:
                packed.write(json.dumps(obj).encode("utf-8"))
        else:
            raw.write(json.dumps(obj).encode("utf-8"))
