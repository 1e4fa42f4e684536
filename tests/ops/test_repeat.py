"""index_select, repeat, tile and repeat_interleave: PyTorch's results, gradients to second order,
and clear errors for what PyTorch refuses (negative indices, too few sizes)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _both(fn_ours, fn_torch, x0):
    """Forward and the gradient of a random weighting of the output, in both libraries."""
    x = cr.tensor(x0, requires_grad=True)
    t = torch.tensor(x0, requires_grad=True)
    y, u = fn_ours(x), fn_torch(t)
    np.testing.assert_array_equal(y.numpy(), u.detach().numpy())
    w = np.random.default_rng(1).standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_random_cases_match_pytorch(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(1, 4, size=rng.integers(1, 4)))
    x0 = rng.standard_normal(shape)
    dim = int(rng.integers(-len(shape), len(shape)))
    idx = rng.integers(0, shape[dim], size=int(rng.integers(0, 5)))  # repeats and empty too
    _both(lambda x: cr.index_select(x, dim, cr.tensor(idx)),
          lambda t: torch.index_select(t, dim, torch.tensor(idx)), x0)
    sizes = tuple(int(s) for s in rng.integers(0, 3, size=len(shape) + int(rng.integers(0, 2))))
    _both(lambda x: x.repeat(*sizes), lambda t: t.repeat(*sizes), x0)
    dims = sizes[: max(1, len(sizes) - 1)]
    _both(lambda x: cr.tile(x, dims), lambda t: torch.tile(t, dims), x0)
    counts = rng.integers(0, 3, size=shape[dim])
    _both(lambda x: x.repeat_interleave(cr.tensor(counts), dim=dim),
          lambda t: t.repeat_interleave(torch.tensor(counts), dim=dim), x0)
    _both(lambda x: cr.repeat_interleave(x, 2), lambda t: torch.repeat_interleave(t, 2), x0)


@pytest.mark.kernel_free
@pytest.mark.parametrize("call", [lambda x: x.repeat(1, 1), lambda x: x.tile((1,)),
                                  lambda x: x[:1].repeat(3, 1), lambda x: x.repeat(2, 1, 1)[1]])
def test_repeat_and_tile_copy_as_pytorchs(call):
    # With sizes of 1 (or copies only along axes of size 1) the result was a view of x: a write
    # into it changed x, or failed on the broadcast (found by the fifth fuzz wave).
    x, t = cr.tensor(np.arange(6.0).reshape(3, 2)), torch.tensor(np.arange(6.0).reshape(3, 2))
    call(x).mul_(-1.0)
    call(t).mul_(-1.0)
    np.testing.assert_array_equal(x.numpy(), t.numpy())


@pytest.mark.kernel_free
def test_counts_alone_give_indices_as_pytorch():
    counts = [2, 0, 3]
    np.testing.assert_array_equal(cr.repeat_interleave(cr.tensor(counts)).numpy(),
                                  torch.repeat_interleave(torch.tensor(counts)).numpy())


@pytest.mark.parametrize("name", ["index_select", "repeat", "tile", "repeat_interleave"])
def test_gradcheck_and_gradgradcheck(name, rng):
    x = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    fn = {
        "index_select": lambda x: cr.index_select(x, 0, cr.tensor([2, 0, 2])) ** 2,
        "repeat": lambda x: x.repeat(2, 1, 3) ** 2,
        "tile": lambda x: cr.tile(x, (2,)) ** 2,
        "repeat_interleave": lambda x: x.repeat_interleave(cr.tensor([1, 3]), dim=1) ** 2,
    }[name]
    assert cr.gradcheck(fn, [x])
    assert cr.gradgradcheck(fn, [x])


@pytest.mark.kernel_free
def test_bad_arguments_are_refused_clearly():
    x = cr.ones(2, 3)
    with pytest.raises(IndexError, match=r"index holds -1\.\.1, out of range for axis 1 of size 3"):
        cr.index_select(x, 1, cr.tensor([-1, 1]))  # NumPy would wrap it: PyTorch refuses
    with pytest.raises(IndexError, match="out of range for axis 0 of size 2"):
        x.index_select(0, cr.tensor([2]))
    with pytest.raises(TypeError, match="index must hold integers, got dtype float32"):
        x.index_select(0, cr.tensor([0.0]))
    with pytest.raises(ValueError, match=r"index must be 1-D, got shape \(1, 1\)"):
        x.index_select(0, cr.tensor([[0]]))
    with pytest.raises(ValueError, match=r"1 sizes \(2,\) for a tensor of shape \(2, 3\)"):
        x.repeat(2)
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        x.repeat(1, -1)
    with pytest.raises(ValueError, match="repeats has 2 counts for an axis of size 3"):
        x.repeat_interleave(cr.tensor([1, 2]), dim=1)
    with pytest.raises(ValueError, match="repeats must be >= 0"):
        x.repeat_interleave(-1, dim=0)
    with pytest.raises(ValueError, match="output_size=5, but the repeats give 4"):
        x.repeat_interleave(2, dim=0, output_size=5)
