"""Module.register_full_backward_hook / register_full_backward_pre_hook against PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(seed=0):
    """The same small CNN in both libraries: conv -> relu -> conv -> flatten -> linear."""
    rng = np.random.default_rng(seed)
    ours = cr.nn.Sequential(cr.nn.Conv2d(1, 3, 3), cr.nn.ReLU(), cr.nn.Conv2d(3, 2, 3),
                            cr.nn.Flatten(), cr.nn.Linear(2 * 4 * 4, 5)).double()
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(),
                                 torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten(),
                                 torch.nn.Linear(2 * 4 * 4, 5)).double()
    state = {k: rng.standard_normal(v.shape) for k, v in ours.state_dict().items()}
    ours.load_state_dict({k: cr.tensor(v) for k, v in state.items()})
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    return ours, theirs, rng.standard_normal((2, 1, 8, 8))


def _run(lib, model, x0, layer, input_grad, change=None, pre=None):
    seen = []

    def hook(module, grad_input, grad_output):
        seen.append(([None if g is None else g.detach().numpy().copy() for g in grad_input],
                     [g.detach().numpy().copy() for g in grad_output]))
        return None if change is None else tuple(change(g) for g in grad_input)

    model[layer].register_full_backward_hook(hook)
    if pre is not None:
        model[layer].register_full_backward_pre_hook(lambda m, go: tuple(pre(g) for g in go))
    x = lib.tensor(x0, requires_grad=input_grad)
    model(x)[:, 2].sum().backward()
    weights = model[0].weight.grad.numpy()
    return seen, weights, None if not input_grad else x.grad.numpy()


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")  # PyTorch's, layer 0
@pytest.mark.parametrize("layer,input_grad", [(2, False), (2, True), (0, True), (0, False)])
def test_grad_input_and_grad_output_match_pytorch(layer, input_grad):
    ours, theirs, x0 = _pair()
    a = _run(cr, ours, x0, layer, input_grad)
    b = _run(torch, theirs, x0, layer, input_grad)
    assert len(a[0]) == len(b[0]) == 1
    (gi_a, go_a), (gi_b, go_b) = a[0][0], b[0][0]
    assert [g is None for g in gi_a] == [g is None for g in gi_b]
    for u, v in zip(gi_a + go_a, gi_b + go_b):
        if u is not None:
            np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)
    if input_grad:
        np.testing.assert_allclose(a[2], b[2], rtol=1e-10, atol=1e-12)


def test_replacing_grad_input_and_grad_output_changes_backprop_as_in_pytorch():
    ours, theirs, x0 = _pair(1)
    a = _run(cr, ours, x0, 2, True, change=lambda g: g * 3, pre=lambda g: g * -2)
    b = _run(torch, theirs, x0, 2, True, change=lambda g: g * 3, pre=lambda g: g * -2)
    np.testing.assert_allclose(a[0][0][1][0], b[0][0][1][0], rtol=1e-10)  # grad_output after pre
    np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-12)  # conv 0's weight gradient
    np.testing.assert_allclose(a[2], b[2], rtol=1e-10, atol=1e-12)


def test_removed_backward_hook_does_not_run_and_bad_results_are_refused():
    layer = cr.nn.Linear(3, 2)
    calls = []
    handle = layer.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    x = cr.randn(4, 3, requires_grad=True)
    layer(x).sum().backward()
    assert calls == [1]
    handle.remove()
    layer(x).sum().backward()
    assert calls == [1]
    with pytest.raises(TypeError, match="must be callable"):
        layer.register_full_backward_hook("not a function")
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of gradients, got 2, but expected 1"):
        layer(x).sum().backward()  # PyTorch's RuntimeError


def test_no_hook_runs_under_no_grad_and_hooks_block_fusion():
    layer = cr.nn.Linear(3, 2)
    calls = []
    layer.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    with cr.no_grad():
        out = layer(cr.randn(4, 3))
    assert not out.requires_grad and calls == []
    model = cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.ReLU())
    model[1].register_full_backward_hook(lambda m, gi, go: calls.append(2))
    fused = cr.nn.fuse(model)
    fused(cr.randn(4, 3)).sum().backward()
    assert calls == [2]  # the ReLU was kept, so its hook ran
