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
