"""Fuzz wave 19, mixed precision against PyTorch's CPU build: the older ``torch.cuda.amp``
decorators on a custom Function, the device-name check of ``is_autocast_available``, and a
GradScaler's skipped step with a ``fused=True`` optimizer."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _name(dtype):
    return str(getattr(dtype, "name", dtype)).removeprefix("torch.")


def _legacy_decorated(lib, bare):
    """A custom Function decorated as older code (mamba, flash-attention) writes it."""
    seen = []
    fwd = lib.cuda.amp.custom_fwd if bare else lib.cuda.amp.custom_fwd(cast_inputs=lib.float32)

    class Cube(lib.autograd.Function):
        @staticmethod
        @fwd
        def forward(ctx, x):
            ctx.save_for_backward(x)
            seen.append(("fwd", _name(x.dtype), _name(lib.get_autocast_dtype("cuda"))))
            return x**3

        @staticmethod
        @lib.cuda.amp.custom_bwd
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            seen.append(("bwd", _name(g.dtype), _name(lib.get_autocast_dtype("cuda"))))
            return 3 * x**2 * g

    x = lib.tensor([0.5, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
    with lib.autocast("cuda", dtype=lib.float32, enabled=False):
        y = Cube.apply(x)
    y.sum().backward()  # outside the block: backward runs in forward's autocast dtype
    return seen, y.tolist(), x.grad.tolist(), Cube.forward.__name__, Cube.backward.__name__


@pytest.mark.parametrize("bare", [True, False])
def test_cuda_amp_custom_fwd_bwd_follow_torch(bare):
    """``torch.cuda.amp.custom_fwd``/``custom_bwd`` (bare or called) were AttributeErrors on
    ``cr.cuda.amp``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PyTorch deprecates the spelling
        theirs = _legacy_decorated(torch, bare)
    ours = _legacy_decorated(cr, bare)
    assert ours == theirs
    assert ours[0] == [("fwd", "float64", "float32"), ("bwd", "float64", "float32")]


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:1", "xla", "gpu", "CPU", "tpu"])
def test_is_autocast_available_refuses_unknown_devices_as_torch(device):
    """A misspelt device ("gpu", "CPU") was a quiet False; PyTorch raises. Known ones answer
    False here (no automatic mixed precision), True in PyTorch: that is documented."""
    try:
        torch.amp.is_autocast_available(device)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=f"device_type must be one of .*got '{device}'"):
            cr.amp.is_autocast_available(device)
    else:
        assert cr.amp.is_autocast_available(device) is False


def _after_a_skipped_step(lib, name, kwargs, fused):
    w = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
    opt = getattr(lib.optim, name)([w], lr=0.1, fused=fused, **kwargs)
    sched = lib.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    scaler = lib.amp.GradScaler("cpu", init_scale=8.0)
    states = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for factor in (float("inf"), 1.0, 3.0):
            opt.zero_grad()
            scaler.scale((w**2 * factor).sum()).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            states.append(sorted(opt.state_dict()["state"].get(0, {})))
    caught = [x for x in seen if "lr_scheduler.step()" in str(x.message)]
    return w.tolist(), scaler.get_scale(), states, len(caught)


@pytest.mark.parametrize("name, kwargs", [("Adam", {}), ("SGD", {"momentum": 0.9})])
def test_fused_optimizer_after_a_skipped_step_is_skipped_as_any(name, kwargs):
    """Documented difference: PyTorch calls a fused optimizer's step on an inf step (the kernel
    skips the update) and so makes its state, and its fused SGD's momentum buffer is then
    uninitialized memory (weights of 1e26 after the next step here). chainrule skips the call as
    for any optimizer, so its fused optimizers follow PyTorch's unfused ones: weights, scale,
    state and the LR scheduler's warning."""
    with np.errstate(invalid="ignore", over="ignore"):
        ours = _after_a_skipped_step(cr, name, kwargs, fused=True)
        theirs = _after_a_skipped_step(torch, name, kwargs, fused=False)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    assert ours[1:] == theirs[1:]
    assert ours[2][0] == [] and ours[3] == 1
