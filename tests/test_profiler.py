"""chainrule.profiler: what a profiled training step records, PyTorch's schedule, the table, the
trace, and that the engine is left exactly as it was."""

import json
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import graph
from chainrule.autograd.function import Function
from chainrule.nn.module import Module
from chainrule.optim.optimizer import Optimizer
from chainrule.profiler import (
    ProfilerAction,
    ProfilerActivity,
    profile,
    record_function,
    schedule,
    tensorboard_trace_handler,
)

APPLY, CALL, STEP = (Function.__dict__["apply"], Module.__dict__["__call__"],
                     Optimizer.__dict__["step"])


def _mlp(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(5, 8, rng=rng), nn.ReLU(), nn.Linear(8, 8, rng=rng), nn.ReLU(),
                         nn.Linear(8, 3, rng=rng))


def _step(model, opt, x, y):
    opt.zero_grad()
    loss = cr.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _data(shape, n=4, seed=1):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.standard_normal((n, *shape)).astype(np.float32)), cr.tensor(
        rng.integers(0, 3, n))


def _counts(prof):
    return {e.key: e.count for e in prof.key_averages()}


def _engine_is_original():
    return (Function.__dict__["apply"] is APPLY and Module.__dict__["__call__"] is CALL
            and Optimizer.__dict__["step"] is STEP and graph._node_observer is None
            and not cr.profiler.is_recording())


def test_mlp_step_records_each_op_node_and_step_once_per_call():
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data((5,))
    with profile(record_shapes=True) as prof:
        _step(model, opt, x, y)
    c = _counts(prof)
    assert c["Linear"] == 3 and c["LinearBackward0"] == 3
    assert c["ReLU"] == 2 and c["ReLUBackward0"] == 2
    assert c["CrossEntropy"] == 1 and c["CrossEntropyBackward0"] == 1
    assert c["Optimizer.step#SGD.step"] == 1 and c["Optimizer.zero_grad#SGD.zero_grad"] == 1
    shapes = [e.input_shapes for e in prof.events() if e.name == "Linear"]
    assert shapes == [[[4, 5], [8, 5], [8]], [[4, 8], [8, 8], [8]], [[4, 8], [3, 8], [3]]]
    back = [e.input_shapes for e in prof.events() if e.name == "LinearBackward0"]
    assert back == [[[4, 3]], [[4, 8]], [[4, 8]]]  # the incoming gradients, output layer first
    assert _engine_is_original()


def test_lenet5_step_with_modules_nests_ops_in_their_module_calls():
    model = cr.models.LeNet5(rng=np.random.default_rng(0))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data((1, 28, 28), n=2)
    with profile(with_modules=True, record_shapes=True, with_flops=True) as prof:
        _step(model, opt, x, y)
    c = _counts(prof)
    assert c["ConvNd"] == 3 and c["ConvNdBackward0"] == 3
    assert c["Linear"] == 2 and c["LinearBackward0"] == 2
    assert c["nn.Module: Conv2d"] == 3 and c["nn.Module: Linear"] == 2
    assert c["nn.Module: LeNet5"] == 1 and c["nn.Module: Sequential"] == 2
    convs = [e for e in prof.events() if e.name == "ConvNd"]
    assert all(e.cpu_parent.name == "nn.Module: Conv2d" for e in convs)
    assert [e.input_shapes for e in convs] == [[[2, 1, 28, 28], [6, 1, 5, 5], [6]],
                                               [[2, 6, 14, 14], [16, 6, 5, 5], [16]],
                                               [[2, 16, 5, 5], [120, 16, 5, 5], [120]]]
    # 2 * outputs * (inputs per output): C1 gives (2, 6, 28, 28) from 1*5*5 weights each
    assert convs[0].flops == 2 * (2 * 6 * 28 * 28) * 25
    lin = [e for e in prof.events() if e.name == "Linear"]
    assert lin[0].flops == 2 * 2 * 84 * 120
    module = next(e for e in prof.events() if e.name == "nn.Module: Conv2d")
    assert module.self_cpu_time_total == pytest.approx(
        module.cpu_time_total - sum(ch.cpu_time_total for ch in module.cpu_children))
    assert _engine_is_original()


def test_self_times_add_up_to_the_top_level_events():
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data((5,))
    with profile(with_modules=True) as prof:
        with record_function("raw work"):  # array work that bypasses Function.apply
            np.linalg.inv(np.eye(30) + 1)
            _step(model, opt, x, y)
    events = prof.events()
    top = sum(e.cpu_time_total for e in events if e.cpu_parent is None)
    assert events.self_cpu_time_total == pytest.approx(top, rel=1e-9)
    assert prof.total_average().self_cpu_time_total == pytest.approx(top, rel=1e-9)
    assert all(e.self_cpu_time_total >= 0 for e in events)


def test_profiling_changes_no_number():
    results = []
    for profiled in (False, True):
        model = _mlp(seed=3)
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = _data((5,))
        if profiled:
            with profile(record_shapes=True, profile_memory=True, with_flops=True,
                         with_modules=True):
                losses = [_step(model, opt, x, y).item() for _ in range(2)]
        else:
            losses = [_step(model, opt, x, y).item() for _ in range(2)]
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()],
                        [p.grad.numpy().copy() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1] + results[0][2], results[1][1] + results[1][2]):
        np.testing.assert_array_equal(a, b)


def test_the_engine_is_restored_after_an_exception_inside_the_block():
    model = _mlp()
    with pytest.raises(ZeroDivisionError):
        with profile(with_modules=True):
            model(cr.ones(2, 5)).sum().backward()
            raise ZeroDivisionError("inside the profiled block")
    assert _engine_is_original()
    with profile() as prof:  # and a new profile starts cleanly
        cr.ones(2).sum()
    assert _counts(prof) == {"Sum": 1}


def test_profiles_do_not_nest():
    with profile():
        with pytest.raises(RuntimeError, match="already recording"):
            with profile():
                pass
    assert _engine_is_original()


def test_record_function_nests_as_context_manager_and_decorator():
    @record_function("inner")
    def inner(t):
        return t * 2

    with profile() as prof:
        with record_function("outer"):
            inner(cr.ones(3))
    outer = next(e for e in prof.events() if e.name == "outer")
    assert [c.name for c in outer.cpu_children] == ["inner"]
    assert [c.name for c in outer.cpu_children[0].cpu_children] == ["Mul"]
    assert outer.cpu_time_total >= outer.cpu_children[0].cpu_time_total
    with record_function("idle"):  # outside a profile: nothing to record, no error
        pass
    with pytest.raises(TypeError, match="name must be a str"):
        record_function(3)


def test_memory_is_the_bytes_of_the_returned_arrays():
    layer = nn.Linear(5, 7, rng=np.random.default_rng(0))
    with profile(profile_memory=True) as prof:
        layer(cr.ones(4, 5, requires_grad=True)).sum().backward()
    lin = next(e for e in prof.events() if e.name == "Linear")
    assert lin.self_cpu_memory_usage == 4 * 7 * 4
    node = next(e for e in prof.events() if e.name == "LinearBackward0")
    assert node.self_cpu_memory_usage == (4 * 5 + 7 * 5 + 7) * 4  # d input, d weight, d bias
    assert node.cpu_memory_usage >= node.self_cpu_memory_usage


@pytest.mark.parametrize("args", [dict(wait=1, warmup=1, active=2), dict(
    wait=2, warmup=1, active=3, repeat=2, skip_first=3), dict(wait=0, warmup=2, active=1,
                                                              repeat=1), dict(
    wait=1, warmup=1, active=1, skip_first=2, skip_first_wait=1)])
def test_schedule_matches_torch(args):
    torch = pytest.importorskip("torch")
    ours, theirs = schedule(**args), torch.profiler.schedule(**args)
    assert [ours(i).name for i in range(40)] == [theirs(i).name for i in range(40)]


def test_schedule_refuses_bad_arguments():
    with pytest.raises(ValueError, match="active must be an int >= 1, got 0"):
        schedule(wait=1, warmup=1, active=0)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        schedule(wait=1, warmup=0, active=1)


def test_schedule_cycles_call_on_trace_ready_with_the_active_steps():
    seen = []

    def ready(prof):
        seen.append(sorted(e.trace_name for e in prof.events() if e.name == "ProfilerStep*"))

    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=ready) as prof:
        for _ in range(10):
            cr.ones(2).sum()
            prof.step()
    assert seen == [["ProfilerStep#2", "ProfilerStep#3"], ["ProfilerStep#6", "ProfilerStep#7"]]
    assert prof.step_num == 10 and prof.current_action == ProfilerAction.NONE
    assert _engine_is_original()


def test_stopping_while_recording_hands_over_the_partial_cycle():
    seen = []
    with profile(schedule=schedule(wait=0, warmup=1, active=3),
                 on_trace_ready=lambda p: seen.append(_counts(p).get("Sum", 0))) as prof:
        for _ in range(3):  # steps 0 (warmup), 1 and 2 recorded; the block ends in step 2
            cr.ones(2).sum()
            prof.step()
    assert seen == [2]


def test_chrome_trace_is_valid_json_with_complete_events(tmp_path):
    with profile(record_shapes=True) as prof:
        with record_function("block"):
            cr.ones(2, 3).sum()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    data = json.loads(path.read_text())
    events = data["traceEvents"]
    assert {e["name"] for e in events} == {"block", "Sum"}
    for e in events:
        assert e["ph"] == "X" and e["dur"] >= 0 and e["tid"] == threading.get_native_id()
    block, op = sorted(events, key=lambda e: e["ts"])
    assert block["ts"] <= op["ts"] and op["ts"] + op["dur"] <= block["ts"] + block["dur"]
    assert op["args"]["Input Dims"] == [[2, 3]]
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]  # no temporary file left


def test_tensorboard_trace_handler_writes_one_file_per_cycle(tmp_path):
    with profile(schedule=schedule(wait=0, warmup=1, active=1, repeat=2),
                 on_trace_ready=tensorboard_trace_handler(tmp_path / "log", "w")) as prof:
        for _ in range(5):
            cr.ones(2).sum()
            prof.step()
    files = sorted((tmp_path / "log").iterdir())
    assert len(files) == 2 and all(f.name.startswith("w.") and f.name.endswith(".pt.trace.json")
                                   for f in files)
    assert all(json.loads(f.read_text())["traceEvents"] for f in files)


def test_table_has_pytorchs_columns_and_sort_order():
    model = _mlp()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data((5,))
    with profile(record_shapes=True, profile_memory=True, with_flops=True) as prof:
        _step(model, opt, x, y)
    text = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)
    lines = text.splitlines()
    head = lines[1].split("  ")
    titles = [h.strip() for h in head if h.strip()]
    assert titles == ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total",
                      "CPU time avg", "CPU Mem", "Self CPU Mem", "# of Calls", "Total KFLOPs"] \
        or titles[:9] == ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total",
                          "CPU time avg", "CPU Mem", "Self CPU Mem", "# of Calls"]
    rows = lines[3:-2]
    assert len(rows) == 5
    expected = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    assert [r.split()[0] for r in rows] == [e.key.split()[0] for e in expected[:5]]
    assert lines[-1].startswith("Self CPU time total: ")
    shaped = prof.key_averages(group_by_input_shape=True).table(sort_by="count", row_limit=-1)
    assert "Input Shapes" in shaped.splitlines()[1] and "[[4, 5], [8, 5], [8]]" in shaped
    with pytest.raises(ValueError, match="sort_by must be one of"):
        prof.key_averages().table(sort_by="cuda_time")


def test_key_averages_rows_carry_pytorchs_fields():
    with profile() as prof:
        for _ in range(3):
            cr.ones(2).sum()
    (row,) = [e for e in prof.key_averages() if e.key == "Sum"]
    assert row.count == 3
    assert row.cpu_time == pytest.approx(row.cpu_time_total / 3)
    assert row.self_cpu_time_total <= row.cpu_time_total
    assert row.flops == 0 and row.cpu_memory_usage == 0 and row.input_shapes is None


def test_other_threads_are_recorded_with_their_thread_id():
    ids = []

    def work():
        ids.append(threading.get_native_id())
        cr.ones(2).exp()

    with profile() as prof:
        t = threading.Thread(target=work)
        t.start()
        t.join()
        cr.ones(2).sum()
    by_name = {e.name: e.thread for e in prof.events()}
    assert by_name["Exp"] == ids[0] and by_name["Sum"] == threading.get_native_id()


def test_cuda_without_a_gpu_backend_is_dropped_with_a_warning_as_pytorch():
    if ProfilerActivity.CUDA in cr.profiler.supported_activities():
        pytest.skip("a GPU backend is in use")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        with pytest.raises(ValueError, match="no activities left"):
            profile(activities=[ProfilerActivity.CUDA])
    with pytest.warns(UserWarning, match="CUDA is not available"):
        prof = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    assert prof.activities == {ProfilerActivity.CPU}
    with pytest.warns(UserWarning, match="CUDA is not available"):
        with cr.autograd.profiler.profile(use_cuda=True) as old:
            cr.ones(2).sum()
    assert [e.key for e in old.key_averages()] == ["Sum"]


def test_the_old_autograd_profiler_path():
    import chainrule.autograd.profiler as old

    assert old.record_function is record_function
    with old.profile(enabled=False) as prof:
        cr.ones(2).sum()
        assert _engine_is_original()
    assert len(prof.function_events) == 0
    with old.profile(record_shapes=True) as prof:
        cr.ones(2, 3).sum()
    assert [(e.name, e.input_shapes) for e in prof.function_events] == [("Sum", [[2, 3]])]
    assert "Self CPU time total" in prof.key_averages().table()


def test_a_custom_function_is_a_row_with_its_ops_inside():
    class Twice(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    original = Twice.__dict__["apply"]
    x = cr.ones(3, requires_grad=True)
    with profile() as prof:
        Twice.apply(x).sum().backward()
    events = prof.events()
    (fwd,) = [e for e in events if e.name == "Twice"]
    assert [c.name for c in fwd.cpu_children] == ["Mul"]  # its node's attachment is not a row
    (node,) = [e for e in events if e.name == "TwiceBackward"]  # PyTorch's name for its node
    assert [c.name for c in node.cpu_children] == ["Mul"]
    assert Twice.__dict__["apply"] is original and _engine_is_original()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_a_traced_plan_counts_as_self_time_of_the_region_around_it():
    model = _mlp().eval()
    x = cr.ones(2, 5)
    fast = cr.trace(model, x)
    with profile() as prof:
        with record_function("plan"):
            out = fast(x)
    (region,) = [e for e in prof.events() if e.name == "plan"]
    assert region.cpu_children == []  # the replay calls the ops' forwards, not Function.apply
    assert region.self_cpu_time_total == region.cpu_time_total > 0
    with cr.no_grad():
        np.testing.assert_array_equal(out.numpy(), model(x).numpy())


def test_a_failure_while_swapping_in_leaves_nothing_behind(monkeypatch):
    from chainrule.profiler import _record

    def broken(cls, label):
        raise RuntimeError("cannot wrap")

    monkeypatch.setattr(_record, "_timed_method", broken)
    with pytest.raises(RuntimeError, match="cannot wrap"):
        with profile():
            pass
    assert _engine_is_original() and not _record._swapped


def test_table_refuses_what_it_does_not_do():
    with profile() as prof:
        cr.ones(2).sum()
    with pytest.raises(TypeError):
        prof.key_averages().table(sort_by="count", row_limt=3)  # a typo is not swallowed
    with pytest.raises(ValueError, match="time_unit must be 's', 'ms', 'us' or None, got 'sec'"):
        prof.key_averages().table(time_unit="sec")
    assert "Sum" in prof.key_averages().table(top_level_events_only=True, header="step 1")
