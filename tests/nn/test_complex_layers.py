"""nn.Linear, nn.Conv1d/2d and nn.ConvTranspose1d/2d with a complex dtype, as PyTorch builds
them: complex parameters drawn part by part (PyTorch's rule), complex outputs, and gradients
equal to PyTorch's for the same weights (its convention: z.grad = dL/dx + i dL/dy)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("make", [
    lambda L, dt: L.nn.Linear(4, 3, dtype=dt),
    lambda L, dt: L.nn.Conv1d(2, 3, 3, padding=1, dtype=dt),
    lambda L, dt: L.nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding_mode="reflect", padding=1,
                              dtype=dt),
    lambda L, dt: L.nn.ConvTranspose1d(2, 3, 3, stride=2, dtype=dt),
    lambda L, dt: L.nn.ConvTranspose2d(2, 2, 2, padding=1, dtype=dt),
])
def test_complex_layers_match_pytorch(make):
    ours, theirs = make(cr, cr.complex128), make(torch, torch.complex128)
    assert ours.weight.dtype == cr.complex128 and ours.bias.dtype == cr.complex128
    assert np.iscomplexobj(ours.weight.numpy()) and np.abs(ours.weight.numpy().imag).max() > 0
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(0)
    shape = {2: (5, 4), 3: (2, 2, 6), 4: (2, 2, 4, 6)}[ours.weight.ndim]  # 2 in-channels
    x = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, t = ours(xc), theirs(xt)
    np.testing.assert_allclose(y.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    (y.abs() ** 2).sum().backward()
    (t.abs() ** 2).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs.get_parameter(name).grad.numpy(),
                                   rtol=1e-10, atol=1e-12)


def test_a_complex_linear_layer_trains():
    rng = np.random.default_rng(1)
    layer = cr.nn.Linear(3, 1, dtype=cr.complex128, rng=rng)
    x = cr.tensor(rng.standard_normal((20, 3)) + 1j * rng.standard_normal((20, 3)))
    target = x @ cr.tensor(np.array([[1 - 1j], [0.5j], [2.0 + 0j]]))
    opt = cr.optim.Adam(layer.parameters(), lr=0.05)
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = ((layer(x) - target).abs() ** 2).mean()
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-3 * first
    assert layer.weight.dtype == cr.complex128
