"""The PyTorch math added in ops/math.py, rearrange.py, stats.py, einsum.py and select.py:
forward and backward against PyTorch (float64), gradcheck and gradgradcheck, and clear errors."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")


def _pos(rng, shape):
    return rng.uniform(0.3, 2.0, shape)


def _unit(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


def _any(rng, shape):
    return rng.standard_normal(shape)


# name: (call on a library module `L` and its inputs, input makers, second-order check)
CASES = {
    "rsqrt": (lambda L, x: L.rsqrt(x), [_pos]), "expm1": (lambda L, x: L.expm1(x), [_any]),
    "log1p": (lambda L, x: L.log1p(x), [_pos]), "log2": (lambda L, x: L.log2(x), [_pos]),
    "log10": (lambda L, x: L.log10(x), [_pos]), "exp2": (lambda L, x: L.exp2(x), [_any]),
    "tan": (lambda L, x: L.tan(x), [_unit]), "atan": (lambda L, x: L.atan(x), [_any]),
    "asin": (lambda L, x: L.asin(x), [_unit]), "acos": (lambda L, x: L.acos(x), [_unit]),
    "sinh": (lambda L, x: L.sinh(x), [_any]), "cosh": (lambda L, x: L.cosh(x), [_any]),
    "erf": (lambda L, x: L.erf(x), [_any]), "erfc": (lambda L, x: L.erfc(x), [_any]),
    "square": (lambda L, x: L.square(x), [_any]),
    "reciprocal": (lambda L, x: L.reciprocal(x), [_pos]),
    "frac": (lambda L, x: L.frac(x * 3), [_any]),
    "floor": (lambda L, x: L.floor(x * 3) * x, [_any]),
    "round": (lambda L, x: L.round(x * 3) * x, [_any]),
    "round_decimals": (lambda L, x: L.round(x, decimals=2) * x, [_any]),
    "atan2": (lambda L, y, x: L.atan2(y, x), [_any, _pos]),
    "remainder": (lambda L, a, b: L.remainder(a * 3, b), [_any, _pos]),
    "fmod": (lambda L, a, b: L.fmod(a * 3, b), [_any, _pos]),
    "logaddexp": (lambda L, a, b: L.logaddexp(a, b), [_any, _any]),
    "hypot": (lambda L, a, b: L.hypot(a, b), [_any, _any]),
    "lerp": (lambda L, a, b, w: L.lerp(a, b, w), [_any, _any, _unit]),
    "clamp_min": (lambda L, x: L.clamp_min(x, 0.1), [_any]),
    "cumsum": (lambda L, x: L.cumsum(x, 1), [_any]),
    "flip": (lambda L, x: L.flip(x, (0, 1)), [_any]),
    "roll": (lambda L, x: L.roll(x, (1, -2), (0, 1)), [_any]),
    "roll_flat": (lambda L, x: L.roll(x, 2), [_any]),
    "diff": (lambda L, x: L.diff(x, n=2, dim=1), [_any]),
    "movedim": (lambda L, x: L.movedim(x, 0, 1), [_any]),
    "unflatten": (lambda L, x: L.unflatten(x.reshape(3, 4), 1, (2, 2)), [_any]),
    "hstack": (lambda L, a, b: L.hstack([a, b]), [_any, _any]),
    "vstack": (lambda L, a, b: L.vstack([a, b]), [_any, _any]),
    "take": (lambda L, x: L.take(x, L.tensor([[0, 5], [11, 3]])), [_any]),
    "take_along_dim": (lambda L, x: L.take_along_dim(x, L.tensor([[1], [0], [3]]), 1), [_any]),
    "prod": (lambda L, x: L.prod(x, 1), [_any]),
    "prod_all": (lambda L, x: L.prod(x), [_any]),
    "amax": (lambda L, x: L.amax(L.round(x), (0, 1)) + L.amax(x, 1).sum(), [_any]),
    "norm": (lambda L, x: L.norm(x, dim=1), [_any]),
    "norm_p3": (lambda L, x: L.norm(x, 3, dim=0), [_pos]),
    "norm_inf": (lambda L, x: L.norm(x, float("inf")), [_any]),
    "nansum": (lambda L, x: L.nansum(x, 1), [_any]),
    "median": (lambda L, x: L.median(x, 1).values + L.median(x), [_any]),
    "einsum": (lambda L, a, b: L.einsum("ij,kj->ik", a, b), [_any, _any]),
    "einsum_sum": (lambda L, a, b: L.einsum("ij,ik->j", a, b), [_any, _any]),
    "einsum_ellipsis": (lambda L, a: L.einsum("...j->j...", a), [_any]),
    "outer": (lambda L, a: L.outer(a[0], a[1]), [_any]),
    "dot": (lambda L, a: L.dot(a[0], a[1]), [_any]),
    "tensordot": (lambda L, a, b: L.tensordot(a, b, ([1], [1])), [_any, _any]),
    "cdist": (lambda L, a, b: L.cdist(a, b), [_any, _any]),
    "pdist": (lambda L, a: L.pdist(a) + L.pdist(a, 3.0).sum() + L.pdist(a, 0.5).sum(), [_any]),
    "diag": (lambda L, x: L.diag(x[:, :3], 1) + L.diag(L.diag(x[0], -1)).sum(), [_any]),
    "trace": (lambda L, x: x.trace(), [_any]),  # L.trace(x): tests/ops/test_as_strided_trace.py
    "masked_select": (lambda L, x: L.masked_select(x, x > 0), [_any]),
    "scatter": (lambda L, x, s: L.scatter(x, 1, L.tensor([[0, 2], [1, 3], [3, 0]]), s[:, :2]),
                [_any, _any]),
    "scatter_add": (lambda L, x, s: L.scatter_add(x, 0, L.tensor([[0, 2, 1, 0]]), s[:1]),
                    [_any, _any]),
    "index_add": (lambda L, x, s: L.index_add(x, 0, L.tensor([2, 0, 2]), s), [_any, _any]),
    "nan_to_num": (lambda L, x: L.nan_to_num(x + L.tensor(
        [[0.0, np.inf, 0.0, -np.inf], [np.nan, 0.0, 0.0, 0.0], [0.0] * 4]), 1.5, 9.0, -9.0),
                   [_any]),
}


def _matches_pytorch_forward_and_backward_case(name):
    fn, makers = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [make(rng, (3, 4)) for make in makers]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, u = fn(cr, *ours), fn(torch, *theirs)
    assert y.shape == tuple(u.shape)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        ga = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        gb = np.zeros(tuple(b.shape)) if b.grad is None else b.grad.numpy()
        np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-12)


def test_matches_pytorch_forward_and_backward():
    each_case(_matches_pytorch_forward_and_backward_case, grid(("name", sorted(CASES))))


SMOOTH = ["rsqrt", "expm1", "log1p", "tan", "asin", "erf", "atan2", "logaddexp", "cumsum",
          "flip", "roll", "diff", "prod", "norm", "norm_p3", "einsum", "einsum_sum", "cdist",
          "pdist", "diag", "scatter", "scatter_add", "index_add", "take_along_dim", "median"]


@pytest.mark.parametrize("name", SMOOTH)
def test_gradcheck_and_gradgradcheck(name):
    fn, makers = CASES[name]
    rng = np.random.default_rng(7)
    xs = [cr.tensor(make(rng, (3, 4)), requires_grad=True) for make in makers]
    assert cr.gradcheck(lambda *t: fn(cr, *t), xs)
    assert cr.gradgradcheck(lambda *t: fn(cr, *t), xs)


@pytest.mark.kernel_free
def test_prod_gradient_with_zeros_matches_pytorch():
    a = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]])
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    cr.prod(x, 1).sum().backward()
    torch.prod(t, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.kernel_free
def test_norm_at_zero_has_gradient_zero():
    x = cr.zeros(3, dtype="float64", requires_grad=True)
    cr.norm(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


@pytest.mark.kernel_free
def test_predicates_selection_and_counting_match_pytorch():
    a = np.array([[1.0, np.nan, -np.inf], [0.0, 2.0, 2.0]])
    for name in ("isnan", "isinf", "isfinite", "signbit"):
        np.testing.assert_array_equal(getattr(cr, name)(cr.tensor(a)).numpy(),
                                      getattr(torch, name)(torch.tensor(a)).numpy())
    v = np.array([3, 1, 3, 0, 1, 3])
    for ours, theirs in zip(cr.unique(cr.tensor(v), return_inverse=True, return_counts=True),
                            torch.unique(torch.tensor(v), return_inverse=True,
                                         return_counts=True)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(cr.bincount(cr.tensor(v), minlength=6).numpy(),
                                  torch.bincount(torch.tensor(v), minlength=6).numpy())
    m = np.array([[0, 1], [2, 0]])
    np.testing.assert_array_equal(cr.nonzero(cr.tensor(m)).numpy(),
                                  torch.nonzero(torch.tensor(m)).numpy())
    b = np.array([1.0, 2.0, 4.0])
    q = np.array([0.5, 2.0, 5.0])
    for right in (False, True):
        np.testing.assert_array_equal(
            cr.searchsorted(cr.tensor(b), cr.tensor(q), right=right).numpy(),
            torch.searchsorted(torch.tensor(b), torch.tensor(q), right=right).numpy())
        np.testing.assert_array_equal(
            cr.bucketize(cr.tensor(q), cr.tensor(b), right=right).numpy(),
            torch.bucketize(torch.tensor(q), torch.tensor(b), right=right).numpy())
    assert cr.allclose(cr.tensor(b), cr.tensor(b + 1e-9)) and not cr.equal(cr.tensor(b),
                                                                           cr.tensor(q))
    np.testing.assert_array_equal(cr.triu_indices(3, 4, 1).numpy(),
                                  torch.triu_indices(3, 4, 1).numpy())
    np.testing.assert_array_equal(cr.tril_indices(4, 3).numpy(), torch.tril_indices(4, 3).numpy())
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert [t.tolist() for t in x.unbind(1)] == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    grids = cr.meshgrid(cr.arange(3), cr.arange(2), indexing="xy")
    want = torch.meshgrid(torch.arange(3), torch.arange(2), indexing="xy")
    for g, t in zip(grids, want):
        np.testing.assert_array_equal(g.numpy(), t.numpy())


@pytest.mark.kernel_free
def test_in_place_writers_match_pytorch_and_are_guarded():
    idx = np.array([[0], [2], [3]])
    ours = cr.zeros(3, 4).scatter_(1, cr.tensor(idx), 1.0)
    theirs = torch.zeros(3, 4).scatter_(1, torch.tensor(idx), 1.0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # one-hot rows
    a = np.arange(12.0).reshape(3, 4)
    for call in (lambda t, L: t.index_add_(0, L.tensor([2, 2]), L.ones(2, 4, dtype=L.float64)),
                 lambda t, L: t.index_fill_(1, L.tensor([0, 3]), -1.0),
                 lambda t, L: t.scatter_add_(0, L.tensor([[1, 1, 0, 2]]),
                                             L.ones(1, 4, dtype=L.float64)),
                 lambda t, L: t.exp_().sqrt_().neg_().clamp_min_(-3.0)):
        x, t = cr.tensor(a), torch.tensor(a)
        assert call(x, cr) is x
        call(t, torch)
        np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-12)
    w = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="exp_: a leaf tensor that requires grad"):
        w.exp_()
    # The detached alias changes z's values, which no backward reads (a product's backward does
    # not read the product): PyTorch's gradient, 2 * sum(exp(2)), not a refusal.
    grads = []
    for L in (cr, torch):
        y = L.ones(3, requires_grad=True, dtype=L.float64)
        z = y * 2
        (z.sum() * z.detach().exp_().sum()).backward()
        grads.append(y.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    y = cr.ones(3, requires_grad=True)
    z = y * 2
    s = (z * z).sum() * z.detach().exp_().sum()  # z * z reads the changed values
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.backward()


@pytest.mark.kernel_free
def test_random_draws_follow_the_seed():
    cr.manual_seed(3)
    a = cr.bernoulli(cr.full((1000,), 0.3, dtype="float64"))
    n = cr.normal(cr.zeros(1000), cr.ones(1000) * 2)
    cr.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), cr.bernoulli(cr.full((1000,), 0.3,
                                                                  dtype="float64")).numpy())
    assert 0.25 < float(a.mean()) < 0.35 and 1.8 < float(n.std()) < 2.2


@pytest.mark.kernel_free
def test_bad_arguments_are_refused_clearly():
    x = cr.ones(2, 3)
    with pytest.raises(ValueError, match=r"index 'j' has sizes 3 and 2"):
        cr.einsum("ij,jk->ik", x, x)
    with pytest.raises(ValueError, match="2 operands, but 1 tensors"):
        cr.einsum("ij,jk->ik", x)
    with pytest.raises(TypeError, match="cumsum: dim is required"):
        cr.cumsum(x)
    with pytest.raises(ValueError, match="roll: shifts .* and dims .* same length"):
        cr.roll(x, (1, 2), 0)
    with pytest.raises(TypeError, match="prod: dim must be a single int"):
        cr.prod(x, (0, 1))
    with pytest.raises(ValueError, match="bincount: expects a 1-D tensor of non-negative ints"):
        cr.bincount(cr.tensor([1, -1]))
    with pytest.raises(TypeError, match="masked_select: mask must be boolean"):
        cr.masked_select(x, x)
    with pytest.raises(ValueError, match="bernoulli: probabilities must lie in"):
        cr.bernoulli(cr.tensor([1.5]))


# --- found by differential fuzzing against PyTorch ---------------------------------------------

@pytest.mark.kernel_free
def test_erf_erfc_of_integers_are_floats():
    # erf of an int tensor was cast back to int64 (all 0 or +-1); of a bool tensor it raised
    e = cr.erf(cr.tensor([1, 2, -3]))
    c = cr.erfc(cr.tensor([True, False]))
    h = cr.erf(cr.tensor([0.5, 3.0]).half())  # float16 overflowed inside the polynomial
    np.testing.assert_allclose(h.numpy(), [0.5205, 1.0], rtol=1e-3)
    assert e.dtype.kind == "f" and c.dtype.kind == "f"
    np.testing.assert_allclose(e.numpy(), torch.erf(torch.tensor([1., 2., -3.])).numpy(), rtol=1e-6)
    np.testing.assert_allclose(c.numpy(), [0.1573, 1.0], rtol=1e-3)


@pytest.mark.kernel_free
def test_python_float_beside_int_tensor_is_not_truncated():
    # int_tensor // 0.7 divided by int(0.7) = 0; 3.5 % int_tensor computed 3 % x; bool // 2 was 1
    x, tx = cr.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    for f in (lambda a: a // 0.7, lambda a: 3.5 % a, lambda a: 7.5 // a, lambda a: a % 2.5):
        np.testing.assert_allclose(f(x).numpy(), f(tx).numpy())
    assert (cr.tensor([True, False]) // 2).numpy().tolist() == [0, 0]


@pytest.mark.kernel_free
def test_clamp_with_tensor_bounds_differentiates_the_bounds():
    # the bounds' gradient was silently 0: they were stored as constants
    rng = np.random.default_rng(3)
    x, lo, hi = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal(3)
    w = rng.standard_normal((2, 3))
    calls = [lambda L, a, b, c: L.clamp(a, b, c), lambda L, a, b, c: L.clamp_min(a, b),
             lambda L, a, b, c: L.clamp_max(a, c), lambda L, a, b, c: a.clamp(min=b, max=b + 0.5)]
    for call in calls:
        ts = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
        cs = [cr.tensor(v, requires_grad=True) for v in (x, lo, hi)]
        (call(torch, *ts) * torch.tensor(w)).sum().backward()
        y = call(cr, *cs)
        (y * cr.tensor(w)).sum().backward()
        np.testing.assert_allclose(y.numpy(), call(torch, *ts).detach().numpy())
        for c, t in zip(cs, ts):
            want = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            got = np.zeros(c.shape) if c.grad is None else c.grad.numpy()
            np.testing.assert_allclose(got, want)


@pytest.mark.kernel_free
def test_logaddexp_and_lerp_with_an_infinite_input_match_pytorch():
    # logaddexp's gradient was nan beside +inf; lerp(inf, b, 0.7) was nan (PyTorch: inf)
    for L in (cr, torch):
        a = L.tensor([float("inf"), 1.0], requires_grad=True)
        b = L.tensor([0.5, 3.0], requires_grad=True)
        L.logaddexp(a, b).sum().backward()
        if L is cr:
            ours = (a.grad.numpy(), b.grad.numpy(), L.lerp(a, b, 0.7).detach().numpy())
        else:
            theirs = (a.grad.numpy(), b.grad.numpy(), L.lerp(a, b, 0.7).detach().numpy())
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-6)
    assert cr.lerp(cr.tensor([0.1]), cr.tensor([0.3]), 1.0).item() == np.float32(0.3)  # exactly end


@pytest.mark.kernel_free
def test_norm_gradient_at_zero_entries_matches_pytorch():
    # p < 1 gave nan at a zero entry, an all-zero vector gave nan for p > 1, p = 0 was not
    # recorded (backward raised) and p < 0 gave nan: PyTorch's gradient is 0 there
    for p in (0, 0.5, 1.5, 3, -1, -2.5):
        for v in ([3.0, 0.0, -2.0], [0.0, 0.0], [1.0, 2.0]):
            grads = []
            for L in (cr, torch):
                x = L.tensor(v, dtype=L.float64, requires_grad=True)
                y = L.norm(x, p)
                y.backward()
                grads.append((y.item(), np.zeros(len(v)) if x.grad is None
                              else x.grad.numpy()))
            assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-12)
            np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12, atol=0)


@pytest.mark.kernel_free
def test_prod_gradient_of_an_empty_tensor():
    x = cr.zeros(0, 3, requires_grad=True)  # the backward raised an IndexError from NumPy
    cr.prod(x, 0).sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.kernel_free
def test_median_propagates_nan_and_shares_tied_gradient():
    # median ignored NaN (PyTorch returns NaN); median()'s gradient went to one of the ties
    nan = float("nan")
    data = [[1.0, nan, 0.0], [2.0, 1.0, 3.0]]
    np.testing.assert_array_equal(cr.median(cr.tensor(data)).numpy(), np.float32(nan))
    for dim in (0, 1, -1):
        ours, theirs = cr.median(cr.tensor(data), dim), torch.median(torch.tensor(data), dim)
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o.numpy(), t.numpy())
    for v in ([[1.0, 2.0, 0.0], [2.0, 1.0, 1.0]], [[1.0, 2.0, nan], [0.0, nan, 1.0]]):
        x, tx = cr.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
        cr.median(x).backward()
        torch.median(tx).backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.kernel_free
def test_diff_of_bool_is_xor():
    m = [[True, False, False, True]]
    ours = cr.diff(cr.tensor(m), n=2, prepend=cr.tensor([[False]]))
    assert ours.numpy().tolist() == torch.diff(torch.tensor(m), n=2,
                                               prepend=torch.tensor([[False]])).tolist()


@pytest.mark.kernel_free
def test_bernoulli_in_place_on_integer_and_bool_tensors_draws():
    # bernoulli_(0.5) on an int tensor rounded p to 0 (all zeros), on a bool tensor to True
    ints = cr.zeros(400, dtype=cr.int64).bernoulli_(0.5, rng=np.random.default_rng(0))
    flags = cr.zeros(400, dtype=cr.bool).bernoulli_(0.5, rng=np.random.default_rng(0))
    assert ints.dtype == cr.int64 and flags.dtype == cr.bool
    assert 150 < int(ints.sum()) < 250 and 150 < int(flags.sum()) < 250
    # PyTorch's second form bernoulli(input, p): input gives the shape and dtype
    draws = cr.bernoulli(cr.zeros(400, dtype=cr.float64), 0.25, rng=np.random.default_rng(1))
    assert draws.dtype == cr.float64 and 60 < float(draws.sum()) < 140
    with pytest.raises(ValueError, match="bernoulli: probabilities must lie in"):
        cr.bernoulli(cr.tensor([float("nan")]))


@pytest.mark.kernel_free
def test_float_result_written_into_an_int_tensor_is_refused():
    # tensor([1, 4]).exp_() truncated e^1 to 2 silently (PyTorch raises)
    for call in (lambda t: t.exp_(), lambda t: t.sqrt_(), lambda t: t.clamp_min_(1.5),
                 lambda t: t.reciprocal_()):
        x = cr.tensor([1, 4])
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                               "output type Long"):  # PyTorch's error
            call(x)
        assert x.numpy().tolist() == [1, 4]
    # what PyTorch allows stays: an int result, and a Python number scattered into ints
    assert cr.tensor([1, 4]).neg_().numpy().tolist() == [-1, -4]
    assert cr.tensor([1, 4]).scatter_(0, cr.tensor([0]), 2.5).numpy().tolist() == [2, 4]


@pytest.mark.kernel_free
def test_index_add_and_index_copy_check_source_and_index():
    # a source of the wrong shape was broadcast into x silently (PyTorch raises)
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with pytest.raises(ValueError, match=r"index_add: source must have shape \(1, 3\)"):
        cr.index_add(x, 0, cr.tensor([1]), cr.tensor([[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"index_copy_: source must have shape \(2, 3\)"):
        x.clone().index_copy_(0, cr.tensor([0, 1]), cr.tensor([[1.0, 2.0, 3.0]]))
    with pytest.raises(IndexError, match="index_copy_: index holds 2..2, out of range"):
        x.clone().index_copy_(0, cr.tensor([2]), cr.tensor([[1.0, 1.0, 1.0]]))
    with pytest.raises(IndexError, match="index_fill_: index holds 3..3, out of range"):
        x.clone().index_fill_(1, cr.tensor([3]), 0.0)
    # negative indices: index_fill_ takes them, as PyTorch's
    assert x.clone().index_fill_(1, cr.tensor([-1]), 0.0).numpy()[:, 2].tolist() == [0.0, 0.0]


@pytest.mark.kernel_free
def test_bincount_searchsorted_cdist_arguments_as_pytorch():
    # float32 weights gave float64 counts (PyTorch: float32); mismatched weights, opposite
    # sides and a negative p gave NumPy's message or a silent answer
    idx = cr.tensor([1, 2, 2])
    assert cr.bincount(idx, cr.tensor([0.5, 1.0, 2.0])).dtype == cr.float32
    assert cr.bincount(idx, cr.tensor([0.5, 1.0, 2.0], dtype=cr.float64)).dtype == cr.float64
    assert cr.bincount(idx, cr.tensor([1, 2, 3])).dtype == torch.bincount(
        torch.tensor([1, 2, 2]), torch.tensor([1, 2, 3])).numpy().dtype
    with pytest.raises(ValueError, match=r"bincount: weights must have the input's shape"):
        cr.bincount(idx, weights=cr.tensor([1.0]))
    seq, v = cr.tensor([1.0, 2.0]), cr.tensor([1.0])
    with pytest.raises(ValueError, match="searchsorted: side='left' and right=True"):
        cr.searchsorted(seq, v, right=True, side="left")
    assert cr.searchsorted(seq, v, right=False, side="right").numpy().tolist() == [1]
    with pytest.raises(ValueError, match="cdist: p must be a non-negative number, got -1"):
        cr.cdist(cr.ones(2, 3), cr.ones(2, 3), p=-1)


def test_pdist_of_repeated_rows_and_its_errors_as_pytorch():
    # F.pdist / torch.pdist was missing; found by the fifth fuzz wave. A zero distance has
    # PyTorch's 0 gradient for every p.
    a = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])
    for p in (2.0, 1.0, 0.5, 0.0, 3.0):
        x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, u = cr.nn.functional.pdist(x, p), torch.nn.functional.pdist(t, p)
        np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-12)
        w = np.arange(1.0, 7.0)
        (y * cr.tensor(w)).sum().backward()
        (u * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=r"pdist: input must be 2-D \(N, M\), got shape \(3,\)"):
        cr.pdist(cr.ones(3))
    with pytest.raises(ValueError, match="pdist: p must be a non-negative number, got -1"):
        cr.pdist(cr.ones(2, 3), p=-1)


@pytest.mark.kernel_free
def test_integer_division_by_zero_raises():
    # int % 0 and int // 0 gave 0 silently (NumPy's answer and a warning); PyTorch raises
    x = cr.tensor([5, -3])
    for call in (lambda: x % 0, lambda: x // 0, lambda: cr.fmod(x, 0),
                 lambda: cr.remainder(x, cr.tensor([0, 1])), lambda: 7 % cr.tensor([0, 1])):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            call()
    assert (7 // x).numpy().tolist() == (7 // torch.tensor([5, -3])).tolist()
    for mode in ("floor", "trunc"):  # the error names the call made, not floor_divide
        with pytest.raises(ZeroDivisionError, match=rf"divide\(rounding_mode='{mode}'\): "
                           "integer division by zero"):
            cr.div(x, cr.tensor([1, 0]), rounding_mode=mode)


@pytest.mark.kernel_free
def test_unique_keeps_each_nan_apart():
    # NumPy's unique merged the NaNs into one value with count 2; PyTorch keeps each
    data = [[2.0, float("nan"), 1.0], [float("nan"), 2.0, 0.0]]
    ours = cr.unique(cr.tensor(data), return_inverse=True, return_counts=True)
    theirs = torch.unique(torch.tensor(data), return_inverse=True, return_counts=True)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
