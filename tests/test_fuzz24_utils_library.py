"""Fuzz wave 24, ``chainrule.library`` custom operators against PyTorch 2.13.

What this wave found (each fixed):

* A ``list[Tensor]`` parameter (PyTorch's ``Tensor[]``) was passed to the operator as one
  constant, so its Tensors were not the operator's inputs: ``op([a, b])`` gave an output that did
  not require grad (backward failed), and ``op(x, [a, b])`` gave ``x`` its gradient while ``a``
  and ``b`` silently got none. The Tensors of such a list are inputs now; backward returns a
  list of gradients (or None) for it, as PyTorch's.
* An operator returning its input, or a view of it, was accepted: the output shared memory with
  the input, so writing into one changed the other. PyTorch refuses it; so does chainrule now.
* A backward returning the wrong number of gradients was named by a count that did not match
  the operator's inputs; it now names the operator and its positional inputs.

No ``from __future__ import annotations``: PyTorch reads the operators' annotations.
"""

import itertools

import numpy as np
import pytest

import chainrule as cr

_names = itertools.count()


def _weighted_sum(with_x):
    """``op(x, [a, b], w)``: x * w + a * b, or, without x, ``op([a, b], w)``: a * b * w."""
    name = f"fz24utils{next(_names)}::wsum"

    if with_x:

        def fn(x: cr.Tensor, xs: list[cr.Tensor], w: float) -> cr.Tensor:
            return x * w + xs[0] * xs[1]
    else:

        def fn(xs: list[cr.Tensor], w: float) -> cr.Tensor:
            return xs[0] * xs[1] * w

    op = cr.library.custom_op(name, mutates_args=())(fn)

    def setup_context(ctx, inputs, output):
        xs = inputs[1] if with_x else inputs[0]
        assert isinstance(xs, list) and len(xs) == 2
        ctx.save_for_backward(*xs)
        ctx.w = inputs[-1]

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if with_x:
            return g * ctx.w, [g * b, g * a], None
        return [g * b * ctx.w, g * a * ctx.w], None

    op.register_autograd(backward, setup_context=setup_context)
    return op


@pytest.mark.torch
@pytest.mark.parametrize("with_x", [True, False])
def test_a_list_of_tensors_gets_its_gradients(with_x):
    """Against PyTorch's autograd of the same formula (a PyTorch custom operator's first call
    costs seconds of its dispatcher's set-up, so the oracle is the plain expression)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(3) for _ in range(3)]
    x, a, b = (cr.tensor(v, requires_grad=True) for v in arrays)
    op = _weighted_sum(with_x)
    out = op(x, [a, b], 1.5) if with_x else op([a, b], 1.5)
    (out * out).sum().backward()
    tx, ta, tb = (torch.tensor(v, requires_grad=True) for v in arrays)
    ref = tx * 1.5 + ta * tb if with_x else ta * tb * 1.5
    (ref * ref).sum().backward()
    pairs = [(out, ref), (a.grad, ta.grad), (b.grad, tb.grad)]
    pairs += [(x.grad, tx.grad)] if with_x else []
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    assert with_x or x.grad is None
    a, b = (cr.tensor(v, requires_grad=True) for v in arrays[1:])
    assert cr.autograd.gradcheck(lambda p, q: _weighted_sum(False)([p, q], 1.5), (a, b))


@pytest.mark.parametrize(
    "body", [lambda x: x, lambda x: x.view(-1), lambda x: x[1:]], ids=["itself", "view", "slice"]
)
def test_an_output_aliasing_an_input_is_refused(body):
    """PyTorch: "... Tensors returned from custom ops (1) must not be inputs to the custom op
    and (2) may not alias any inputs"."""
    op = cr.library.custom_op(f"fz24utils{next(_names)}::alias", mutates_args=())(body)
    with pytest.raises(RuntimeError, match="output 0 is an input or a view of one"):
        op(cr.ones(3))
    op = cr.library.custom_op(f"fz24utils{next(_names)}::fresh", mutates_args=())(
        lambda x: body(x).clone()
    )
    assert op(cr.ones(3)).sum().item() == body(cr.ones(3)).sum().item()


def test_a_wrong_number_of_gradients_names_the_operator():
    name = f"fz24utils{next(_names)}::two"
    op = cr.library.custom_op(name, mutates_args=())(lambda x, y: x * y)
    op.register_autograd(lambda ctx, g: g)
    x = cr.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=f"{name}: backward returned 1 gradients, but the operator takes 2 positional inputs",
    ):
        op(x, cr.ones(2)).sum().backward()
    op.register_autograd(lambda ctx, g: (g, [g]))  # a list for a Tensor that is not in one
    with pytest.raises(RuntimeError, match="a list of gradients .* not a list of Tensors"):
        op(x, cr.ones(2)).sum().backward()
