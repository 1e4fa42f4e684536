import numpy as np
import pytest

import chainrule as cr
from chainrule import models, optim
from chainrule.io import load_weights, save_weights
from chainrule.models import (
    DCGAN,
    MLPGAN,
    ConditionalGAN,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)


@pytest.mark.parametrize("build", [
    lambda rng: MLPGAN(16, (32,), (32,), rng=rng),
    lambda rng: DCGAN(16, (8, 4), (4, 8), rng=rng),
    lambda rng: DCGAN(16, (8, 4), (4, 8), d_norm="layer", rng=rng),
    lambda rng: DCGAN(16, (8,), (8,), image_channels=3, image_size=8, d_norm="none", rng=rng),
], ids=["mlp", "dcgan", "dcgan-layernorm", "dcgan-rgb-8x8"])
def test_unconditional_shapes(build):
    rng = np.random.default_rng(0)
    gan = build(rng)
    z = gan.sample_latent(3, rng=rng)
    assert z.shape == (3, 16)
    images = gan.generator(z)
    shape = images.shape
    assert shape[0] == 3 and shape[2] == shape[3] and shape[1] in (1, 3)
    assert float(abs(images._data).max()) <= 1  # tanh
    assert gan.discriminator(images).shape == (3,)
    samples = gan.sample(4, rng=rng)
    assert samples.shape == (4,) + shape[1:] and not samples.requires_grad
    assert 0 <= float(samples._data.min()) and float(samples._data.max()) <= 1
    assert gan.training  # sample() restores the mode


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_conditional_shapes_and_labels(arch):
    rng = np.random.default_rng(0)
    kwargs = {"g_hidden": (16,), "d_hidden": (16,)} if arch == "mlp" else {
        "g_channels": (8, 4), "d_channels": (4, 8)}
    gan = ConditionalGAN(arch, 10, latent_dim=8, rng=rng, **kwargs)
    assert gan.conditional and gan.arch == arch
    sevens = gan.sample(5, rng=rng, labels=7)
    assert sevens.shape == (5, 1, 28, 28)
    labels = cr.tensor(np.arange(5))
    assert gan.sample(5, rng=rng, labels=labels).shape == (5, 1, 28, 28)
    assert gan.discriminator(sevens, labels).shape == (5,)
    # the label changes what is generated from the same noise
    z = gan.sample_latent(2, rng=rng)
    a = gan.sample(2, rng=None, labels=1, z=z)._data
    b = gan.sample(2, rng=None, labels=2, z=z)._data
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="pass labels"):
        gan.sample(2, rng=rng)
    with pytest.raises(ValueError, match="pass rng"):
        gan.sample(2, rng=None, labels=1)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 10\)"):
        gan.generator(z, cr.tensor(np.array([3, 10])))
    with pytest.raises(ValueError, match="labels must be 2 ints"):
        gan.generator(z, cr.tensor(np.array([3])))


@pytest.mark.kernel_free
def test_unconditional_models_reject_labels():
    rng = np.random.default_rng(0)
    g = MLPGenerator(4, (8,), rng=rng)
    with pytest.raises(ValueError, match="unconditional"):
        g(cr.tensor(np.zeros((2, 4), np.float32)), cr.tensor(np.array([1, 2])))
    d = DCGANDiscriminator(1, (4, 8), rng=rng)
    with pytest.raises(ValueError, match="unconditional"):
        d(cr.tensor(np.zeros((2, 1, 28, 28), np.float32)), np.array([1, 2]))


@pytest.mark.kernel_free
def test_priors():
    rng = np.random.default_rng(0)
    uniform = MLPGAN(1000, (4,), (4,), prior="uniform", rng=rng).sample_latent(20, rng=rng)._data
    assert uniform.min() >= -1 and uniform.max() <= 1 and uniform.std() == pytest.approx(
        1 / 3 ** 0.5, rel=0.02)
    normal = MLPGAN(1000, (4,), (4,), rng=rng).sample_latent(20, rng=rng)._data
    assert normal.std() == pytest.approx(1.0, rel=0.02) and normal.dtype == np.float32
    with pytest.raises(ValueError, match="prior"):
        MLPGAN(prior="cauchy", rng=rng)


def test_registry_config_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    for name, kwargs in [("gan", {"g_hidden": [8], "d_hidden": [8], "latent_dim": 4}),
                         ("dcgan", {"g_channels": [4], "d_channels": [4], "image_size": 8}),
                         ("cgan", {"arch": "dcgan", "g_channels": [4], "d_channels": [4],
                                   "image_size": 8})]:
        gan = models.build(name, **kwargs, rng=rng)
        path = save_weights(gan, tmp_path / f"{name}.safetensors", config=gan.config)
        again = models.build_from_config(gan.config, rng=np.random.default_rng(5))
        load_weights(again, path)
        labels = 3 if gan.conditional else None
        np.testing.assert_array_equal(
            gan.sample(3, rng=np.random.default_rng(1), labels=labels)._data,
            again.sample(3, rng=np.random.default_rng(1), labels=labels)._data)


@pytest.mark.kernel_free
def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="num_classes must be 0"):
        MLPGenerator(4, num_classes=1, rng=rng)
    with pytest.raises(ValueError, match="image_size must be a multiple of 2 \\*\\* 3"):
        DCGANGenerator(4, (8, 4, 2), image_size=28, rng=rng)
    with pytest.raises(ValueError, match="norm must be one of"):
        DCGANDiscriminator(norm="group", rng=rng)
    with pytest.raises(ValueError, match="arch must be"):
        ConditionalGAN("transformer", rng=rng)
    with pytest.raises(ValueError, match="hidden must be positive ints"):
        MLPDiscriminator(hidden=(0,), rng=rng)


def _pattern():
    from chainrule.data.datasets import digits

    (x, _), _ = digits()
    return x[0][None] * 2 - 1  # one 8x8 digit in [-1, 1]


def test_discriminator_overfits_real_vs_fixed_fakes():
    rng = np.random.default_rng(0)
    gan = DCGAN(8, (8,), (8, 16), image_size=8, rng=rng)
    real = cr.tensor(np.repeat(_pattern()[None], 16, axis=0).astype(np.float32))
    fake = gan.generator(gan.sample_latent(16, rng=rng)).detach()
    opt = optim.Adam(gan.discriminator.parameters(), lr=1e-2)
    for _ in range(40):
        d = gan.discriminator(cr.ops.concat([real, fake]))
        target = cr.tensor(np.r_[np.ones(16), np.zeros(16)].astype(np.float32))
        loss = cr.F.binary_cross_entropy_with_logits(d, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


def test_generator_learns_to_match_a_single_image():
    """A short adversarial run on one fixed 8x8 digit: samples move toward it."""
    from chainrule.generative import GANTrainer

    rng = np.random.default_rng(0)
    target = _pattern().astype(np.float32)
    data = np.repeat(target[None], 64, axis=0)
    gan = MLPGAN(8, (32,), (32,), image_shape=(1, 8, 8), rng=rng)
    before = float(((gan.generator(gan.sample_latent(64, rng=rng))._data - target) ** 2).mean())
    trainer = GANTrainer(gan, optim.Adam(gan.generator.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                         optim.Adam(gan.discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                         rng=1)
    trainer.fit(data, epochs=40, batch_size=32, rng=2, verbose=0)
    after = float(((gan.generator(gan.sample_latent(64, rng=rng))._data - target) ** 2).mean())
    assert after < 0.25 * before
