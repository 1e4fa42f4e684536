"""Fuzz wave 15: the random-number API against PyTorch 2.13 (CPU). chainrule's streams are
NumPy's (PCG64), so values differ from PyTorch's by design: compared are dtypes, shapes,
error-vs-no-error, ranges, reproducibility and seeded statistics.

What this wave found (each fixed):

* ``random_(from, to)`` drew in int64 and cast, so a range the dtype cannot hold wrapped around
  silently: ``uint8.random_(-3, 5)`` wrote 253..255, ``int8.random_(0, 300)`` negative values,
  ``bool.random_(5)`` True/False; PyTorch raises "from/to - 1 is out of bounds for <dtype>".
* ``exponential_``, ``cauchy_`` and ``log_normal_`` filled an integer or bool tensor with the
  draws truncated (mostly zeros, or all True); PyTorch refuses a non-floating dtype.
  ``geometric_(1)`` was accepted (PyTorch: p in (0, 1)).
* ``Tensor.normal_`` and ``Tensor.uniform_`` filled an integer tensor with truncated draws
  (``uniform_()`` gave zeros) where PyTorch refuses, and a complex tensor with a zero imaginary
  part where PyTorch draws both parts (normal: each part N(mean, std^2 / 2)).
* ``bernoulli_(p_tensor)`` refused an integer or bool tensor (PyTorch fills it) and a ``p`` that
  broadcasts to the tensor's shape (PyTorch expands it).
* ``randperm(n, dtype=)`` cast the permutation, so ``randperm(300, dtype=int8)`` repeated values.
  ``multinomial`` crashed in NumPy on zero rows and accepted 0 samples and integer weights.
  ``randint(5.5, size)`` drew as if high were 5.5; ``randint(high=5, size=...)`` was refused.
* ``normal(int64 tensor, std)`` returned int64 (truncated) draws; PyTorch refuses an integer
  first tensor. ``normal(mean_t, std_t, size)`` was accepted (PyTorch: size only with numbers).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"]


def _outcome(lib, dt, fill):
    t = lib.zeros(6, 5, dtype=getattr(lib, dt))
    try:
        out = fill(lib, t)
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        return e
    assert out is t
    return out


def _same_outcome(dt, fill, label):
    t_out, c_out = _outcome(torch, dt, fill), _outcome(cr, dt, fill)
    if isinstance(t_out, Exception):
        assert isinstance(c_out, Exception), f"{label} {dt}: torch raised {t_out!r}, chainrule " \
            f"computed {c_out}"
        return None
    assert not isinstance(c_out, Exception), f"{label} {dt}: torch computed, chainrule raised " \
        f"{c_out!r}"
    assert str(c_out.dtype) == str(t_out.dtype).replace("torch.", "")
    assert tuple(c_out.shape) == tuple(t_out.shape)
    return c_out.numpy()


RANGES = [(), (5,), (-3, 5), (0, 300), (0, 2**31), (0, 2**63 - 1), (-1, 2), (0, 3), (0, 2),
          (-128, 128), (-129, 0), (0, 256), (0, 257), (-2**31, 2**31), (-2**31 - 1, 0),
          (-2**63, 0), (0, 65505), (-65504, 65505), (0, 65506)]


def _random_range_per_dtype_case(dt, rng_args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns of a float range beyond the mantissa
        got = _same_outcome(dt, lambda L, t: t.random_(*rng_args), f"random_{rng_args}")
    if got is not None and len(rng_args) == 2:  # the draws lie in [from, to - 1], unwrapped
        lo, hi = rng_args
        assert got.min() >= lo and got.max() <= hi - 1, (dt, rng_args, got.min(), got.max())


def test_random_range_per_dtype():
    each_case(_random_range_per_dtype_case, grid(("rng_args", RANGES, str), ("dt", DTYPES)))


FILLS = {
    "exponential_": lambda L, t: t.exponential_(),
    "exponential_(2)": lambda L, t: t.exponential_(2.0),
    "cauchy_": lambda L, t: t.cauchy_(),
    "log_normal_": lambda L, t: t.log_normal_(),
    "geometric_(0.3)": lambda L, t: t.geometric_(0.3),
    "geometric_(1)": lambda L, t: t.geometric_(1),
    "geometric_(0)": lambda L, t: t.geometric_(0),
    "exponential_(-1)": lambda L, t: t.exponential_(-1.0),
    "cauchy_(0, 0)": lambda L, t: t.cauchy_(0.0, 0.0),
}


def _continuous_fills_dtype_and_errors_case(dt, name):
    got = _same_outcome(dt, FILLS[name], name)
    if got is not None and name.startswith("geometric_"):
        assert got.min() >= 1
    if got is not None and name.startswith("exponential_"):
        assert got.min() >= 0


def test_continuous_fills_dtype_and_errors():
    each_case(_continuous_fills_dtype_and_errors_case, grid(("name", list(FILLS)), ("dt", DTYPES)))


def test_random_generator_keyword_reproduces():
    for fill in ("random_", "exponential_", "cauchy_", "log_normal_"):
        a, b = cr.zeros(50), cr.zeros(50)
        getattr(a, fill)(generator=cr.Generator().manual_seed(7))
        getattr(b, fill)(generator=cr.Generator().manual_seed(7))
        assert np.array_equal(a.numpy(), b.numpy()), fill


NORMAL_UNIFORM = {
    "normal_": lambda L, t: t.normal_(), "normal_(1, 0)": lambda L, t: t.normal_(1.0, 0.0),
    "normal_(0, -1)": lambda L, t: t.normal_(0.0, -1.0), "uniform_": lambda L, t: t.uniform_(),
    "uniform_(-2, 3)": lambda L, t: t.uniform_(-2.0, 3.0),
    "uniform_(2, 1)": lambda L, t: t.uniform_(2.0, 1.0),
}


def _normal_uniform_dtypes_case(dt, name):
    """An integer or bool tensor is refused (it kept the draws truncated: uniform_() gave zeros)."""
    _same_outcome(dt, NORMAL_UNIFORM[name], name)


def test_normal_uniform_dtypes():
    each_case(_normal_uniform_dtypes_case, grid(
        ("name", list(NORMAL_UNIFORM)),
        ("dt", DTYPES + ["complex64", "complex128"]),
    ))


@pytest.mark.parametrize("dt", ["complex64", "complex128"])
def test_complex_normal_uniform_fill_both_parts(dt):
    """Complex normal_/uniform_ left the imaginary part 0; PyTorch draws each part (normal: each
    part N(mean, std^2 / 2))."""
    gen = cr.Generator().manual_seed(3)
    n = 200_000
    z = cr.zeros(n, dtype=getattr(cr, dt)).normal_(1.0, 2.0, generator=gen).numpy()
    for part in (z.real, z.imag):  # mean 1, variance 2; bounds: 6 standard errors
        assert abs(part.mean() - 1.0) < 6 * (2.0 / n) ** 0.5
        assert abs(part.var() - 2.0) < 6 * 2.0 * (2.0 / n) ** 0.5
    u = cr.zeros(n, dtype=getattr(cr, dt)).uniform_(2.0, 4.0, generator=gen).numpy()
    for part in (u.real, u.imag):  # U(2, 4): mean 3, variance 1/3
        assert part.min() >= 2.0 and part.max() <= 4.0
        assert abs(part.mean() - 3.0) < 6 * (1 / 3 / n) ** 0.5


BERNOULLI = {
    "()": lambda L, t: t.bernoulli_(), "(0.3)": lambda L, t: t.bernoulli_(0.3),
    "(1.5)": lambda L, t: t.bernoulli_(1.5), "(-0.1)": lambda L, t: t.bernoulli_(-0.1),
    "(p full)": lambda L, t: t.bernoulli_(L.full((6, 5), 0.3)),
    "(p row)": lambda L, t: t.bernoulli_(L.full((5,), 0.3, dtype=L.float32)),
    "(p col)": lambda L, t: t.bernoulli_(L.full((6, 1), 0.7, dtype=L.float64)),
    "(p bad shape)": lambda L, t: t.bernoulli_(L.full((4,), 0.3)),
    "(p too big)": lambda L, t: t.bernoulli_(L.full((2, 6, 5), 0.3)),
    "(p 1.5)": lambda L, t: t.bernoulli_(L.full((5,), 1.5)),
    "(p gen)": lambda L, t: t.bernoulli_(L.full((5,), 0.5), generator=L.Generator()),
}


def _bernoulli_fill_dtypes_and_broadcast_case(dt, name):
    got = _same_outcome(dt, BERNOULLI[name], f"bernoulli_{name}")
    if got is not None:
        assert set(np.unique(got.astype(float))) <= {0.0, 1.0}


def test_bernoulli_fill_dtypes_and_broadcast():
    each_case(_bernoulli_fill_dtypes_and_broadcast_case, grid(
        ("name", list(BERNOULLI)),
        ("dt", DTYPES),
    ))


def test_bernoulli_fill_statistics_per_column():
    n = 100_000
    p = cr.tensor([0.0, 0.1, 0.5, 0.9, 1.0])
    t = cr.zeros(n, 5, dtype=cr.int64).bernoulli_(p, generator=cr.Generator().manual_seed(0))
    freq = t.numpy().mean(axis=0)
    bound = 6 * np.sqrt(p.numpy() * (1 - p.numpy()) / n)
    assert np.all(np.abs(freq - p.numpy()) <= bound + 1e-12), freq


def _same_call(fn, label):
    """Both libraries raise, or both compute the same dtype and shape; returns chainrule's."""
    out = {}
    for lib in (torch, cr):
        try:
            out[lib] = fn(lib)
        except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
            out[lib] = e
    t, c = out[torch], out[cr]
    if isinstance(t, Exception):
        assert isinstance(c, Exception), f"{label}: torch raised {t!r}, chainrule computed"
        return None
    assert not isinstance(c, Exception), f"{label}: torch computed, chainrule raised {c!r}"
    assert (str(c.dtype), tuple(c.shape)) == (str(t.dtype).replace("torch.", ""),
                                              tuple(t.shape)), label
    return c.numpy()


def _randperm_dtype_holds_n_case(n, dt):
    """randperm(300, dtype=int8) cast the permutation, so values wrapped and repeated; PyTorch
    refuses an n the dtype cannot hold (float16: n <= 2049)."""
    got = _same_call(lambda L: L.randperm(n, dtype=getattr(L, dt)), f"randperm({n}, {dt})")
    if got is not None:
        assert sorted(got.astype("int64").tolist()) == list(range(n))


def test_randperm_dtype_holds_n():
    each_case(_randperm_dtype_holds_n_case, grid(
        ("dt", ["int8", "uint8", "int16", "int32", "int64", "float16", "float32",
                "float64", "bool"]),
        ("n", [0, 1, 5, 127, 128, 129, 255, 256, 257, 2049, 2050, 40000]),
    ))


MULTINOMIAL = {
    "1d": lambda L: L.multinomial(L.tensor([1.0, 2.0, 3.0]), 2),
    "2d replacement": lambda L: L.multinomial(L.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]), 5,
                                              True),
    "more than categories": lambda L: L.multinomial(L.tensor([1.0, 2.0, 3.0]), 4),
    "all categories": lambda L: L.multinomial(L.tensor([1.0, 2.0, 3.0]), 3),
    "zero row": lambda L: L.multinomial(L.tensor([[0.0, 0.0], [1.0, 1.0]]), 1),
    "no rows": lambda L: L.multinomial(L.zeros(0, 3), 2),
    "no rows replacement": lambda L: L.multinomial(L.zeros(0, 3), 2, True),
    "0 samples": lambda L: L.multinomial(L.tensor([1.0, 2.0]), 0),
    "-1 samples": lambda L: L.multinomial(L.tensor([1.0, 2.0]), -1),
    "negative": lambda L: L.multinomial(L.tensor([1.0, -2.0]), 1),
    "nan": lambda L: L.multinomial(L.tensor([1.0, float("nan")]), 1),
    "inf": lambda L: L.multinomial(L.tensor([1.0, float("inf")]), 1),
    "int weights": lambda L: L.multinomial(L.tensor([1, 2]), 1),
    "3d": lambda L: L.multinomial(L.ones(2, 2, 2), 1),
    "0d": lambda L: L.multinomial(L.tensor(1.0), 1),
    "no categories": lambda L: L.multinomial(L.zeros(2, 0), 1),
    "float32 method": lambda L: L.tensor([1.0, 2.0], dtype=L.float32).multinomial(2),
    "generator": lambda L: L.multinomial(L.tensor([1.0, 2.0]), 1, generator=L.Generator()),
}


def _multinomial_outcomes_case(name):
    """Before: no rows crashed in NumPy's min, 0 samples and integer weights were accepted."""
    got = _same_call(MULTINOMIAL[name], f"multinomial {name}")
    if got is not None and "replacement" not in name and got.size:
        assert all(len(set(row)) == len(row) for row in got.reshape(-1, got.shape[-1]))


def test_multinomial_outcomes():
    each_case(_multinomial_outcomes_case, grid(("name", list(MULTINOMIAL))))


def test_multinomial_frequencies_unnormalized():
    w = cr.tensor([[1.0, 3.0, 0.0, 6.0], [5.0, 5.0, 0.0, 0.0]])
    n = 100_000
    got = cr.multinomial(w, n, True, generator=cr.Generator().manual_seed(1)).numpy()
    p = w.numpy() / w.numpy().sum(axis=1, keepdims=True)
    freq = np.stack([np.bincount(row, minlength=4) / n for row in got])
    assert np.all(np.abs(freq - p) <= 6 * np.sqrt(p * (1 - p) / n) + 1e-12)


RANDINT = {
    "high float": lambda L: L.randint(5.5, (3,)),
    "low float": lambda L: L.randint(1.0, 5, (3,)),
    "high= size=": lambda L: L.randint(high=5, size=(3,)),
    "low= high= size=": lambda L: L.randint(low=2, high=5, size=(3,)),
    "empty range": lambda L: L.randint(5, 5, (3,)),
    "n=0 size": lambda L: L.randint(5, (0, 2)),
    "randint_like high=": lambda L: L.randint_like(L.zeros(2, 3), high=5),
    "randint_like uint8 -3": lambda L: L.randint_like(L.zeros(2, 3, dtype=L.uint8), -3, 5),
}


@pytest.mark.parametrize("name", list(RANDINT))
def test_randint_arguments(name):
    """randint(5.5, size) drew up to 5; randint(high=5, size=...) was refused."""
    got = _same_call(RANDINT[name], f"randint {name}")
    if got is not None and got.size:
        assert got.min() >= 0 and got.max() < 5


NORMAL = {
    "(t, t) broadcast": lambda L: L.normal(L.zeros(2, 3), L.ones(3)),
    "(t32, t32)": lambda L: L.normal(L.zeros(2, 3, dtype=L.float32), L.ones(3, dtype=L.float32)),
    "(t32, t64)": lambda L: L.normal(L.zeros(3, dtype=L.float32), L.ones(3, dtype=L.float64)),
    "(t, 2.0)": lambda L: L.normal(L.zeros(2, 3), 2.0),
    "(0.0, t32)": lambda L: L.normal(0.0, L.ones(2, 3, dtype=L.float32)),
    "(int t, t)": lambda L: L.normal(L.zeros(3, dtype=L.int64), L.ones(3)),
    "(t, int t)": lambda L: L.normal(L.zeros(3), L.ones(3, dtype=L.int64)),
    "(0.0, int t)": lambda L: L.normal(0.0, L.ones(3, dtype=L.int64)),
    "(int t, 1.0)": lambda L: L.normal(L.zeros(3, dtype=L.int32), 1.0),
    "(t, -t)": lambda L: L.normal(L.zeros(3), -L.ones(3)),
    "(t, -1.0)": lambda L: L.normal(L.zeros(3), -1.0),
    "(0, 1, size)": lambda L: L.normal(0.0, 1.0, (2, 3)),
    "(0, 1, size, f64)": lambda L: L.normal(0.0, 1.0, (2, 3), dtype=L.float64),
    "(0, 1, size=)": lambda L: L.normal(0.0, 1.0, size=(2, 3)),
    "(t, t, size)": lambda L: L.normal(L.zeros(3), L.ones(3), (3,)),
    "(t, t) no broadcast": lambda L: L.normal(L.zeros(2), L.ones(3)),
    "(t, t) generator": lambda L: L.normal(L.zeros(2), L.ones(2), generator=L.Generator()),
    "(t)": lambda L: L.normal(L.zeros(2, 3)),
    "(t, t) no rows": lambda L: L.normal(L.zeros(0, 3), L.ones(3)),
}


def _normal_overloads_case(name):
    """normal(int64 tensor, ...) gave int64 draws (truncated); PyTorch refuses an integer first
    tensor. normal(t, t, size) is refused as by PyTorch."""
    _same_call(NORMAL[name], f"normal{name}")


def test_normal_overloads():
    each_case(_normal_overloads_case, grid(("name", list(NORMAL))))


def test_normal_broadcast_statistics():
    n = 50_000
    m = np.array([[-3.0], [0.0], [5.0]])
    s = np.array([0.5, 1.0, 2.0, 0.0])
    mean = cr.tensor(np.broadcast_to(m, (n, 3, 1)).copy())
    draws = cr.normal(mean, cr.tensor(s), generator=cr.Generator().manual_seed(11)).numpy()
    assert draws.shape == (n, 3, 4)
    s = np.broadcast_to(s, (3, 4))
    assert np.all(np.abs(draws.mean(axis=0) - m) <= 6 * s / np.sqrt(n) + 1e-12)
    assert np.all(np.abs(draws.std(axis=0) - s) <= 6 * s / np.sqrt(2 * n) + 1e-12)


def test_generator_api_against_torch():
    """Generator().initial_seed() and cr.initial_seed() were None before a manual_seed (a
    worker_init_fn doing initial_seed() % 2**32 failed); cr.default_generator was a function,
    so torch's cr.default_generator.manual_seed(s) failed; negative seeds were refused where
    PyTorch takes them modulo 2**64."""
    for lib in (torch, cr):
        g = lib.Generator()
        assert isinstance(g.initial_seed(), int) and isinstance(lib.initial_seed(), int)
        assert g.manual_seed(5) is g and g.initial_seed() == 5
        assert g.manual_seed(-1).initial_seed() == 2**64 - 1
        assert g.manual_seed(2**64 - 1).initial_seed() == 2**64 - 1
        for bad in (2**64, -2**63 - 1):
            with pytest.raises((RuntimeError, ValueError)):
                g.manual_seed(bad)
        s = g.seed()
        assert isinstance(s, int) and g.initial_seed() == s
        assert lib.default_generator.manual_seed(7) is lib.default_generator
        assert lib.initial_seed() == 7
        assert str(lib.Generator(device="cpu").device) == "cpu"
        with pytest.raises((RuntimeError, TypeError)):
            g.set_state(lib.zeros(5, dtype=lib.uint8))
        with pytest.raises((RuntimeError, TypeError)):
            g.set_state(lib.zeros(5))
    assert cr.default_generator() is cr.default_generator  # called: the generator in effect


@pytest.mark.parametrize("dt", ["float16", "float32", "float64", "int32", "int64", "uint8"])
def test_state_round_trips_reproduce_every_sampler(dt):
    """get_state/set_state (a Generator's and the default one's) restore the stream exactly,
    whatever the samplers drew in between."""
    fills = [lambda t, g: t.random_(0, 100, generator=g)]
    if dt.startswith("float"):
        fills += [lambda t, g: t.uniform_(generator=g), lambda t, g: t.normal_(generator=g),
                  lambda t, g: t.exponential_(generator=g), lambda t, g: t.cauchy_(generator=g),
                  lambda t, g: t.log_normal_(generator=g),
                  lambda t, g: t.bernoulli_(0.4, generator=g)]
    for fill in fills:
        g = cr.Generator().manual_seed(123)
        state = g.get_state()
        a = fill(cr.zeros(40, dtype=getattr(cr, dt)), g).numpy().copy()
        g.set_state(state)
        assert np.array_equal(fill(cr.zeros(40, dtype=getattr(cr, dt)), g).numpy(), a)
        cr.manual_seed(9)
        state = cr.get_rng_state()
        a = fill(cr.zeros(40, dtype=getattr(cr, dt)), None).numpy().copy()
        cr.set_rng_state(state)
        assert np.array_equal(fill(cr.zeros(40, dtype=getattr(cr, dt)), None).numpy(), a)
        cr.manual_seed(9)
        assert np.array_equal(fill(cr.zeros(40, dtype=getattr(cr, dt)), None).numpy(), a)


def test_fork_rng_restores_and_disabled_does_not():
    cr.manual_seed(4)
    with cr.random.fork_rng(devices=[]):
        inside = cr.rand(3).numpy()
    assert np.array_equal(cr.rand(3).numpy(), inside)
    cr.manual_seed(4)
    with cr.random.fork_rng(enabled=False):
        cr.rand(3)
    assert not np.array_equal(cr.rand(3).numpy(), inside)


def _moments_ok(x, mean, var, label):
    """Sample mean and variance within 6 standard errors of the distribution's (the variance's
    standard error estimated from the sample's squared deviations)."""
    n = x.size
    assert abs(x.mean() - mean) <= 6 * np.sqrt(var / n), (label, x.mean(), mean)
    dev2 = (x - x.mean()) ** 2
    assert abs(x.var() - var) <= 6 * dev2.std() / np.sqrt(n), (label, x.var(), var)


def test_sampler_statistics_seeded():
    n = 200_000
    g = cr.Generator().manual_seed(2026)
    z = lambda: cr.zeros(n, dtype=cr.float64)  # noqa: E731
    _moments_ok(z().uniform_(-2.0, 3.0, generator=g).numpy(), 0.5, 25 / 12, "uniform_")
    _moments_ok(z().normal_(1.0, 2.0, generator=g).numpy(), 1.0, 4.0, "normal_")
    _moments_ok(z().exponential_(2.0, generator=g).numpy(), 0.5, 0.25, "exponential_")
    _moments_ok(z().geometric_(0.3, generator=g).numpy(), 1 / 0.3, 0.7 / 0.09, "geometric_")
    mu, s = 0.2, 0.5
    _moments_ok(z().log_normal_(mu, s, generator=g).numpy(), np.exp(mu + s * s / 2),
                (np.exp(s * s) - 1) * np.exp(2 * mu + s * s), "log_normal_")
    c = z().cauchy_(1.0, 2.0, generator=g).numpy()  # quartiles at median -+ sigma
    for q, at in ((0.25, -1.0), (0.5, 1.0), (0.75, 3.0)):
        assert abs((c < at).mean() - q) <= 6 * np.sqrt(q * (1 - q) / n), q
    b = z().bernoulli_(0.3, generator=g).numpy()
    assert abs(b.mean() - 0.3) <= 6 * np.sqrt(0.21 / n)
    r = cr.zeros(n, dtype=cr.int32).random_(-3, 5, generator=g).numpy()
    assert r.min() == -3 and r.max() == 4
    assert np.all(np.abs(np.bincount(r + 3) / n - 1 / 8) <= 6 * np.sqrt(7 / 64 / n))
    f = cr.zeros(n, dtype=cr.float32).random_(generator=g).numpy()  # 0 .. 2**24
    assert f.min() >= 0 and f.max() <= 2**24 and np.all(f == np.round(f))
    _moments_ok(f.astype("float64"), 2**23, ((2**24 + 1) ** 2 - 1) / 12, "random_() float32")
    rates = cr.tensor([0.5, 3.0, 20.0], dtype=cr.float64)
    p = cr.poisson(rates.expand(n, 3).contiguous(), generator=g).numpy()
    for k, lam in enumerate((0.5, 3.0, 20.0)):
        _moments_ok(p[:, k], lam, lam, f"poisson({lam})")
    ri = cr.randint(-5, 5, (n,), generator=g).numpy()
    assert ri.min() == -5 and ri.max() == 4
    _moments_ok(ri.astype("float64"), -0.5, (10**2 - 1) / 12, "randint")


@pytest.mark.parametrize("name,args", [("uniform_", ()), ("normal_", ()), ("random_", (0, 5)),
                                       ("bernoulli_", (0.5,)), ("exponential_", ()),
                                       ("geometric_", (0.5,)), ("cauchy_", ()),
                                       ("log_normal_", ())])
def test_fill_of_recorded_tensor_is_a_constant(name, args):
    """As in PyTorch: a fill of a tensor computed from w cuts its gradient path (the values are
    constants), so d(y * w)/dw is y's new values; a leaf that requires grad is refused."""
    w = cr.ones(3, requires_grad=True, dtype=cr.float64)
    y = w * 2
    getattr(y, name)(*args)
    (y * w).sum().backward()
    assert np.array_equal(w.grad.numpy(), y.detach().numpy())
    with pytest.raises(RuntimeError):
        getattr(cr.zeros(3, requires_grad=True), name)(*args)
    base = cr.zeros(4, 3)
    view = base[:, 1]
    getattr(view, name)(*args)  # a view's fill lands in its base, nowhere else
    assert np.array_equal(base.numpy()[:, 1], view.numpy())
    assert not base.numpy()[:, [0, 2]].any()
