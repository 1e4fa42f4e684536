"""vmap over a mapped dimension of size 0, as PyTorch: empty outputs of the shapes the function
gives, gradients (zeros) to what it used, generators untouched, clear errors otherwise."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import grad, vmap

from .._case_loop import each_case, grid

CASES = {  # name: (function, in_dims, out_dims, input shapes); the same code for both libraries
    "sum": (lambda L: lambda a: a.sum(), 0, 0, [(0, 3)]),
    "scale": (lambda L: lambda a: a * 2, 0, 0, [(0, 3)]),
    "matmul": (lambda L: lambda a: a @ L.ones(3, 4, dtype=L.float64), 0, 0, [(0, 3)]),
    "two outputs": (lambda L: lambda a: (a.sum(), a.exp()), 0, 0, [(0, 3)]),
    "in_dims 1": (lambda L: lambda a: a.sum(), 1, 0, [(3, 0)]),
    "out_dims 1": (lambda L: lambda a: a * 2, 0, 1, [(0, 3, 2)]),
    "negative dims": (lambda L: lambda a: a.sum(0), -1, -1, [(4, 2, 0)]),
    "unmapped second input": (lambda L: lambda a, b: a + b, (0, None), 0, [(0, 3), (3,)]),
    "out_dims None": (lambda L: lambda a: (a.sum(), L.ones(2, dtype=L.float64)), 0, (0, None),
                      [(0, 3)]),
    "argmax": (lambda L: lambda a: a.argmax(), 0, 0, [(0, 5)]),
    "nested, outer empty": (lambda L: L.func.vmap(lambda a: a * 2), 0, 0, [(0, 2, 3)]),
    "nested, inner empty": (lambda L: L.func.vmap(lambda a: a * 2), 0, 0, [(2, 0, 3)]),
}


def _matches_torch_case(name):
    torch = pytest.importorskip("torch")
    make, in_dims, out_dims, shapes = CASES[name]
    ours = vmap(make(cr), in_dims, out_dims)(*[cr.zeros(s, dtype=cr.float64) for s in shapes])
    theirs = torch.func.vmap(make(torch), in_dims, out_dims)(
        *[torch.zeros(s, dtype=torch.float64) for s in shapes])
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs, strict=True):
        assert o.shape == tuple(t.shape) and o.dtype == np.dtype(str(t.dtype)[6:])
        np.testing.assert_array_equal(o.numpy(), t.numpy())


@pytest.mark.torch
def test_matches_torch():
    each_case(_matches_torch_case, grid(("name", list(CASES))))


def test_gradients_reach_the_inputs_as_zeros():
    x = cr.zeros(0, 3, dtype=cr.float64, requires_grad=True)
    w = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = vmap(lambda a: a @ w)(x)
    assert y.shape == (0, 4) and y.requires_grad
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros((3, 4)))
    per_sample = vmap(grad(lambda a: (a * a).sum()))(cr.zeros(0, 3, dtype=cr.float64))
    assert per_sample.shape == (0, 3)


def test_generators_are_left_as_they_were():
    data = cr.zeros(0, 3, dtype=cr.float64)
    cr.manual_seed(5)
    expected = cr.rand(4).numpy()
    for mode in ("different", "same"):
        cr.manual_seed(5)
        out = vmap(lambda a: a + cr.randn(3, dtype=cr.float64), randomness=mode)(data)
        assert out.shape == (0, 3)
        np.testing.assert_array_equal(cr.rand(4).numpy(), expected)
    with pytest.raises(RuntimeError, match="random operation while randomness='error'"):
        vmap(lambda a: a + cr.randn(3))(data)


def test_errors_are_clear():
    x = cr.zeros(0, 3)
    with pytest.raises(ValueError, match="out_dim None differs between slices"):
        vmap(lambda a: (a.sum(), a * 2), out_dims=(0, None))(x)
    with pytest.raises(ValueError, match="only Tensors, got float"):
        vmap(lambda a: 1.0)(x)
    with pytest.raises(ValueError, match=r"sizes 0 \(input leaf 0\) and 2"):
        vmap(lambda a, b: a + b)(x, cr.zeros(2, 3))
    with pytest.raises(ValueError, match="size 0, so the function was called on stand-in slices "
                                         "of zeros .* raised LinAlgError: linalg.cholesky: .* "
                                         "not positive-definite"):
        vmap(cr.linalg.cholesky)(cr.zeros(0, 3, 3))
    assert vmap(lambda a: (a.sum(), 5), out_dims=(0, None))(x)[1] == 5
    assert vmap(lambda a: a * 2)(cr.zeros(0, 3, dtype=cr.int64)).dtype == np.int64
