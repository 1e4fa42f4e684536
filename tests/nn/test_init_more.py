"""trunc_normal_, dirac_, eye_ and sparse_ against PyTorch's: distributions by Kolmogorov-Smirnov
distance to the exact CDF (and to PyTorch's own draws), exact values for the deterministic ones,
positional order and errors."""

import inspect
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")


def _param(*shape, dtype="float64"):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def _truncated_cdf(x, mean, std, a, b):
    phi = np.vectorize(lambda v: 0.5 * (1 + math.erf((v - mean) / (std * math.sqrt(2)))))
    lo, hi = phi(a), phi(b)
    return (phi(np.clip(x, a, b)) - lo) / (hi - lo)


def _ks(x, cdf):
    """The one-sample Kolmogorov-Smirnov distance of the draws ``x`` to ``cdf``."""
    x = np.sort(x)
    f = cdf(x)
    n = x.size
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


TRUNC = [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 3.0), (0.0, 0.02, -0.04, 0.04),
         (0.0, 1.0, 3.0, 4.0), (0.0, 1.0, 4.0, math.inf), (1.0, 0.5, -math.inf, -2.0),
         (0.0, 1.0, -1e-3, 1e-3), (0.0, 1.0, 2.5, 60.0)]


@pytest.mark.kernel_free
@pytest.mark.parametrize(("mean", "std", "a", "b"), TRUNC)
def test_trunc_normal_has_the_truncated_distribution(mean, std, a, b):
    w = _param(100, 100)
    out = init.trunc_normal_(w, mean, std, a, b, rng=np.random.default_rng(1))
    assert out is w
    x = w.numpy().ravel()
    assert x.min() >= a and x.max() <= b
    # 1.95 / sqrt(n) is the KS test's critical distance at the 0.1% level
    assert _ks(x, lambda v: _truncated_cdf(v, mean, std, a, b)) < 1.95 / math.sqrt(x.size)


@pytest.mark.kernel_free
@pytest.mark.parametrize(("mean", "std", "a", "b"), TRUNC[:3])
def test_trunc_normal_matches_torch_draws(mean, std, a, b):
    ours = _param(200, 100)
    init.trunc_normal_(ours, mean, std, a, b, rng=np.random.default_rng(2))
    torch.manual_seed(0)
    theirs = torch.nn.init.trunc_normal_(torch.empty(200, 100, dtype=torch.float64), mean, std,
                                         a, b).numpy().ravel()
    x, y = np.sort(ours.numpy().ravel()), np.sort(theirs)
    grid = np.concatenate([x, y])
    distance = np.max(np.abs(np.searchsorted(x, grid, "right") / x.size
                             - np.searchsorted(y, grid, "right") / y.size))
    assert distance < 1.95 * math.sqrt(2 / x.size)


@pytest.mark.kernel_free
def test_trunc_normal_float32_std0_and_determinism():
    w = _param(3, 4, dtype="float32")
    init.trunc_normal_(w, std=0.02, rng=np.random.default_rng(0))
    assert w.dtype == np.float32 and np.abs(w.numpy()).max() <= 2.0
    v = _param(3, 4, dtype="float32")
    init.trunc_normal_(v, std=0.02, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(w.numpy(), v.numpy())
    init.trunc_normal_(w, 5.0, 0.0, -1.0, 1.0)
    np.testing.assert_array_equal(w.numpy(), 1.0)


@pytest.mark.kernel_free
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 6)])
def test_eye_equals_torch(shape):
    w = _param(*shape)
    init.eye_(w)
    np.testing.assert_array_equal(w.numpy(), torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.kernel_free
@pytest.mark.parametrize(("shape", "groups"), [((4, 4, 3), 1), ((6, 3, 3, 3), 1),
                                               ((3, 6, 2, 4), 1), ((8, 2, 3, 3), 2),
                                               ((6, 2, 3, 2, 5), 3), ((4, 1, 5), 4)])
def test_dirac_equals_torch(shape, groups):
    w = _param(*shape)
    init.dirac_(w, groups)
    expected = torch.nn.init.dirac_(torch.empty(shape), groups).numpy()
    np.testing.assert_array_equal(w.numpy(), expected)


def test_dirac_conv_keeps_its_input():
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype("float32"))
    np.testing.assert_allclose(conv(x).numpy(), x.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.kernel_free
@pytest.mark.parametrize(("rows", "sparsity"), [(10, 0.3), (7, 0.5), (9, 0.0), (5, 1.0)])
def test_sparse_zeros_per_column_and_normal_values(rows, sparsity):
    w = _param(rows, 4000)
    init.sparse_(w, sparsity, 0.5, rng=np.random.default_rng(3))
    x = w.numpy()
    zeros = math.ceil(sparsity * rows)
    np.testing.assert_array_equal((x == 0).sum(axis=0), zeros)
    t = torch.nn.init.sparse_(torch.empty(rows, 4000, dtype=torch.float64), sparsity, 0.5)
    np.testing.assert_array_equal((t.numpy() == 0).sum(axis=0), zeros)
    kept = x[x != 0]
    if kept.size:
        assert abs(kept.std() - 0.5) < 5 * 0.5 / math.sqrt(2 * kept.size)
        assert abs(kept.mean()) < 5 * 0.5 / math.sqrt(kept.size)
        rows_hit = (x == 0).mean(axis=1)  # each row zeroed about equally often
        assert np.all(np.abs(rows_hit - zeros / rows) < 0.05)


@pytest.mark.kernel_free
@pytest.mark.parametrize("name", ["trunc_normal_", "dirac_", "eye_", "sparse_"])
def test_positional_order_matches_torch(name):
    ours = inspect.signature(getattr(init, name)).parameters
    theirs = inspect.signature(getattr(torch.nn.init, name)).parameters
    positional = [k for k in theirs if k != "generator"]
    assert list(ours)[:len(positional)] == positional  # "tensor" first, keyword-callable
    for key in positional[1:]:
        assert ours[key].default == theirs[key].default
    if "generator" in theirs:
        assert ours["rng"].kind is inspect.Parameter.KEYWORD_ONLY


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda: init.trunc_normal_(_param(2, 2), a=1.0, b=-1.0), "a must not exceed b"),
    (lambda: init.trunc_normal_(_param(2, 2), std=-1.0), "std must be non-negative"),
    (lambda: init.trunc_normal_(_param(2, 2), mean="0"), "mean must be a number"),
    (lambda: init.eye_(_param(2, 2, 2)), r"only 2-D tensors are supported, got shape \(2, 2, 2\)"),
    (lambda: init.dirac_(_param(2, 2)), "only 3-, 4- or 5-D"),
    (lambda: init.dirac_(_param(3, 2, 3), 2), r"dim 0 \(3\) must be divisible by groups=2"),
    (lambda: init.dirac_(_param(4, 2, 3), 0), "groups must be an int >= 1, got 0"),
    (lambda: init.sparse_(_param(4), 0.5), "only 2-D tensors"),
    (lambda: init.sparse_(_param(4, 4), 1.5), r"sparsity must be in \[0, 1\], got 1.5"),
    (lambda: init.sparse_(_param(4, 4), 0.5, -0.1), "std must be non-negative"),
]


def _bad_arguments_are_named_case(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.kernel_free
def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid((("call", "match"), _BAD_ARGUMENTS_ARE_NAMED)))


@pytest.mark.kernel_free
def test_deferred_skips_the_new_initializers():
    w, c = _param(3, 3), _param(2, 2, 3)
    with init.deferred() as skipped:
        init.trunc_normal_(w)
        init.eye_(w)
        init.sparse_(w, 0.5)
        init.dirac_(c)
    assert len(skipped) == 2 and not w.numpy().any() and not c.numpy().any()


@pytest.mark.kernel_free
@pytest.mark.parametrize("name, args", [
    ("uniform_", (-1.0, 2.0)), ("normal_", (0.5, 2.0)), ("xavier_uniform_", (1.5,)),
    ("xavier_normal_", (1.0,)), ("kaiming_uniform_", (0.1, "fan_out", "relu")),
    ("kaiming_normal_", (0.0, "fan_in", "leaky_relu")), ("orthogonal_", (2.0,)),
    ("trunc_normal_", (0.0, 1.0, -1.0, 1.0)), ("sparse_", (0.5, 0.1))])
def test_generator_is_pytorchs_name_and_place_for_rng(name, args):
    fn = getattr(cr.nn.init, name)
    by_rng = fn(cr.zeros(6, 4), *args, rng=cr.Generator().manual_seed(5))
    positional = fn(cr.zeros(6, 4), *args, cr.Generator().manual_seed(5))  # PyTorch's slot
    keyword = fn(cr.zeros(6, 4), *args, generator=cr.Generator().manual_seed(5))
    np.testing.assert_array_equal(by_rng.numpy(), positional.numpy())
    np.testing.assert_array_equal(by_rng.numpy(), keyword.numpy())
    with pytest.raises(TypeError, match="give rng or generator, not both"):
        fn(cr.zeros(6, 4), *args, generator=cr.Generator(), rng=cr.Generator())
