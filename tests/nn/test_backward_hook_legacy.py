"""Module.register_backward_hook, PyTorch's deprecated backward hook (nn/hooks.py): guided
backpropagation by clamping ReLU modules' grad_input and Grad-CAM reading a conv layer's
grad_output, as older public programs write them, against PyTorch (float64)."""

import numpy as np
import pytest

import chainrule as cr


def _net(L):
    nn = L.nn
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using a non-full backward hook:FutureWarning")
def test_guided_backprop_and_grad_cam_by_register_backward_hook_match_pytorch():
    # register_backward_hook was an AttributeError
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    state = {k: rng.standard_normal(tuple(v.shape)) * 0.5
             for k, v in _net(cr).state_dict().items()}
    img = rng.standard_normal((1, 1, 6, 6))
    out = {}
    for L in (cr, torch):
        net = _net(L).double()
        net.load_state_dict({k: L.tensor(v) for k, v in state.items()})
        grads, handles = [], []

        def relu_hook(module, grad_in, grad_out):
            return (L.clamp(grad_in[0], min=0.0),)

        def keep(module, grad_in, grad_out):
            grads.append(grad_out[0].detach())

        handles += [m.register_backward_hook(relu_hook) for m in net if isinstance(m, L.nn.ReLU)]
        handles.append(net[2].register_backward_hook(keep))
        x = L.tensor(img, requires_grad=True)
        net(x)[0, 1].backward()
        weights = grads[0].mean(dim=(2, 3), keepdim=True)
        for h in handles:
            h.remove()
        out[L.__name__] = [x.grad.numpy(), grads[0].numpy(), weights.numpy()]
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert (out["chainrule"][0] != 0).any()
