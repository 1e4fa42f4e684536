"""layer_integrated_gradients with additional_forward_args (Captum's LayerIntegratedGradients
form for a text model called as model(tokens, mask)): refused before (TypeError), so such a
model could not be explained at its embedding."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import explain, nn

torch = pytest.importorskip("torch")
ca = pytest.importorskip("captum.attr")

IDS = np.array([[1, 4, 2, 0], [3, 3, 1, 2], [2, 0, 0, 0]])
MASK = np.array([[1.0, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]])


class Masked(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3, rng=np.random.default_rng(0))
        self.out = nn.Linear(3, 2, rng=np.random.default_rng(1))

    def forward(self, ids, mask):
        e = self.emb(ids) * mask.reshape(*mask.shape, 1)
        return self.out((e.sum(axis=1) / mask.sum(axis=1, keepdims=True)).tanh())


class TorchMasked(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.out = torch.nn.Embedding(5, 3), torch.nn.Linear(3, 2)

    def forward(self, ids, mask):
        e = self.emb(ids) * mask.unsqueeze(-1)
        return self.out(torch.tanh(e.sum(dim=1) / mask.sum(dim=1, keepdim=True)))


def test_an_attention_mask_goes_with_its_sample_against_captum():
    m, tm = Masked().double(), TorchMasked().double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    for mask in (MASK, cr.tensor(MASK)):
        got, delta = explain.layer_integrated_gradients(
            m, m.emb, IDS, [1, 0, 1], baseline=0, steps=4, method="riemann_right", batch_size=5,
            additional_forward_args=(mask,), return_convergence_delta=True)
        want, want_delta = ca.LayerIntegratedGradients(tm, tm.emb).attribute(
            torch.tensor(IDS), baselines=0, target=[1, 0, 1], n_steps=4,
            method="riemann_right", additional_forward_args=(torch.tensor(MASK),),
            return_convergence_delta=True)
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(delta, want_delta.detach().numpy(), atol=1e-10)
    # target None: the class predicted with each sample's own mask
    pred = tm(torch.tensor(IDS), torch.tensor(MASK)).argmax(dim=1).numpy()
    lig = explain.layer_integrated_gradients
    np.testing.assert_allclose(lig(m, "emb", IDS, None, steps=3, additional_forward_args=MASK),
                               lig(m, "emb", IDS, pred, steps=3, additional_forward_args=MASK))


def test_grad_cam_takes_additional_forward_args_against_captum():
    m, tm = Masked().double(), TorchMasked().double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    got = explain.grad_cam(m, "emb", IDS, [1, 0, 1], relu=False, batch_size=2,
                           additional_forward_args=(MASK,))
    want = ca.LayerGradCam(tm, tm.emb).attribute(torch.tensor(IDS), target=[1, 0, 1],
                                                 additional_forward_args=(torch.tensor(MASK),))
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 5, rng=np.random.default_rng(2))
        self.act = nn.Tanh()
        self.b = nn.Linear(5, 2, rng=np.random.default_rng(3))

    def forward(self, x, scale):
        return self.b(self.act(self.a(x * scale)))


def test_layer_conductance_takes_additional_forward_args_against_captum():
    m = Scaled().double()
    tm = torch.nn.Sequential()
    tm.a, tm.act, tm.b = torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    tm = tm.double()
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})

    def forward(x, scale):
        return tm.b(tm.act(tm.a(x * scale)))

    x = np.random.default_rng(4).standard_normal((3, 4))
    scale = np.array([[1.0], [2.0], [-0.5]])
    got = explain.layer_conductance(m, m.act, x, [0, 1, 1], steps=4, batch_size=7,
                                    additional_forward_args=(scale,))
    want = ca.LayerConductance(forward, tm.act).attribute(
        torch.tensor(x), target=[0, 1, 1], n_steps=4,
        additional_forward_args=(torch.tensor(scale),))
    np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)
