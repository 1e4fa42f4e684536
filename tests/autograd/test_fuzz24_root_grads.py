"""Fuzz wave 24: the gradient a backward starts from (``backward(gradient)``,
``autograd.grad(grad_outputs=...)``, ``autograd.backward(grad_tensors)``) checked against
PyTorch 2.13: a complex gradient for a real output (its imaginary part would be dropped) and a
real one for a complex output are refused, as PyTorch's RuntimeError."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

RNG = np.random.default_rng(24)
REAL = RNG.standard_normal((3, 4))
COMPLEX = REAL + 1j * RNG.standard_normal((3, 4))

CALLS = {
    "backward": lambda lib, y, x, g: y.backward(g),
    "backward_inputs": lambda lib, y, x, g: y.backward(g, inputs=[x]),
    "autograd.backward": lambda lib, y, x, g: lib.autograd.backward([y], [g]),
    "autograd.grad": lambda lib, y, x, g: lib.autograd.grad(y, x, grad_outputs=g),
}


def _outcome(lib, values, grad_dtype, call):
    x = lib.tensor(values, requires_grad=True)
    y = x * 2
    g = lib.ones(3, 4, dtype=getattr(lib, grad_dtype))
    try:
        out = CALLS[call](lib, y, x, g)
    except RuntimeError as err:
        return err
    return out[0] if out is not None else x.grad


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    "values,grad_dtype", [(REAL, "complex128"), (REAL, "complex64"), (COMPLEX, "float64")]
)
def test_complex_and_real_grads_do_not_mix(call, values, grad_dtype):
    expected = _outcome(torch, values, grad_dtype, call)
    assert isinstance(expected, RuntimeError)  # PyTorch: "For complex Tensors, both ..."
    with pytest.raises(RuntimeError, match=f"grad of dtype {grad_dtype} for an output of dtype"):
        raise _outcome(cr, values, grad_dtype, call)


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    "values,grad_dtype", [(REAL, "float32"), (COMPLEX, "complex64"), (COMPLEX, "complex128")]
)
def test_grads_of_the_same_kind_are_taken(call, values, grad_dtype):
    expected = _outcome(torch, values, grad_dtype, call)
    got = _outcome(cr, values, grad_dtype, call)
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Using backward.. with create_graph=True")  # PyTorch's
@pytest.mark.parametrize("how", ["Tensor.backward", "autograd.backward"])
@pytest.mark.parametrize("retain_graph", [None, False])
def test_create_graph_frees_the_graph_when_told(how, retain_graph):
    """retain_graph defaults to create_graph; create_graph=True with retain_graph=False frees
    the graph, as PyTorch's (chainrule kept it), and the gradient's own graph still works."""
    outcomes = []
    for lib in (torch, cr):
        x = lib.tensor(REAL, requires_grad=True)
        y = (x**3).sum()
        if how == "Tensor.backward":
            y.backward(create_graph=True, retain_graph=retain_graph)
        else:
            lib.autograd.backward(y, create_graph=True, retain_graph=retain_graph)
        (hessian_row,) = lib.autograd.grad(x.grad.sum(), x)
        try:
            y.backward()
            again = "computed"
        except RuntimeError:
            again = "refused"
        outcomes.append((again, hessian_row.detach().numpy()))
    assert outcomes[1][0] == outcomes[0][0] == ("computed" if retain_graph is None else "refused")
    np.testing.assert_allclose(outcomes[1][1], outcomes[0][1], rtol=1e-12)
