"""PowerTransform, AbsTransform, SoftmaxTransform, StickBreakingTransform, LowerCholeskyTransform,
ReshapeTransform, IndependentTransform and ComposeTransform against torch.distributions.transforms
(float64): forward, inverse, log-Jacobian and their gradients; shapes and domains."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.distributions import transforms as T

from ._oracle import compare, compare_grads

R = np.random.default_rng(41)
POS = R.uniform(0.3, 2.5, (2, 3))
VEC = R.standard_normal((2, 3))
MAT = R.standard_normal((2, 3, 3))
VEC6 = R.standard_normal((2, 6))

# name: (build with a transforms module and a library, input, has a log-Jacobian)
CASES = {
    "Power": (lambda M, lib: M.PowerTransform(lib.tensor(1.7, dtype=lib.float64)), POS, True),
    "Abs": (lambda M, lib: M.AbsTransform(), VEC, False),
    "Softmax": (lambda M, lib: M.SoftmaxTransform(), VEC, False),
    "StickBreaking": (lambda M, lib: M.StickBreakingTransform(), VEC, True),
    "LowerCholesky": (lambda M, lib: M.LowerCholeskyTransform(), MAT, False),
    "Reshape": (lambda M, lib: M.ReshapeTransform((3,), (3, 1)), VEC, True),
    "Independent": (lambda M, lib: M.IndependentTransform(M.ExpTransform(), 1), VEC, True),
    "Compose": (lambda M, lib: M.ComposeTransform(
        [M.AffineTransform(0.5, 2.0), M.ExpTransform(), M.PowerTransform(0.5)]), VEC, True),
    "Softplus": (lambda M, lib: M.SoftplusTransform(), VEC, True),
    "CumulativeDistribution": (lambda M, lib: M.CumulativeDistributionTransform(
        lib.distributions.Normal(lib.tensor(0.3, dtype=lib.float64), 1.7)), VEC, True),
    "Cat": (lambda M, lib: M.CatTransform([M.ExpTransform(), M.AffineTransform(1.0, 2.0)],
                                          dim=1, lengths=[1, 2]), VEC, True),
    "Cat-event": (lambda M, lib: M.CatTransform(
        [M.IndependentTransform(M.ExpTransform(), 1), M.SoftplusTransform()], dim=0), VEC, True),
    "Stack": (lambda M, lib: M.StackTransform(
        [M.ExpTransform(), M.AffineTransform(1.0, 2.0), M.SigmoidTransform()], dim=-1), VEC,
        True),
    "CorrCholesky": (lambda M, lib: M.CorrCholeskyTransform(), VEC6, True),
    "PositiveDefinite": (lambda M, lib: M.PositiveDefiniteTransform(), MAT, False),
    "Compose-event": (lambda M, lib: M.ComposeTransform(
        [M.ExpTransform(), M.StickBreakingTransform().inv.inv]), VEC, True),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(CASES))
def test_transform_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    build, x_np, has_jacobian = CASES[name]
    ours, theirs = build(T, cr), build(torch.distributions.transforms, torch)
    x = cr.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    compare(y, ty, rtol=1e-13)
    compare_grads(y, ty, {"x": x}, {"x": tx})
    compare(ours.inv(cr.tensor(ty.detach().numpy())), theirs.inv(ty.detach()), rtol=1e-12)
    assert ours.domain.event_dim == theirs.domain.event_dim
    assert ours.codomain.event_dim == theirs.codomain.event_dim
    assert ours.bijective == theirs.bijective
    shape = tuple(x_np.shape)
    assert tuple(ours.forward_shape(shape)) == tuple(theirs.forward_shape(shape))
    assert tuple(ours.inverse_shape(tuple(ty.shape))) == tuple(theirs.inverse_shape(ty.shape))
    if has_jacobian:
        j, tj = ours.log_abs_det_jacobian(x, y), theirs.log_abs_det_jacobian(tx, ty)
        compare(j, tj, rtol=1e-12)
        if tj.requires_grad:  # (a reshape's is a constant 0)
            compare_grads(j, tj, {"x": x}, {"x": tx})
    else:
        with pytest.raises(NotImplementedError):
            ours.log_abs_det_jacobian(x, y)


@pytest.mark.parametrize("name", ["Power", "StickBreaking", "Compose", "Independent",
                                  "Softplus", "CumulativeDistribution", "CorrCholesky"])
def test_inverse_undoes_the_transform_and_gradcheck(name):
    build, x_np, _ = CASES[name]
    t = build(T, cr)
    x = cr.tensor(x_np, requires_grad=True)
    np.testing.assert_allclose(t.inv(t(x)).detach().numpy(), x_np, rtol=1e-12, atol=1e-13)
    assert cr.gradcheck(lambda v: t.log_abs_det_jacobian(v, t(v)), [x])
    assert cr.gradcheck(lambda v: t(v), [x])


@pytest.mark.kernel_free
def test_stick_breaking_log_jacobian_is_the_determinant_of_the_jacobian():
    """The map onto the first K coordinates of the simplex: its Jacobian by finite differences."""
    t = T.StickBreakingTransform()
    x0, h = R.standard_normal(4), 1e-6
    jac = np.empty((4, 4))
    for i in range(4):
        e = np.zeros(4)
        e[i] = h
        jac[:, i] = (t(cr.tensor(x0 + e)).numpy()[:4] - t(cr.tensor(x0 - e)).numpy()[:4]) / (2 * h)
    x = cr.tensor(x0)
    np.testing.assert_allclose(t.log_abs_det_jacobian(x, t(x)).item(),
                               np.log(abs(np.linalg.det(jac))), rtol=1e-7)


@pytest.mark.kernel_free
def test_reshape_transform_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"in_shape \(2, 3\) and out_shape \(4,\)"):
        T.ReshapeTransform((2, 3), (4,))
    with pytest.raises(ValueError, match=r"shape \(2, 4\) does not end in \(3,\)"):
        T.ReshapeTransform((3,), (3, 1)).forward_shape((2, 4))
    with pytest.raises(TypeError, match="parts must be Transforms"):
        T.ComposeTransform([T.ExpTransform(), "exp"])
    with pytest.raises(ValueError, match=r"dimension 1 of the input \(shape \(2, 3\)\) must have "
                                         "size 2"):
        T.StackTransform([T.ExpTransform()] * 2, dim=1)(cr.tensor(VEC))
    with pytest.raises(ValueError, match="2 transforms but 3 lengths"):
        T.CatTransform([T.ExpTransform()] * 2, lengths=[1, 1, 1])


@pytest.mark.kernel_free
def test_cat_and_stack_constraints_check_each_slice():
    c = T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=-1, lengths=[2, 1])
    ok = c.codomain.check(cr.tensor([[0.5, 2.0, 0.3], [0.5, 2.0, 1.5]])).numpy()
    assert ok.tolist() == [[True, True, True], [True, True, False]]
    s = T.StackTransform([T.ExpTransform(), T.AffineTransform(0.0, 1.0)], dim=0)
    assert s.codomain.check(cr.tensor([[-1.0, 2.0], [-1.0, 3.0]])).numpy().tolist() == [
        [False, True], [True, True]]
