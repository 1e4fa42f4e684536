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


def _draw_conv_transpose(rng):
    d, g = int(rng.integers(1, 4)), int(rng.choice([1, 2, 3]))
    cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
    k, s, dil, p = _tup(rng, d, 1, 4), _tup(rng, d, 1, 4), _tup(rng, d, 1, 3), _tup(rng, d, 0, 3)
    sp = tuple(int(v) for v in rng.integers(1, 5, d))
    kb, sb, db, pb = (np.broadcast_to(v, d) for v in (k, s, dil, p))
    kw = dict(stride=s, padding=p, dilation=dil, groups=g, bias=bool(rng.random() < 0.6))
    if rng.random() < 0.3:  # replaced by what output_size asks for
        kw["output_padding"] = tuple(int(rng.integers(0, max(sb[i], db[i]))) for i in range(d))
    unbatched = rng.random() < 0.2
    shape = ((cin,) if unbatched else (2, cin)) + sp
    # one of the stride sizes a convolution maps back to the input's, sometimes one past them
    size = [int((n - 1) * sb[i] - 2 * pb[i] + db[i] * (kb[i] - 1) + 1 + rng.integers(0, sb[i] + (
        rng.random() < 0.15)) - (rng.random() < 0.05)) for i, n in enumerate(sp)]
    r = rng.random()  # with the leading axes (C, or N and C) of the input, sometimes the wrong ones
    lead = list(shape[:-d]) if rng.random() < 0.85 else [2] * (3 - len(shape[:-d]))
    size = lead + size if r < 0.3 else tuple(size) if r < 0.5 else torch.Size(size) if r < 0.6 \
        else [np.int64(v) for v in size] if r < 0.7 else size

    def make(lib):
        m = getattr(lib.nn, f"ConvTranspose{d}d")(cin, cout, k, **kw)
        return m, lambda m, x: m(x, output_size=size)
    return f"ConvTranspose{d}d({cin}, {cout}, {k}, {kw}) output_size={size} x{shape}", make, \
        [rng.standard_normal(shape)]


@pytest.mark.parametrize("seed", range(2))
def test_conv_transpose_output_size_ported_from_pytorch(seed):
    _run(_draw_conv_transpose, 1210 + seed, 60, 25)


def test_conv_transpose_output_size_counts_the_leading_axes_of_the_input():
    # an unbatched input's output_size may name C before the sizes (PyTorch's; it was refused)
    # and not N and C (it was taken); numpy ints are ints (they were refused)
    x = np.random.default_rng(0).standard_normal((2, 3, 3))
    for lib in (torch, cr):
        m = lib.nn.ConvTranspose2d(2, 4, 3, stride=2, groups=2, dilation=2).double()
        assert tuple(m(lib.tensor(x), output_size=[2, 10, 9]).shape) == (4, 10, 9)
        assert tuple(m(lib.tensor(x), output_size=(np.int64(9), 9)).shape) == (4, 9, 9)
        assert tuple(m(lib.tensor(x[None]), output_size=[1, 2, 9, 10]).shape) == (1, 4, 9, 10)
        with pytest.raises(ValueError, match="output_size"):
            m(lib.tensor(x), output_size=[1, 2, 9, 9])
        with pytest.raises(ValueError, match="output_size"):
            m(lib.tensor(x[None]), output_size=[2, 9, 9])
