"""Wave 24: transforms at the edges PyTorch guards (saturated stick breaking, too few
dimensions for an IndependentTransform), against PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.distributions import transforms as TT  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.distributions import transforms as T  # noqa: E402


def test_stick_breaking_of_saturated_inputs_stays_finite_as_pytorchs():
    # chainrule's sigmoid was not clipped to [tiny, 1 - eps]: a coordinate of y underflowed to 0,
    # so log_abs_det_jacobian was -inf and the inverse NaN where PyTorch's are finite
    x = np.array([[-800.0, 3.0, 800.0, 1.0], [40.0, 60.0, -0.5, 800.0], [0.1, -0.2, 0.3, 0.4]])
    ours, theirs = T.StickBreakingTransform(), TT.StickBreakingTransform()
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = ours(xc), theirs(xt)
    np.testing.assert_allclose(yc.numpy(), yt.detach().numpy(), rtol=1e-12, atol=0)
    lc, lt = ours.log_abs_det_jacobian(xc, yc), theirs.log_abs_det_jacobian(xt, yt)
    assert np.isfinite(lc.numpy()).all()
    np.testing.assert_allclose(lc.numpy(), lt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.inv(yc).numpy(), theirs.inv(yt).detach().numpy(), rtol=1e-9)
    (gc,) = cr.grad(lc.sum(), [xc])
    (gt,) = torch.autograd.grad(lt.sum(), [xt])
    np.testing.assert_allclose(gc.numpy(), gt.numpy(), rtol=1e-10, atol=1e-12)


def test_independent_transform_refuses_too_few_dimensions():
    # IndependentTransform(t, 2) of a vector summed its one dimension silently
    ours = T.IndependentTransform(T.SigmoidTransform(), 2)
    theirs = TT.IndependentTransform(TT.SigmoidTransform(), 2)
    x = np.linspace(-2.0, 2.0, 3)
    with pytest.raises(ValueError, match="Too few dimensions"):
        theirs(torch.tensor(x))
    with pytest.raises(ValueError, match="too few dimensions on input: got shape \\(3,\\)"):
        ours(cr.tensor(x))
    with pytest.raises(ValueError, match="too few dimensions"):
        ours.inv(cr.tensor(x / 4 + 0.5))
    with pytest.raises(ValueError, match="too few dimensions"):
        ours.log_abs_det_jacobian(cr.tensor(x), cr.tensor(x))
    x2 = np.linspace(-2.0, 2.0, 6).reshape(2, 3)
    np.testing.assert_allclose(
        ours.log_abs_det_jacobian(cr.tensor(x2), ours(cr.tensor(x2))).numpy(),
        theirs.log_abs_det_jacobian(torch.tensor(x2), theirs(torch.tensor(x2))).numpy(),
        rtol=1e-12,
    )
