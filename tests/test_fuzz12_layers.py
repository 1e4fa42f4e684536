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


def _draw_unpool(rng):
    d = int(rng.integers(1, 4))
    sp = tuple(int(v) for v in rng.integers(2, 7, d))
    shape = ((2,) if rng.random() < 0.2 else (2, 2)) + sp
    k, s = _tup(rng, d, 1, 4), _tup(rng, d, 1, 4) if rng.random() < 0.7 else None
    kb, sb = np.broadcast_to(k, d), np.broadcast_to(k if s is None else s, d)
    p = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in kb) if rng.random() < 0.5 else 0
    pb, src = np.broadcast_to(p, d), str(rng.choice(["pool", "dilated", "adaptive"]))
    dil, ceil = _tup(rng, d, 1, 3), bool(rng.random() < 0.4)
    adaptive = tuple(int(rng.integers(1, n + 1)) for n in sp)
    # around the default size of the pooled input, sometimes outside the stride's range
    pooled = [(n + 2 * pb[i] - kb[i]) // sb[i] + 1 for i, n in enumerate(sp)]
    size = [max(1, int((m - 1) * sb[i] - 2 * pb[i] + kb[i] + rng.integers(-1, sb[i] + 1)))
            for i, m in enumerate(pooled)]
    r = rng.random()
    size = list(shape[:-d]) + size if r < 0.25 else tuple(size) if r < 0.5 else list(sp) \
        if r < 0.7 else None if r < 0.8 else size
    func = bool(rng.random() < 0.4)

    def make(lib):
        if src == "adaptive":
            pool = getattr(lib.nn, f"AdaptiveMaxPool{d}d")(adaptive if d > 1 else adaptive[0],
                                                            return_indices=True)
        else:
            pool = getattr(lib.nn, f"MaxPool{d}d")(k, s, p, dilation=dil if src == "dilated"
                                                   else 1, return_indices=True, ceil_mode=ceil)
        if func:
            f = getattr(lib.nn.functional, f"max_unpool{d}d")
            return lib.nn.Identity(), lambda m, x: f(*pool(x), k, s, p, output_size=size)
        return getattr(lib.nn, f"MaxUnpool{d}d")(k, s, p), lambda m, x: m(*pool(x),
                                                                           output_size=size)
    desc = f"MaxUnpool{d}d({k}, {s}, {p}) after {src} dil={dil} ceil={ceil} output_size={size}"
    return f"{desc} func={func} x{shape}", make, [rng.standard_normal(shape)]


@pytest.mark.parametrize("seed", range(2))
def test_max_unpool_output_size_ported_from_pytorch(seed):
    _run(_draw_unpool, 1220 + seed, 80, 20)


def _draw_fractional(rng):
    d = int(rng.choice([2, 3]))
    k = _tup(rng, d, 1, 4)
    kb = np.broadcast_to(k, d)
    sp = tuple(int(v) for v in rng.integers(2, 9, d))
    shape = ((2,) if rng.random() < 0.2 else (2, 3)) + sp
    if rng.random() < 0.5:
        size = tuple(int(rng.integers(1, max(2, n - kb[i] + 2))) for i, n in enumerate(sp))
        kw = dict(output_size=size if rng.random() < 0.7 else size[0])
    else:  # PyTorch's functional form takes a tuple of ratios only (the module a float too);
        # a ratio that leaves a side of 0 is refused by chainrule only, so none here
        ratios = [float(rng.choice([0.5, 0.6, 0.75, 0.99])) for _ in range(d)]
        kw = dict(output_ratio=tuple(max(r, 1 / n) for r, n in zip(ratios, sp)))
    ri, module = bool(rng.random() < 0.5), bool(rng.random() < 0.4)
    lead = (1, shape[0]) if len(shape) == d + 1 else shape[:2]
    samples = rng.random(lead + (d,))  # PyTorch's draws: the same windows in both

    def make(lib):
        u = lib.tensor(samples)
        if module:
            return getattr(lib.nn, f"FractionalMaxPool{d}d")(
                k, return_indices=ri, _random_samples=u, **kw), lambda m, x: m(x)
        f = getattr(lib.nn.functional, f"fractional_max_pool{d}d")
        return lib.nn.Identity(), lambda m, x: f(x, k, return_indices=ri, _random_samples=u, **kw)
    return f"FractionalMaxPool{d}d({k}, {kw}, ri={ri}) module={module} x{shape}", make, \
        [rng.standard_normal(shape)]


@pytest.mark.parametrize("seed", range(2))
def test_fractional_max_pool_with_pytorchs_samples(seed):
    _run(_draw_fractional, 1230 + seed, 60, 20)


@pytest.mark.parametrize("d", [2, 3])
def test_fractional_max_pool_draws_windows_of_pytorchs_shapes_holding_their_maxima(d):
    # without samples the draws differ: the shapes are PyTorch's and each output is the
    # largest value of a kernel-sized window that holds its index
    x = np.random.default_rng(d).standard_normal((2, 3) + (9,) * d)
    for kw in ({"output_size": (4,) * d}, {"output_ratio": 0.5}):
        want = getattr(torch.nn, f"FractionalMaxPool{d}d")(2, return_indices=True, **kw)(
            torch.tensor(x))[0]
        y, ix = getattr(cr.nn, f"FractionalMaxPool{d}d")(2, return_indices=True, **kw)(
            cr.tensor(x))
        assert tuple(y.shape) == tuple(want.shape) == tuple(ix.shape)
        flat = x.reshape(6, -1)
        np.testing.assert_array_equal(y.numpy().reshape(6, -1),
                                      np.take_along_axis(flat, ix.numpy().reshape(6, -1), 1))
        for (plane, *_), i, v in zip(np.ndindex(6, *y.shape[2:]), ix.numpy().ravel(),
                                     y.numpy().ravel()):
            pos = np.unravel_index(i, (9,) * d)  # some 2-wide window holding it has it as max
            img = x.reshape((6,) + (9,) * d)[plane]
            assert any(img[tuple(slice(p - o, p - o + 2) for p, o in zip(pos, off))].max() == v
                       for off in np.ndindex(*(2,) * d)
                       if all(0 <= p - o <= 7 for p, o in zip(pos, off))), (plane, pos)


def _draw_functional_norm(rng):
    kind = str(rng.choice(["batch", "instance", "group", "layer", "rms"]))
    N, C = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    sp = tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(kind == "instance", 3))))
    shape = (N, C) + sp

    def maybe(shp, p=0.5):
        return rng.standard_normal(shp) if rng.random() < p else None
    if kind in ("batch", "instance"):  # running statistics updated in place, then returned
        stats = (maybe(C, 0.6),) * 2
        stats = (stats[0], None if stats[0] is None else rng.random(C) + 0.5)
        use_batch = bool(rng.random() < 0.5) or (kind == "batch" and stats[0] is None)
        w, b = maybe(C), maybe(C)
        kw = dict(momentum=float(rng.choice([0.1, 0.5, 1.0, 0.0])),
                  eps=float(rng.choice([1e-5, 0.1])))
        kw["training" if kind == "batch" else "use_input_stats"] = use_batch

        def call(lib, x):
            t = [None if a is None else lib.tensor(a.copy()) for a in stats + (w, b)]
            y = getattr(lib.nn.functional, f"{kind}_norm")(x, *t, **kw)
            return (y,) + tuple(a for a in t[:2] if a is not None)
        desc = f"{kind}_norm stats={stats[0] is not None} w={w is not None} b={b is not None} {kw}"
    elif kind == "group":
        G, w = int(rng.integers(1, C + 2)), maybe(C)
        b = maybe(C)

        def call(lib, x):
            t = [None if a is None else lib.tensor(a) for a in (w, b)]
            return lib.nn.functional.group_norm(x, G, *t, eps=0.1)
        desc = f"group_norm G={G} w={w is not None} b={b is not None}"
    else:
        ns = shape[-int(rng.integers(1, len(shape) + 1)):]
        w, b = maybe(ns), maybe(ns)
        eps = None if kind == "rms" and rng.random() < 0.4 else float(rng.choice([1e-5, 0.1]))

        def call(lib, x):
            t = [None if a is None else lib.tensor(a) for a in (w, b)]
            F = lib.nn.functional
            if kind == "layer":
                return F.layer_norm(x, list(ns), *t, eps=eps)
            return F.rms_norm(x, ns, t[0], eps=eps)
        desc = f"{kind}_norm {ns} w={w is not None} b={b is not None} eps={eps}"

    def make(lib):
        return lib.nn.Identity(), lambda m, x: call(lib, x)
    return f"{desc} x{shape}", make, [rng.standard_normal(shape) * 2 + 0.3]


@pytest.mark.parametrize("seed", range(2))
def test_functional_normalizations_against_pytorch(seed):
    _run(_draw_functional_norm, 1240 + seed, 60, 40)


def _draw_functional_embedding(rng):
    n, D = int(rng.integers(2, 6)), int(rng.integers(1, 4))
    idx = rng.integers(0, n, tuple(rng.integers(1, 4, int(rng.integers(1, 3)))))
    kw = dict(padding_idx=int(rng.integers(-n, n)) if rng.random() < 0.5 else None,
              max_norm=float(rng.choice([0.3, 1.0])) if rng.random() < 0.7 else None,
              norm_type=float(rng.choice([1.0, 2.0, 3.0, np.inf, 0.5])),
              scale_grad_by_freq=bool(rng.random() < 0.3))
    W = rng.standard_normal((n, D))

    def make(lib):
        w = lib.tensor(W.copy(), requires_grad=True)  # max_norm renorms its rows in place

        def call(m, i):
            return lib.nn.functional.embedding(i, w, **kw), w.detach() * 1
        return lib.nn.Identity(), call
    return f"F.embedding(n={n}, {kw}) idx{idx.shape}", make, [idx]


def test_functional_embedding_against_pytorch():
    _run(_draw_functional_embedding, 1250, 80, 80)


def _draw_odd_arguments(rng):
    def one():
        return int(rng.choice([-1, 0, 1, 2, 3, 5]))

    def some(d):
        return tuple(one() for _ in range(d)) if rng.random() < 0.5 else one()
    kind = str(rng.choice(["conv", "convt", "max", "avg", "lp", "unfold", "fold"]))
    d = int(rng.integers(1, 4)) if kind not in ("lp", "unfold", "fold") else 2
    shape = (2, 2) + tuple(int(v) for v in rng.integers(1, 7, d))
    if kind == "conv":
        pad = some(d) if rng.random() < 0.7 else str(rng.choice(["same", "valid"]))
        kw = dict(stride=some(d), padding=pad, dilation=some(d), groups=int(rng.choice([1, 2, 0])),
                  padding_mode=str(rng.choice(["zeros", "reflect", "replicate", "circular"])))
        name, args = f"Conv{d}d", (2, 2, some(d))
    elif kind == "convt":
        kw = dict(stride=some(d), padding=some(d), output_padding=some(d), dilation=some(d),
                  groups=int(rng.choice([1, 2, 0])))
        name, args = f"ConvTranspose{d}d", (2, 2, some(d))
    elif kind == "max":
        kw = dict(stride=some(d), padding=some(d), dilation=some(d),
                  ceil_mode=bool(rng.random() < 0.5))
        name, args = f"MaxPool{d}d", (some(d),)
    elif kind == "avg":  # PyTorch divides by a negative divisor_override; chainrule refuses it
        kw = dict(stride=some(d), padding=some(d), ceil_mode=bool(rng.random() < 0.5),
                  count_include_pad=bool(rng.random() < 0.5))
        if d > 1 and rng.random() < 0.4:
            kw["divisor_override"] = int(rng.choice([0, 1, 3]))
        name, args = f"AvgPool{d}d", (some(d),)
    elif kind == "lp":
        kw = dict(stride=some(d), ceil_mode=bool(rng.random() < 0.5))
        name, args = "LPPool2d", (float(rng.choice([2, 1, 0.5])), some(d))
    elif kind == "unfold":
        kw = dict(dilation=some(2), padding=some(2), stride=some(2))
        name, args = "Unfold", (some(2),)
    else:  # PyTorch's fold of a negative or zero size, stride or dilation crashed the process
        def pos(lo):
            return tuple(max(abs(v), lo) for v in np.broadcast_to(some(2), 2).tolist())
        k = pos(1)
        kw = dict(dilation=pos(1), padding=pos(0), stride=pos(1))
        name, args = "Fold", (pos(1), k)
        shape = (2, 2 * k[0] * k[1], int(rng.integers(1, 30)))

    def make(lib):
        return getattr(lib.nn, name)(*args, **kw), lambda m, x: m(x)
    return f"{name}{args}{kw} x{shape}", make, [rng.standard_normal(shape)]


# 3-D average pools of a side shorter than the kernel: PyTorch refuses (docs/pytorch.md)
_ODD_DIFFERS = ("smaller than kernel size",)


def test_odd_arguments_are_refused_where_pytorch_refuses_them():
    rng = np.random.default_rng(1260)
    counts = {"compared": 0, "raised": 0, "differs": 0}
    for _ in range(300):
        desc, make, arrays = _draw_odd_arguments(rng)
        try:
            counts[check(make, arrays, rng, differ=_ODD_DIFFERS)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 15 and counts["raised"] >= 150, counts


def test_empty_adaptive_and_fractional_outputs_are_refused_where_pytorch_returns_them():
    # docs/pytorch.md: chainrule names the sizes; PyTorch returns a tensor with a side of 0
    x = np.random.default_rng(0).standard_normal((1, 2, 1, 6))
    samples = np.full((1, 2, 2), 0.5)
    assert torch.nn.AdaptiveAvgPool2d((0, 2))(torch.tensor(x)).shape == (1, 2, 0, 2)
    assert torch.nn.functional.fractional_max_pool2d(
        torch.tensor(x), 1, output_ratio=(0.5, 0.5), _random_samples=torch.tensor(samples)
    ).shape == (1, 2, 0, 3)
    with pytest.raises(ValueError, match=r"output_size must be a positive int.*got \(0, 2\)"):
        cr.nn.AdaptiveAvgPool2d((0, 2))(cr.tensor(x))
    with pytest.raises(ValueError, match=r"fractional_max_pool2d: output_size.*got \(0, 3\)"):
        cr.nn.functional.fractional_max_pool2d(cr.tensor(x), 1, output_ratio=(0.5, 0.5),
                                               _random_samples=cr.tensor(samples))
    z = x[0, :, 0, :4].reshape(2, 2, 2)  # (C, H, W): one 2 x 2 window a channel
    want = torch.nn.AvgPool2d(2, divisor_override=-2)(torch.tensor(z))
    np.testing.assert_allclose(want.numpy().ravel(), -z.sum((1, 2)) / 2, rtol=1e-15)
    with pytest.raises(ValueError, match="divisor_override must be a positive int or None, got -2"):
        cr.nn.AvgPool2d(2, divisor_override=-2)


@pytest.mark.parametrize("ceil", [False, True])
def test_lp_pool3d_of_a_window_summing_to_exactly_zero_is_zero(ceil):
    # the cubes of these integers sum to 0 over the window; lp_pool3d averaged by planes, then
    # over depth, left 1.5e-16, so the cube root 1e-5 (PyTorch: 0) and a gradient of -2e10
    col = np.array([2.0, 1, -2, 2, -1, 0, -2, 1, -1]).reshape(3, 3, 1)
    x = np.concatenate([col, np.ones((3, 3, 1))], -1)[None, None]
    grads = []
    for lib in (torch, cr):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.lp_pool3d(t, 3.0, (3, 3, 1), 1, ceil)
        y.sum().backward()
        grads.append(t.grad.numpy())
        assert y.detach().numpy().ravel()[0] == 0
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)
    assert cr.autograd.gradcheck(lambda v: cr.nn.functional.lp_pool3d(v, 3.0, 2, 1, ceil),
                                 [cr.tensor(np.random.default_rng(0).random((1, 2, 3, 3, 2))
                                            + 0.5, requires_grad=True)])
