"""``backward(inputs=...)``: gradients accumulated into the given tensors only, as PyTorch's."""

import warnings

import numpy as np
import pytest

import chainrule as cr


def _graph(lib, data):
    w, b, u = (lib.tensor(d, requires_grad=True) for d in data)
    h = (w * 3).tanh()
    return w, b, u, h, (h * b).sum() + (w * b).sum()


@pytest.mark.parametrize("pick", [["w"], ["w", "u"], ["b"], ["h"], ["h", "w"], "w"])
def test_accumulates_into_the_inputs_only_as_pytorch(pick):
    torch = pytest.importorskip("torch")
    data = [np.random.default_rng(i).standard_normal(3) for i in range(3)]
    seen = []
    for lib in (cr, torch):
        w, b, u, h, loss = _graph(lib, data)
        named = {"w": w, "b": b, "u": u, "h": h}
        inputs = named[pick] if isinstance(pick, str) else [named[n] for n in pick]
        loss.backward(inputs=inputs, retain_graph=True)
        loss.backward(inputs=inputs)  # twice: the second adds to the first
        with warnings.catch_warnings():  # PyTorch's note on reading a non-leaf's .grad
            warnings.simplefilter("ignore", UserWarning)
            seen.append({n: None if t.grad is None else t.grad.detach().numpy().copy()
                         for n, t in named.items()})
    ours, theirs = seen
    for name in ours:
        assert (ours[name] is None) == (theirs[name] is None), name
        if ours[name] is not None:
            np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-12)


def test_create_graph_keeps_the_accumulated_gradient_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    y.backward(inputs=[x], create_graph=True)
    assert x.grad.requires_grad
    (g,) = cr.autograd.grad(x.grad.sum(), [x])
    np.testing.assert_allclose(g.numpy(), [6.0, 12.0])


def test_the_function_form_and_bad_inputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    cr.autograd.backward((x * x).sum(), inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="inputs= cannot be empty"):
        (x * 2).sum().backward(inputs=[])
    with pytest.raises(RuntimeError, match="must be a Tensor that requires grad, got a Tensor "
                                           "that does not"):
        (x * 2).sum().backward(inputs=[x.detach()])
