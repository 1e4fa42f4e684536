"""Fuzz wave 19, the profiler against ``torch.profiler`` (CPU): what each cycle of a schedule
hands to ``on_trace_ready`` (the steps as one ``ProfilerStep*`` row, the Chrome trace's
``ProfilerStep#N`` names), ``acc_events``, an exception inside the profiled loop, ``table``'s
``time_unit`` and ``time_range``'s ``Interval``."""

import contextlib
import io
import json
import re
import warnings

import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _rows(prof):
    return sorted(
        (e.key, e.count) for e in prof.key_averages() if e.key.startswith(("ProfilerStep", "blk"))
    )


def _steps_in_trace(prof, tmp_path):
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    return sorted(
        e["name"] for e in events if e.get("ph") == "X" and e["name"].startswith("ProfilerStep")
    )


def _cycles(lib, tmp_path, kwargs, steps, fail_at=None, acc_events=False):
    """What each on_trace_ready sees, then what the profiler holds after the block."""
    P = lib.profiler  # noqa: N806
    seen = []

    def ready(prof):
        seen.append((prof.step_num, _rows(prof), _steps_in_trace(prof, tmp_path)))

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # PyTorch's about warmup=0 and clearing events
        try:
            with P.profile(
                activities=[P.ProfilerActivity.CPU],
                schedule=P.schedule(**kwargs),
                on_trace_ready=ready,
                acc_events=acc_events,
            ) as prof:
                for i in range(steps):
                    with P.record_function(f"blk{i % 2}"):
                        lib.ones(2) + 1
                    if i == fail_at:
                        raise KeyError("stop")
                    prof.step()
        except KeyError:
            seen.append("raised")
    return seen, _rows(prof)


@pytest.mark.parametrize(
    "kwargs, steps, fail_at",
    [
        ({"wait": 1, "warmup": 1, "active": 2, "repeat": 2}, 9, None),
        ({"wait": 0, "warmup": 0, "active": 1}, 3, None),
        ({"wait": 1, "warmup": 0, "active": 3, "skip_first": 1}, 4, None),  # stops mid-cycle
        ({"wait": 0, "warmup": 1, "active": 2}, 5, 2),  # an exception inside a recorded step
    ],
)
def test_schedule_cycles_and_step_rows_follow_torch(tmp_path, kwargs, steps, fail_at):
    """The steps were one row each (``ProfilerStep#3``, count 1) in ``key_averages`` and the
    table; PyTorch's rows add them up as ``ProfilerStep*`` (its Chrome trace keeps the N)."""
    ours = _cycles(cr, tmp_path, kwargs, steps, fail_at)
    assert ours == _cycles(torch, tmp_path, kwargs, steps, fail_at)
    assert ours[1]  # the comparison saw recorded steps


def test_acc_events_keeps_every_cycle_as_torch(tmp_path):
    """``acc_events=True`` was accepted and ignored: each cycle's report held that cycle only;
    PyTorch's adds up every cycle so far (and its Chrome trace holds the last one)."""
    kwargs = {"wait": 1, "warmup": 1, "active": 2, "repeat": 2}
    ours = _cycles(cr, tmp_path, kwargs, 9, acc_events=True)
    assert ours == _cycles(torch, tmp_path, kwargs, 9, acc_events=True)
    assert ours[1] == [("ProfilerStep*", 4), ("blk0", 2), ("blk1", 2)]


def _times(table):
    body = [line for line in table.splitlines()[3:] if line and not line.startswith("-")]
    return [cell for line in body for cell in re.findall(r"\d+\.\d+(?:ms|us|s)\b", line)]


@pytest.mark.parametrize("unit, per_unit", [("s", 1e6), ("ms", 1e3), ("us", 1.0)])
def test_table_time_unit_writes_every_time_in_it_as_torch(unit, per_unit):
    """``table(time_unit=...)`` was a NotImplementedError; PyTorch writes every time in it."""
    shapes = []
    for lib in (cr, torch):
        with contextlib.redirect_stderr(io.StringIO()):
            with lib.profiler.profile() as prof:
                with lib.profiler.record_function("blk"):
                    (lib.ones(3, 4) @ lib.ones(4, 2)).sum()
        averages = prof.key_averages()
        text = averages.table(sort_by="cpu_time_total", row_limit=2, time_unit=unit)
        times = _times(text)
        # per row: Self CPU, CPU total, CPU time avg; then the Self CPU time total line
        assert len(times) == 3 * 2 + 1 and all(t.endswith(unit) for t in times), text
        shapes.append(len(times))
        if lib is cr:
            top = max(averages, key=lambda e: e.cpu_time_total)
            assert times[1] == f"{top.cpu_time_total / per_unit:.3f}{unit}"
    assert shapes[0] == shapes[1]


def test_time_unit_typo_is_refused():
    with cr.profiler.profile() as prof:
        cr.ones(2).sum()
    with pytest.raises(ValueError, match="time_unit must be 's', 'ms', 'us' or None, got 'sec'"):
        prof.key_averages().table(time_unit="sec")
    # PyTorch's recipe sorts by "cuda_time_total": refused, saying why
    with pytest.raises(ValueError, match="got 'cuda_time_total'; chainrule records no device"):
        prof.key_averages().table(sort_by="cuda_time_total")


def test_time_range_is_an_interval_as_torchs():
    """``time_range`` was a bare tuple: PyTorch's ``.start``, ``.end`` and ``.elapsed_us()``
    were AttributeErrors."""
    with cr.profiler.profile() as prof:
        with cr.profiler.record_function("outer"):
            cr.ones(2).sum()
    outer, inner = prof.events()[:2]
    start, end = outer.time_range  # still a pair
    assert (start, end) == (outer.time_range.start, outer.time_range.end)
    assert outer.time_range.elapsed_us() == pytest.approx(outer.cpu_time_total, abs=1e-9)
    assert start <= inner.time_range.start <= inner.time_range.end <= end


def test_chrome_trace_tids_are_os_thread_ids_as_torchs(tmp_path):
    """The trace's ``tid`` was ``threading.get_ident()`` (a pointer, about 1.4e14 on Linux):
    Perfetto reads a tid as a 32-bit number and put every thread on the process's one track,
    overlapping their events. PyTorch's is the OS thread id, as now."""
    import threading

    ids = []

    def work():
        ids.append(threading.get_native_id())
        cr.ones(2).exp()

    with cr.profiler.profile() as prof:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        cr.ones(2).sum()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    tids = {e["name"]: e["tid"] for e in json.loads(path.read_text())["traceEvents"]}
    assert tids["Exp"] == ids[0] and tids["Sum"] == threading.get_native_id()
    assert all(0 <= t < 2**32 for t in tids.values())


def _gz_traces(lib, tmp_path):
    """What a ``.gz`` export and ``tensorboard_trace_handler(use_gzip=True)`` write."""
    import gzip

    P = lib.profiler  # noqa: N806
    folder = tmp_path / lib.__name__
    handler = P.tensorboard_trace_handler(str(folder), worker_name="w", use_gzip=True)
    with contextlib.redirect_stderr(io.StringIO()):
        for ready in (handler, None):  # PyTorch exports a recording once
            with P.profile(on_trace_ready=ready) as prof:
                with P.record_function("blk"):
                    lib.ones(2) + 1
    prof.export_chrome_trace(str(tmp_path / f"{lib.__name__}.json.gz"))
    files = [tmp_path / f"{lib.__name__}.json.gz", *sorted(folder.iterdir())]
    names = [re.sub(r"\d+", "N", f.name.removeprefix(lib.__name__)) for f in files]
    blocks = []
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as text:  # a gzip file of JSON
            events = json.load(text)["traceEvents"]
        blocks.append([e["ph"] for e in events if e["name"] == "blk"])
    return names, blocks


def test_gzipped_chrome_traces_as_torchs(tmp_path):
    """``export_chrome_trace("t.json.gz")`` wrote plain JSON under a ``.gz`` name (which
    TensorBoard and Perfetto then fail to unpack), and ``tensorboard_trace_handler(use_gzip=True)``
    was a NotImplementedError; PyTorch gzips both."""
    ours = _gz_traces(cr, tmp_path)
    assert ours == _gz_traces(torch, tmp_path)
    assert ours == ([".json.gz", "w.N.pt.trace.json.gz"], [["X"], ["X"]])


def test_a_refused_second_profile_leaves_the_recording_one_alone():
    """A second profile's ``start()`` is refused while one records (PyTorch warns instead); the
    refused profile still kept the recorder it had made, so its ``stop()`` (a ``finally``)
    stopped the other profile's recording: the outer profile silently lost its later events."""
    outer = cr.profiler.profile()
    outer.start()
    try:
        inner = cr.profiler.profile()
        with pytest.raises(RuntimeError, match="a profile is already recording"):
            inner.start()
        inner.stop()
        assert cr.profiler.is_recording()
        cr.ones(2).exp()
    finally:
        outer.stop()
    assert [e.key for e in outer.key_averages()] == ["Exp"] and not inner.events()
    assert not cr.profiler.is_recording()
