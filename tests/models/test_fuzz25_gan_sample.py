"""GAN.sample(z=...) of a conditional GAN given the noise as an array (as an unconditional one
takes it): an AttributeError ('numpy.ndarray' object has no attribute '_data') from inside the
one-hot code; it now samples the same images as from the Tensor."""

import numpy as np

import chainrule as cr
from chainrule.models import ConditionalGAN


def test_conditional_sample_takes_array_noise():
    gan = ConditionalGAN("mlp", num_classes=3, latent_dim=4, g_hidden=(5,), d_hidden=(5,),
                         image_shape=(1, 2, 2), rng=np.random.default_rng(0))
    z = np.random.default_rng(1).standard_normal((2, 4)).astype("float32")
    from_array = gan.sample(2, rng=None, z=z, labels=[1, 2]).numpy()
    from_tensor = gan.sample(2, rng=None, z=cr.tensor(z), labels=[1, 2]).numpy()
    np.testing.assert_array_equal(from_array, from_tensor)
    # by hand: tanh of the two linear layers on [z, one-hot(label)], mapped to [0, 1]
    lin1, lin2 = gan.generator.net[0], gan.generator.net[2]
    h = np.concatenate([z, np.eye(3, dtype="float32")[[1, 2]]], axis=1)
    h = h @ lin1.weight.numpy().T + lin1.bias.numpy()
    h = np.where(h > 0, h, 0.2 * h) @ lin2.weight.numpy().T + lin2.bias.numpy()
    np.testing.assert_allclose(from_array.reshape(2, -1), (np.tanh(h) + 1) / 2, rtol=1e-5,
                               atol=1e-6)
