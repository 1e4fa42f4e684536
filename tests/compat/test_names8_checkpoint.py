"""torch.utils.checkpoint's other names (utils/checkpoint_extra.py) and checkpoint's context_fn
and early_stop arguments, against PyTorch."""

import contextlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils import checkpoint as ck

RNG = np.random.default_rng(88088)
X = RNG.normal(size=(4, 3))
W = RNG.normal(size=(3, 3))


def _block(lib):  # the same Python for both libraries
    def block(x, w):
        return (x @ w).tanh() @ w

    return block


@pytest.mark.torch
def test_checkpoint_with_selective_contexts_gives_torch_gradients():
    torch = pytest.importorskip("torch")
    events = []

    @contextlib.contextmanager
    def note(name):
        events.append(name)
        yield

    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    w, tw = cr.tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    y = ck.checkpoint(_block(cr), x, w, use_reentrant=False,
                      context_fn=lambda: (note("forward"), note("recompute")), early_stop=False)
    assert events == ["forward"]
    y.sum().backward()
    assert events == ["forward", "recompute"]

    def policy(ctx, op, *args, **kwargs):
        return torch.utils.checkpoint.CheckpointPolicy.MUST_SAVE

    ty = torch.utils.checkpoint.checkpoint(
        _block(torch), tx, tw, use_reentrant=False,
        context_fn=lambda: torch.utils.checkpoint.create_selective_checkpoint_contexts(policy))
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-13)
    x.grad = w.grad = None
    z = ck.checkpoint(_block(cr), x, w, use_reentrant=False,
                      context_fn=lambda: ck.create_selective_checkpoint_contexts(
                          lambda ctx, op, *a, **k: ck.CheckpointPolicy.PREFER_RECOMPUTE))
    z.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-13)
    with pytest.raises(TypeError, match="policy_fn_or_list must be either a function or a list"):
        ck.create_selective_checkpoint_contexts(3)
    with pytest.raises(TypeError, match="checkpoint: context_fn must be callable"):
        ck.checkpoint(_block(cr), x, w, context_fn=None)


@pytest.mark.torch
def test_checkpoint_helpers_match_torch():
    torch = pytest.importorskip("torch")
    tc = torch.utils.checkpoint
    assert [p.name for p in ck.CheckpointPolicy] == [p.name for p in tc.CheckpointPolicy]
    assert issubclass(ck.CheckpointError, RuntimeError)
    assert ck.SelectiveCheckpointContext(is_recompute=True).is_recompute
    a, b = ck.noop_context_fn()
    with a, b:
        pass
    x = cr.tensor(X, requires_grad=True) * 2
    out = ck.detach_variable((x, 3, cr.ones(2)))
    tout = tc.detach_variable((torch.tensor(X, requires_grad=True) * 2, 3, torch.ones(2)))
    assert [getattr(o, "requires_grad", None) for o in out] == [
        getattr(o, "requires_grad", None) for o in tout]
    assert out[0].grad_fn is None and out[1] == 3
    with pytest.raises(RuntimeError, match="Only tuple of tensors is supported.*list"):
        ck.detach_variable([x])
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        ck.check_backward_validity([cr.ones(2), 1])
    with ck.set_checkpoint_early_stop(False), ck.set_checkpoint_debug_enabled(True):
        pass
    with pytest.raises(TypeError, match="enabled must be None, True or False"):
        with ck.set_checkpoint_debug_enabled("yes"):
            pass


def test_nondeterministic_block_raises_checkpoint_error():
    calls = []

    def block(x):
        calls.append(1)
        return x * (len(calls) + cr.tensor(0.0))

    x = cr.tensor(X, requires_grad=True)
    y = ck.checkpoint(block, x, use_reentrant=False)
    with pytest.raises(ck.CheckpointError, match="recomputing the block gave other values"):
        y.sum().backward()
