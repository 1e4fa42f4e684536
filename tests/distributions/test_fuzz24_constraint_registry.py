"""Wave 24: ``transform_to`` for every constraint PyTorch's registry serves, against PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.distributions import constraints as tc  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.distributions import constraints, transform_to  # noqa: E402


def test_transform_to_positive_semidefinite_is_pytorchs():
    # was NotImplementedError("Cannot transform _PositiveSemidefinite constraints")
    x = np.random.default_rng(0).normal(size=(2, 3, 3))
    ours = transform_to(constraints.positive_semidefinite)
    theirs = torch.distributions.transform_to(tc.positive_semidefinite)
    assert type(ours).__name__ == type(theirs).__name__ == "PositiveDefiniteTransform"
    y = ours(cr.tensor(x))
    np.testing.assert_allclose(y.numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-12)
    assert bool(constraints.positive_semidefinite.check(y).all())
    np.testing.assert_allclose(ours.inv(y).numpy(), np.tril(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, z: lib.distributions.Normal(z, 1.0),
        lambda lib, z: lib.distributions.Categorical(z),
        lambda lib, z: lib.distributions.Exponential(z),
        lambda lib, z: lib.distributions.Uniform(z, z + 1),
    ],
)
def test_complex_parameters_are_refused_by_validation_as_pytorchs(make):
    # NumPy orders complex numbers lexicographically: a complex scale or probs passed validation
    z = np.array([1 + 1j, 2 - 1j])
    with pytest.raises(NotImplementedError):
        make(torch, torch.tensor(z))
    with pytest.raises(NotImplementedError, match="complex"):
        make(cr, cr.tensor(z))
    for c in (constraints.positive, constraints.unit_interval, constraints.simplex):
        with pytest.raises(NotImplementedError, match="has no order"):
            c.check(cr.tensor(z))
    assert bool(constraints.real.check(cr.tensor(z)).all())  # == works on complex numbers
    with pytest.raises(NotImplementedError, match="parameter scale of Normal: .* has no order"):
        cr.distributions.Normal(cr.tensor(z), 1.0)
