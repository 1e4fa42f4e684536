import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.generative import (
    GANMonitor,
    GANOptimizers,
    GANTrainer,
    frozen,
    gradient_penalty,
)
from chainrule.models import DCGAN, GAN, MLPGAN
from chainrule.train import ModelCheckpoint


def _adam(module, lr=1e-3):
    return optim.Adam(module.parameters(), lr=lr, betas=(0.5, 0.999))


def _small_gan(seed=0, **kwargs):
    return MLPGAN(4, (8,), (8,), image_shape=(1, 4, 4), rng=np.random.default_rng(seed),
                  **kwargs)


def _data(n=32, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 1, 4, 4)).astype(np.float32)


def _snapshot(module):
    return {k: v._data.copy() for k, v in module.state_dict().items()}


def _changed(before, module):
    after = _snapshot(module)
    return {k for k in before if not np.array_equal(before[k], after[k])}


def test_each_step_changes_only_its_player():
    gan = _small_gan()
    trainer = GANTrainer(gan, _adam(gan.generator), _adam(gan.discriminator), rng=0)
    real = cr.tensor(_data(8))
    g0, d0 = _snapshot(gan.generator), _snapshot(gan.discriminator)
    logs = trainer.discriminator_step(real)
    assert set(logs) == {"d_loss", "d_real", "d_fake"}
    assert not _changed(g0, gan.generator)
    assert _changed(d0, gan.discriminator) == set(d0)
    assert all(p.grad is None for p in gan.generator.parameters())

    d1 = _snapshot(gan.discriminator)
    trainer.optimizer.discriminator.zero_grad()
    assert set(trainer.generator_step(8)) == {"g_loss"}
    assert not _changed(d1, gan.discriminator)
    assert all(p.grad is None for p in gan.discriminator.parameters())  # frozen: no gradient
    assert all(p.requires_grad for p in gan.discriminator.parameters())  # and unfrozen again
    assert _changed(g0, gan.generator) == set(g0)


@pytest.mark.parametrize("n_critic", [1, 3])
def test_train_step_order(n_critic):
    gan = _small_gan()
    g_opt, d_opt = _adam(gan.generator), _adam(gan.discriminator)
    calls = []
    for name, opt in (("G", g_opt), ("D", d_opt)):
        step = opt.step
        opt.step = lambda step=step, name=name: (calls.append(name), step())[1]
    trainer = GANTrainer(gan, g_opt, d_opt, n_critic=n_critic, rng=0)
    for _ in range(2 * n_critic):
        trainer.train_step((cr.tensor(_data(8)),))
    assert calls == (["D"] * (n_critic - 1) + ["D", "G"]) * 2


class _Constant(nn.Module):
    """A discriminator whose logit is one learnable number b for every input."""

    def __init__(self, b):
        super().__init__()
        self.b = nn.Parameter(cr.tensor([b]))

    def forward(self, x, labels=None):
        return x.reshape(len(x), -1).sum(axis=1) * 0 + self.b


def _softplus(v):
    return math.log1p(math.exp(v))


@pytest.mark.parametrize("loss, g_expected", [
    ("non_saturating", lambda b: _softplus(-b)),
    ("minimax", lambda b: -_softplus(b)),
    ("wgan-gp", lambda b: -b),
])
def test_losses_match_closed_forms(loss, g_expected):
    b, s = 0.7, 0.1
    gen = _small_gan().generator
    gan = GAN(gen, _Constant(b), latent_dim=4)
    trainer = GANTrainer(gan, _adam(gen), optim.SGD(gan.discriminator.parameters(), lr=0.0),
                         loss=loss, label_smoothing=s if loss != "wgan-gp" else 0.0, rng=0)
    d = trainer.discriminator_step(cr.tensor(_data(8)))
    if loss == "wgan-gp":
        # the critic is constant in x: no Wasserstein gap, penalty (0 - 1)^2 = 1
        assert d["wasserstein"] == pytest.approx(0.0, abs=1e-6)
        assert d["gp"] == pytest.approx(1.0, rel=1e-3)
        assert d["d_loss"] == pytest.approx(10.0, rel=1e-3)
    else:
        expected = (1 - s) * _softplus(-b) + s * _softplus(b) + _softplus(b)
        assert d["d_loss"] == pytest.approx(expected, rel=1e-5)
        assert d["d_real"] == pytest.approx(1 / (1 + math.exp(-b)), rel=1e-5)
    g = trainer.generator_step(8)
    assert g["g_loss"] == pytest.approx(g_expected(b), rel=1e-5)


def test_gradient_penalty_of_a_linear_critic():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 3, 2, 2))
    real, fake = rng.normal(size=(5, 3, 2, 2)), rng.normal(size=(5, 3, 2, 2))

    def critic(x):
        return (x * cr.tensor(w)).reshape(5, -1).sum(axis=1)

    gp = gradient_penalty(critic, real, fake, rng=rng)
    assert gp.item() == pytest.approx((np.linalg.norm(w) - 1) ** 2, rel=1e-9)


def _critic_params(critic):
    critic.to(dtype="float64")
    return list(critic.parameters())


@pytest.mark.parametrize("make", [
    lambda rng: nn.Sequential(nn.Flatten(), nn.Linear(8, 5, rng=rng), nn.Tanh(),
                              nn.Linear(5, 1, rng=rng)),
    lambda rng: nn.Sequential(nn.Conv2d(2, 3, 2, rng=rng), nn.LeakyReLU(0.2), nn.Flatten(),
                              nn.Linear(3, 1, rng=rng)),
], ids=["mlp", "conv"])
def test_gradient_penalty_gradcheck(make):
    """The penalty's gradient w.r.t. the critic's weights (a second derivative) matches FD."""
    rng = np.random.default_rng(3)
    critic = make(rng)
    params = _critic_params(critic)
    real, fake = rng.normal(size=(3, 2, 2, 2)), rng.normal(size=(3, 2, 2, 2))
    alpha = np.array([0.2, 0.5, 0.9])

    def penalty(*_):
        return gradient_penalty(lambda x: critic(x).reshape(-1), real, fake, alpha=alpha)

    assert cr.gradcheck(penalty, params)


def test_gradient_penalty_passes_labels_and_validates():
    gan = MLPGAN(4, (8,), (8,), image_shape=(1, 4, 4), num_classes=3,
                 rng=np.random.default_rng(0))
    real, fake = _data(4), _data(4, seed=1)
    labels = cr.tensor(np.array([0, 1, 2, 0]))
    assert gradient_penalty(gan.discriminator, real, fake, labels=labels, rng=np.random.default_rng(
        0)).item() >= 0
    with pytest.raises(ValueError, match="one shape"):
        gradient_penalty(gan.discriminator, real, fake[:2], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="pass rng"):
        gradient_penalty(gan.discriminator, real, fake)


def test_conditional_wgan_gp_trains():
    gan = DCGAN(4, (4,), (4, 8), image_size=8, num_classes=3, d_norm="layer",
                rng=np.random.default_rng(0))
    x = np.random.default_rng(0).uniform(-1, 1, (16, 1, 8, 8)).astype(np.float32)
    y = np.arange(16) % 3
    trainer = GANTrainer(gan, _adam(gan.generator), _adam(gan.discriminator), loss="wgan-gp",
                         n_critic=2, rng=0)
    history = trainer.fit((x, y), epochs=1, batch_size=4, rng=0, verbose=0)
    assert set(history.history) == {"d_loss", "wasserstein", "gp", "g_loss"}
    assert trainer.optimizer.d_steps == 4
    with pytest.raises(ValueError, match="needs \\(images, labels\\)"):
        trainer.train_step((cr.tensor(x[:4]),))


def _fit(tmp_path, epochs, resume=False):
    gan = _small_gan()
    trainer = GANTrainer(gan, _adam(gan.generator), _adam(gan.discriminator), rng=7,
                         callbacks=[ModelCheckpoint(tmp_path / "ckpt", save_best_only=False)])
    trainer.fit(_data(), epochs=epochs, batch_size=8, rng=3, verbose=0,
                resume_from=tmp_path / "ckpt" if resume else None)
    return gan, trainer


def test_resume_continues_exactly(tmp_path):
    straight, t1 = _fit(tmp_path / "a", 3)
    _fit(tmp_path / "b", 1)
    resumed, t2 = _fit(tmp_path / "b", 3, resume=True)
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a._data, b._data, err_msg=k)
    assert t1.history.history == t2.history.history
    assert t2.optimizer.d_steps == 12


def test_monitor_writes_grids_strip_and_curves(tmp_path):
    gan = _small_gan()
    monitor = GANMonitor(tmp_path, n_samples=4, strip=2, ncols=4)
    trainer = GANTrainer(gan, _adam(gan.generator), _adam(gan.discriminator), rng=0,
                         callbacks=[monitor])
    trainer.fit(_data(16), epochs=2, batch_size=8, rng=0, verbose=0)
    for name in ("samples/epoch_001.png", "samples/epoch_002.png", "progress.png", "losses.png"):
        assert (tmp_path / name).is_file(), name
    assert len(monitor.steps["d_loss"]) == len(monitor.steps["g_loss"]) == 4
    assert len(monitor.strips) == 2 and monitor.strips[0].shape == (2, 1, 4, 4)
    # the fixed noise is fixed: the first epoch's samples are reproducible from the seed
    assert not np.array_equal(monitor.strips[0], monitor.strips[1])


def test_frozen_restores_flags_even_on_error():
    layer = nn.Linear(2, 2, rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError), frozen(layer):
        assert not layer.weight.requires_grad
        raise RuntimeError("boom")
    assert layer.weight.requires_grad and layer.bias.requires_grad


def test_bad_arguments():
    gan = _small_gan()
    g, d = _adam(gan.generator), _adam(gan.discriminator)
    with pytest.raises(ValueError, match="loss must be one of"):
        GANTrainer(gan, g, d, loss="hinge")
    with pytest.raises(ValueError, match="label_smoothing"):
        GANTrainer(gan, g, d, label_smoothing=0.7)
    with pytest.raises(ValueError, match="n_critic"):
        GANTrainer(gan, g, d, n_critic=0)
    with pytest.raises(TypeError, match="models.GAN"):
        GANTrainer(nn.Linear(2, 2), g, d)
    with pytest.raises(TypeError, match="must be an optimizer"):
        GANOptimizers(g, "adam")


@pytest.mark.torch
def test_gradient_penalty_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    critic = nn.Sequential(nn.Linear(6, 5, rng=rng), nn.LeakyReLU(0.2), nn.Linear(5, 1, rng=rng))
    params = _critic_params(critic)
    real, fake, alpha = rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), rng.random(4)
    gp = gradient_penalty(lambda x: critic(x).reshape(-1), real, fake, alpha=alpha)
    # the penalty depends on the biases only through LeakyReLU's slope: no gradient path
    grads = cr.grad(gp, params, allow_unused=True)

    w1, b1, w2, b2 = (torch.tensor(p._data, requires_grad=True) for p in params)
    a = torch.tensor(alpha)[:, None]
    x_hat = (a * torch.tensor(real) + (1 - a) * torch.tensor(fake)).requires_grad_(True)
    out = torch.nn.functional.linear(
        torch.nn.functional.leaky_relu(torch.nn.functional.linear(x_hat, w1, b1), 0.2), w2, b2)
    (g,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    expected = ((torch.sqrt((g * g).sum(dim=1) + 1e-12) - 1) ** 2).mean()
    expected.backward()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-10)
    for ours, theirs in zip(grads, (w1, b1, w2, b2)):
        if ours is None:
            assert theirs.grad is None or not theirs.grad.abs().max().item()
        else:
            np.testing.assert_allclose(ours._data, theirs.grad.numpy(), rtol=1e-8, atol=1e-12)
    assert grads[0] is not None and grads[2] is not None
