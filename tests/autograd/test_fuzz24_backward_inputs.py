"""Fuzz wave 24: ``backward(inputs=...)`` (and ``autograd.backward(..., inputs=...)``) against
PyTorch 2.13. A tensor named twice in ``inputs`` got its gradient added twice (x.grad 6 where
PyTorch's is 3), and a leaf's ``register_post_accumulate_grad_hook`` hooks and its
AccumulateGrad's pre-hooks and hooks (``grad_fn.next_functions[0][0]``) did not run, as they do
in a plain ``backward()``."""

import warnings

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

X = np.random.default_rng(24).standard_normal((2, 3))


def _grads(lib, run):
    x = lib.tensor(X, requires_grad=True)
    h = x * 2
    run(lib, x, h)
    with warnings.catch_warnings():  # PyTorch's about reading .grad of a non-leaf it left None
        warnings.simplefilter("ignore")
        return [None if t.grad is None else t.grad.numpy() for t in (x, h)]


CASES = {
    "leaf twice": lambda lib, x, h: (h * 3).sum().backward(inputs=[x, x]),
    "non-leaf twice": lambda lib, x, h: (h * 3).sum().backward(inputs=[h, h]),
    "two outputs, leaf twice": lambda lib, x, h: lib.autograd.backward(
        [(x * 3).sum(), (h * h).sum()], inputs=[x, h, x]
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_input_named_twice_counts_once(name):
    expected, got = (_grads(lib, CASES[name]) for lib in (torch, cr))
    for e, g in zip(expected, got):
        assert (e is None) == (g is None)
        if e is not None:
            np.testing.assert_allclose(g, e, rtol=1e-12)


def _leaf_hooks(lib, create_graph):
    x = lib.tensor(X, requires_grad=True)
    z = x * 3
    seen = []
    x.register_hook(lambda g: seen.append("tensor hook") or g * 2)
    acc = z.grad_fn.next_functions[0][0]
    acc.register_prehook(lambda go: seen.append("pre-hook") or (go[0] * 10,))
    x.register_post_accumulate_grad_hook(
        lambda t: seen.append(
            ("post-accumulate", round(float(t.grad.detach().sum()), 9), t.grad.requires_grad)
        )
    )
    acc.register_hook(lambda gi, go: seen.append(("hook", round(float(go[0].detach().sum()), 9))))
    w = lib.tensor(X, requires_grad=True)  # not reached: no hook of its runs
    w.register_post_accumulate_grad_hook(lambda t: seen.append("w"))
    (z**2).sum().backward(inputs=[x, w], create_graph=create_graph)
    return seen, x.grad.detach().numpy()


@pytest.mark.filterwarnings("ignore:Using backward.. with create_graph=True")  # PyTorch's
@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_hooks_run_in_order(create_graph):
    (expected, expected_grad), (got, grad) = (_leaf_hooks(lib, create_graph) for lib in (torch, cr))
    assert got == expected
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12)
