"""The benchmark suite stays runnable and its NumPy reference stays correct.

Each workload's chainrule step and hand-written NumPy step run at a tiny batch, in-process, from the
same init and batch: the losses, every gradient and the loss after one update must agree, so the
reference that the timings are compared with computes the same step as chainrule.
"""

import contextlib
import functools
import importlib
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
RTOL = 1e-4  # float32 with different summation orders: observed differences are ~1e-7
TRAINING = ["mlp", "lenet5", "conv_ae", "gan"]
INFERENCE = ["lenet5_infer_b1", "lenet5_infer_b1000"]


def _one_blas_thread():
    """Tiny matrices gain nothing from BLAS threads, which only spin on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@pytest.fixture(scope="module")
def bench():
    """The benchmarks' modules (they are scripts, not a package), imported from their folder."""
    sys.path.insert(0, str(BENCH))
    try:
        with _one_blas_thread():
            yield importlib.import_module("workloads"), importlib.import_module("run")
    finally:
        sys.path[:] = [p for p in sys.path if p != str(BENCH)]
        for name in ("workloads", "chainrule_steps", "torch_steps", "jax_steps", "tinygrad_steps",
                     "numpy_reference", "numpy_kernels", "run"):
            sys.modules.pop(name, None)


def _compare_step(W, name, batch):
    ours = W.make_runner("chainrule", name, batch=batch, seed=3)
    ref = W.make_runner("numpy", name, batch=batch, seed=3)
    first = ours.outputs(ours.step()), ref.outputs(ref.step())
    for a, b in zip(*first):
        assert W.relative_error(b, a) <= RTOL, (name, a, b)
    if not W.WORKLOADS[name].train:
        assert first[0][0].shape == (batch, 10)
        return
    grads, ref_grads = ours.grads(), ref.grads()
    assert set(grads) == set(ref_grads) == set(W.WORKLOADS[name].params)
    for key, g in grads.items():
        assert ref_grads[key].shape == g.shape, key
        assert np.abs(g).max() > 0, key  # a zero gradient would make the comparison vacuous
        assert W.relative_error(ref_grads[key], g) <= RTOL, key
    # the update: the loss after one optimizer step agrees too
    for a, b in zip(ours.outputs(ours.step()), ref.outputs(ref.step())):
        assert W.relative_error(b, a) <= RTOL, (name, a, b)


@pytest.mark.parametrize("name", TRAINING)
def test_reference_step_matches_chainrule(bench, name):
    _compare_step(bench[0], name, batch=3)


@pytest.mark.parametrize("name, batch", [("lenet5_infer_b1", 1), ("lenet5_infer_b1000", 5)])
def test_reference_inference_matches_chainrule(bench, name, batch):
    _compare_step(bench[0], name, batch)


@pytest.mark.slow
def test_charcnn_reference_matches_chainrule(bench):
    _compare_step(bench[0], "charcnn", batch=2)


def test_training_steps_lower_the_loss(bench):
    W = bench[0]
    for name in ("mlp", "conv_ae"):
        runner = W.make_runner("chainrule", name, batch=8)
        losses = [float(runner.outputs(runner.step())[0]) for _ in range(5)]
        assert losses[-1] < losses[0], (name, losses)


def test_init_params_follow_pytorch_default_bounds(bench):
    W = bench[0]
    params = W.init_params(W.WORKLOADS["conv_ae"].params, seed=0)
    assert all(v.dtype == np.float32 for v in params.values())
    # Conv2d(1, 16, 3): fan_in 9; ConvTranspose2d(32, 16, 3): fan_in = 16 * 9 (PyTorch's rule)
    assert np.abs(params["0.weight"]).max() <= 1 / 3
    assert 1 / 12 * 0.9 < np.abs(params["4.weight"]).max() <= 1 / 12
    again = W.init_params(W.WORKLOADS["conv_ae"].params, seed=0)
    assert all(np.array_equal(params[k], again[k]) for k in params)


def test_make_runner_rejects_unknown_names(bench):
    W = bench[0]
    with pytest.raises(ValueError, match="framework must be one of"):
        W.make_runner("mxnet", "mlp")
    with pytest.raises(ValueError, match="unknown workload 'resnet'"):
        W.make_runner("numpy", "resnet")


@pytest.mark.torch
def test_torch_steps_match_chainrule(bench):
    torch = pytest.importorskip("torch")
    W = bench[0]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, batch in [(n, 3) for n in TRAINING] + [("lenet5_infer_b1", 1)]:
            outs = W.check_outputs(name, ["chainrule", "torch"], batch=batch, seed=5)
            assert W.max_relative_error(outs["chainrule"], outs["torch"]) <= RTOL, name
    finally:
        torch.set_num_threads(threads)


def _other_framework_matches_chainrule(W, framework):
    for name, batch in [(n, 3) for n in TRAINING] + [("lenet5_infer_b1", 1)]:
        outs = W.check_outputs(name, ["chainrule", framework], batch=batch, seed=5)
        assert W.max_relative_error(outs["chainrule"], outs[framework]) <= RTOL, name


def test_jax_steps_match_chainrule(bench, monkeypatch):
    monkeypatch.setenv("PJRT_NPROC", "1")  # XLA's CPU threads, read when JAX starts its client
    pytest.importorskip("jax")
    _other_framework_matches_chainrule(bench[0], "jax")


@pytest.mark.slow
def test_tinygrad_steps_match_chainrule(bench, monkeypatch):
    # read when tinygrad is imported: one part per kernel, compile in this process
    monkeypatch.setenv("NUM_CPU_THREADS", "1")
    monkeypatch.setenv("PARALLEL", "0")
    pytest.importorskip("tinygrad")
    if shutil.which("clang") is None:
        pytest.skip("tinygrad's CPU backend needs clang (apt-get install clang)")
    _other_framework_matches_chainrule(bench[0], "tinygrad")


@pytest.mark.slow
def test_runner_end_to_end_without_torch(bench, tmp_path, capsys, monkeypatch):
    run = bench[1]
    # as if none of the optional frameworks were installed
    monkeypatch.setattr(run, "_installed", lambda fw: fw in ("chainrule", "numpy"))
    out = tmp_path / "results.md"
    rows = run.main(["--workloads", "mlp", "--repeats", "1", "--warmup", "0", "--steps", "2",
                     "--batch", "4", "--threads", "1", "--out", str(out)])
    assert [row["workload"] for row in rows] == ["mlp"]
    row = rows[0]
    assert row["check"] == "ok" and not row["errors"]
    assert set(row["ms"]) == {"chainrule", "numpy"}
    assert row["ms"]["chainrule"] > 0 and row["ms"]["numpy"] > 0
    assert row["rss"]["chainrule"] >= row["import_rss"]["chainrule"] > 10
    text = out.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("| mlp: MLP 784-256-256-10"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1:3] == ["4", "2"] and cells[4] == "n/a" and cells[8] == "n/a"  # torch column
    assert cells[6:8] == ["n/a", "n/a"] and cells[10] == "n/a"  # jax and tinygrad columns
    assert cells[-1] == "ok"
    assert "torch not installed" in text and "JAX not installed" in text
    assert "tinygrad not installed" in text and "--repeats 1" in text and "threads: 1" in text
    printed = capsys.readouterr().out
    assert "torch is not installed" in printed and "check mlp:" in printed
    assert row["gflop"] == pytest.approx(bench[0].gemm_flops("mlp", 4) / 1e9)
    ratio = row["ratio"]["numpy"]
    assert row["ratio_range"]["numpy"] == (ratio, ratio)  # one round: its ratio is the range
    spread = text[text.index("The ratios' spread"):].splitlines()
    spread = next(ln for ln in spread if ln.startswith("| mlp | "))
    assert [c.strip() for c in spread.strip("|").split("|")][1:] == [
        "n/a", f"{ratio:.2f}-{ratio:.2f}", "n/a"]
    share = text[text.index("Arithmetic:"):].splitlines()
    share = next(ln for ln in share if ln.startswith("| mlp | "))
    assert share.split("|")[3].strip().endswith("%")  # chainrule's share of the sgemm peak


def test_gemm_flops_count_forward_and_backward_products(bench):
    W = bench[0]
    layers = [2 * 784 * 256, 2 * 256 * 256, 2 * 256 * 10]  # one sample, forward
    # forward + filter gradients + input gradients of every layer but the first
    assert W.gemm_flops("mlp", 3) == 3 * (3 * sum(layers) - layers[0])
    lenet_forward = 2 * (6 * 25 * 784 + 16 * 150 * 100 + 120 * 400 + 84 * 120 + 10 * 84)
    assert W.gemm_flops("lenet5_infer_b1000", 1000) == 1000 * lenet_forward
    assert W.gemm_flops("gan", 1) > 0 and W.gemm_flops("charcnn", 32) > 6e10


def test_runner_rejects_bad_arguments(bench, capsys):
    run = bench[1]
    for argv in (["--workloads", "resnet"], ["--frameworks", "mxnet"], ["--repeats", "0"],
                 ["--warmup", "-1"]):
        with pytest.raises(SystemExit):
            run.parse_args(argv)
    assert "resnet" in capsys.readouterr().err
    assert run.parse_args(["--workloads", "all"]).workloads == list(bench[0].WORKLOADS)


@pytest.mark.torch
def test_gpu_benchmark_dry_run_on_the_cpu(tmp_path, monkeypatch):
    """benchmarks/gpu.py builds the same models in both frameworks (their first losses must agree)
    and writes its table; --device cpu runs it without a GPU."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(BENCH))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny products: more threads only wait for each other
    try:
        gpu = importlib.import_module("gpu")
        # one untimed step before the timed one, not the default 20: the table's figures are
        # not checked, and the first losses are compared before any of them
        monkeypatch.setattr(gpu, "_time", functools.partial(gpu._time, warmup=1))
        with _one_blas_thread():
            gpu.main(["--device", "cpu", "--batches", "4", "--steps", "1", "--repeats", "1",
                      "--out", str(tmp_path / "GPU.md")])
    finally:
        torch.set_num_threads(threads)
        sys.path[:] = [p for p in sys.path if p != str(BENCH)]
        sys.modules.pop("gpu", None)
    table = (tmp_path / "GPU.md").read_text()
    for name in ("mlp", "lenet", "conv_ae"):
        assert f"| {name} | 4 |" in table
    assert "CPU (dry run)" in table


def test_tuned_columns_and_allocator_lookup(bench, tmp_path, monkeypatch):
    run = bench[1]
    args = run.parse_args(["--tuned", "torch,chainrule", "--allocator", "jemalloc", "--steady"])
    assert args.tuned == ["torch", "chainrule"] and args.steady and args.max_warmup == 60.0
    assert run._column("torch+jemalloc") == ("torch", "jemalloc")
    assert run._column("numpy") == ("numpy", None)
    args.columns = ["chainrule", "torch", "torch+jemalloc", "chainrule+jemalloc"]
    assert run._table_columns(args) == [*bench[0].FRAMEWORKS, "torch+jemalloc",
                                        "chainrule+jemalloc"]
    assert run._ratio_columns(args) == ["torch", "numpy", "jax", "torch+jemalloc",
                                        "chainrule+jemalloc"]
    (tmp_path / "libjemalloc.so.2").write_bytes(b"")
    monkeypatch.setattr(run, "_LIBRARY_DIRS", (str(tmp_path / "none"), str(tmp_path)))
    assert run.allocator_library("jemalloc") == str(tmp_path / "libjemalloc.so.2")
    with pytest.raises(SystemExit, match="apt-get install libtcmalloc-minimal4"):
        run.allocator_library("tcmalloc")
    with pytest.raises(SystemExit):
        run.parse_args(["--tuned", "mxnet"])


def test_steady_warm_up_stops_when_two_blocks_agree(bench, monkeypatch):
    run = bench[1]
    clock = [0.0]
    durations = [4.0] * 5 + [2.0] * 5 + [1.0] * 100  # blocks of 5: 4, 2, then steady at 1

    class FakeTime:
        @staticmethod
        def perf_counter():
            return clock[0]

    class Runner:
        steps = 0

        def step(self):
            clock[0] += durations[self.steps]
            self.steps += 1

    monkeypatch.setattr(run, "time", FakeTime)
    runner = Runner()
    assert run._warm_until_steady(runner, steps=20, max_seconds=1e9) == 20 == runner.steps
    runner, clock[0] = Runner(), 0.0
    assert run._warm_until_steady(runner, steps=20, max_seconds=25.0) == 10  # out of time


def test_epoch_cost_plumbing(tmp_path, load_script):
    """The epoch-cost sweep runs at tiny sizes, fits slopes and writes its table and figure."""
    ec = load_script("benchmarks/epoch_cost.py")
    assert ec.weights(256) == 784 * 256 + 256 + 256 * 256 + 256 + 2570
    assert ec.slope([1, 2, 4], [3.0, 6.0, 12.0]) == pytest.approx(1.0)
    assert ec.slope([1, 10, 100], [5.0, 5.0, 5.0]) == pytest.approx(0.0, abs=1e-12)
    out, png = tmp_path / "cost.md", tmp_path / "cost.png"
    result = ec.main(["--quick", "--repeats", "1", "--out", str(out), "--figure", str(png)])
    assert len(result["examples"]) == 3 and len(result["widths"]) == 3
    assert all(s > 0 for _, _, s in result["examples"] + result["widths"])
    assert "Fitted slopes" in out.read_text() and png.stat().st_size > 1000


@pytest.mark.slow
def test_apps_benchmark_checks_both_loops_agree(tmp_path, load_script, monkeypatch):
    """PGD-40 and integrated gradients in chainrule and in plain PyTorch give the same results
    on the same weights (the check that runs before any timing)."""
    torch = pytest.importorskip("torch")
    import chainrule as cr

    apps = load_script("benchmarks/apps.py")
    spawn, spawned = apps._spawn, []

    def spawn_once(framework, task, args, n):
        """One worker, the cheapest, runs as its own process (_spawn's command line and result
        line); the others run in this process, without their imports. chainrule's with the BLAS
        threads its process would have: they change the last bits of the convolutions, and a
        max-pool window whose two largest inputs are that close routes the gradient elsewhere
        (with one thread, the IG check differs by 5e-3). PyTorch's with one thread, whose
        results are bit-identical to two threads' here, without two threads' busy waiting."""
        spawned.append((framework, task, n))
        if (framework, task, n) == ("chainrule", "ig50", 4):
            return spawn(framework, task, args, n)
        threads = args.threads if framework == "chainrule" else 1
        argv = ["--worker", framework, "--task", task, "--n", str(n), "--threads", str(threads)]
        printed, setting = io.StringIO(), cr.config.threads
        counts = cr.get_num_threads(), torch.get_num_threads()
        try:
            cr.set_num_threads(threads)
            with contextlib.redirect_stdout(printed):
                apps.main(argv)
        finally:
            cr.set_num_threads(counts[0])
            cr.config.threads = setting
            torch.set_num_threads(counts[1])
        line = printed.getvalue().splitlines()[-1]
        assert line.startswith(apps.MARKER)
        return json.loads(line[len(apps.MARKER):])

    monkeypatch.setattr(apps, "_spawn", spawn_once)
    out = tmp_path / "apps.md"
    rows = apps.main(["--n", "4", "--repeats", "1", "--out", str(out)])
    assert spawned == [(fw, task, n) for task in ("pgd40", "ig50") for n in (16, 4)
                       for fw in ("chainrule", "torch")]
    assert [r["task"] for r in rows] == ["pgd40", "ig50"]
    assert all(r["check"] == "ok" and r["chainrule_s"] > 0 and r["torch_s"] > 0 for r in rows)
    assert "| pgd40 | 4 |" in out.read_text()


def test_interleaved_switches_each_route_and_restores_them(bench, load_script, capsys):
    """benchmarks/interleaved.py times every mode and leaves the library's routes as they were."""
    pytest.importorskip("numba")
    import chainrule as cr
    from chainrule.backend import jit
    from chainrule.kernels import K

    before = (jit.im2col, jit.col2im_crop, K.channel_sums, cr.F.mse_loss)
    il = load_script("benchmarks/interleaved.py")
    il.main(["conv_ae", "--blocks", "1", "--steps", "1", "--threads", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == list(il.MODES)
    assert (jit.im2col, jit.col2im_crop, K.channel_sums, cr.F.mse_loss) == before
    with pytest.raises(SystemExit):
        il.main(["conv_ae", "--modes", "all,fast"])


def test_gemm_shapes_times_each_product(load_script, capsys):
    """benchmarks/gemm_shapes.py prints a row per product shape and the sums per framework."""
    gs = load_script("benchmarks/gemm_shapes.py")
    totals = gs.main(["--frameworks", "numpy", "--repeats", "1", "--shapes", "2", "--threads", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("| D 784->512 forward (128, 784, 512) |")
    assert len(lines) == 5 and lines[-1].startswith("| sum |") and totals["numpy"] > 0
