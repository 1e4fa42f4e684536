"""Fuzz wave 16: torch.distributions against PyTorch's, deeper than wave 12 (boundaries of every
family's support, validate_args on and off, cached transforms, constraints, KL registry pairs).

Found by this wave (each fixed in src/chainrule/distributions, with its test here):
- ``ComposeTransform(parts, cache_size=1)`` ignored its cache: ``t.inv(t(x))`` recomputed the
  inverse (``inf`` for a tanh that rounds to 1), so a TransformedDistribution through a cached
  composition gave a non-finite ``log_prob`` of its own ``rsample``. As PyTorch's, a cached
  composition now caches its parts. ``Transform.with_cache`` was missing, and ``t.inv`` was a new
  object on every call (PyTorch's ``t.inv.inv is t``, ``t.inv is t.inv``).
"""


import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as D

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


@pytest.mark.parametrize("name,build", WITH_CACHE, ids=[n for n, _ in WITH_CACHE])
def test_with_cache_as_pytorch(name, build):
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


def test_with_cache_of_a_user_transform_with_its_own_constructor_raises():
    for M in (TD, D):
        class Scaled(M.transforms.Transform):
            def __init__(self, k):
                super().__init__()
                self.k = k

        with pytest.raises(NotImplementedError):
            Scaled(2.0).with_cache(1)
