"""distributions.biject_to / transform_to (constraint_registry.py): the transform each
constraint gets, its values, inverse and log-det-Jacobian against PyTorch's, and the registry's
rules."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributions as D
from chainrule.distributions import constraints as C

RNG = np.random.default_rng(808808)
U = RNG.normal(size=(2, 4))


def _constraints(lib):
    c = lib.distributions.constraints
    return [c.real, c.positive, c.nonnegative, c.unit_interval, c.interval(-1.0, 2.0),
            c.half_open_interval(0.5, 3.0), c.greater_than(2.0), c.greater_than_eq(-1.0),
            c.less_than(1.0), c.simplex, c.lower_cholesky, c.positive_definite,
            c.corr_cholesky, c.real_vector, c.independent(c.positive, 1)]


def _input(c, lib):
    name = type(c).__name__
    if name in ("_LowerCholesky", "_PositiveDefinite"):  # any real square matrix
        return lib.tensor(np.arange(9.0).reshape(3, 3) / 7 - 0.5)
    if name == "_CorrCholesky":
        return lib.tensor(U[0, :3])
    return lib.tensor(U)


@pytest.mark.torch
@pytest.mark.parametrize("which", ["biject_to", "transform_to"])
def test_registries_give_torchs_transforms(which):
    torch = pytest.importorskip("torch")
    for ours_c, theirs_c in zip(_constraints(cr), _constraints(torch), strict=True):
        try:
            t = getattr(torch.distributions, which)(theirs_c)
        except NotImplementedError as e:
            with pytest.raises(NotImplementedError, match=str(e).split(" ")[-2]):
                getattr(D, which)(ours_c)
            continue
        ours = getattr(D, which)(ours_c)
        x, tx = _input(ours_c, cr), _input(ours_c, torch)
        y, ty = ours(x), t(tx)
        np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12, atol=1e-14)
        assert bool(ours_c.check(y).all())
        if which == "biject_to":
            np.testing.assert_allclose(ours.inv(y).numpy(), t.inv(ty).numpy(), rtol=1e-9,
                                       atol=1e-11)
            np.testing.assert_allclose(ours.log_abs_det_jacobian(x, y).numpy(),
                                       t.log_abs_det_jacobian(tx, ty).numpy(), rtol=1e-10,
                                       atol=1e-12)


@pytest.mark.torch
def test_cat_and_stack_constraints():
    torch = pytest.importorskip("torch")
    u = RNG.normal(size=(3, 4))

    def outputs(lib):
        c = lib.distributions.constraints
        cat = c.cat([c.positive, c.interval(0.0, 2.0)], dim=0, lengths=[1, 2])
        stack = c.stack([c.real, c.positive, c.unit_interval], dim=0)
        return [registry(con)(lib.tensor(u)).numpy() for con in (cat, stack)
                for registry in (lib.distributions.biject_to, lib.distributions.transform_to)]

    for a, b in zip(outputs(cr), outputs(torch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_register_and_errors():
    registry = D.constraint_registry.ConstraintRegistry()

    @registry.register(C.positive)
    def _(constraint):
        return D.ExpTransform()

    assert isinstance(registry(C.greater_than(3.0)), D.ExpTransform)  # keyed by class
    with pytest.raises(NotImplementedError, match="Cannot transform _Simplex constraints"):
        registry(C.simplex)
    with pytest.raises(TypeError, match="Constraint subclass or instance, but got 3"):
        registry.register(3, lambda c: None)
    assert D.identity_transform(cr.tensor(U)).numpy().tolist() == U.tolist()
    p = D.transform_to(C.positive)(cr.tensor(U, requires_grad=True))
    p.sum().backward()  # differentiable: how a constrained parameter is optimized
