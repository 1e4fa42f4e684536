"""Wave 24: a value whose event shape is not the distribution's is refused, also without
validation, where PyTorch's computation fails (no silently broadcast density)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.distributions import LKJCholesky  # noqa: E402


@pytest.mark.parametrize("shape", [(), (2, 3, 1), (3,)])
def test_lkj_cholesky_log_prob_of_a_value_of_another_event_shape_raises(shape):
    # chainrule broadcast the value against the identity: a scalar got a finite density
    conc = np.array([0.5, 2.0])
    value = np.full(shape, 0.7)
    theirs = torch.distributions.LKJCholesky(3, torch.tensor(conc), validate_args=False)
    with pytest.raises((RuntimeError, IndexError)):
        theirs.log_prob(torch.tensor(value))
    ours = LKJCholesky(3, cr.tensor(conc), validate_args=False)
    with pytest.raises(ValueError, match=r"event shape \(3, 3\), got shape"):
        ours.log_prob(cr.tensor(value))


def test_lkj_cholesky_log_prob_of_good_values_is_still_pytorchs():
    conc = np.array([0.5, 2.0])
    theirs = torch.distributions.LKJCholesky(3, torch.tensor(conc), validate_args=False)
    torch.manual_seed(0)
    x = theirs.sample((4,))
    ours = LKJCholesky(3, cr.tensor(conc), validate_args=False)
    np.testing.assert_allclose(
        ours.log_prob(cr.tensor(x.numpy())).numpy(), theirs.log_prob(x).numpy(), rtol=1e-12
    )


@pytest.mark.parametrize("n", [-1, 3, 1.0])
def test_independent_refuses_a_reinterpreted_batch_ndims_out_of_range(n):
    # PyTorch takes -1 and builds a batch_shape longer than the base's; chainrule refused it
    # with "Expected reinterpreted_batch_ndims <= ...", a misleading message for -1
    base = cr.distributions.Normal(cr.tensor(np.zeros((2, 3))), 1.0)
    with pytest.raises(ValueError, match=r"0 <= reinterpreted_batch_ndims <= len\(.*actual"):
        cr.distributions.Independent(base, n)
