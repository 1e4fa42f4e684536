"""Fuzz wave 16: torch.distributions against PyTorch's, deeper than wave 12 (boundaries of every
family's support, validate_args on and off, cached transforms, constraints, KL registry pairs).

Found by this wave (each fixed in src/chainrule/distributions, with its test here):
- ``ComposeTransform(parts, cache_size=1)`` ignored its cache: ``t.inv(t(x))`` recomputed the
  inverse (``inf`` for a tanh that rounds to 1), so a TransformedDistribution through a cached
  composition gave a non-finite ``log_prob`` of its own ``rsample``. As PyTorch's, a cached
  composition now caches its parts. ``Transform.with_cache`` was missing, and ``t.inv`` was a new
  object on every call (PyTorch's ``t.inv.inv is t``, ``t.inv is t.inv``).
- Gamma's/Chi2's cdf of a negative value (not validating) was 0 (InverseGamma's 1), not NaN.
- ``NegativeBinomial(5, 0.3).sample()`` (any 0-D draw) raised AttributeError.
- ``HalfCauchy.log_prob`` of a float64 value with float32 parameters was float64.
- ``constraints`` lacked ``square``, ``symmetric``, ``positive_semidefinite``,
  ``lower_triangular``, ``is_dependent`` and ``MixtureSameFamilyConstraint``.
- MixtureSameFamily refused weights shared over batch dimensions; its support was the
  components' (PyTorch's: MixtureSameFamilyConstraint).
- Gamma's cdf of values wider than its parameters raised in backward (concentration's grad).
- ``Distribution._get_checked_instance`` and Binomial/NegativeBinomial/LogitRelaxedBernoulli
  ``param_shape`` were missing.
- ``Normal.icdf`` was off by a relative 2e-5 at 1/2 +- 1e-12 (its own Newton quantile).
- A TransformedDistribution widened by an AffineTransform's batch of parameters (PyTorch's
  Logistic example) kept the base's batch_shape and could not sample.
- Beta's and Dirichlet's rsample were differentiated through their gamma variables (unbiased,
  but not PyTorch's gradient of the draw); they now take PyTorch's implicit formula, exactly.
"""


import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as D

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
TD = torch.distributions


def _same(ours, theirs, rtol=1e-12, atol=1e-12):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol, equal_nan=True)


def _lib(M):
    return cr if M is D else torch


# ---- cached transforms -------------------------------------------------------------------

def _compose(M, cache_size):
    T = M.transforms
    return T.ComposeTransform([T.AffineTransform(0.0, 2.0), T.TanhTransform()],
                              cache_size=cache_size)


@pytest.mark.parametrize("M", [TD, D], ids=["torch", "chainrule"])
def test_cached_composition_inverts_its_last_call_exactly(M):
    x = _lib(M).tensor([0.3, 40.0, -50.0], dtype=_lib(M).float64)
    t = _compose(M, 1)
    assert t.inv(t(x)) is x  # was atanh(1.0) = inf for the saturated entries
    assert _compose(M, 0).inv(_compose(M, 0)(x)) is not x
    assert t.inv.inv is t and t.inv is t.inv
    assert all(p._cache_size == 1 for p in t.parts)


def test_transformed_distribution_through_a_cached_composition():
    loc, scale = np.zeros(3), np.full(3, 20.0)
    for M in (TD, D):
        lib = _lib(M)
        base = M.Normal(lib.tensor(loc), lib.tensor(scale))
        d = M.TransformedDistribution(
            base, M.transforms.ComposeTransform([M.transforms.TanhTransform()], cache_size=1))
        s = d.rsample((50,))
        assert bool(lib.isfinite(d.log_prob(s)).all())  # chainrule's was -inf/nan


WITH_CACHE = [
    ("Exp", lambda T, lib: T.ExpTransform()),
    ("Sigmoid", lambda T, lib: T.SigmoidTransform()),
    ("Affine", lambda T, lib: T.AffineTransform(lib.tensor([1.0, 2.0]), 3.0)),
    ("Power", lambda T, lib: T.PowerTransform(lib.tensor(2.0))),
    ("Reshape", lambda T, lib: T.ReshapeTransform((2,), (2, 1))),
    ("Independent", lambda T, lib: T.IndependentTransform(T.ExpTransform(), 1)),
    ("Compose", lambda T, lib: T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1., 2.)])),
    ("InverseExp", lambda T, lib: T.ExpTransform().inv),
    ("Cat", lambda T, lib: T.CatTransform([T.ExpTransform(), T.ExpTransform()], 0, [1, 1])),
    ("Stack", lambda T, lib: T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], 0)),
]


def _with_cache_as_pytorch_case(name, build):
    for M in (TD, D):
        lib = _lib(M)
        t = build(M.transforms, lib)
        assert t.with_cache(0) is t
        cached = t.with_cache(1)
        assert type(cached) is type(t) and cached._cache_size == 1 and t._cache_size == 0
        x = lib.tensor([0.25, 1.5], dtype=lib.float64)
        y = cached(x)
        assert cached.inv(y) is x
        np.testing.assert_allclose(np.asarray(y.numpy()), np.asarray(t(x).numpy()))


def test_with_cache_as_pytorch():
    each_case(_with_cache_as_pytorch_case, grid(
        ("name,build", WITH_CACHE, [n for n, _ in WITH_CACHE]),
    ))


def test_with_cache_of_a_user_transform_with_its_own_constructor_raises():
    for M in (TD, D):
        class Scaled(M.transforms.Transform):
            def __init__(self, k):
                super().__init__()
                self.k = k

        with pytest.raises(NotImplementedError):
            Scaled(2.0).with_cache(1)


# ---- every family at the edges of its support, validating or not -------------------------

A = np.array
EDGES = [
    ("Normal", dict(loc=A([0., 1.]), scale=A([1., 2.])), [-np.inf, -1, 0, np.inf, np.nan]),
    ("Laplace", dict(loc=A([0., 1.]), scale=A([1., 2.])), [-np.inf, -1, 0, np.inf, np.nan]),
    ("Cauchy", dict(loc=A([0., 1.]), scale=A([1., 2.])), [-np.inf, 0, 1, np.inf, np.nan]),
    ("Gumbel", dict(loc=A([0., 1.]), scale=A([1., 2.])), [-np.inf, -1, 0, np.inf, np.nan]),
    ("StudentT", dict(df=A([0.5, 1.5, 2.5]), loc=A([0., 1., 0.]), scale=A([1., 2., 1.])),
     [-np.inf, 0, 1, np.inf]),
    ("LogNormal", dict(loc=A([0., 1.]), scale=A([1., 2.])), [-1, 0, 1e-300, 1, np.inf, np.nan]),
    ("Gamma", dict(concentration=A([0.5, 1., 2.]), rate=A([1., 2., 3.])),
     [-1, 0, 1e-300, 1, np.inf, np.nan]),
    ("InverseGamma", dict(concentration=A([0.5, 1.5, 2.5]), rate=A([1., 2., 3.])),
     [-1, 0, 1e-300, 1, np.inf]),
    ("Chi2", dict(df=A([1., 2., 3.])), [-1, 0, 1e-300, 1, np.inf]),
    ("Exponential", dict(rate=A([0.5, 1., 2.])), [-1, 0, 1, np.inf, np.nan]),
    ("HalfNormal", dict(scale=A([0.5, 1., 2.])), [-1, 0, 1, np.inf, np.nan]),
    ("HalfCauchy", dict(scale=A([0.5, 1., 2.])), [-1, 0, 1, np.inf, np.nan]),
    ("Weibull", dict(scale=A([0.5, 1., 2.]), concentration=A([1., 1.5, 3.])), [-1, 0, 1, np.inf]),
    ("FisherSnedecor", dict(df1=A([1., 2., 5.]), df2=A([1., 3., 5.])), [-1, 0, 1, np.inf]),
    ("Beta", dict(concentration1=A([0.5, 1., 2.]), concentration0=A([0.5, 1., 3.])),
     [-0.1, 0, 0.5, 1, 1.1]),
    ("Kumaraswamy", dict(concentration1=A([0.5, 1., 2.]), concentration0=A([0.5, 1., 3.])),
     [-0.1, 0, 0.5, 1, 1.1]),
    ("Uniform", dict(low=A([0., -1.]), high=A([1., 2.])), [-2, -1, 0, 0.5, 1, 2, 3]),
    ("VonMises", dict(loc=A([0., 1.]), concentration=A([0.5, 3.])), [-4, -np.pi, 0, np.pi, 4]),
    ("Pareto", dict(scale=A([1., 2.]), alpha=A([0.5, 3.])), [0, 1, 2, 3, np.inf]),
    ("ContinuousBernoulli", dict(probs=A([0.2, 0.5, 0.7])), [-0.1, 0, 0.5, 1, 1.1]),
    ("Bernoulli", dict(probs=A([0.0, 0.3, 1.0])), [-1, 0, 1, 0.5, 2]),
    ("Geometric", dict(probs=A([0.3, 1.0, 0.5])), [-1, 0, 1, 2.5, 5]),
    ("Poisson", dict(rate=A([0.0, 1., 3.])), [-1, 0, 1, 2.5, 5]),
    ("Binomial", dict(total_count=A([0., 5., 10.]), probs=A([0.0, 0.3, 1.0])),
     [-1, 0, 1, 2.5, 5, 11]),
    ("Binomial", dict(total_count=5, logits=A([-1., 0., 2.])), [-1, 0, 1, 5, 6]),
    ("NegativeBinomial", dict(total_count=A([1., 2.5, 5.]), probs=A([0.0, 0.3, 0.9])),
     [-1, 0, 1, 2.5, 5]),
    ("Categorical", dict(probs=A([[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]])), [0, 1, 2, 0.5]),
]


def _outcome(fn):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn()
        except (ValueError, RuntimeError, NotImplementedError, IndexError) as e:
            return e


def _agree(ours, theirs, what, rtol=1e-9):
    if isinstance(theirs, Exception) or isinstance(ours, Exception):
        assert isinstance(theirs, Exception) and isinstance(ours, Exception), \
            f"{what}: torch {theirs!r}, chainrule {ours!r}"
        if isinstance(theirs, ValueError):
            assert isinstance(ours, ValueError), what
        return
    _same(ours, theirs, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("validate", [False, True])
@pytest.mark.parametrize("name,params,values", EDGES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(EDGES)])
def test_edges_of_the_support(name, params, values, validate):
    """log_prob, cdf and icdf at and beyond the support's ends, and the moments: the same
    numbers (-inf, 0, NaN where PyTorch has them) or the same ValueError. Gamma's, Chi2's and
    InverseGamma's cdf of a negative value was 0 (InverseGamma's 1) where PyTorch's is NaN."""
    def build(M):
        lib = _lib(M)
        return getattr(M, name)(**{k: lib.tensor(v) if isinstance(v, np.ndarray) else v
                                   for k, v in params.items()}, validate_args=validate)

    ours, theirs = build(D), build(TD)
    batch = tuple(theirs.batch_shape)
    # PyTorch's VonMises normaliser is a polynomial fit of log I0 (about 1e-8 relative);
    # chainrule's is the exact scaled Bessel function
    rtol = 1e-7 if name == "VonMises" else 1e-9
    for v in values:
        x = np.full((2,) + batch, float(v))
        for method in ("log_prob", "cdf"):
            _agree(_outcome(lambda: getattr(ours, method)(cr.tensor(x))),
                   _outcome(lambda: getattr(theirs, method)(torch.tensor(x))),
                   f"{name} {method}({v})", rtol)
    for q in (0.0, 0.3, 1.0, -0.5, 1.5, np.nan):
        x = np.full((2,) + batch, q)
        _agree(_outcome(lambda: ours.icdf(cr.tensor(x))),
               _outcome(lambda: theirs.icdf(torch.tensor(x))), f"{name} icdf({q})")
    for attr in ("mean", "variance", "stddev", "mode"):
        if name in ("Kumaraswamy", "VonMises") and attr != "mean":
            continue  # PyTorch's Kumaraswamy mode is wrong; its Bessel ratio is approximate
        _agree(_outcome(lambda: getattr(ours, attr)), _outcome(lambda: getattr(theirs, attr)),
               f"{name}.{attr}")
    _agree(_outcome(ours.entropy), _outcome(theirs.entropy), f"{name}.entropy")


# ---- parameters given as Python numbers --------------------------------------------------

@pytest.mark.parametrize("name,args", [("NegativeBinomial", (5, 0.3)), ("Poisson", (2.0,)),
                                       ("Binomial", (5, 0.3)), ("NegativeBinomial", (2.5, 0.6))])
def test_counts_of_scalar_parameters_sample(name, args):
    """NegativeBinomial(5, 0.3).sample() raised AttributeError (NumPy's 0-D Poisson draw is a
    Python int): every draw of a 0-D count distribution is now a 0-D Tensor, as PyTorch's."""
    ours, theirs = getattr(D, name)(*args), getattr(TD, name)(*args)
    for shape in [(), (3,), (2, 2)]:
        a, b = ours.sample(shape), theirs.sample(torch.Size(shape))
        assert (str(a.dtype), tuple(a.shape)) == (str(b.dtype)[6:], tuple(b.shape))
        assert bool((a >= 0).all()) and bool((a == a.floor()).all())


def test_half_cauchy_log_prob_in_the_scale_dtype():
    """PyTorch's HalfCauchy casts the value to its scale's dtype (HalfNormal does not): a
    float64 value of a float32 HalfCauchy has a float32 log-density (it was float64)."""
    for value in [np.array([0.5, 2.0]), np.array([-1.0, 0.0])]:
        for name in ("HalfCauchy", "HalfNormal"):
            ours = getattr(D, name)(1.5, validate_args=False).log_prob(cr.tensor(value))
            theirs = getattr(TD, name)(1.5, validate_args=False).log_prob(torch.tensor(value))
            _same(ours, theirs, rtol=1e-6, atol=1e-7)


# ---- constraints -------------------------------------------------------------------------

def _matrices():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    s = a @ a.T
    return [np.stack([s, -s, np.eye(3), np.zeros((3, 3)), np.diag([1.0, 0.0, 1.0]), s + 1e-7,
                      s + 1e-4 * np.triu(np.ones((3, 3)), 1)]),
            np.stack([np.tril(a), a, np.tril(a) - np.eye(3)]), rng.normal(size=(2, 3, 4)),
            np.diag([1.0, -1e-20, 2.0])[None]]


@pytest.mark.parametrize("name", ["square", "symmetric", "positive_semidefinite",
                                  "lower_triangular", "positive_definite"])
def test_matrix_constraints(name):
    """``square``, ``symmetric``, ``positive_semidefinite`` and ``lower_triangular`` were
    missing from ``constraints`` (``positive_definite`` compared with another tolerance)."""
    ours, theirs = getattr(D.constraints, name), getattr(TD.constraints, name)
    assert (ours.event_dim, ours.is_discrete) == (theirs.event_dim, theirs.is_discrete)
    for m in _matrices():
        if name == "positive_definite" and m.shape[-1] == m.shape[-2] and \
                not bool(TD.constraints.symmetric.check(torch.tensor(m)).all()):
            continue  # PyTorch's answer for such a batch is only its symmetry check
        np.testing.assert_array_equal(ours.check(cr.tensor(m)).numpy(),
                                      theirs.check(torch.tensor(m)).numpy(), err_msg=name)


def test_constraint_names_and_is_dependent():
    assert sorted(set(TD.constraints.__all__) - set(D.constraints.__all__)) == []
    for M in (TD, D):
        C = M.constraints
        assert C.is_dependent(M.Uniform.support) and C.is_dependent(C.dependent)
        assert not C.is_dependent(C.real) and not C.is_dependent(C.positive)
        assert C.is_dependent(M.Binomial.support)


# ---- MixtureSameFamily -------------------------------------------------------------------

def _mixture(M, mix_logits, comp_loc, comp_scale, independent=False):
    lib = _lib(M)
    comp = M.Normal(lib.tensor(comp_loc), lib.tensor(comp_scale))
    if independent:
        comp = M.Independent(comp, 1)
    return M.MixtureSameFamily(M.Categorical(logits=lib.tensor(mix_logits)), comp)


@pytest.mark.parametrize("mix,comp", [((3,), (2, 3)), ((1, 3), (2, 3)), ((2, 3), (2, 3)),
                                      ((2, 1, 3), (4, 2, 5, 3)), ((3,), (2, 3, 4))])
def test_mixture_weights_shared_over_batch_dimensions(mix, comp):
    """A mixture batch_shape that broadcasts to the components' (one set of weights for a
    batch of mixtures) was refused; PyTorch takes it."""
    rng = np.random.default_rng(sum(comp))
    logits, loc, scale = rng.normal(size=mix), rng.normal(size=comp), rng.uniform(.5, 2, comp)
    independent = len(comp) == 3 and comp[-1] == 4
    ours, theirs = (_mixture(M, logits, loc, scale, independent) for M in (D, TD))
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    value = rng.normal(size=(4,) + tuple(theirs.batch_shape) + tuple(theirs.event_shape))
    _same(ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value)))
    # PyTorch pads the weights on the wrong side of their batch dimensions when they have
    # more than one (its mean and variance fail): there, NumPy's moments of the mixture
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs = probs / probs.sum(-1, keepdims=True)
    probs = probs.reshape((1,) * (len(comp) - independent - len(mix)) + mix + (1,) * independent)
    k = -2 if independent else -1
    mean = (probs * loc).sum(k)
    variance = (probs * (scale ** 2 + (loc - np.expand_dims(mean, k)) ** 2)).sum(k)
    np.testing.assert_allclose(ours.mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(ours.variance.numpy(), variance, rtol=1e-12)
    if len(mix) < 2:
        _same(ours.mean, theirs.mean)
        _same(ours.variance, theirs.variance)
    if not independent:
        _same(ours.cdf(cr.tensor(value)), theirs.cdf(torch.tensor(value)))
    # PyTorch's own sample fails or has the mixture's batch_shape here; ours has the batch's
    draws = ours.sample((5,))
    assert tuple(draws.shape) == (5,) + tuple(theirs.batch_shape) + tuple(theirs.event_shape)
    assert bool(cr.isfinite(ours.log_prob(draws)).all())


def test_mixture_draws_pick_the_shared_choice_per_batch_entry():
    # components far apart: each draw tells which component it came from
    logits = np.log(np.array([0.7, 0.3, 1e-12]))
    loc, scale = np.array([[0.0, 100.0, 200.0], [1000.0, 1100.0, 1200.0]]), np.full((2, 3), 0.1)
    draws = _mixture(D, logits, loc, scale).sample((4000,)).numpy()
    picked = np.rint((draws - loc[:, 0]) / 100.0)
    assert set(np.unique(picked)) <= {0.0, 1.0}
    np.testing.assert_allclose((picked == 0).mean(0), [0.7, 0.7], atol=0.05)


@pytest.mark.parametrize("mix,comp", [((2, 3), (1, 3)), ((4, 2, 3), (2, 3)), ((3, 3), (2, 3))])
def test_mixture_that_would_widen_the_batch_is_refused(mix, comp):
    with pytest.raises(ValueError, match="must broadcast to"):
        _mixture(D, np.zeros(mix), np.zeros(comp), np.ones(comp))


def test_mixture_support_is_pytorchs_constraint():
    for M in (TD, D):
        lib = _lib(M)
        # validation asked for: the default is global state another test may have switched off
        m = M.MixtureSameFamily(M.Categorical(logits=lib.zeros(2, 3)),
                                M.Uniform(lib.tensor([[0.0, 1.0, 2.0]]).expand(2, 3),
                                          lib.tensor([[3.0, 4.0, 5.0]]).expand(2, 3)),
                                validate_args=True)
        support = m.support
        assert type(support).__name__ == "MixtureSameFamilyConstraint"
        assert support.event_dim == 0 and not support.is_discrete
        # in the support of every component
        check = support.check(lib.tensor([[2.5, 0.5], [2.0, 3.5]]))
        assert check.numpy().tolist() == [[True, False], [True, False]]
        with pytest.raises(ValueError):
            m.log_prob(lib.tensor([0.5, 2.5]))


# ---- gradients with respect to the value -------------------------------------------------

@pytest.mark.parametrize("name", ["Gamma", "Chi2", "InverseGamma"])
def test_gamma_cdf_of_values_wider_than_the_parameters_backpropagates(name):
    """Gamma's (Chi2's, InverseGamma's) cdf of a batch of values wider than the parameters
    raised in backward when the concentration required a gradient ("_GammaInc.backward
    returned a gradient of shape (4, 3) for an input of shape (3,)"); PyTorch has no gradient
    in the concentration there (NotImplementedError), chainrule's is checked by differences."""
    from chainrule.autograd.gradcheck import gradcheck

    conc = cr.tensor([1.5, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    rate = cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([[0.5, 1.0, 2.0], [0.3, 2.5, 1.0]], dtype=cr.float64, requires_grad=True)

    def cdf(conc, rate, x):
        return (D.Chi2(conc) if name == "Chi2" else getattr(D, name)(conc, rate)).cdf(x)

    assert gradcheck(cdf, (conc, rate, x))
    # the value's and the rate's gradients are PyTorch's
    t_rate = torch.tensor(rate.numpy(), requires_grad=True)
    t_x = torch.tensor(x.numpy(), requires_grad=True)
    t_conc = torch.tensor(conc.numpy())
    theirs = (TD.Chi2(t_conc) if name == "Chi2" else getattr(TD, name)(t_conc, t_rate)).cdf(t_x)
    ours = cdf(conc.detach(), rate, x)
    _same(ours, theirs)
    wrt = [x] if name == "Chi2" else [x, rate]
    t_wrt = [t_x] if name == "Chi2" else [t_x, t_rate]
    for a, b in zip(cr.grad(ours.sum(), wrt), torch.autograd.grad(theirs.sum(), t_wrt)):
        _same(a, b)


# ---- a user's own distribution, written as for PyTorch -----------------------------------

def _custom(M):
    lib = _lib(M)

    class Shifted(M.Distribution):
        arg_constraints = {"loc": M.constraints.real}
        support = M.constraints.real
        has_rsample = True

        def __init__(self, loc, validate_args=None):
            self.loc = loc
            super().__init__(loc.shape, validate_args=validate_args)

        def expand(self, batch_shape, _instance=None):
            new = self._get_checked_instance(Shifted, _instance)
            new.loc = self.loc.expand(batch_shape)
            super(Shifted, new).__init__(batch_shape, validate_args=False)
            new._validate_args = self._validate_args
            return new

        def log_prob(self, value):
            return -0.5 * (value - self.loc) ** 2 - 0.5 * math.log(2 * math.pi)

    class Renamed(Shifted):
        def __init__(self, mu):
            super().__init__(mu)

    return Shifted, Renamed, lib


@pytest.mark.parametrize("M", [TD, D], ids=["torch", "chainrule"])
def test_custom_distribution_expand_uses_get_checked_instance(M):
    """``Distribution._get_checked_instance`` (what a custom distribution's ``expand`` calls)
    was missing; ``Binomial.param_shape`` and ``NegativeBinomial.param_shape`` too."""
    Shifted, Renamed, lib = _custom(M)
    d = Shifted(lib.tensor([0.5, 1.5], dtype=lib.float64)).expand((3, 2))
    assert tuple(d.batch_shape) == (3, 2) and tuple(d.loc.shape) == (3, 2)
    lp = d.log_prob(lib.zeros(3, 2, dtype=lib.float64))
    np.testing.assert_allclose(np.asarray(lp.numpy())[0], -0.5 * np.array([0.25, 2.25])
                               - 0.5 * math.log(2 * math.pi))
    with pytest.raises(NotImplementedError, match="custom .expand"):
        Renamed(lib.tensor([0.5])).expand((2, 1))
    for name in ("Binomial", "NegativeBinomial"):
        dist = getattr(M, name)(5, lib.tensor([[0.3], [0.6]]))
        assert tuple(dist.param_shape) == (2, 1)
        assert tuple(dist.expand((2, 3)).param_shape) == (2, 3)


def test_normal_icdf_near_the_median_and_in_the_tails():
    """Normal.icdf had its own quantile (Newton steps on ndtr stopped at a relative step of
    1e-15 of |x|+1): 4e-17 at exactly 1/2 and a relative error of 2e-5 at 1/2 +- 1e-12. It is
    now special.ndtri's: PyTorch's icdf (erfinv(2q - 1)) near the median, and
    torch.special.ndtri in the lower tail, where 2q - 1 rounds to -1 (PyTorch's icdf: -inf)."""
    near = np.array([0.5, 0.5 - 1e-12, 0.5 + 1e-12, 0.5 + 1e-9, 0.4999999, 0.3, 0.7])
    loc, scale = np.array(1.5), np.array(2.0)
    ours = D.Normal(cr.tensor(loc), cr.tensor(scale)).icdf(cr.tensor(near))
    theirs = TD.Normal(torch.tensor(loc), torch.tensor(scale)).icdf(torch.tensor(near))
    _same(ours, theirs, rtol=1e-15, atol=0)
    assert D.Normal(0.0, 1.0).icdf(cr.tensor(0.5)).item() == 0.0
    tail = np.array([1e-300, 1e-100, 1e-20, 1e-10, 1 - 1e-10])
    _same(D.Normal(cr.tensor(0.0, dtype=cr.float64), 1.0).icdf(cr.tensor(tail)),
          torch.special.ndtri(torch.tensor(tail)), rtol=1e-15, atol=0)


# ---- TransformedDistribution through transforms with a batch of parameters ---------------

def _logistic(M, lib, loc, scale):
    """PyTorch's documented Logistic: Uniform(0, 1) through logit and an affine map."""
    T = M.transforms
    return M.TransformedDistribution(
        M.Uniform(lib.tensor(0.0, dtype=lib.float64), 1.0),
        [T.SigmoidTransform().inv, T.AffineTransform(loc=lib.tensor(loc), scale=lib.tensor(scale))])


def test_transformed_distribution_widened_by_the_transforms_parameters():
    """A TransformedDistribution whose AffineTransform (or PowerTransform) has a batch of
    parameters (PyTorch's Logistic example) kept the base's batch_shape (); its sample((4,))
    raised (shapes (3,) and (4,)) and expand/Independent failed. forward_shape/inverse_shape
    of those transforms now broadcast with the parameters, and the base is expanded as
    PyTorch's."""
    loc, scale = np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    ours, theirs = _logistic(D, cr, loc, scale), _logistic(TD, torch, loc, scale)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape) == (3,)
    assert tuple(ours.base_dist.batch_shape) == (3,)
    assert tuple(ours.sample((4,)).shape) == tuple(theirs.sample((4,)).shape) == (4, 3)
    value = np.array([[0.5], [-1.0]])
    _same(ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value)))
    _same(ours.cdf(cr.tensor(value)), theirs.cdf(torch.tensor(value)))
    wide_o, wide_t = ours.expand((2, 3)), theirs.expand((2, 3))
    assert tuple(wide_o.base_dist.batch_shape) == tuple(wide_t.base_dist.batch_shape) == (2, 3)
    assert tuple(wide_o.sample().shape) == (2, 3)
    _same(D.Independent(ours, 1).log_prob(cr.tensor(value)),
          TD.Independent(theirs, 1).log_prob(torch.tensor(value)))
    for M in (TD, D):
        lib = _lib(M)
        power = M.transforms.PowerTransform(lib.tensor([[1.0], [2.0]]))
        assert tuple(power.forward_shape((3,))) == (2, 3)
        assert tuple(power.inv.forward_shape((3,))) == (2, 3)
        affine = M.transforms.AffineTransform(1.0, lib.tensor([2.0, 3.0]))
        assert tuple(affine.inverse_shape((4, 1))) == (4, 2)
        assert tuple(M.transforms.AffineTransform(1.0, 2.0).forward_shape((4, 1))) == (4, 1)


def test_logit_relaxed_bernoulli_param_shape():
    """LogitRelaxedBernoulli.param_shape was missing (RelaxedBernoulli's base)."""
    from chainrule.distributions.relaxed_bernoulli import LogitRelaxedBernoulli
    from torch.distributions.relaxed_bernoulli import LogitRelaxedBernoulli as Theirs

    ours = LogitRelaxedBernoulli(cr.tensor(0.5), logits=cr.tensor([[0.3, -0.2]]))
    theirs = Theirs(torch.tensor(0.5), logits=torch.tensor([[0.3, -0.2]]))
    assert tuple(ours.param_shape) == tuple(theirs.param_shape) == (1, 2)


# ---- Beta and Dirichlet rsample: PyTorch's gradient --------------------------------------

BETA_POINTS = [(0.3, 1.5, 2.0), (0.9, 0.5, 0.5), (0.01, 0.1, 3.0), (0.999, 5.0, 0.2),
               (0.5, 50.0, 50.0), (0.45, 200.0, 250.0), (0.2, 1.0, 1.0), (1e-5, 0.05, 0.05),
               (0.7, 3.0, 1.2), (0.6, 1000.0, 700.0),
               # integer b: the fraction ends at a zero term; the slow entries above must not
               # carry it on (one vectorised call)
               (0.3, 2.0, 1.0), (0.2, 4.0, 3.0)]


def test_beta_implicit_gradient_against_mpmath():
    """dx/da of a Beta(a, b) draw x at fixed noise, -(dI_x/da) / density, to 1e-13 (PyTorch's
    own approximation is within 3e-5 of it)."""
    mp = pytest.importorskip("mpmath")
    from chainrule.distributions._beta_grad import beta_grad_a_array

    mp.mp.dps = 30

    def exact(x, a, b):
        dens = mp.mpf(x) ** (a - 1) * (1 - mp.mpf(x)) ** (b - 1) / mp.beta(a, b)
        return float(-mp.diff(lambda t: mp.betainc(t, b, 0, x, regularized=True), a) / dens)

    x, a, b = (np.array(v) for v in zip(*BETA_POINTS))
    np.testing.assert_allclose(beta_grad_a_array(x, a, b),
                               [exact(*p) for p in BETA_POINTS], rtol=1e-13)


@pytest.mark.parametrize("shape", [(3,), (2, 4)])
def test_dirichlet_rsample_gradient_is_pytorchs(shape):
    """Dirichlet's (and Beta's) rsample differentiated through the gamma variables it was made
    from: unbiased, but not PyTorch's gradient for the same draw (0.124 where PyTorch's, and the
    exact implicit one, is 0.142). Now PyTorch's formula, G_j (delta_ij - x_i) with G_j the
    implicit derivative of coordinate j's Beta marginal over 1 - x_j, computed exactly."""
    from torch.distributions.dirichlet import _Dirichlet_backward

    rng = np.random.default_rng(len(shape))
    conc = rng.uniform(0.3, 4.0, shape)
    w = rng.normal(size=(5,) + shape)
    leaf = cr.tensor(conc, requires_grad=True)
    x = D.Dirichlet(leaf).rsample((5,), rng=np.random.default_rng(0))
    (ours,) = cr.grad((x * cr.tensor(w)).sum(), [leaf])
    xv = x.detach().numpy()
    theirs = _Dirichlet_backward(torch.tensor(xv), torch.tensor(conc).expand((5,) + shape),
                                 torch.tensor(w)).sum(0)
    # PyTorch's G_j is an approximation (Taylor series and asymptotics), within 1e-3 of the
    # exact one; chainrule's is exact (test_beta_implicit_gradient_against_mpmath)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-3, atol=1e-8)
    from chainrule.distributions._beta_grad import beta_grad_a_array

    rest = conc.sum(-1, keepdims=True) - conc
    exact_g = beta_grad_a_array(xv, conc, rest) / (1 - xv)
    expected = (exact_g * (w - (xv * w).sum(-1, keepdims=True))).sum(0)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_beta_rsample_gradient_is_pytorchs():
    from torch.distributions.dirichlet import _Dirichlet_backward

    c1, c0 = cr.tensor([[0.7], [2.5]], requires_grad=True), cr.tensor([1.5, 0.4, 3.0],
                                                                      requires_grad=True)
    x = D.Beta(c1, c0).rsample((4,), rng=np.random.default_rng(1))
    assert tuple(x.shape) == (4, 2, 3)
    g1, g0 = cr.grad(x.sum(), [c1, c0])
    assert tuple(g1.shape) == (2, 1) and tuple(g0.shape) == (3,)
    xv = x.detach().numpy().astype(np.float64)
    pair = torch.stack(torch.broadcast_tensors(torch.tensor(c1.numpy(), dtype=torch.float64),
                                               torch.tensor(c0.numpy(), dtype=torch.float64)),
                       -1).expand(4, 2, 3, 2)
    grad = _Dirichlet_backward(torch.tensor(np.stack([xv, 1 - xv], -1)), pair,
                               torch.tensor([1.0, 0.0]).expand(4, 2, 3, 2))
    # within PyTorch's approximation of the implicit derivative (1e-3)
    np.testing.assert_allclose(g1.numpy(), grad[..., 0].sum((0, 2)).numpy()[:, None], rtol=1e-3)
    np.testing.assert_allclose(g0.numpy(), grad[..., 1].sum((0, 1)).numpy(), rtol=1e-3)
