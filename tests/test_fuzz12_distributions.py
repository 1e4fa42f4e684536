"""Fuzz wave 12: torch.distributions against PyTorch's (densities, moments, cdf/icdf, shapes,
KL pairs, transforms, Independent, MixtureSameFamily, validate_args errors).

Before this wave every transform had ``sign`` 1 (the base class's), so a TransformedDistribution
through a transform that is not monotone (``AbsTransform``) or not elementwise (stick-breaking,
softmax, reshape...) returned a wrong ``cdf``/``icdf`` silently, where PyTorch's raises
NotImplementedError; the inverse of a shape-changing transform gave the forward map's
``forward_shape``/``inverse_shape``; and ``event_dim`` of a transform whose domain and codomain
have different event dims returned the domain's, where PyTorch's refuses. ``Gamma``/``Chi2``
``cdf(inf)`` was NaN (not 1) and ``cdf(nan)`` 0 (``InverseGamma``: ``cdf(0)`` NaN, ``cdf(nan)``
1); ``Beta``/``Dirichlet``/``Gamma`` densities with a concentration of 1 gave a NaN value a
finite log-density (their ``xlogy`` dropped the NaN where ``torch.xlogy`` keeps it).
"""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as D

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
TD = torch.distributions


def _close(ours, theirs, rtol=1e-6, atol=1e-8):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol)


def _both(name, params, **kw):
    ours = getattr(D, name)(**{k: cr.tensor(v) if isinstance(v, np.ndarray) else v
                               for k, v in params.items()}, **kw)
    theirs = getattr(TD, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                  for k, v in params.items()}, **kw)
    return ours, theirs


def _pos(rng, *s):
    return rng.uniform(0.5, 3.0, s)


def _unit(rng, *s):
    return rng.uniform(0.1, 0.9, s)


CONTINUOUS = {
    "Normal": (lambda r: dict(loc=r.normal(size=(2, 1)), scale=_pos(r, 3)), "real"),
    "Laplace": (lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 2, 3)), "real"),
    "Cauchy": (lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 3)), "real"),
    "Gumbel": (lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 3)), "real"),
    "StudentT": (lambda r: dict(df=_pos(r, 3) + 2, loc=r.normal(size=(2, 1)), scale=_pos(r, 3)),
                 "real"),
    "LogNormal": (lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 3)), "pos"),
    "Gamma": (lambda r: dict(concentration=_pos(r, 2, 1), rate=_pos(r, 3)), "pos"),
    "InverseGamma": (lambda r: dict(concentration=_pos(r, 3) + 2, rate=_pos(r, 3)), "pos"),
    "Chi2": (lambda r: dict(df=_pos(r, 2, 3)), "pos"),
    "Exponential": (lambda r: dict(rate=_pos(r, 2, 3)), "pos"),
    "HalfNormal": (lambda r: dict(scale=_pos(r, 3)), "pos"),
    "HalfCauchy": (lambda r: dict(scale=_pos(r, 3)), "pos"),
    "Weibull": (lambda r: dict(scale=_pos(r, 2, 1), concentration=_pos(r, 3)), "pos"),
    "FisherSnedecor": (lambda r: dict(df1=_pos(r, 3) + 4, df2=_pos(r, 3) + 4), "pos"),
    "Beta": (lambda r: dict(concentration1=_pos(r, 3), concentration0=_pos(r, 2, 3)), "unit"),
    "Kumaraswamy": (lambda r: dict(concentration1=_pos(r, 3), concentration0=_pos(r, 3)), "unit"),
    "Uniform": (lambda r: dict(low=-_pos(r, 2, 1), high=_pos(r, 3) + 0.5), "unit"),
    "VonMises": (lambda r: dict(loc=r.normal(size=3), concentration=_pos(r, 3)), "real"),
}


def _value(rng, kind, shape):
    if kind == "real":
        return rng.normal(size=shape)
    return rng.uniform(0.5, 3.0, shape) if kind == "pos" else rng.uniform(0.1, 0.9, shape)


def _attr(dist, name):
    try:
        return getattr(dist, name)() if name == "entropy" else getattr(dist, name)
    except NotImplementedError:
        return None


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_values_shapes_and_gradients(name, seed):
    rng = np.random.default_rng(seed)
    make, kind = CONTINUOUS[name]
    params = make(rng)
    ours, theirs = _both(name, params)
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    value = _value(rng, kind, (4,) + tuple(theirs.batch_shape))
    _close(ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value)))
    if name not in ("StudentT", "VonMises", "FisherSnedecor", "Beta"):  # no cdf in PyTorch
        _close(ours.cdf(cr.tensor(value)), theirs.cdf(torch.tensor(value)))
    q = rng.uniform(0.1, 0.9, tuple(theirs.batch_shape))
    if name not in ("StudentT", "VonMises", "FisherSnedecor", "Beta", "Gamma", "Chi2",
                    "InverseGamma", "Kumaraswamy"):
        _close(ours.icdf(cr.tensor(q)), theirs.icdf(torch.tensor(q)))
    moments = ["mean", "variance", "stddev", "entropy"]
    moments += [] if name == "Kumaraswamy" else ["mode"]  # PyTorch's mode is wrong there
    for attr in moments:
        if (a := _attr(ours, attr)) is not None and (b := _attr(theirs, attr)) is not None:
            _close(a, b)
    assert tuple(ours.sample((2,)).shape) == tuple(theirs.sample((2,)).shape)
    wide = (3,) + tuple(theirs.batch_shape)
    _close(ours.expand(wide).log_prob(cr.tensor(value[:3])),
           theirs.expand(wide).log_prob(torch.tensor(value[:3])))


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "StudentT", "Weibull", "Laplace"])
def test_log_prob_gradients_float64(name):
    rng = np.random.default_rng(11)
    make, kind = CONTINUOUS[name]
    params = make(rng)
    ours_p = {k: cr.tensor(v, requires_grad=True) for k, v in params.items()}
    theirs_p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ours, theirs = getattr(D, name)(**ours_p), getattr(TD, name)(**theirs_p)
    value = _value(rng, kind, (4,) + tuple(theirs.batch_shape))
    (ours.log_prob(cr.tensor(value)).sum() + ours.entropy().sum()).backward()
    (theirs.log_prob(torch.tensor(value)).sum() + theirs.entropy().sum()).backward()
    for k in params:
        _close(ours_p[k].grad, theirs_p[k].grad, rtol=1e-5)


KL = {
    "Normal": lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 3)),
    "Laplace": lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 3)),
    "Gumbel": lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 3)),
    "Exponential": lambda r: dict(rate=_pos(r, 3)),
    "Gamma": lambda r: dict(concentration=_pos(r, 3), rate=_pos(r, 3)),
    "Beta": lambda r: dict(concentration1=_pos(r, 3), concentration0=_pos(r, 3)),
    "Uniform": lambda r: dict(low=-_pos(r, 3), high=_pos(r, 3)),
    "Pareto": lambda r: dict(scale=_pos(r, 3), alpha=_pos(r, 3)),
    "Poisson": lambda r: dict(rate=_pos(r, 3)),
    "Bernoulli": lambda r: dict(probs=_unit(r, 3)),
    "Geometric": lambda r: dict(probs=_unit(r, 3)),
    "Binomial": lambda r: dict(total_count=5, probs=_unit(r, 3)),
    "Categorical": lambda r: dict(logits=r.normal(size=(3, 4))),
    "Dirichlet": lambda r: dict(concentration=_pos(r, 3, 4)),
    "HalfNormal": lambda r: dict(scale=_pos(r, 3)),
    "LogNormal": lambda r: dict(loc=r.normal(size=3), scale=_pos(r, 3)),
    "ContinuousBernoulli": lambda r: dict(probs=_unit(r, 3)),
    "MultivariateNormal": lambda r: dict(loc=r.normal(size=(3, 2)),
                                         scale_tril=np.tril(r.normal(size=(2, 2))) + 3 * np.eye(2)),
}


def _kl_divergence_pairs_case(p, q):
    rng = np.random.default_rng(len(p) * 31 + len(q))
    ours_p, theirs_p = _both(p, KL[p](rng))
    ours_q, theirs_q = _both(q, KL[q](rng))
    try:
        expected = TD.kl_divergence(theirs_p, theirs_q)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            D.kl_divergence(ours_p, ours_q)
        return
    _close(D.kl_divergence(ours_p, ours_q), expected)


def test_kl_divergence_pairs():
    each_case(_kl_divergence_pairs_case, grid(
        ("p,q", list(itertools.product(sorted(KL), sorted(KL)))),
    ))


@pytest.mark.parametrize("component", ["Normal", "Independent", "MultivariateNormal"])
def test_mixture_same_family(component):
    rng = np.random.default_rng(5)
    logits, loc, scale = rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 4)), _pos(rng, 2, 3, 4)

    def build(lib, tensor, diag_embed):
        if component == "Normal":
            comp = lib.Normal(tensor(loc[..., 0]), tensor(scale[..., 0]))
        elif component == "Independent":
            comp = lib.Independent(lib.Normal(tensor(loc), tensor(scale)), 1)
        else:
            comp = lib.MultivariateNormal(tensor(loc), scale_tril=diag_embed(tensor(scale)))
        return lib.MixtureSameFamily(lib.Categorical(logits=tensor(logits)), comp)

    ours, theirs = build(D, cr.tensor, cr.diag_embed), build(TD, torch.tensor, torch.diag_embed)
    value = rng.normal(size=(5, 2) if component == "Normal" else (5, 2, 4))
    _close(ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value)))
    _close(ours.mean, theirs.mean)
    _close(ours.variance, theirs.variance)
    if component == "Normal":
        _close(ours.cdf(cr.tensor(value)), theirs.cdf(torch.tensor(value)))
    assert tuple(ours.sample((3,)).shape) == tuple(theirs.sample((3,)).shape)


BAD_PARAMS = [
    ("Normal", dict(loc=np.zeros(1), scale=-np.ones(1))),
    ("Bernoulli", dict(probs=np.array([1.5]))),
    ("Categorical", dict(probs=np.array([-0.5, 1.5]))),
    ("Binomial", dict(total_count=np.array([2.5]), probs=np.array([0.5]))),
    ("Uniform", dict(low=np.ones(1), high=np.zeros(1))),
    ("MultivariateNormal", dict(loc=np.zeros(2), covariance_matrix=np.array([[1., 2.], [2., 1.]]))),
    ("Wishart", dict(df=np.ones(1), covariance_matrix=np.eye(3))),
    ("LKJCholesky", dict(dim=3, concentration=np.zeros(1))),
]


@pytest.mark.parametrize("name,params", BAD_PARAMS)
def test_validate_args_refuses_bad_parameters(name, params):
    with pytest.raises(ValueError):
        getattr(TD, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                             for k, v in params.items()}, validate_args=True)
    with pytest.raises(ValueError):
        getattr(D, name)(**{k: cr.tensor(v) if isinstance(v, np.ndarray) else v
                            for k, v in params.items()}, validate_args=True)


TRANSFORMS = [
    ("Abs", lambda T: T.AbsTransform(), None),
    ("Softmax", lambda T: T.SoftmaxTransform(), None),
    ("StickBreaking", lambda T: T.StickBreakingTransform(), None),
    ("Reshape", lambda T: T.ReshapeTransform((2,), (2, 1)), None),
    ("LowerCholesky", lambda T: T.LowerCholeskyTransform(), None),
    ("CorrCholesky", lambda T: T.CorrCholeskyTransform(), None),
    ("Cat", lambda T: T.CatTransform([T.ExpTransform(), T.ExpTransform()], lengths=[1, 1]), None),
    ("Exp", lambda T: T.ExpTransform(), 1),
    ("Sigmoid", lambda T: T.SigmoidTransform(), 1),
    ("Tanh", lambda T: T.TanhTransform(), 1),
    ("Softplus", lambda T: T.SoftplusTransform(), 1),
    ("Affine", lambda T: T.AffineTransform(0.0, -2.0), -1),
    ("ComposeEmpty", lambda T: T.ComposeTransform([]), 1),
    ("ComposeExpAbs", lambda T: T.ComposeTransform([T.ExpTransform(), T.AbsTransform()]), None),
    ("InverseExp", lambda T: T.ExpTransform().inv, 1),
    ("IndependentTanh", lambda T: T.IndependentTransform(T.TanhTransform(), 1), 1),
]


def _transform_sign_as_pytorch_case(name, build, sign):
    theirs, ours = build(TD.transforms), build(D.transforms)
    if sign is None:
        with pytest.raises(NotImplementedError):
            _ = theirs.sign
        with pytest.raises(NotImplementedError):
            _ = ours.sign
    else:
        assert int(theirs.sign) == sign and int(ours.sign) == sign


def test_transform_sign_as_pytorch():
    each_case(_transform_sign_as_pytorch_case, grid(("name,build,sign", TRANSFORMS)))


def test_cdf_through_a_non_monotone_transform_raises():
    folded = D.TransformedDistribution(D.Normal(0.0, 1.0), [D.AbsTransform()])
    with pytest.raises(NotImplementedError):
        folded.cdf(cr.tensor([0.5]))  # was Normal's cdf, 0.69 (the folded law's is 0.38)
    with pytest.raises(NotImplementedError):
        folded.icdf(cr.tensor([0.5]))
    flipped = D.TransformedDistribution(D.Normal(1.0, 2.0), [D.AffineTransform(0.0, -1.0)])
    expected = TD.TransformedDistribution(TD.Normal(1.0, 2.0), [TD.AffineTransform(0.0, -1.0)])
    _close(flipped.cdf(cr.tensor([0.5, -1.0])), expected.cdf(torch.tensor([0.5, -1.0])))


@pytest.mark.parametrize("name", ["StickBreaking", "Reshape", "Softmax"])
def test_inverse_transform_shapes(name):
    build = dict((n, b) for n, b, _ in TRANSFORMS)[name]
    shape = (4, 2, 3) if name != "Reshape" else (4, 2, 1)
    theirs, ours = build(TD.transforms).inv, build(D.transforms).inv
    assert tuple(ours.forward_shape(shape)) == tuple(theirs.forward_shape(shape))
    assert tuple(ours.inverse_shape(shape[:2] + (2,))) == \
        tuple(theirs.inverse_shape(shape[:2] + (2,)))


def test_event_dim_refused_where_domain_and_codomain_differ():
    with pytest.raises(ValueError):
        _ = TD.transforms.ReshapeTransform((3,), (3, 1)).event_dim
    with pytest.raises(ValueError, match="ReshapeTransform.event_dim"):
        _ = D.ReshapeTransform((3,), (3, 1)).event_dim
    assert D.ExpTransform().event_dim == 0 and D.StickBreakingTransform().event_dim == 1


@pytest.mark.parametrize("build", [
    lambda T: [T.ExpTransform()],
    lambda T: [T.AffineTransform(1.0, -2.0), T.SigmoidTransform()],
    lambda T: T.StickBreakingTransform(),
])
def test_transformed_distribution(build):
    rng = np.random.default_rng(8)
    loc, scale = rng.normal(size=(2, 3)), _pos(rng, 2, 3)
    stick = not isinstance(build(TD.transforms), list)

    def make(lib, tensor):
        base = lib.Normal(tensor(loc), tensor(scale))
        return lib.TransformedDistribution(lib.Independent(base, 1) if stick else base,
                                           build(lib.transforms))

    ours, theirs = make(D, cr.tensor), make(TD, torch.tensor)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = theirs.sample((5,))
    _close(ours.log_prob(cr.tensor(value.numpy())), theirs.log_prob(value))
    if not stick:
        _close(ours.cdf(cr.tensor(value.numpy())), theirs.cdf(value))
        q = rng.uniform(0.1, 0.9, (2, 3))
        _close(ours.icdf(cr.tensor(q)), theirs.icdf(torch.tensor(q)))


@pytest.mark.parametrize("name,params", [
    ("Gamma", dict(concentration=3.0, rate=1.0)), ("Gamma", dict(concentration=0.5, rate=2.0)),
    ("Chi2", dict(df=2.0)), ("InverseGamma", dict(concentration=2.0, rate=1.0)),
])
def test_gamma_family_cdf_at_zero_infinity_and_nan(name, params):
    values = np.array([0.0, 1e-300, 0.5, 2.0, 1e10, np.inf, np.nan])
    ours, theirs = _both(name, {k: np.array(v) for k, v in params.items()}, validate_args=False)
    with np.errstate(divide="ignore"):  # InverseGamma's 1 / 0
        cdf = ours.cdf(cr.tensor(values))
    # was NaN at inf (Gamma, Chi2) or 0 (InverseGamma), and 0 (or 1) at NaN
    _close(cdf, theirs.cdf(torch.tensor(values)), atol=1e-12)


@pytest.mark.parametrize("name,params,value", [
    ("Beta", dict(concentration1=1.0, concentration0=1.0), [np.nan, 0.3]),
    ("Beta", dict(concentration1=1.0, concentration0=2.0), [np.nan, 0.3]),
    ("Gamma", dict(concentration=1.0, rate=2.0), [np.nan, 0.3]),
    ("Poisson", dict(rate=0.0), [np.nan, 0.0]),
])
def test_unit_concentration_density_keeps_nan(name, params, value):
    ours, theirs = _both(name, {k: np.array(v) for k, v in params.items()}, validate_args=False)
    value = np.array(value)
    _close(ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value)))
    dirichlet = D.Dirichlet(cr.tensor([1.0, 1.0, 2.0]), validate_args=False)
    assert np.isnan(dirichlet.log_prob(cr.tensor([np.nan, 0.5, 0.5])).item())


@pytest.mark.parametrize("name,params", [("Gamma", dict(concentration=[2.0], rate=[1.5])),
                                         ("Chi2", dict(df=[3.0]))])
def test_gamma_log_prob_in_the_parameters_dtype(name, params):
    """A float64 value of a float32 Gamma/Chi2 has a float32 log-density, as PyTorch's (it was
    float64); an integer value too."""
    ours, theirs = _both(name, {k: np.array(v, np.float32) for k, v in params.items()})
    for value in [np.array([0.5, 2.0]), np.array([1, 2])]:
        _close(ours.log_prob(cr.tensor(value)), theirs.log_prob(torch.tensor(value)), rtol=1e-6)
    _close(ours.log_prob(0.5), theirs.log_prob(0.5), rtol=1e-6)
