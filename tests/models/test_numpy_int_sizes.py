"""The models' sizes as NumPy ints (``np.int64`` from a config array or ``x.shape``), as
``models.MLP`` and every ``nn`` layer take them: ``Autoencoder``, ``ConvAutoencoder``, the GANs'
generators and discriminators and ``NGramLogistic`` refused them ("must be a positive int, got
np.int64(4)"; found by the wave-23 experiments helper), and ``Autoencoder(sizes=(True, 3))`` took
a bool as a width of 1. Now NumPy ints build the same model as Python ints (stored as Python
ints, for the saved config), and bools are refused."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import models

i = np.int64
CASES = {
    "Autoencoder": (models.Autoencoder, dict(sizes=(12, 6, 3))),
    "ConvAutoencoder": (models.ConvAutoencoder, dict(in_channels=1, channels=(2,), latent_dim=3,
                                                     input_size=8)),
    "MLPGenerator": (models.MLPGenerator, dict(latent_dim=4, hidden=(5,), image_shape=(1, 4, 4),
                                               num_classes=3)),
    "MLPDiscriminator": (models.MLPDiscriminator, dict(image_shape=(1, 4, 4), hidden=(5,),
                                                       num_classes=3)),
    "DCGANGenerator": (models.DCGANGenerator, dict(latent_dim=4, channels=(3,), image_size=8)),
    "DCGANDiscriminator": (models.DCGANDiscriminator, dict(channels=(3,), image_size=8)),
    "NGramLogistic": (models.NGramLogistic, dict(num_features=10, num_classes=3)),
}


def _numpy(value):
    return tuple(i(v) for v in value) if isinstance(value, tuple) else i(value)


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_int_sizes_build_the_same_model(name):
    cls, kwargs = CASES[name]
    plain = cls(**kwargs, rng=np.random.default_rng(0))
    numpy = cls(**{k: _numpy(v) for k, v in kwargs.items()}, rng=np.random.default_rng(0))
    ours, theirs = plain.state_dict(), numpy.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())


@pytest.mark.parametrize("name, key", [("Autoencoder", "sizes"), ("MLPGenerator", "num_classes"),
                                       ("DCGANDiscriminator", "image_size"),
                                       ("NGramLogistic", "num_features")])
def test_bools_are_refused(name, key):
    cls, kwargs = CASES[name]
    value = (True, 3) if key == "sizes" else True
    with pytest.raises(ValueError, match=f"{name}: {key} must"):
        cls(**{**kwargs, key: value})


def test_sample_latent_takes_a_numpy_count():
    gan = models.GAN(models.MLPGenerator(4, (5,), (1, 4, 4)),
                     models.MLPDiscriminator((1, 4, 4), (5,)), latent_dim=4)
    a = gan.sample_latent(i(3), rng=np.random.default_rng(1))
    b = gan.sample_latent(3, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="n must be a positive int, got True"):
        gan.sample_latent(True, rng=np.random.default_rng(1))
