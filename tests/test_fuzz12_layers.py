"""Twelfth fuzz wave, layers: what the eighth wave's draws leave out (ConvTranspose's forward
``output_size`` with groups, dilation and unbatched inputs, MaxUnpool's ``output_size`` after
dilated, ceil-mode and adaptive pools, FractionalMaxPool with PyTorch's ``_random_samples``, the
functional normalizations and embedding, LPPool's infinite norms and negative inputs), each layer
built in PyTorch and chainrule, the weights ported, outputs, gradients and state compared
(float64)."""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _tup(rng, d, lo, hi):
    if rng.random() < 0.6:
        return tuple(int(v) for v in rng.integers(lo, hi, d))
    return int(rng.integers(lo, hi))


def _run(draw, seed, n, least):
    rng = np.random.default_rng(seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(n):
        desc, make, arrays = draw(rng)
        try:
            counts[check(make, arrays, rng)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= least, counts


def _draw_lp(rng):
    d = int(rng.integers(1, 4))
    p = float(rng.choice([1, 2, 3, 1.5, 4, np.inf, -np.inf]))
    k = _tup(rng, d, 1, 4) if d > 1 else int(rng.integers(1, 4))  # PyTorch's 1-D: an int
    s = (_tup(rng, d, 1, 3) if d > 1 else int(rng.integers(1, 3))) if rng.random() < .6 else None
    ceil, func = bool(rng.random() < 0.5), bool(rng.random() < 0.4)
    shape = ((2,) if rng.random() < 0.2 else (2, 2)) + tuple(int(v) for v in rng.integers(3, 7, d))
    x = rng.standard_normal(shape)  # negative values too: x ** p of odd p, NaN roots
    if rng.random() < 0.3:
        x = np.abs(x) + 0.1

    def make(lib):
        if func:
            f = getattr(lib.nn.functional, f"lp_pool{d}d")
            return lib.nn.Identity(), lambda m, x: f(x, p, k, s, ceil)
        return getattr(lib.nn, f"LPPool{d}d")(p, k, s, ceil), lambda m, x: m(x)
    return f"lp_pool{d}d(p={p}, k={k}, s={s}, ceil={ceil}) func={func} x{shape}", make, [x]


@pytest.mark.parametrize("seed", range(2))
def test_lp_pools_ported_from_pytorch(seed):
    _run(_draw_lp, 1200 + seed, 60, 50)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_lp_pool_of_an_infinite_norm_is_the_max_or_min_of_the_magnitudes(nd):
    # it was (sum of |x| ** inf) ** 0: 1 or 0 for every window, where PyTorch takes the max of
    # |x| (the min for -inf), with a max pool's gradient
    x = np.random.default_rng(nd).standard_normal((2, 3) + (5,) * nd)
    for p in (np.inf, -np.inf):
        t = torch.tensor(x, requires_grad=True)
        c = cr.tensor(x, requires_grad=True)
        want = getattr(torch.nn.functional, f"lp_pool{nd}d")(t, p, 2, None, True)
        got = getattr(cr.nn.functional, f"lp_pool{nd}d")(c, p, 2, None, True)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-15)
        w = np.random.default_rng(0).standard_normal(tuple(want.shape))
        (want * torch.tensor(w)).sum().backward()
        (got * cr.tensor(w)).sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-15)
        f = getattr(cr.nn.functional, f"lp_pool{nd}d")  # distinct |x|: a smooth max
        assert cr.autograd.gradcheck(lambda v, p=p: f(v, p, (2,) * nd, 1), [c.detach()
                                                                             .requires_grad_()])
    windows = np.abs(x[..., :4]).reshape(x.shape[:-1] + (2, 2)) if nd == 1 else None
    if windows is not None:  # by hand: the largest and smallest |x| of each pair
        got = cr.nn.functional.lp_pool1d(cr.tensor(x[..., :4]), np.inf, 2)
        np.testing.assert_array_equal(got.numpy(), windows.max(-1))
        got = cr.nn.functional.lp_pool1d(cr.tensor(x[..., :4]), -np.inf, 2)
        np.testing.assert_array_equal(got.numpy(), windows.min(-1))
