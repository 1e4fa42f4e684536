"""The GANs' widths as a NumPy array (g_channels=np.array([4, 2]), from a config array, as
models.MLP takes its sizes): refused as "channels must be positive ints, got (array([4, 2]),)";
an array of ints builds the model the list builds."""

import numpy as np

from chainrule.models import DCGAN, MLPGAN


def _shapes(model):
    return [tuple(p.shape) for p in model.parameters()]


def test_width_arrays_build_the_list_model():
    a = DCGAN(latent_dim=3, g_channels=np.array([4, 2]), d_channels=np.array([2, 4]),
              image_size=8, rng=np.random.default_rng(0))
    b = DCGAN(latent_dim=3, g_channels=[4, 2], d_channels=[2, 4], image_size=8,
              rng=np.random.default_rng(0))
    assert _shapes(a) == _shapes(b)
    m = MLPGAN(latent_dim=3, g_hidden=np.array([5]), d_hidden=np.array([4, 3]),
               image_shape=np.array([1, 2, 2]), rng=np.random.default_rng(0))
    assert _shapes(m.generator) == [(5, 3), (5,), (4, 5), (4,)]
    assert _shapes(m.discriminator) == [(4, 4), (4,), (3, 4), (3,), (1, 3), (1,)]
