"""Fuzz wave 18, Module hooks: full backward hooks beside in-place changes and non-tensor
outputs, against PyTorch 2.13."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402


def _hooked_then_inplace(lib, where):
    """A module with a full backward hook whose output (or, inside it, whose input) changes in
    place: PyTorch refuses ("a view created inside a custom Function"); chainrule went around
    the hook's identity node and the hook was silently never called."""
    calls = []
    if where == "next layer":  # Grad-CAM's conv followed by ReLU(inplace=True)
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(inplace=True))
        net[0].register_full_backward_hook(lambda m, gi, go: calls.append(1))
    else:  # the hooked module changes its own input
        net = lib.nn.ReLU(inplace=True)
        net.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    x = lib.ones(2, 3, requires_grad=True) * 1
    net(x).sum().backward()
    return calls


@pytest.mark.parametrize("where", ["next layer", "own input"])
def test_inplace_change_of_a_hooked_modules_view_is_refused(where):
    with pytest.raises(RuntimeError, match="view"):
        _hooked_then_inplace(torch, where)
    with pytest.raises(RuntimeError, match=r"relu: .* is a view made by .* modified in place"):
        _hooked_then_inplace(cr, where)


@pytest.mark.parametrize("style", ["ctx", "array"])
def test_inplace_change_of_a_custom_functions_view_is_refused(style):
    # a gradient-reversal layer returning its input, then relu_: chainrule wrote the change
    # through the input and the reversal was skipped (x.grad +1 where the reversal gives -1)
    if style == "ctx":
        class Reverse(cr.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x.view_as(x)

            @staticmethod
            def backward(ctx, g):
                return -g
    else:
        class Reverse(cr.autograd.Function):
            def forward(self, x):
                return x

            def backward(self, g):
                return -g

    x = cr.ones(3, requires_grad=True)
    y = Reverse.apply(x * 1)
    with pytest.raises(RuntimeError, match=r"relu_: .* view made by Reverse"):
        y.relu_()
    Reverse.apply(x * 1).clone().relu_().sum().backward()  # the way out the message names
    np.testing.assert_array_equal(x.grad.numpy(), -np.ones(3))


@pytest.mark.kernel_free
def test_full_backward_hooks_grad_output_has_one_entry_per_output():
    # a non-tensor output gets a None in grad_output, as PyTorch's; chainrule left it out, so
    # grad_output[2] was out of range for a (tensor, int, tensor) output
    def run(lib):
        class Three(lib.nn.Module):
            def forward(self, x, n):
                return x * n, n, x * 2

        m, seen = Three(), []
        m.register_full_backward_pre_hook(lambda mod, go: seen.append(len(go)))
        m.register_full_backward_hook(
            lambda mod, gi, go: seen.append([None if g is None else g.tolist() for g in go]))
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        a, _, c = m(x, 3)
        (a.sum() + (c * c).sum()).backward()
        return seen, x.grad.tolist()

    assert run(cr) == run(torch)
