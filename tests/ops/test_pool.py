"""Pooling: forward and gradient routing vs naive NumPy loops and PyTorch, ties, errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import F

from .._case_loop import each_case, grid, with_rng
from ._kernel_cases import once_unless


def leaf(rng, shape, dtype=np.float64):
    return cr.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)


def _windows_2d(h, w, k, s, p):
    """(output index, [input positions in row-major order, None for padding]) of every window."""
    ho, wo = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    for i in range(ho):
        for j in range(wo):
            cells = []
            for a in range(k[0]):
                for b in range(k[1]):
                    r, c = i * s[0] + a - p[0], j * s[1] + b - p[1]
                    cells.append((r, c) if 0 <= r < h and 0 <= c < w else None)
            yield (i, j), cells, (ho, wo)


def naive_pool2d(x, k, s, p, kind, count_include_pad=True, g=None):
    """Reference pooling by loops; with ``g`` also the gradient (max/min: to the first winner)."""
    n, c, h, w = x.shape
    fill = {"max": -np.inf, "min": np.inf, "avg": 0.0}[kind]
    out, grad = None, np.zeros_like(x, dtype=np.float64)
    for (i, j), cells, (ho, wo) in _windows_2d(h, w, k, s, p):
        if out is None:
            out = np.zeros((n, c, ho, wo), dtype=x.dtype)
        vals = np.stack([x[:, :, cell[0], cell[1]] if cell else np.full((n, c), fill)
                         for cell in cells], axis=-1)
        if kind == "avg":
            div = len(cells) if count_include_pad else sum(cell is not None for cell in cells)
            out[:, :, i, j] = vals.sum(-1) / div
            if g is not None:
                for cell in cells:
                    if cell:
                        grad[:, :, cell[0], cell[1]] += g[:, :, i, j] / div
            continue
        win = vals.argmax(-1) if kind == "max" else vals.argmin(-1)  # first occurrence
        out[:, :, i, j] = np.take_along_axis(vals, win[..., None], -1)[..., 0]
        if g is not None:
            for nn in range(n):
                for cc in range(c):
                    r, col = cells[win[nn, cc]]
                    grad[nn, cc, r, col] += g[nn, cc, i, j]
    return out, grad


def adaptive_bounds(n, m):
    return [(i * n // m, math.ceil((i + 1) * n / m)) for i in range(m)]


def naive_adaptive2d(x, out_size, kind, g=None):
    n, c, h, w = x.shape
    out = np.zeros((n, c) + tuple(out_size))
    grad = np.zeros_like(x)
    for i, (r0, r1) in enumerate(adaptive_bounds(h, out_size[0])):
        for j, (c0, c1) in enumerate(adaptive_bounds(w, out_size[1])):
            block = x[:, :, r0:r1, c0:c1].reshape(n, c, -1)
            if kind == "avg":
                out[:, :, i, j] = block.mean(-1)
                if g is not None:
                    grad[:, :, r0:r1, c0:c1] += g[:, :, i, j][..., None, None] / block.shape[-1]
                continue
            win = block.argmax(-1)
            out[:, :, i, j] = block.max(-1)
            if g is not None:
                for nn in range(n):
                    for cc in range(c):
                        a, b = divmod(int(win[nn, cc]), c1 - c0)
                        grad[nn, cc, r0 + a, c0 + b] += g[nn, cc, i, j]
    return out, grad


POOL_FNS = {"max": (F.max_pool2d, F.max_pool1d), "min": (F.min_pool2d, F.min_pool1d),
            "avg": (F.avg_pool2d, F.avg_pool1d)}
# (input shape, kernel, stride, padding): overlapping, padded, non-square, tiled large windows.
POOL2D = [
    ((2, 3, 6, 6), 2, None, 0),
    ((2, 2, 7, 8), 3, 2, 1),
    ((1, 2, 7, 9), (3, 2), (1, 2), (1, 0)),
    ((2, 2, 9, 10), (2, 3), 1, (1, 1)),
    ((2, 2, 17, 12), 4, None, 0),  # 16 offsets: the reshape path, with a dropped remainder
    ((1, 3, 10, 10), 5, 5, 0),
]


def _pairs(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _loop_reference(x, k, s, p, kind, g, count_include_pad=True):
    k, p = _pairs(k), _pairs(p)
    return naive_pool2d(x, k, _pairs(s if s is not None else k), p, kind, count_include_pad, g)


@pytest.mark.parametrize("kind", ["max", "min", "avg"])
@pytest.mark.parametrize("xs, k, s, p", POOL2D)
def test_pool2d_forward_and_gradient_match_naive_loops(rng, xp, kind, xs, k, s, p):
    x = rng.standard_normal(xs)
    t = cr.tensor(xp.asarray(x), requires_grad=True)
    y = POOL_FNS[kind][0](t, k, s, p)
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(xp.asarray(g)))
    ref, ref_grad = _loop_reference(x, k, s, p, kind, g)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad, atol=1e-12)


@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_count_include_pad(rng, count_include_pad):
    x = rng.standard_normal((2, 2, 5, 6))
    t = cr.tensor(x, requires_grad=True)
    y = F.avg_pool2d(t, 3, 2, 1, count_include_pad=count_include_pad)
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(g))
    ref, ref_grad = _loop_reference(x, 3, 2, 1, "avg", g, count_include_pad)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad, atol=1e-12)


def _pool1d_matches_the_2d_reference_case(rng, kind, k, s, p):
    x = rng.standard_normal((2, 3, 41))
    t = cr.tensor(x, requires_grad=True)
    y = POOL_FNS[kind][1](t, k, s, p)
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(g))
    ref, ref_grad = naive_pool2d(x[:, :, None], (1, k), (1, s or k), (0, p), kind,
                                 g=g[:, :, None])
    np.testing.assert_allclose(y.numpy(), ref[:, :, 0], atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad[:, :, 0], atol=1e-12)


def test_pool1d_matches_the_2d_reference():
    each_case(with_rng(_pool1d_matches_the_2d_reference_case), grid(
        ("k, s, p", [(3, 2, 1), (2, None, 0), (20, None, 0), (4, 3, 2)]),
        ("kind", ["max", "min", "avg"]),
    ))


def test_ties_route_the_gradient_to_the_first_extremum_and_overlaps_add_up():
    x = cr.tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    F.max_pool2d(x, 3, stride=1, padding=1).sum().backward()
    # Every window of constant input picks its first real cell (the -inf padding never wins).
    expected = np.array([[4, 2, 2, 0], [2, 1, 1, 0], [2, 1, 1, 0], [0, 0, 0, 0]], float)
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)
    x.grad = None
    F.min_pool2d(x, 3, stride=1, padding=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)
    data = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 3.0, 3.0]]]])
    y = cr.tensor(data, requires_grad=True)
    F.max_pool2d(y, 2).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy()[0, 0], [[0, 1, 1, 0], [0, 0, 0, 0]])
    z = cr.tensor(np.ones((1, 1, 40)), requires_grad=True)
    F.max_pool1d(z, 20).sum().backward()  # large tiling windows take the reshape path
    np.testing.assert_array_equal(np.flatnonzero(z.grad.numpy()), [0, 20])
    z = cr.tensor(np.ones((1, 1, 8, 8)), requires_grad=True)
    F.min_pool2d(z, 4).sum().backward()
    np.testing.assert_array_equal(np.flatnonzero(z.grad.numpy()), [0, 4, 32, 36])


def test_padding_uses_infinities_so_it_never_wins(rng):
    x = -np.abs(rng.standard_normal((1, 2, 4, 4))) - 1  # all below the zero a zero-pad would add
    y = F.max_pool2d(cr.tensor(x), 3, 1, 1).numpy()
    assert (y < 0).all()
    np.testing.assert_allclose(y, _loop_reference(x, 3, 1, 1, "max", None)[0])
    y = F.min_pool2d(cr.tensor(-x), 3, 1, 1).numpy()
    assert (y > 0).all()


def test_integer_max_pool_with_padding():
    x = np.arange(-8, 8).reshape(1, 1, 4, 4)
    y = F.max_pool2d(cr.tensor(x), 2, 2, 1)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy()[0, 0], [[-8, -6, -5], [0, 2, 3], [4, 6, 7]])


ADAPTIVE = [((2, 3, 7, 8), (3, 5)), ((2, 2, 3, 2), (5, 4)), ((1, 2, 8, 8), (4, 2)),
            ((2, 2, 6, 5), 1), ((1, 2, 5, 7), (None, 3))]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("xs, out", ADAPTIVE)
def test_adaptive_pool2d_matches_naive_loops(rng, xp, kind, xs, out):
    x = rng.standard_normal(xs)
    t = cr.tensor(xp.asarray(x), requires_grad=True)
    fn = F.adaptive_max_pool2d if kind == "max" else F.adaptive_avg_pool2d
    y = fn(t, out)
    size = _pairs(out)
    size = tuple(xs[2 + a] if v is None else v for a, v in enumerate(size))
    assert y.shape == xs[:2] + size
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(xp.asarray(g)))
    ref, ref_grad = naive_adaptive2d(x, size, kind, g)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad, atol=1e-12)


def _adaptive_pool1d_matches_naive_loops_case(rng, kind, length, out):
    x = rng.standard_normal((2, 3, length))
    t = cr.tensor(x, requires_grad=True)
    fn = F.adaptive_max_pool1d if kind == "max" else F.adaptive_avg_pool1d
    y = fn(t, out)
    g = rng.standard_normal(y.shape)
    y.backward(cr.tensor(g))
    ref, ref_grad = naive_adaptive2d(x[:, :, None], (1, out), kind, g[:, :, None])
    np.testing.assert_allclose(y.numpy(), ref[:, :, 0], atol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad[:, :, 0], atol=1e-12)


def test_adaptive_pool1d_matches_naive_loops():
    each_case(with_rng(_adaptive_pool1d_matches_naive_loops_case), grid(
        ("length, out", [(10, 4), (3, 7), (196, 1), (12, 3)]),
        ("kind", ["max", "avg"]),
    ))


GRADCHECK = {
    "max_overlap": lambda x: F.max_pool2d(x, 3, 2, 1),
    "min_rect": lambda x: F.min_pool2d(x, (2, 3), (1, 2), (1, 0)),
    "max_tiled": lambda x: F.max_pool2d(x, 4),
    "avg": lambda x: F.avg_pool2d(x, 3, 2, 1),
    "avg_tiled": lambda x: F.avg_pool2d(x, 4),
    "avg_exclude_pad": lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
    "adaptive_avg": lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    "adaptive_max": lambda x: F.adaptive_max_pool2d(x, (3, 5)),
    "adaptive_max_even": lambda x: F.adaptive_max_pool2d(x, (2, 4)),
    "max1d": lambda x: F.max_pool1d(x[:, :, 0], 3, 1, 1),
    "adaptive_avg1d": lambda x: F.adaptive_avg_pool1d(x[:, 0], 4),
}


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_POOLS = {"avg", "avg_exclude_pad", "avg_tiled", "max1d", "max_overlap", "max_tiled",
                    "min_rect"}


@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(GRADCHECK, BOTH_MODES_POOLS),
                         indirect=["kernel_mode"])
def test_gradcheck_and_gradgradcheck(rng, name):
    x = leaf(rng, (2, 2, 5, 8))
    assert cr.gradcheck(GRADCHECK[name], x)
    assert cr.gradgradcheck(GRADCHECK[name], x)


@pytest.mark.parametrize("name", ["max_overlap", "min_rect", "max_tiled", "adaptive_max", "avg",
                                  "avg_tiled"])
def test_the_backward_is_differentiable_in_the_incoming_gradient(rng, name):
    """g -> dL/dx is linear in g; its own backward (the gather) is checked to second order."""
    x = leaf(rng, (2, 2, 5, 8))
    y = GRADCHECK[name](x)
    g = leaf(rng, y.shape)

    def backward_of(g):
        with cr.enable_grad():
            return cr.grad(GRADCHECK[name](x), x, g, create_graph=True)[0]

    assert cr.gradcheck(backward_of, g)
    assert cr.gradgradcheck(backward_of, g)


def test_float32_stays_float32(rng):
    x = leaf(rng, (2, 3, 8, 8), np.float32)
    outs = [F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 1, 1), F.adaptive_avg_pool2d(x, 3),
            F.adaptive_max_pool2d(x, 3), F.min_pool2d(x, 8)]
    assert all(o.dtype == np.float32 for o in outs)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == np.float32


def _pools_match_torch_case(rng, kind, xs, k, s, p):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    nd = len(xs) - 2
    torch_fn = {("max", 1): tf.max_pool1d, ("max", 2): tf.max_pool2d, ("avg", 1): tf.avg_pool1d,
                ("avg", 2): tf.avg_pool2d}
    if kind == "min":
        def ref(t, *args):
            return -torch_fn["max", nd](-t, *args)
    else:
        ref = torch_fn[kind, nd]
    x = rng.standard_normal(xs)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = POOL_FNS[kind][2 - nd](ours, k, s, p)
    ty = ref(theirs, k, s, p)
    g = rng.standard_normal(ty.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


@pytest.mark.torch
def test_pools_match_torch():
    each_case(with_rng(_pools_match_torch_case), grid(
        ("xs, k, s, p", POOL2D + [((2, 3, 21), 3, 2, 1), ((2, 3, 40), 20, None, 0)]),
        ("kind", ["max", "min", "avg"]),
    ))


def _adaptive_pools_match_torch_case(rng, kind, xs, out):
    torch = pytest.importorskip("torch")
    nd = len(xs) - 2
    name = f"adaptive_{kind}_pool{nd}d"
    x = rng.standard_normal(xs)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = getattr(F, name)(ours, out)
    ty = getattr(torch.nn.functional, name)(theirs, out)
    g = rng.standard_normal(ty.shape)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


@pytest.mark.torch
def test_adaptive_pools_match_torch():
    each_case(with_rng(_adaptive_pools_match_torch_case), grid(
        ("xs, out", ADAPTIVE + [((2, 3, 10), 4), ((2, 3, 3), 7)]),
        ("kind", ["max", "avg"]),
    ))


@pytest.mark.torch
def test_ties_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    data = np.array([[[[1, 2, 2, 0, 1], [2, 2, 1, 2, 2], [0, 2, 2, 2, 1], [2, 1, 0, 2, 2]]]], float)
    for ours_fn, torch_fn in [
        (lambda t: F.max_pool2d(t, 3, 1, 1), lambda t: tf.max_pool2d(t, 3, 1, 1)),
        (lambda t: F.max_pool2d(t, 2, 1), lambda t: tf.max_pool2d(t, 2, 1)),
        (lambda t: F.adaptive_max_pool2d(t, (3, 2)), lambda t: tf.adaptive_max_pool2d(t, (3, 2))),
        (lambda t: F.min_pool2d(t, 2, 1), lambda t: -tf.max_pool2d(-t, 2, 1)),
    ]:
        ours, theirs = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        ours_fn(ours).sum().backward()
        torch_fn(theirs).sum().backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def _t(shape, dtype=np.float32):
    return cr.tensor(np.zeros(shape, dtype=dtype))


_ERRORS_NAME_THE_FUNCTION_AND_SHOW_THE_VALUES = [
    (lambda: F.max_pool2d(_t((28,)), 2), r"max_pool2d: input must be 3-D \(C, H, W\) or 4-D "
                                         r"\(N, C, H, W\), got shape \(28,\)"),
    (lambda: F.avg_pool1d(_t((1, 2, 3, 4)), 2), r"avg_pool1d: input must be 2-D \(C, L\) or 3-D "
                                                r"\(N, C, L\)"),
    (lambda: F.max_pool2d(_t((1, 1, 4, 4)), 2, padding=2),
     r"padding \(2, 2\) must be at most half the kernel size \(2, 2\)"),
    (lambda: F.min_pool2d(_t((1, 1, 4, 4)), 5), r"kernel size \(5, 5\) is larger than the padded"),
    (lambda: F.max_pool2d(_t((1, 1, 4, 4)), 2, stride=0), r"stride must be positive, got 0"),
    (lambda: F.max_pool1d(_t((1, 1, 4)), 0), r"kernel_size must be positive"),
    (lambda: F.avg_pool2d(_t((1, 1, 4, 4)), (2, 2, 2)), r"kernel_size must have 2 entries"),
    (lambda: F.avg_pool2d(_t((1, 1, 4, 4), np.int32), 2),  # int64: PyTorch's (fuzz25)
     r"avg_pool2d: input must be floating"),
    (lambda: F.adaptive_avg_pool2d(_t((1, 1, 4, 4)), 0), r"output_size must be positive, got 0"),
    (lambda: F.adaptive_max_pool1d(_t((4,)), 2), r"adaptive_max_pool1d: input must be 2-D"),
    (lambda: F.adaptive_max_pool2d(_t((1, 1, 4, 4)), (2, 2.5)),
     r"output_size must be an int or a tuple of 2 ints"),
]


def _errors_name_the_function_and_show_the_values_case(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


@pytest.mark.kernel_free
def test_errors_name_the_function_and_show_the_values():
    each_case(_errors_name_the_function_and_show_the_values_case, grid(
        ("call, message", _ERRORS_NAME_THE_FUNCTION_AND_SHOW_THE_VALUES),
    ))


@pytest.mark.torch
@pytest.mark.parametrize("batch", [1, 17])  # 17: the compiled pool and routing
@pytest.mark.parametrize("kind", ["max", "min"])
def test_infinite_windows_route_to_their_first_input_not_the_padding(kind, batch):
    """A window of -inf under max pooling (+inf under min) equals its -inf padding: the gradient
    still goes to its first real input (PyTorch's rule), not into the padding, where it was lost."""
    torch = pytest.importorskip("torch")
    sign = 1.0 if kind == "max" else -1.0
    x = np.full((batch, 2, 3, 5), -sign * np.inf)
    x[:, 1, 1, 2] = 0.5  # one finite value: windows holding it are finite
    g = np.arange(1.0, 1 + batch * 2 * 3 * 5).reshape(batch, 2, 3, 5)
    ours = cr.tensor(x, requires_grad=True)
    y = POOL_FNS[kind][0](ours, 3, 1, 1)
    y.backward(cr.tensor(g))
    theirs = torch.tensor(x, requires_grad=True)
    (sign * torch.nn.functional.max_pool2d(sign * theirs, 3, 1, 1)).backward(torch.tensor(g))
    np.testing.assert_array_equal(y.numpy(), (sign * torch.nn.functional.max_pool2d(
        sign * torch.tensor(x), 3, 1, 1)).numpy())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert ours.grad.numpy().sum() == g.sum()  # no gradient lost
    x1 = np.full((batch, 1, 7), -sign * np.inf)
    z = cr.tensor(x1, requires_grad=True)
    POOL_FNS[kind][1](z, 4, 3, 2).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy()[0, 0], [1, 1, 0, 0, 1, 0, 0])  # windows -2, 1, 4
    # The gradient's own gradient (the values at the winners) picks the same winners.
    gt, tg = cr.tensor(g, requires_grad=True), torch.tensor(g, requires_grad=True)
    gx = cr.grad(POOL_FNS[kind][0](ours, 3, 1, 1), ours, gt, create_graph=True)[0]
    tgx = torch.autograd.grad(sign * torch.nn.functional.max_pool2d(sign * theirs, 3, 1, 1), theirs,
                              tg, create_graph=True)[0]
    v = np.arange(x.size, dtype=float).reshape(x.shape)
    np.testing.assert_array_equal(cr.grad(gx, gt, cr.tensor(v))[0].numpy(),
                                  torch.autograd.grad(tgx, tg, torch.tensor(v))[0].numpy())


@pytest.mark.torch
@pytest.mark.parametrize("batch", [1, 17])
def test_nan_windows_route_to_their_last_nan_as_torch(rng, batch):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = np.round(rng.standard_normal((batch, 2, 6, 7)) * 2)
    x[rng.random(x.shape) < 0.2] = np.nan
    for ours_fn, torch_fn in [
        (lambda t: F.max_pool2d(t, 3, 1, 1), lambda t: tf.max_pool2d(t, 3, 1, 1)),
        (lambda t: F.max_pool2d(t, 2), lambda t: tf.max_pool2d(t, 2)),
        (lambda t: F.max_pool2d(t, (3, 5), (3, 1)), lambda t: tf.max_pool2d(t, (3, 5), (3, 1))),
        (lambda t: F.min_pool2d(t, 2, 1, 1), lambda t: -tf.max_pool2d(-t, 2, 1, 1)),
        (lambda t: F.adaptive_max_pool2d(t, (4, 3)), lambda t: tf.adaptive_max_pool2d(t, (4, 3))),
        (lambda t: F.adaptive_max_pool2d(t, (3, 7)), lambda t: tf.adaptive_max_pool2d(t, (3, 7))),
    ]:
        ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours_fn(ours), torch_fn(theirs)
        g = rng.standard_normal(ty.shape)
        y.backward(cr.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
        gt, tg = cr.tensor(g, requires_grad=True), torch.tensor(g, requires_grad=True)
        v = rng.standard_normal(x.shape)
        ours = cr.tensor(x, requires_grad=True)
        gx = cr.grad(ours_fn(ours), ours, gt, create_graph=True)[0]
        theirs = torch.tensor(x, requires_grad=True)
        tgx = torch.autograd.grad(torch_fn(theirs), theirs, tg, create_graph=True)[0]
        np.testing.assert_array_equal(cr.grad(gx, gt, cr.tensor(v))[0].numpy(),
                                      torch.autograd.grad(tgx, tg, torch.tensor(v))[0].numpy())


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_adaptive_avg_pool_keeps_a_non_finite_input_in_its_own_windows(rng, value):
    """The averaging matrices' zeros times inf would make NaN of every output in its row."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 9))
    x[0, 1, 2, 3] = value
    for name, out in [("adaptive_avg_pool2d", (3, 4)), ("adaptive_avg_pool1d", 4)]:
        a = x if name.endswith("2d") else x[:, :, 2]
        ours, theirs = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, ty = getattr(F, name)(ours, out), getattr(torch.nn.functional, name)(theirs, out)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert np.isfinite(y.numpy()).sum() == y.numpy().size - (1 if a.ndim == 3 else 2)
        g = rng.standard_normal(ty.shape)
        g.flat[0] = value  # a non-finite incoming gradient stays in its window too
        y.backward(cr.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12,
                                   atol=1e-14)
