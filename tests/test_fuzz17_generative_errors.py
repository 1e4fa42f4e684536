"""Fuzz wave 17, generative: bad input at the public boundary.

Each case here was silent (a nan or wrong number) or failed with an unrelated message before.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.data.corruptions import stamp_watermark
from chainrule.generative import (
    GANMonitor,
    GANTrainer,
    pretrain_layerwise,
)
from chainrule.generative import gradient_penalty as gp
from chainrule.models import MLP, MLPGAN


def _gan():
    return MLPGAN(3, (5,), (6,), image_shape=(1, 2, 3), rng=np.random.default_rng(0))


def _opts(gan):
    return optim.Adam(gan.generator.parameters()), optim.Adam(gan.discriminator.parameters())


@pytest.mark.parametrize("w", [float("nan"), float("inf"), -1.0, "10", True])
def test_gan_trainer_rejects_bad_gp_weight(w):
    gan = _gan()
    with pytest.raises(ValueError, match="gp_weight must be a finite number >= 0"):
        GANTrainer(gan, *_opts(gan), loss="wgan-gp", gp_weight=w)


def test_gan_trainer_accepts_numpy_gp_weight():
    gan = _gan()
    assert GANTrainer(gan, *_opts(gan), gp_weight=np.float64(5)).gp_weight == 5.0


@pytest.mark.parametrize("alpha", [[1.5, 0.5], [-0.1, 0.5], [float("nan"), 0.5]])
def test_gradient_penalty_rejects_alpha_outside_unit_interval(alpha):
    real, fake = np.zeros((2, 1, 2, 3), np.float32), np.ones((2, 1, 2, 3), np.float32)
    with pytest.raises(ValueError, match=r"alpha must hold values in \[0, 1\]"):
        gp(_gan().discriminator, real, fake, alpha=alpha)


def test_gan_sample_rejects_z_of_another_size():
    gan = _gan()
    z = gan.sample_latent(3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"z must hold n=5 noise vectors, got shape \(3, 3\)"):
        gan.sample(5, rng=None, z=z)
    assert gan.sample(3, rng=None, z=z).shape == (3, 1, 2, 3)


@pytest.mark.parametrize("kw", [{"strip": 0}, {"ncols": 0}, {"ncols": 2.5}])
def test_gan_monitor_rejects_bad_sizes(kw, tmp_path):
    with pytest.raises(ValueError, match=f"GANMonitor: {next(iter(kw))} must be an int >= 1"):
        GANMonitor(tmp_path, **kw)


@pytest.mark.parametrize("kw", [{"epochs": 0}, {"batch_size": 0}, {"epochs": 1.5}])
def test_pretrain_layerwise_rejects_bad_counts(kw):
    mlp = MLP((6, 4, 2), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=f"pretrain_layerwise: {next(iter(kw))} must be a"):
        pretrain_layerwise(mlp, np.zeros((8, 6), np.float32), **kw)


@pytest.mark.parametrize("opacity", [(0.1, 0.2, 0.3), 0.5, (0.9, 0.1)])
def test_stamp_watermark_rejects_bad_opacity(opacity):
    with pytest.raises(ValueError, match=r"opacity must be \(low, high\)"):
        stamp_watermark(np.zeros((2, 28, 28)), rng=np.random.default_rng(0), opacity=opacity)


class _Critic(cr.nn.Module):
    """Scores far beyond exp's range, as a WGAN critic's can be."""

    def __init__(self):
        super().__init__()
        self.w = cr.nn.Parameter(cr.tensor(np.array([1.0])))

    def forward(self, x, labels=None):
        return x.reshape(len(x), -1).sum(1) * self.w * 1e4


def test_gan_probabilities_of_huge_logits_without_overflow():
    gan = _gan()
    gan.discriminator = _Critic()
    trainer = GANTrainer(gan, *_opts(gan), loss="wgan-gp")
    real = cr.tensor(np.stack([np.full((1, 2, 3), -1.0), np.full((1, 2, 3), 1.0)]))
    assert trainer.eval_step((real,)) == {"d_real": 0.5}  # sigmoid(-6e4) = 0, sigmoid(6e4) = 1


@pytest.mark.parametrize("labels", [1.5, [0, 1, 2], [[0, 1]], np.array([0.0, 1.0])])
def test_conditional_sample_rejects_bad_labels(labels):
    gan = MLPGAN(3, (5,), (6,), image_shape=(1, 2, 3), num_classes=3,
                 rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="GAN.sample: labels must be one int or 2 ints"):
        gan.sample(2, rng=np.random.default_rng(0), labels=labels)


def test_conditional_sample_takes_one_or_n_int_labels():
    gan = MLPGAN(3, (5,), (6,), image_shape=(1, 2, 3), num_classes=3,
                 rng=np.random.default_rng(0))
    z = gan.sample_latent(2, rng=np.random.default_rng(0))
    one = gan.sample(2, rng=None, z=z, labels=np.int64(2))._data
    both = gan.sample(2, rng=None, z=z, labels=cr.tensor(np.array([2, 2])))._data
    assert np.array_equal(one, both)
    assert gan.sample(2, rng=None, z=z, labels=[np.uint8(0)])._data.shape == (2, 1, 2, 3)


def test_conv_autoencoder_rejects_bool_latent_dim():
    from chainrule.models import ConvAutoencoder

    with pytest.raises(ValueError, match="latent_dim must be a positive int or None, got True"):
        ConvAutoencoder(1, (2, 4), input_size=8, latent_dim=True)
