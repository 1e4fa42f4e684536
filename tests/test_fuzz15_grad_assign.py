"""Fuzz wave 15, ``.grad`` assigned by hand: random targets (leaves that require grad or not,
integer and complex tensors, non-leaves, Parameters, 0-d tensors) and random values (None,
tensors of other dtypes, shapes or devices, the tensor itself, lists, arrays, numbers), then a
backward into what was accepted and an SGD step; chainrule and PyTorch 2.13 must accept and
refuse the same (and with the same error type) and end with the same values."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:The .grad attribute")]

_DTYPES = ["float32", "float64", "float16", "int64", "complex64"]
_SHAPES = [(), (1,), (3,), (2, 3), (3, 2), (1, 3)]


def _target(lib, rng, kind, shape):
    dtype = getattr(lib, {0: "float32", 1: "float64", 2: "int64", 3: "complex64"}[kind % 4])
    base = lib.tensor(rng.uniform(-1, 1, shape)).to(dtype)
    if kind in (0, 1, 3):
        return base.requires_grad_(True)
    if kind == 4:
        return lib.nn.Parameter(base.float())
    if kind == 5:
        return base.float().requires_grad_(True) * 2  # a non-leaf
    return base  # int64, or float without requires_grad (kind 6)


def _value(lib, rng, t, choice):
    shape = tuple(t.shape)
    if choice == 0:
        return None
    if choice == 1:
        return t
    if choice == 2:
        return [1.0] * max(1, int(np.prod(shape)))
    if choice == 3:
        return np.zeros(shape, np.float32)
    if choice == 4:
        return 3
    if choice == 5:
        return lib.zeros(shape, device="meta", dtype=t.dtype)
    dtype = str(t.dtype).replace("torch.", "") if choice < 9 else _DTYPES[choice % 5]
    shape = shape if choice < 11 else _SHAPES[choice % len(_SHAPES)]
    return lib.tensor(rng.uniform(-1, 1, shape)).to(getattr(lib, dtype))


def _run(lib, seed):
    rng = np.random.default_rng(seed)
    kind, shape = int(rng.integers(0, 7)), _SHAPES[int(rng.integers(len(_SHAPES)))]
    choices = [int(rng.integers(0, 14)) for _ in range(3)]
    t = _target(lib, np.random.default_rng(seed + 1), kind, shape)
    out = []
    for c in choices:
        v = _value(lib, np.random.default_rng(seed * 7 + c), t, c)
        try:
            t.grad = v
            out.append(("ok", None if t.grad is None else str(t.grad.dtype).replace("torch.", "")))
        except (RuntimeError, TypeError) as e:
            out.append(type(e).__name__)
    if kind in (0, 1, 4):  # a leaf that requires grad: backward adds into what was accepted
        t.abs().sum().backward()
        out.append(t.grad.detach().numpy().tolist())
        if t.dtype in (lib.float32, lib.float64):
            lib.optim.SGD([t], lr=0.5).step()
            out.append(t.detach().numpy().tolist())
    return out


@pytest.mark.parametrize("block", range(4))
def test_grad_assignments_are_accepted_and_refused_as_pytorchs(block):
    for seed in range(block * 60, block * 60 + 60):
        want, got = _run(torch, seed), _run(cr, seed)
        assert len(got) == len(want), seed
        for g, w in zip(got, want):
            if isinstance(w, list):
                np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6, err_msg=str(seed))
            else:
                assert g == w, (seed, got, want)


def test_sparse_gradients_still_reach_grad():
    emb = cr.nn.Embedding(5, 2, sparse=True)
    emb(cr.tensor([1, 3])).sum().backward()
    assert emb.weight.grad.is_sparse
    emb(cr.tensor([1])).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.to_dense().numpy()[1], [2.0, 2.0])
