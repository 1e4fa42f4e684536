"""Fuzz wave 16, mixed precision: ``GradScaler`` and ``autocast`` against PyTorch's CPU build.

Seeded training loops with one or two optimizers, random scaler settings, gradients made inf or
NaN on chosen steps and ``unscale_`` + clipping on others (scale trajectory, skipped steps, state
dict and float64 weights compared exactly); the dtype of ``scale()``'s product for each loss
dtype and shape; the lazily made scale (``get_scale`` before the first ``scale()``, misuse
before it); ``unscale_`` in place; and autocast's state: which blocks PyTorch runs disabled
(and warns about), ``get_autocast_dtype`` through nested blocks and decorators, and the older
``cpu.amp``/``cuda.amp`` spellings. An autocast PyTorch runs enabled raises here (chainrule has no
per-op casting, and no bfloat16): that is checked, not compared.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
NO_CUDA = pytest.mark.skipif(cr.cuda.is_available(), reason="a machine without CUDA")

OPTIMIZERS = [("SGD", {"lr": 0.05, "momentum": 0.9}), ("Adam", {"lr": 0.01}),
              ("AdamW", {"lr": 0.01, "weight_decay": 0.1}), ("RMSprop", {"lr": 0.01}),
              ("Adagrad", {"lr": 0.1}), ("SGD", {"lr": 0.1, "nesterov": True, "momentum": 0.5})]


def _plan(seed):
    rng = np.random.default_rng(seed)
    n_opt = int(rng.integers(1, 3))
    opts = [OPTIMIZERS[i] for i in rng.choice(len(OPTIMIZERS), n_opt, replace=False)]
    kwargs = {"init_scale": float(2.0 ** rng.integers(-2, 20)),
              "growth_factor": float(rng.choice([2.0, 1.5, 4.0, 1.1])),
              "backoff_factor": float(rng.choice([0.5, 0.25, 0.9])),
              "growth_interval": int(rng.integers(1, 4))}
    steps = []
    for _ in range(10):
        bad = [rng.choice([None, None, np.inf, np.nan, -np.inf]) for _ in range(n_opt)]
        steps.append((bad, [bool(rng.random() < 0.4) for _ in range(n_opt)],
                      rng.standard_normal((4, 3))))
    weights = [rng.standard_normal((2, 3)) for _ in range(n_opt)]
    return opts, kwargs, steps, weights


def _train(lib, seed):
    opts, kwargs, steps, weights = _plan(seed)
    ws = [lib.tensor(w.copy(), requires_grad=True) for w in weights]
    optimizers = [getattr(lib.optim, name)([w], **kw) for w, (name, kw) in zip(ws, opts)]
    scaler = lib.amp.GradScaler("cpu", **kwargs)
    trace = [(scaler.get_scale(), scaler.state_dict())]
    for bad, clip, x in steps:
        for o in optimizers:
            o.zero_grad()
        loss = 0
        for w, b in zip(ws, bad):
            factor = lib.tensor(1.0 if b is None else float(b), dtype=lib.float64)
            loss = loss + ((lib.tensor(x) @ w.T).tanh() ** 2).mean() * factor
        scaler.scale(loss).backward()
        ran = []
        for o, w, c in zip(optimizers, ws, clip):
            if c:
                scaler.unscale_(o)
                lib.nn.utils.clip_grad_norm_([w], 0.5)
            ran.append(scaler.step(o))
        scaler.update()
        trace.append((scaler.get_scale(), scaler.state_dict(), ran,
                      [np.array(w.detach().numpy()) for w in ws]))
    return trace


@pytest.mark.parametrize("seed", range(12))
def test_scaled_training_follows_torch_step_by_step(seed):
    with np.errstate(invalid="ignore", over="ignore"):
        ours, theirs = _train(cr, seed), _train(torch, seed)
    assert ours[0] == theirs[0]
    for k, (a, b) in enumerate(zip(ours[1:], theirs[1:], strict=True)):
        assert a[:3] == b[:3], f"seed {seed} step {k}"
        for wa, wb in zip(a[3], b[3]):
            np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14, err_msg=f"step {k}")


def _train_half_forward(lib, seed):
    """float32 parameters, a float16 forward (what autocast would do by hand), Adam: the float16
    backward overflows at large scales and inputs, so steps are skipped and the scale moves."""
    rng = np.random.default_rng(seed)
    w1 = lib.tensor(rng.standard_normal((8, 4)).astype(np.float32) * 0.5, requires_grad=True)
    w2 = lib.tensor(rng.standard_normal((1, 8)).astype(np.float32) * 0.5, requires_grad=True)
    opt = lib.optim.Adam([w1, w2], lr=0.01)
    scaler = lib.amp.GradScaler("cpu", init_scale=float(2.0 ** rng.integers(8, 24)),
                                growth_interval=2)
    trace = []
    for _ in range(10):
        x = rng.standard_normal((16, 4)).astype(np.float32) * float(rng.choice([1, 10, 100]))
        y = lib.tensor(rng.standard_normal((16, 1)).astype(np.float32))
        opt.zero_grad()
        pred = (lib.tensor(x).half() @ w1.half().T).relu() @ w2.half().T
        loss = ((pred.float() - y) ** 2).mean()
        with np.errstate(over="ignore", invalid="ignore"):
            scaler.scale(loss).backward()
            scaler.step(opt)
        scaler.update()
        trace.append((scaler.get_scale(), str(w1.grad.dtype).removeprefix("torch."),
                      np.array(w1.detach().numpy()), np.array(w2.detach().numpy())))
    return trace


@pytest.mark.parametrize("seed", range(6))
def test_half_forward_training_skips_the_steps_torch_skips(seed):
    ours, theirs = _train_half_forward(cr, seed), _train_half_forward(torch, seed)
    assert [t[:2] for t in ours] == [t[:2] for t in theirs]
    for a, b in zip(ours, theirs):  # float32 Adam: the libraries round a few ulps apart
        np.testing.assert_allclose(a[2], b[2], rtol=0, atol=1e-6)
        np.testing.assert_allclose(a[3], b[3], rtol=0, atol=1e-6)


def _scale_product_dtype_and_value_follow_torch_case(dtype, shape, init_scale):
    """A 0-dim float16 loss times the float32 scale is float32 in PyTorch (0-dim operands of one
    category promote to the wider); chainrule gave float16, so 3 * 2**16 read as inf."""
    out = []
    for lib in (cr, torch):
        x = lib.full(shape, 3, dtype=getattr(lib, dtype))
        with np.errstate(over="ignore"):
            y = lib.amp.GradScaler("cpu", init_scale=init_scale).scale(x)
        out.append((str(y.dtype).removeprefix("torch."), tuple(y.shape), y.tolist()))
    assert out[0] == out[1]


def test_scale_product_dtype_and_value_follow_torch():
    each_case(_scale_product_dtype_and_value_follow_torch_case, grid(
        ("init_scale", [4.0, 2.0**16, 2.0**20]),
        ("shape", [(), (3,)]),
        ("dtype", ["float16", "float32", "float64", "int64", "bool"]),
    ))


@pytest.mark.parametrize("shape", [(), (2,)])
def test_float16_loss_gradients_reach_float32_leaves(shape):
    grads = []
    for lib in (cr, torch):
        w = lib.tensor([0.5, -0.25], requires_grad=True)  # a float32 parameter
        loss = (w.half() * 3).sum() if shape == () else w.half() * 3
        scaler = lib.amp.GradScaler("cpu", init_scale=1024.0)
        scaled = scaler.scale(loss)
        scaled.backward(lib.ones_like(scaled))
        grads.append((str(w.grad.dtype).removeprefix("torch."), w.grad.tolist()))
        opt = lib.optim.SGD([w], lr=1.0)
        scaler.step(opt)
        grads.append((w.grad.tolist(), w.tolist(), scaler.get_scale()))
    assert grads[:2] == grads[2:]


def test_scale_of_iterables_and_refusals_follow_torch():
    for lib in (cr, torch):
        s = lib.amp.GradScaler("cpu", init_scale=2.0)
        assert [t.item() for t in s.scale(t for t in [lib.tensor(1.0), lib.tensor(2.0)])] == [2, 4]
        nested = s.scale([lib.tensor(1.0), (lib.tensor(3.0),)])
        assert type(nested) is list and type(nested[1]) is tuple and nested[1][0].item() == 6.0
        with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable"):
            s.scale(1.0)


def _outcome(fn):
    try:
        return fn()
    except (AssertionError, RuntimeError):  # PyTorch asserts; chainrule raises RuntimeError
        return "error"


def _misuse_cases(lib):
    def fresh(**kw):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        return w, lib.optim.SGD([w], lr=0.1), lib.amp.GradScaler("cpu", **kw)

    def step_before_scale():
        w, o, s = fresh()
        w.grad = lib.tensor([1.0, 1.0])
        return s.step(o)

    def unscale_before_scale():
        w, o, s = fresh()
        w.grad = lib.tensor([1.0, 1.0])
        return s.unscale_(o)

    def update_new_before_scale():
        return fresh()[2].update(4.0)

    def step_without_grads():
        w, o, s = fresh()
        s.scale((w * 0).sum())
        return s.step(o)

    def update_after_unscale_without_grads():
        w, o, s = fresh()
        s.scale(w.sum())
        s.unscale_(o)
        return s.update()

    def step_some_grads():
        w, o, s = fresh()
        v = lib.tensor([1.0], requires_grad=True)
        o.add_param_group({"params": [v]})
        s.scale((w * 2).sum()).backward()
        s.step(o)
        return w.tolist(), v.tolist()

    def lazy_scale():
        s = fresh(init_scale=0.1)[2]
        before = (s.get_scale(), s.state_dict())
        s.scale(lib.tensor(1.0))
        return before, s.get_scale()

    def load_into_fresh():
        s = fresh()[2]
        s.load_state_dict({"scale": 0.3, "growth_factor": 3.0, "backoff_factor": 0.25,
                           "growth_interval": 5, "_growth_tracker": 3})
        before = (s.get_scale(), s.state_dict())
        s.scale(lib.tensor(1.0))
        return before, s.get_scale(), s.state_dict()

    def pickle_mid_iteration():
        import pickle

        w, o, s = fresh()
        s.scale((w * 2).sum()).backward()
        s.unscale_(o)
        return pickle.loads(pickle.dumps(s)).get_scale()

    def pickle_after_update():
        import copy

        w, o, s = fresh(init_scale=8.0)
        s.scale((w * 2).sum()).backward()
        s.step(o)
        s.update()
        return copy.deepcopy(s).state_dict()

    return [pickle_mid_iteration, pickle_after_update, step_before_scale, unscale_before_scale,
            update_new_before_scale,
            step_without_grads, update_after_unscale_without_grads, step_some_grads,
            lazy_scale, load_into_fresh]


def test_lazy_scale_and_misuse_follow_torch():
    """Before, a step() before any scale() divided unscaled gradients by 65536 and stepped (a
    silently tiny step: PyTorch refuses it); an optimizer with no gradients stepped (PyTorch
    refuses); get_scale()/state_dict() before the first scale() gave init_scale rounded to
    float32, PyTorch the number given."""
    for ours, theirs in zip(_misuse_cases(cr), _misuse_cases(torch), strict=True):
        assert _outcome(ours) == _outcome(theirs), ours.__name__


@pytest.mark.parametrize("bad", [None, np.inf, np.nan])
def test_sparse_embedding_gradients_are_unscaled_as_torchs(bad):
    """``Embedding(sparse=True)`` + ``SparseAdam`` under a GradScaler was an AttributeError (the
    sparse gradient has no dense array); PyTorch unscales its stored values."""
    out = []
    for lib in (cr, torch):
        emb = lib.nn.Embedding(5, 2, sparse=True)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(np.arange(10.0).reshape(5, 2), dtype=lib.float32))
        opt, s = lib.optim.SparseAdam(emb.parameters(), lr=0.1), lib.amp.GradScaler(
            "cpu", init_scale=4.0)
        factor = 1.0 if bad is None else float(bad)
        for _ in range(3):
            opt.zero_grad()
            s.scale(emb(lib.tensor([1, 3, 1])).sum() * factor).backward()
            s.unscale_(opt)
            grad = emb.weight.grad.coalesce()
            s.step(opt)
            s.update()
        out.append((emb.weight.tolist(), s.get_scale(), grad.to_dense().tolist()))
    np.testing.assert_equal(out[0], out[1])


def test_unscale_is_in_place_as_torchs():
    """A reference to ``p.grad`` taken before ``unscale_`` sees the unscaled gradient (it kept
    the scaled one: unscale_ put a new Tensor in ``p.grad``)."""
    seen = []
    for lib in (cr, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        opt, s = lib.optim.SGD([w], lr=0.1), lib.amp.GradScaler("cpu", init_scale=8.0)
        s.scale((w * w).sum()).backward()
        held = w.grad
        s.unscale_(opt)
        seen.append((held is w.grad, held.tolist()))
    assert seen[0] == seen[1] == (True, [2.0, 4.0])


def _name(dtype):
    return str(getattr(dtype, "name", dtype)).removeprefix("torch.")


def _autocast_trace(lib):
    """get_autocast_dtype/is_autocast_enabled through nested disabled blocks and decorators."""
    trace = [(_name(lib.get_autocast_dtype("cpu")), _name(lib.get_autocast_dtype("cuda")))]

    def note(tag):
        trace.append((tag, _name(lib.get_autocast_dtype("cpu")),
                      _name(lib.get_autocast_dtype("cuda")), lib.is_autocast_enabled("cpu"),
                      lib.is_autocast_enabled()))

    @lib.autocast("cpu", dtype=lib.float16, enabled=False)
    def decorated():
        note("decorated")

    with lib.autocast("cpu", dtype=lib.float16, enabled=False) as a:
        trace.append((_name(a.fast_dtype), a.device))
        note("outer")
        with lib.amp.autocast("cpu", enabled=False) as b:
            trace.append(_name(b.fast_dtype))
            note("inner")
            decorated()
            note("after decorated")
        with lib.autocast("cuda", dtype=lib.float32, enabled=False):
            note("cuda block")
        note("outer again")
    note("outside")
    decorated()
    return trace


def test_autocast_state_through_nested_blocks_follows_torch():
    assert _autocast_trace(cr) == _autocast_trace(torch)


def _disabled_with_warning(lib, make):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx = make(lib)
        with ctx:
            enabled = lib.is_autocast_enabled("cpu"), lib.is_autocast_enabled("cuda")
            y = (lib.ones(2) @ lib.ones(2)).dtype
    user = [w for w in caught if issubclass(w.category, UserWarning)
            and not issubclass(w.category, FutureWarning)]
    return ctx._enabled, enabled, _name(y), len(user)


@pytest.mark.parametrize("make", [
    pytest.param(lambda lib: lib.autocast("cuda"), marks=NO_CUDA),
    pytest.param(lambda lib: lib.amp.autocast("cuda", dtype=lib.float16), marks=NO_CUDA),
    pytest.param(lambda lib: lib.cuda.amp.autocast(), marks=NO_CUDA),
    lambda lib: lib.autocast("cpu", dtype=lib.float32),
    lambda lib: lib.autocast("cpu", dtype=lib.float64),
    lambda lib: lib.autocast("cpu", dtype=lib.int32),
], ids=["cuda", "amp-cuda", "cuda.amp", "cpu-f32", "cpu-f64", "cpu-i32"])
def test_autocast_torch_disables_runs_disabled_with_a_warning(make):
    """Before, these raised ValueError: a CPU script's ``with torch.autocast("cuda"):`` (PyTorch
    warns that CUDA is not available and runs the block in float32) stopped chainrule."""
    assert _disabled_with_warning(cr, make) == _disabled_with_warning(torch, make) == (
        False, (False, False), "float32", 1)


@pytest.mark.parametrize("make", [
    lambda lib: lib.autocast("cpu"), lambda lib: lib.autocast("cpu", dtype=lib.bfloat16),
    lambda lib: lib.autocast("cpu", dtype=lib.float16),
    lambda lib: lib.cpu.amp.autocast(), lambda lib: lib.cpu.amp.autocast(dtype=lib.float16),
])
def test_autocast_torch_enables_is_a_clear_error(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PyTorch's for the cpu.amp spelling
        with make(torch) as ctx:
            assert torch.is_autocast_enabled("cpu") and ctx._enabled
    with pytest.raises(ValueError, match="bfloat16|no automatic mixed precision"):
        make(cr)


@pytest.mark.parametrize("kwargs, error", [
    ({"device_type": "cpu", "enabled": 1}, TypeError),
    ({"device_type": "cpu", "enabled": False, "cache_enabled": 3}, TypeError),
    ({"device_type": 3, "enabled": False}, ValueError),
])
def test_autocast_argument_errors_follow_torch(kwargs, error):
    for lib in (cr, torch):
        with pytest.raises(error):
            with lib.autocast(**kwargs):
                pass


def test_cpu_namespace_and_older_spellings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PyTorch deprecates torch.cpu.amp
        for lib in (cr, torch):
            assert lib.cpu.is_available() and lib.cpu.device_count() == 1
            s = lib.cpu.amp.GradScaler(init_scale=4.0)
            assert s.get_scale() == 4.0 and s.is_enabled() and type(s).__name__ == "GradScaler"
            with lib.cpu.amp.autocast(enabled=False) as a:
                assert _name(a.fast_dtype) == "bfloat16" and a.device == "cpu"


def _older_queries_trace(lib):
    import threading

    def note():
        seen = []
        worker = threading.Thread(target=lambda: seen.append(_name(lib.get_autocast_dtype("cpu"))))
        worker.start()
        worker.join()
        trace.append((_name(lib.get_autocast_cpu_dtype()), _name(lib.get_autocast_gpu_dtype()),
                      lib.is_autocast_cpu_enabled(), lib.is_autocast_cache_enabled(), seen[0],
                      lib.clear_autocast_cache()))

    trace = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PyTorch's for the older names
        note()
        with lib.autocast("cpu", dtype=lib.float16, enabled=False, cache_enabled=False):
            note()  # another thread keeps its own state
            with lib.autocast("cuda", dtype=lib.float32, enabled=False):
                note()  # cache_enabled=None: the enclosing block's
        note()
    return trace


def test_older_autocast_queries_and_cache_switch_follow_torch():
    """``torch.get_autocast_gpu_dtype()`` (flash-attention/mamba-style code), the cpu spelling,
    ``is_autocast_cpu_enabled``, ``is_autocast_cache_enabled``/``clear_autocast_cache``: all
    were AttributeErrors."""
    assert _older_queries_trace(cr) == _older_queries_trace(torch)


def test_one_decorator_in_several_threads_restores_each_threads_state():
    """Thread 1 (inside an outer float32 block) enters the decorated function, thread 2 enters
    it, thread 1 leaves first: each must get its own state back."""
    import threading

    entered, second_in, first_out, seen = threading.Event(), threading.Event(), \
        threading.Event(), {}

    @cr.autocast("cpu", dtype=cr.float16, enabled=False)
    def block(first):
        if first:
            entered.set()
            second_in.wait(5)
        else:
            second_in.set()
            first_out.wait(5)

    def one():
        with cr.autocast("cpu", dtype=cr.float32, enabled=False):
            block(True)
            seen[1] = cr.get_autocast_dtype("cpu")
        first_out.set()

    def two():
        entered.wait(5)
        block(False)
        seen[2] = cr.get_autocast_dtype("cpu")

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {1: np.dtype(np.float32), 2: cr.bfloat16}


def _custom_function_trace(lib):
    seen = []

    class Scale(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=lib.float32)
        def forward(ctx, x):
            seen.append(("fwd", _name(lib.get_autocast_dtype("cpu")), _name(x.dtype)))
            return x * 2

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen.append(("bwd", _name(lib.get_autocast_dtype("cpu")), _name(g.dtype)))
            return g * 2

    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    with lib.autocast("cpu", dtype=lib.float16, enabled=False):
        y = Scale.apply(x)
    y.sum().backward()  # outside the block: backward runs in forward's autocast state
    seen.append(("after", _name(lib.get_autocast_dtype("cpu")), x.grad.tolist()))
    return seen


def test_custom_fwd_bwd_run_backward_in_forwards_autocast_state_as_torch():
    assert _custom_function_trace(cr) == _custom_function_trace(torch)


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "xpu", "mps", "gpu", "CPU", "tpu"])
def test_is_autocast_enabled_device_names_follow_torch(device):
    """A misspelt device ("gpu", "CPU") was a quiet False; PyTorch raises."""
    answers = []
    for lib in (cr, torch):
        try:
            answers.append(lib.is_autocast_enabled(device))
        except RuntimeError:
            answers.append("error")
    assert answers[0] == answers[1]
    if device.startswith(("cpu", "cuda")):
        assert _name(cr.get_autocast_dtype(device)) == _name(torch.get_autocast_dtype(device))
