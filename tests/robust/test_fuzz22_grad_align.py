"""GradAlign's "authors" variant against a PyTorch loop written from Andriushchenko & Flammarion's
code: the clean input gradient a constant, the noisy point ``x + eta`` not clipped, and examples
whose gradient is zero at either point left out of the mean."""

import argparse

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.robust import adversarial_settings


def _mlp(rng):
    model = cr.nn.Sequential(cr.nn.Linear(6, 5), cr.nn.ReLU(), cr.nn.Linear(5, 3))
    model.to(dtype=np.float64)
    with cr.no_grad():  # positive first-layer weights and a bias of -1: a zero input is dead
        model[0].weight.copy_(cr.tensor(rng.uniform(0.1, 1.0, (5, 6))))
        model[0].bias.fill_(-1.0)
    return model


def _reference(torch, model, x, y, eta, lam):
    layers = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 3)).double()
    layers.load_state_dict({k: torch.from_numpy(np.array(v._data))
                            for k, v in model.state_dict().items()})
    X, Y = torch.from_numpy(x), torch.from_numpy(y)

    def input_grad(delta, backprop):
        delta = delta.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(layers(X + delta), Y)  # mean, as theirs
        return torch.autograd.grad(loss, delta, create_graph=backprop)[0]

    g1 = input_grad(torch.zeros_like(X), False).detach()
    g2 = input_grad(torch.from_numpy(eta), True)
    nonzero = (g1.norm(dim=1) != 0) & (g2.norm(dim=1) != 0)
    g1, g2 = g1[nonzero], g2[nonzero]
    cos = ((g1 / g1.norm(dim=1, keepdim=True)) * (g2 / g2.norm(dim=1, keepdim=True))).sum(1)
    penalty = lam * (1.0 - cos.mean())
    return penalty, torch.autograd.grad(penalty, list(layers.parameters())), int(nonzero.sum())


def test_the_authors_variant_matches_their_code_and_leaves_out_zero_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    model = _mlp(rng)
    x = rng.uniform(0.5, 1.0, (6, 6))
    x[[1, 4]] = 0.0  # dead inputs: their gradients are zero at x and at x + eta (eps 0.05)
    x[2, :3] = 1.0   # at the box's edge: the authors' noisy point may leave [0, 1]
    y = np.array([0, 1, 2, 0, 1, 2])
    eps, lam = 0.05, 0.8
    eta = np.random.default_rng(4).uniform(-eps, eps, x.shape)
    assert (x + eta > 1).any() and (x + eta < 0).any()
    hook = cr.robust.AdversarialTraining("fgsm", eps=eps, rng=4, grad_align=lam,
                                         grad_align_variant="authors")
    penalty = hook.penalty(model, (cr.Tensor(x),), cr.Tensor(y))
    grads = cr.grad(penalty, list(model.parameters()))
    expected, expected_grads, kept = _reference(torch, model, x, y, eta, lam)
    assert kept == 4 and 0 < expected.item() < 2 * lam
    np.testing.assert_allclose(penalty.item(), expected.item(), rtol=1e-10, atol=1e-13)
    for ours, theirs in zip(grads, expected_grads):
        np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-8, atol=1e-13)
    # the default (symmetric) variant counts the dead examples (cos 0, penalty 1 each) and
    # differentiates the clean gradient too, so it differs
    sym = cr.robust.AdversarialTraining("fgsm", eps=eps, rng=4, grad_align=lam)
    assert sym.penalty(model, (cr.Tensor(x),), cr.Tensor(y)).item() > penalty.item() + 0.2
    assert hook.config()["grad_align_variant"] == "authors"
    assert "grad_align_variant" not in sym.config()
    assert "grad_align_variant='authors'" in repr(hook)


def test_the_authors_variant_is_zero_when_every_gradient_is_zero():
    model = _mlp(np.random.default_rng(0))
    x = np.zeros((3, 6))
    hook = cr.robust.AdversarialTraining("fgsm", eps=0.05, rng=1, grad_align=1.0,
                                         grad_align_variant="authors")
    penalty = hook.penalty(model, (cr.Tensor(x),), cr.Tensor(np.array([0, 1, 2])))
    assert penalty.item() == 0.0
    for g in cr.grad(penalty, list(model.parameters()), allow_unused=True):
        assert g is None or (np.isfinite(g._data).all() and not g._data.any())


def test_the_variant_is_checked_and_reaches_the_cli():
    with pytest.raises(ValueError, match=r"grad_align_variant must be one of \('symmetric', "
                       r"'authors'\), got 'paper'"):
        cr.robust.AdversarialTraining("fgsm", grad_align=1.0, grad_align_variant="paper")
    with pytest.raises(ValueError, match="grad_align_variant='authors' needs a grad_align "
                       "weight > 0, got grad_align=0.0"):
        cr.robust.AdversarialTraining("fgsm", grad_align_variant="authors")
    args = dict(adversarial="fgsm", model="wong_cnn", eps=0.3, adv_alpha=None, adv_steps=10,
                adv_clip_start=None, adv_noise=None, adv_check=0, adv_grad_align=0.5,
                adv_grad_align_variant="authors")
    settings = adversarial_settings(argparse.Namespace(**args), ())
    assert settings["grad_align_variant"] == "authors" and settings["grad_align"] == 0.5
    hook = cr.robust.AdversarialTraining(**{k: v for k, v in settings.items()})
    assert hook.grad_align_variant == "authors"
    with pytest.raises(ValueError, match="--adv-grad-align-variant authors needs "
                       "--adv-grad-align LAMBDA > 0"):
        adversarial_settings(argparse.Namespace(**{**args, "adv_grad_align": 0.0}), ())
