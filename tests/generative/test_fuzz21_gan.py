"""Wave 21: GANTrainer refuses real images outside [-1, 1], the range of the generator's tanh.

0..255 pixels (or nan) trained a discriminator that told real from fake by their scale alone,
without any error.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.generative import GANTrainer, gradient_penalty
from chainrule.models import MLPGAN


def _trainer():
    gan = MLPGAN(
        latent_dim=3,
        g_hidden=(5,),
        d_hidden=(6,),
        image_shape=(1, 2, 3),
        rng=np.random.default_rng(0),
    )
    opt = lambda m: cr.optim.SGD(m.parameters(), lr=1e-2)  # noqa: E731
    return gan, GANTrainer(gan, opt(gan.generator), opt(gan.discriminator), rng=0)


@pytest.fixture
def pixels():
    return np.random.default_rng(0).random((8, 1, 2, 3)).astype(np.float32)


@pytest.mark.parametrize("scale", ["0..255", "nan", "just above 1"])
def test_real_images_outside_minus_one_one_raise_before_any_step(pixels, scale):
    bad = {
        "0..255": pixels * 255,
        "nan": np.where(pixels > 0.5, np.nan, pixels),
        "just above 1": np.where(np.arange(pixels.size).reshape(pixels.shape) == 0, 1.001, 0.0),
    }[scale]
    gan, trainer = _trainer()
    before = {k: v._data.copy() for k, v in gan.state_dict().items()}
    with pytest.raises(ValueError, match=r"real images must have values in \[-1, 1\]"):
        trainer.train_step((cr.tensor(bad),))
    for key, value in gan.state_dict().items():
        np.testing.assert_array_equal(value._data, before[key], err_msg=key)
    with pytest.raises(ValueError, match=r"real images must have values in \[-1, 1\]"):
        trainer.fit(bad[:4], epochs=1, batch_size=4, verbose=0)  # one batch: bad


def test_images_in_range_train(pixels):
    for images in (pixels * 2 - 1, pixels):  # [-1, 1] and the narrower [0, 1] both pass
        _, trainer = _trainer()
        logs = trainer.train_step((cr.tensor(images),))
        assert np.isfinite([logs["d_loss"], logs["g_loss"]]).all()


def test_data_range_follows_the_generator_and_none_turns_the_check_off(pixels):
    """A generator of one's own may have another output range, or none (a linear output)."""
    gan, _ = _trainer()
    opt = lambda m: cr.optim.SGD(m.parameters(), lr=1e-2)  # noqa: E731
    wide = pixels * 255
    trainer = GANTrainer(gan, opt(gan.generator), opt(gan.discriminator), rng=0,
                         data_range=(0, 255))
    assert np.isfinite(trainer.train_step((cr.tensor(wide),))["d_loss"])
    with pytest.raises(ValueError, match=r"values in \[0, 255\].*got values in \[-1, "):
        trainer.train_step((cr.tensor(wide - 1 - wide.min()),))
    unchecked = GANTrainer(gan, opt(gan.generator), opt(gan.discriminator), rng=0,
                           data_range=None)
    assert np.isfinite(unchecked.train_step((cr.tensor(wide * 4),))["d_loss"])
    for bad in ((1, -1), (0, float("inf")), "wide", (0,), (float("nan"), 1)):
        with pytest.raises(ValueError, match="data_range must be"):
            GANTrainer(gan, opt(gan.generator), opt(gan.discriminator), data_range=bad)


def test_gradient_penalty_of_integer_real_images_keeps_alpha():
    # int images made alpha int (0 or 1): the penalty was taken at the fake images
    g = np.random.default_rng(1)
    w = g.normal(size=6)
    real, fake = g.integers(-1, 2, (4, 1, 2, 3)), g.uniform(-1, 1, (4, 1, 2, 3))
    alpha = np.array([0.25, 0.5, 0.75, 0.1])

    def critic(x):
        return (x.reshape(x.shape[0], -1) @ cr.tensor(w)) ** 2

    x_hat = (alpha[:, None, None, None] * real + (1 - alpha[:, None, None, None]) * fake).reshape(
        4, -1
    )
    norms = 2 * np.abs(x_hat @ w) * np.linalg.norm(w)  # |grad of (x.w)^2| = 2 |x.w| ||w||
    want = np.mean((np.sqrt(norms**2 + 1e-12) - 1) ** 2)
    assert gradient_penalty(critic, real, fake, alpha=alpha).item() == pytest.approx(
        want, rel=1e-12
    )
    got = gradient_penalty(critic, real.astype(np.float64), fake, alpha=alpha).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_n_critic_as_a_numpy_integer_is_an_int():
    gan, _ = _trainer()
    opt = lambda m: cr.optim.SGD(m.parameters(), lr=1e-2)  # noqa: E731
    trainer = GANTrainer(gan, opt(gan.generator), opt(gan.discriminator), n_critic=np.int64(2))
    assert trainer.n_critic == 2 and type(trainer.n_critic) is int
    for bad in (np.float64(2.0), True, np.int64(0)):
        with pytest.raises(ValueError, match="n_critic must be an int >= 1"):
            GANTrainer(gan, opt(gan.generator), opt(gan.discriminator), n_critic=bad)
