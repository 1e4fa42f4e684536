"""``chainrule.library`` (PyTorch's ``torch.library`` Python custom operators): the operator's
values and gradients match PyTorch's for the same registrations, keyword-only inputs and
defaults bind as PyTorch binds them, a mutating operator counts a change, an operator without a
gradient refuses backward, and ``opcheck`` reports as PyTorch's does.

No ``from __future__ import annotations`` here: PyTorch reads the operators' annotations (their
schema), which must then be the classes themselves."""

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")


def _ops(lib, ns):
    Tensor = lib.Tensor

    @lib.library.custom_op(f"{ns}::numpy_scale", mutates_args=())
    def numpy_scale(x: Tensor, k: float, *, shift: float = 0.0) -> Tensor:
        return lib.from_numpy(np.sin(x.numpy()) * k + shift)

    def setup_context(ctx, inputs, keyword_only_inputs, output):
        x, k = inputs
        ctx.save_for_backward(x)
        ctx.k = k

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos() * ctx.k, None

    lib.library.register_autograd(f"{ns}::numpy_scale", backward, setup_context=setup_context)

    @numpy_scale.register_fake
    def _(x, k, *, shift=0.0):
        return lib.empty_like(x)

    @lib.library.custom_op(f"{ns}::numpy_sin_", mutates_args=("out",))
    def numpy_sin_(x: Tensor, out: Tensor) -> None:
        np.sin(x.numpy(), out=out.numpy())

    @lib.library.custom_op(f"{ns}::no_grad_op", mutates_args=())
    def no_grad_op(x: Tensor) -> Tensor:
        return x.clone()

    return numpy_scale, numpy_sin_, no_grad_op


def test_custom_op_values_and_gradients_match_pytorch():
    x = np.random.default_rng(0).standard_normal((3, 4))
    w = np.random.default_rng(1).standard_normal((3, 4))
    results = []
    for lib, ns in ((chainrule, "crtest"), (torch, "crtest17")):
        op = _ops(lib, ns)[0]
        t = lib.tensor(x, requires_grad=True)
        y = op(t, 2.0, shift=0.5)
        (y * lib.tensor(w)).sum().backward()
        results.append((y.detach().numpy().copy(), t.grad.numpy().copy(), y.requires_grad))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)
    assert chainrule.autograd.gradcheck(lambda t: _ops(chainrule, "crtest")[0](t, 1.5),
                                        (chainrule.tensor(x, requires_grad=True),))


def test_mutating_op_writes_in_place_and_counts_a_change():
    numpy_sin_ = _ops(chainrule, "crtest")[1]
    x, out = chainrule.tensor([0.0, 1.0]), chainrule.zeros(2, dtype=chainrule.float32)
    version = out._version
    assert numpy_sin_(x, out) is None
    np.testing.assert_allclose(out.numpy(), np.sin([0.0, 1.0]), rtol=1e-6)
    assert out._version == version + 1


def test_an_op_without_a_gradient_refuses_backward_and_opcheck_says_so():
    reports = []
    for lib, ns in ((chainrule, "crtest"), (torch, "crtest17c")):
        no_grad_op = _ops(lib, ns)[2]
        x = lib.ones(2, requires_grad=True)
        y = no_grad_op(x)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match=f"Trying to backward through {ns}.no_grad_op"
                                               ".default but no autograd formula"):
            y.sum().backward()
        reports.append(lib.library.opcheck(no_grad_op, (x,), raise_exception=False))
    ours, theirs = reports
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert type(ours[key]) is type(theirs[key]), key
    assert "no fake impl registered for <CustomOpDef(crtest::no_grad_op)>" in str(
        ours["test_faketensor"])


def test_opcheck_passes_a_registered_op_as_pytorchs_does():
    x = np.random.default_rng(2).standard_normal(4)
    ours = chainrule.library.opcheck(_ops(chainrule, "crtest")[0],
                                     (chainrule.tensor(x, requires_grad=True), 2.0))
    theirs = torch.library.opcheck(_ops(torch, "crtest17b")[0],
                                   (torch.tensor(x, requires_grad=True), 2.0))
    assert ours == theirs == {k: "SUCCESS" for k in theirs}


def test_custom_op_refuses_bad_names_and_arguments():
    with pytest.raises(ValueError, match="custom_op: name must be 'namespace::op_name', got 'x'"):
        chainrule.library.custom_op("x", mutates_args=())
    with pytest.raises(ValueError, match=r"mutates_args names \['y'\]"):
        chainrule.library.custom_op("crtest::m", lambda x: x, mutates_args=("y",))
    op = _ops(chainrule, "crtest")[0]
    with pytest.raises(TypeError, match="crtest::numpy_scale: missing a required argument"):
        op(chainrule.ones(2))
    with pytest.raises(ValueError, match="register_autograd: expected an operator made by"):
        chainrule.library.register_autograd("nope::op", lambda ctx, g: g)
