"""Fuzz wave 22, text (found through `chainrule train char_lm --clip`): ``clip_grad_norm_``'s
scale ``max_norm / (total + 1e-6)``. With a max_norm past float32's range (--clip 1e308) numpy
warned of an overflow, an internal error under -W error, where PyTorch gives inf silently and
leaves the gradients as they are. And the scaled gradients were often a unit in the last place
off PyTorch's (a quarter of random float16, float32 and float64 cases): PyTorch computes
``max_norm / t`` as ``t.reciprocal() * max_norm``, for float16 in float32 with max_norm not
rounded to float16 first."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.nn.utils import clip_grad_norm_, clip_grads_with_norm_  # noqa: E402


def _pair(grads, dtype):
    ours, theirs = [], []
    for g in grads:
        p = cr.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = cr.tensor(g)
        t = torch.zeros(len(g), dtype=getattr(torch, dtype), requires_grad=True)
        t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_scaled_gradients_equal_pytorchs_to_the_bit(dtype):
    rng = np.random.default_rng(0)
    for _ in range(40):
        grads = [
            (rng.standard_normal(int(rng.integers(1, 6))) * 10 ** rng.uniform(-2, 2)).astype(dtype)
            for _ in range(int(rng.integers(1, 4)))
        ]
        max_norm = float(10 ** rng.uniform(-2, 2))
        ours, theirs = _pair(grads, dtype)
        clip_grad_norm_(ours, max_norm, norm_type=float("inf"))  # a norm PyTorch sums alike
        torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=float("inf"))
        for p, t in zip(ours, theirs):
            np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_a_max_norm_past_the_dtypes_range_leaves_the_gradients(dtype):
    g = np.array([3.0, 4.0], dtype=dtype)
    ours, theirs = _pair([g], dtype)
    assert float(clip_grad_norm_(ours, 1e308)) == 5.0  # no RuntimeWarning (an error in tests)
    torch.nn.utils.clip_grad_norm_(theirs, 1e308)
    np.testing.assert_array_equal(ours[0].grad.numpy(), theirs[0].grad.numpy())
    np.testing.assert_array_equal(ours[0].grad.numpy(), g)
    clip_grads_with_norm_(ours, 1e308, cr.tensor(np.array(5.0, dtype=dtype)))
    np.testing.assert_array_equal(ours[0].grad.numpy(), g)
