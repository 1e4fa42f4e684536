"""The fused optimizer kernels (optim/fused.py) against the rules as each optimizer's file writes
them (``_update``, the reference, which ``chainrule.config.jit = False`` selects on the CPU).

SGD, RMSprop and Adagrad's kernels do the rule's float operations in its order: the same bits.
Adam's (and AdamW's) kernel takes PyTorch's implementation's order, one division fewer: the same
to a few float rounding errors. Without numba, SGD and Adam run their rule in place in NumPy, in
the rule's order: the same bits. The GPU kernel is checked in tests/test_gpu.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.backend import jit

pytest.importorskip("numba")

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.2, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.99), "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "eps": 1e-3, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.0}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.01, "centered": True, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-6, "maximize": True}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CONFIGS)]
NUMPY_VERSIONS = ("SGD", "Adam", "AdamW")  # in place in NumPy without numba (fused.py)
KERNEL = {"SGD": "sgd", "Adam": "adam", "AdamW": "adam", "RMSprop": "rmsprop",
          "Adagrad": "adagrad"}
# Adam's kernel is in another order than its rule: equal to float rounding, not bit for bit.
ADAM_TOL = {np.float32: {"rtol": 2e-6, "atol": 5e-7}, np.float64: {"rtol": 1e-14, "atol": 1e-15}}

# Tests of the fused routes themselves: reference mode does not take them.
pytestmark = pytest.mark.fast_kernels


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of each optimizer kernel of backend.jit, whatever config.jit is set to
    (assigning it rebinds ``jit.adam`` and the like; the compiled kernels stay in
    ``jit._kernels``)."""
    if not jit._kernels:
        jit._kernels.update(jit._build())
    calls = dict.fromkeys(KERNEL.values(), 0)
    for name in calls:
        def count(*args, _name=name, _kernel=jit._kernels[name]):
            calls[_name] += 1
            return _kernel(*args)
        monkeypatch.setitem(jit._kernels, name, count)
    return calls


def _set_mode(mode):
    """"kernel": numba's kernels (the default); "rule": config.jit = False; "numpy": config.jit on
    but no kernel bound, as without numba."""
    cr.config.jit = mode != "rule"  # assigning it rebinds backend.jit's kernel names
    if mode == "numpy":
        for name in set(KERNEL.values()):
            setattr(jit, name, None)


def _run(name, kwargs, dtype, *, use_kernels, steps=6, groups=None):
    """``steps`` steps over a matrix, a vector and a 0-d parameter; the parameters and the
    optimizer's state after each step. ``use_kernels``: True, False or a mode of _set_mode."""
    rng = np.random.default_rng(3)
    shapes = [(7, 11), (11,), ()]
    params = [cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]
    opt = getattr(optim, name)(params if groups is None else groups(params), **kwargs)
    trail = []
    old = cr.config.jit
    _set_mode({True: "kernel", False: "rule"}.get(use_kernels, use_kernels))
    try:
        for _ in range(steps):
            for p in params:
                p.grad = cr.tensor((rng.standard_normal(p.shape) + p.numpy()).astype(dtype))
            opt.step()
            trail.append(([p.numpy().copy() for p in params],
                          [{k: np.array(v) for k, v in opt.state[p].items()} for p in params]))
    finally:
        cr.config.jit = old
    return trail


def _assert_same(fast, reference, name, dtype):
    for (ps, states), (ref_ps, ref_states) in zip(fast, reference, strict=True):
        for a, b in zip(ps, ref_ps, strict=True):
            assert a.dtype == b.dtype == dtype
            if KERNEL[name] == "adam":
                np.testing.assert_allclose(a, b, **ADAM_TOL[dtype])
            else:
                np.testing.assert_array_equal(a, b)
        for s, ref_s in zip(states, ref_states, strict=True):
            assert s.keys() == ref_s.keys()
            for key in s:
                if KERNEL[name] == "adam":
                    np.testing.assert_allclose(s[key], ref_s[key], **ADAM_TOL[dtype])
                else:
                    np.testing.assert_array_equal(s[key], ref_s[key], err_msg=key)


@pytest.mark.skipif(not jit.enabled(), reason="chainrule.config.jit is off")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_kernel_equals_the_rule(counted, name, kwargs, dtype):
    """Six steps with the kernel (the default) and with the rule (config.jit = False) agree, state
    included; the kernel ran on every step of every parameter and the rule run used none."""
    reference = _run(name, kwargs, dtype, use_kernels=False)
    assert counted[KERNEL[name]] == 0
    fast = _run(name, kwargs, dtype, use_kernels=True)
    assert counted[KERNEL[name]] == 6 * 3
    _assert_same(fast, reference, name, dtype)


def _group_run(make, *, use_kernels):
    """Four steps over three parameters: the second has no gradient on even steps (its momentum
    buffer starts later, its step count lags), the third's gradient is a transposed view (the
    kernels take C-contiguous arrays only: the rule runs for it)."""
    rng = np.random.default_rng(1)
    params = [cr.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in ((5, 7), (7,), (3, 5))]
    opt = make(params)
    old = cr.config.jit
    _set_mode({True: "kernel", False: "rule"}.get(use_kernels, use_kernels))
    try:
        for step in range(4):
            grads = [rng.standard_normal((5, 7)).astype(np.float32),
                     None if step % 2 == 0 else rng.standard_normal(7).astype(np.float32),
                     rng.standard_normal((5, 3)).astype(np.float32).T]
            for p, g in zip(params, grads, strict=True):
                p.grad = None if g is None else cr.tensor(g)
            opt.step()
    finally:
        cr.config.jit = old
    return [p.numpy().copy() for p in params]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), [c for c in CONFIGS if c[0] in NUMPY_VERSIONS],
                         ids=[i for i in IDS if i.split("-")[0] in NUMPY_VERSIONS])
def test_numpy_version_without_numba_equals_the_rule(name, kwargs, dtype):
    """Without numba (config.jit on, no kernel), SGD and Adam run their rule in place in work
    arrays the optimizer owns, operation for operation: the same bits as the rule."""
    reference = _run(name, kwargs, dtype, use_kernels="rule")
    numpy_version = _run(name, kwargs, dtype, use_kernels="numpy")
    for (ps, states), (ref_ps, ref_states) in zip(numpy_version, reference, strict=True):
        for a, b in zip(ps, ref_ps, strict=True):
            np.testing.assert_array_equal(a, b)
        for s, ref_s in zip(states, ref_states, strict=True):
            assert s.keys() == ref_s.keys()
            for key in s:
                np.testing.assert_array_equal(s[key], ref_s[key], err_msg=key)


def test_the_numpy_version_writes_into_the_optimizers_work_buffer(monkeypatch):
    p = cr.tensor(np.ones((4, 5), np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    _set_mode("numpy")
    try:
        p.grad = cr.tensor(np.ones((4, 5), np.float32))
        opt.step()
    finally:
        cr.config.jit = True
    assert opt._work[np.dtype(np.float32)].size == 2 * 20
    assert "_work" not in opt.state_dict()


@pytest.mark.skipif(not jit.enabled(), reason="chainrule.config.jit is off")
@pytest.mark.parametrize("mode", ["kernel", "numpy"])
@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda p: optim.SGD([{"params": p[:1], "momentum": 0.5}, {"params": p[1:]}], lr=0.1),
    lambda p: optim.Adam([{"params": p[:2], "amsgrad": True}, {"params": p[2:]}], lr=0.01),
    lambda p: optim.AdamW(p, lr=0.01, maximize=True),
    lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.1),
], ids=["sgd", "sgd-groups", "adam-groups", "adamw", "rmsprop", "adagrad"])
def test_groups_with_missing_and_non_contiguous_gradients(make, mode, counted):
    fast = _group_run(make, use_kernels=mode)
    assert (sum(counted.values()) > 0) == (mode == "kernel")
    for a, b in zip(fast, _group_run(make, use_kernels=False), strict=True):
        np.testing.assert_allclose(a, b, **ADAM_TOL[np.float32])


@pytest.mark.skipif(not jit.enabled(), reason="chainrule.config.jit is off")
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_a_group_mixes_float16_float32_and_float64(name):
    """float16 has no kernel (the rule runs); the kernels' scalars follow each array's dtype."""
    def run(use_kernels):
        params = [cr.tensor(np.linspace(-1, 1, 6, dtype=dt), requires_grad=True)
                  for dt in (np.float16, np.float32, np.float64)]
        opt = getattr(optim, name)(params, lr=0.1, weight_decay=0.1)
        old = cr.config.jit
        cr.config.jit = use_kernels
        try:
            for _ in range(3):
                for p in params:
                    p.grad = cr.tensor(p.numpy() * 2 + 0.1)
                opt.step()
        finally:
            cr.config.jit = old
        return [p.numpy().copy() for p in params]

    fast, reference = run(True), run(False)
    assert [a.dtype for a in fast] == [np.float16, np.float32, np.float64]
    np.testing.assert_array_equal(fast[0], reference[0])
    for a, b in zip(fast[1:], reference[1:], strict=True):
        if KERNEL[name] == "adam":  # Adam's kernels take PyTorch's order: equal to rounding
            np.testing.assert_allclose(a, b, **ADAM_TOL[a.dtype.type])
        else:  # the others do the rule's operations in its order: the same bits
            np.testing.assert_array_equal(a, b)


def test_jit_off_selects_the_rule(counted, monkeypatch):
    """config.jit = False: no optimizer kernel is bound, and a step runs ``_update``."""
    monkeypatch.setattr(cr.config, "jit", False)
    assert all(getattr(jit, name) is None for name in KERNEL.values())
    ran = []
    for name in KERNEL:
        cls = getattr(optim, name)
        monkeypatch.setattr(cls, "_update", lambda self, *a, _n=name, _f=cls._update:
                            (ran.append(_n), _f(self, *a)))
        p = cr.tensor(np.ones(3, np.float32), requires_grad=True)
        p.grad = cr.tensor(np.ones(3, np.float32))
        cls([p], lr=0.1).step()
    assert set(ran) == set(KERNEL)
    assert sum(counted.values()) == 0
