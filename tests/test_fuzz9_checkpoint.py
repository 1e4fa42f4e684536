"""Ninth fuzz wave, utils.checkpoint (non-reentrant) with random context_fn, early_stop,
preserve_rng_state, keyword arguments to the block, tuple outputs and create_graph: outputs,
gradients, second-order gradients and the number of forward calls through the first backward
must be PyTorch's (float64). Not compared: PyTorch runs the block once more for a second
backward through a create_graph gradient; chainrule's recorded recomputation serves it."""

import contextlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.utils.checkpoint as cck

torch = pytest.importorskip("torch")
tck = pytest.importorskip("torch.utils.checkpoint")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]


def _val(x):
    return (np.asarray(x.detach().numpy()).round(10) + 0.0).tolist()


def _run(lib, checkpoint, seed):
    rng = np.random.default_rng(seed)
    x = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    calls = []

    def block(a, scale=1.0):
        calls.append(1)
        h = (a @ w).tanh() * scale
        return h.sin() * a, h.sum()

    kw = {}
    if rng.random() < 0.5:
        kw["context_fn"] = lambda: (contextlib.nullcontext(), contextlib.nullcontext())
    if rng.random() < 0.5:
        kw["early_stop"] = bool(rng.random() < 0.5)
    if rng.random() < 0.3:
        kw["preserve_rng_state"] = False
    if rng.random() < 0.5:
        kw["scale"] = 2.0
    out = checkpoint(block, x, use_reentrant=False, **kw)
    create_graph = bool(rng.random() < 0.3)
    grads = lib.autograd.grad(out[0].sum() + out[1] * 0.5, [x, w], create_graph=create_graph)
    result = {"values": [_val(o) for o in out], "grads": [_val(g) for g in grads],
              "calls": len(calls)}
    if create_graph:
        result["second"] = _val(lib.autograd.grad(grads[0].sum(), w)[0])
    return result


def test_checkpoint_options_as_pytorchs():
    for seed in range(120):
        assert str(_run(cr, cck.checkpoint, seed)) == str(_run(torch, tck.checkpoint, seed)), seed


def test_second_backward_recomputes_in_pytorch_only():
    """docs/pytorch.md: the same gradients, one call fewer in chainrule."""
    counts = []
    for lib, checkpoint in ((torch, tck.checkpoint), (cr, cck.checkpoint)):
        x = lib.tensor([[1.0, 2.0]], dtype=lib.float64, requires_grad=True)
        calls = []

        def block(a, calls=calls):
            calls.append(1)
            return (a * a).sin()

        (g,) = lib.autograd.grad(checkpoint(block, x, use_reentrant=False).sum(), x,
                                 create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        counts.append((len(calls), _val(gg)))
    assert counts[0][0] == 3 and counts[1][0] == 2
    assert counts[0][1] == counts[1][1]
