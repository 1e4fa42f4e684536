"""amp.GradScaler: PyTorch's scale trajectory, skipped steps and state dict; genuine float16
overflow; the disabled pass-through; autocast's no-op and its clear errors; cuda.amp aliases."""

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.amp import GradScaler, autocast

HUGE_STEPS = {2, 3, 7}  # inputs so large that the scaled float32 loss overflows to inf


def _inputs(step, dtype=np.float32):
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=dtype) * (step + 1) / 4
    huge = dtype(1e30 if dtype == np.float32 else 1e200)  # its square overflows to inf
    return x * huge if step in HUGE_STEPS else x


def _train(lib, steps=12, dtype=np.float32, **scaler_kwargs):
    """A linear model under SGD with a GradScaler; per step: scale, params, state dict, loss."""
    w0 = np.array([[0.3, -0.2, 0.1]], dtype=dtype)
    if lib is cr:
        w = cr.tensor(w0.copy(), requires_grad=True)
        opt, scaler = cr.optim.SGD([w], lr=0.1), GradScaler("cpu", **scaler_kwargs)
    else:
        w = lib.tensor(w0.copy(), requires_grad=True)
        opt, scaler = lib.optim.SGD([w], lr=0.1), lib.amp.GradScaler("cpu", **scaler_kwargs)
    trace = []
    for step in range(steps):
        opt.zero_grad()
        loss = ((lib.tensor(_inputs(step, dtype)) @ w.T) ** 2).mean()
        scaler.scale(loss).backward()
        ran = scaler.step(opt)
        scaler.update()
        trace.append((scaler.get_scale(), np.array(w.detach().numpy()), scaler.state_dict(), ran))
    return trace


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [{"init_scale": 2.0**10, "growth_interval": 3},
                                    {"init_scale": 8.0, "growth_factor": 4.0,
                                     "backoff_factor": 0.25, "growth_interval": 2},
                                    # factors that are not powers of 2: the float32 scale times
                                    # the double factor, rounded once (16 * 0.9 * 0.9 is
                                    # 12.960000038, not 12.959999084 from a float32 factor)
                                    {"init_scale": 16.0, "growth_factor": 1.5,
                                     "backoff_factor": 0.9, "growth_interval": 2},
                                    {"enabled": False}])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scale_steps_and_state_follow_torch(kwargs, dtype):
    torch = pytest.importorskip("torch")
    with np.errstate(over="ignore", invalid="ignore"):  # the overflowing steps, on purpose
        ours, theirs = _train(cr, dtype=dtype, **kwargs), _train(torch, dtype=dtype, **kwargs)
    for step, ((scale, w, state, ran), (tscale, tw, tstate, tran)) in enumerate(
            zip(ours, theirs, strict=True)):
        assert scale == tscale and state == tstate and ran is tran is None
        # The weights: in float64 throughout; in float32 over the first steps only, since the
        # libraries' float32 products round differently in the last bit and the growing inputs
        # amplify that from step to step (about 4e-6 relative by step 11 on some CPUs).
        if dtype == np.float64:
            np.testing.assert_allclose(w, tw, rtol=1e-12, atol=1e-14)
        elif step < 6:
            np.testing.assert_allclose(w, tw, rtol=1e-6, atol=1e-7)
    if kwargs.get("enabled", True):  # the overflowing steps, and only they, were skipped
        unchanged = {k for k in range(1, len(ours)) if np.array_equal(ours[k][1], ours[k - 1][1])}
        assert unchanged == HUGE_STEPS and np.isfinite(ours[-1][1]).all()


def test_float16_overflow_skips_steps_until_the_scale_fits():
    w = cr.tensor([1.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.5)
    scaler = GradScaler("cpu", init_scale=2.0**17, growth_interval=100)
    x = cr.tensor([2.0])
    scales, values = [], []
    for _ in range(5):
        opt.zero_grad()
        # float32 parameters, a float16 forward: d(S * x w)/dw = 2 S overflows float16 (max
        # 65504) while 2 S > 65504; NumPy warns on that overflow, which is the point here.
        with np.errstate(over="ignore", invalid="ignore"):
            scaler.scale((x.half() * w.half()).sum()).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        values.append(w.item())
    assert scales == [2.0**16, 2.0**15, 2.0**14, 2.0**14, 2.0**14]
    # Steps 1 to 3 overflowed (2 S >= 65536) and were skipped; 4 and 5 moved by lr * 2 exactly.
    assert values == [1.0, 1.0, 1.0, 0.0, -1.0]
    assert w.grad.dtype == cr.float32 and w.grad.tolist() == [2.0]


def test_unscale_before_clipping_then_step():
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=1.0)
    scaler = GradScaler("cpu", init_scale=256.0)
    scaler.scale((w * w).sum() / 2).backward()
    assert w.grad.tolist() == [768.0, 1024.0]
    scaler.unscale_(opt)
    assert w.grad.tolist() == [3.0, 4.0]
    cr.optim.clip_grad_norm_([w], 1.0)
    scaler.step(opt)  # not unscaled a second time
    scaler.update()
    np.testing.assert_allclose(w.numpy(), [3.0 - 0.6, 4.0 - 0.8], rtol=1e-6)


def test_scale_of_nested_outputs_and_growth_is_capped():
    scaler = GradScaler("cpu", init_scale=4.0)
    a, b = scaler.scale([cr.tensor(1.0), (cr.tensor(2.0),)])
    assert a.item() == 4.0 and b[0].item() == 8.0
    big = GradScaler("cpu", init_scale=2.0**127, growth_interval=1)
    w = cr.tensor([1.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.0)
    big.scale(w.sum() * 2.0**-127).backward()
    big.step(opt)
    big.update()
    assert big.get_scale() == 2.0**127  # doubling would overflow float32: PyTorch keeps it


def test_misuse_is_refused_as_pytorch_refuses_it():
    w = cr.tensor([1.0], requires_grad=True)
    opt = cr.optim.SGD([w], lr=0.1)
    scaler = GradScaler("cpu")
    with pytest.raises(RuntimeError, match="update: called before any scale"):
        scaler.update()
    scaler.scale(w.sum()).backward()
    with pytest.raises(RuntimeError, match="No inf checks were recorded"):
        scaler.update()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0)
    with pytest.raises(ValueError, match="growth_factor must be > 1, got 0.5"):
        GradScaler(growth_factor=0.5)
    with pytest.raises(ValueError, match="growth_interval must be an int >= 1, got 0"):
        GradScaler(growth_interval=0)
    with pytest.raises(ValueError, match="device must be 'cuda' or 'cpu', got 'mps'"):
        GradScaler("mps")
    half = cr.tensor([1.0], dtype=cr.float16, requires_grad=True)
    opt16 = cr.optim.SGD([half], lr=0.1)
    half.grad = cr.tensor([1.0], dtype=cr.float16)
    scaler16 = GradScaler("cpu")
    scaler16.scale(cr.tensor(1.0))
    with pytest.raises(ValueError, match="float16 gradients; keep the parameters in float32"):
        scaler16.unscale_(opt16)


def test_state_dict_round_trip_and_disabled_scaler():
    scaler = GradScaler("cpu", init_scale=64.0, growth_interval=5)
    scaler.scale(cr.tensor(1.0))  # S exists from the first scale() on, as PyTorch's
    scaler.update(new_scale=32.0)
    saved = scaler.state_dict()
    other = GradScaler("cpu")
    other.load_state_dict(saved)
    assert other.state_dict() == saved == {"scale": 32.0, "growth_factor": 2.0,
                                           "backoff_factor": 0.5, "growth_interval": 5,
                                           "_growth_tracker": 0}
    off = GradScaler(enabled=False)
    loss = cr.tensor(3.0)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        GradScaler("cpu").load_state_dict(off.state_dict())


def test_autocast_disabled_is_a_no_op_and_enabled_is_a_clear_error():
    x = cr.tensor([1.5], dtype=cr.float32)
    with cr.autocast("cpu", enabled=False) as ctx:
        assert isinstance(ctx, autocast) and (x * 2).dtype == cr.float32

    @cr.amp.autocast("cuda", dtype=cr.float16, enabled=False)
    def f(t):
        return t + 1

    assert f(x).tolist() == [2.5]
    with pytest.raises(ValueError, match="cannot compute in bfloat16 .* pass enabled=False"):
        cr.autocast("cpu")
    with pytest.raises(ValueError, match="device_type must be 'cpu' or 'cuda', got 'tpu'"):
        cr.autocast("tpu", enabled=False)
    with cr.cuda.amp.autocast(enabled=False):
        pass
    legacy = cr.cuda.amp.GradScaler(init_scale=8.0, enabled=False)
    assert isinstance(legacy, GradScaler) and legacy.get_scale() == 1.0


@pytest.mark.torch
def test_signatures_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [(GradScaler.__init__, torch.amp.GradScaler.__init__),
             (autocast.__init__, torch.amp.autocast.__init__),
             (cr.cuda.amp.GradScaler.__init__, torch.cuda.amp.GradScaler.__init__)]
    for ours, theirs in pairs:
        a, b = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
        assert list(a) == list(b)
        assert [p.default for p in a.values()] == [p.default for p in b.values()]
    a = inspect.signature(cr.cuda.amp.autocast).parameters
    b = inspect.signature(torch.cuda.amp.autocast.__init__).parameters
    assert list(a) == list(b)[1:]
    assert [a["enabled"].default, a["cache_enabled"].default] == [True, True]


@pytest.mark.filterwarnings("ignore:`torch.cuda.amp.GradScaler:FutureWarning")  # PyTorch's
@pytest.mark.skipif(cr.cuda.is_available(), reason="a machine without CUDA")
def test_cuda_scaler_without_cuda_is_disabled_with_a_warning_as_pytorchs():
    """nanoGPT's ``torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))`` on a CPU: PyTorch
    warns and scales nothing; before, chainrule's scaled by 2**16 and kept that state."""
    torch = pytest.importorskip("torch")
    for make in (lambda lib: lib.cuda.amp.GradScaler(), lambda lib: lib.amp.GradScaler("cuda"),
                 lambda lib: lib.amp.GradScaler(init_scale=8.0)):
        answers = []
        for lib in (cr, torch):
            with pytest.warns(UserWarning, match="CUDA is not available"):
                scaler = make(lib)
            w = lib.tensor([1.0], requires_grad=True)
            opt = lib.optim.SGD([w], lr=0.1)
            loss = scaler.scale((w * 3).sum())
            loss.backward()
            scaler.step(opt)
            scaler.update()
            answers.append((scaler.is_enabled(), scaler.get_scale(), loss.item(), w.grad.tolist(),
                            w.tolist(), scaler.state_dict()))
        assert answers[0] == answers[1] == (False, 1.0, 3.0, [3.0], [pytest.approx(0.7)], {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert GradScaler("cuda", enabled=False).get_scale() == 1.0  # no warning when off
