"""Where the packages' own argument checks disagreed, the shared rule of chainrule.data.arguments:
NumPy integers are ints (np.int64 was refused by ``isinstance(value, int)`` copies), NumPy floats
are numbers (np.float32 was refused by ``isinstance(value, (int, float))`` copies), and a bool is
not a number (``0 <= value < 1`` copies took False as 0 and True as 1)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.corruptions import colorize_digits, stamp_watermark
from chainrule.data.transforms import add_gaussian_noise
from chainrule.generative import GANMonitor, GANTrainer, pretrain_layerwise, reconstruct
from chainrule.models import MLP, MLPGAN


def _images(n=3):
    return np.random.default_rng(0).random((n, 1, 8, 8)).astype(np.float32)


def test_numpy_integers_are_ints_in_generative_and_data(tmp_path):
    monitor = GANMonitor(tmp_path, n_samples=np.int64(4), strip=np.int32(2), ncols=np.int64(4))
    assert (monitor.n_samples, monitor.strip, monitor.ncols) == (4, 2, 4)
    assert type(monitor.ncols) is int
    images = _images()
    out = reconstruct(cr.nn.Identity(), images, batch_size=np.int64(2))
    np.testing.assert_array_equal(out, images)
    stamped = stamp_watermark(images, rng=0, scale=np.int64(1))
    assert stamped.shape == images.shape
    mlp = MLP((4, 3, 2), rng=np.random.default_rng(0))
    losses = pretrain_layerwise(
        mlp,
        images[:, 0, :2, :2],
        epochs=np.int64(1),
        batch_size=np.int64(2),
        corruption=np.float32(0.1),
        rng=0,
    )
    assert len(losses) == 1 and np.isfinite(losses[0])


def test_numpy_floats_are_numbers_and_bools_are_not():
    images = _images()
    colours = colorize_digits(images, rng=0, min_contrast=np.float32(0.3))
    assert colours.shape == (3, 3, 8, 8)
    with pytest.raises(
        ValueError,
        match=r"min_contrast must be a number in \[0, 0.7\] "
        r"\(colours uniform .*\), got True",
    ):
        colorize_digits(images, rng=0, min_contrast=True)
    noisy = add_gaussian_noise(images, np.float32(0.1), rng=np.random.default_rng(0))
    assert noisy.shape == images.shape
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0, got True"):
        add_gaussian_noise(images, True, rng=np.random.default_rng(0))  # was sigma 1
    mlp = MLP((4, 3, 2), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"corruption must be a number in \[0, 1\), got False"):
        pretrain_layerwise(mlp, images[:, 0, :2, :2], corruption=False)  # was corruption 0
    gan = MLPGAN(
        latent_dim=3,
        g_hidden=(5,),
        d_hidden=(6,),
        image_shape=(1, 2, 3),
        rng=np.random.default_rng(0),
    )
    opts = [cr.optim.SGD(m.parameters(), lr=1e-2) for m in (gan.generator, gan.discriminator)]
    with pytest.raises(
        ValueError,
        match=r"label_smoothing must be a number in \[0, 0.5\), "
        "got False",
    ):
        GANTrainer(gan, *opts, label_smoothing=False)
    with pytest.raises(
        ValueError,
        match=r"data_range must be a pair of numbers \(low, high\) "
        r"or None, got \('-1', '1'\)",
    ):
        GANTrainer(gan, *opts, data_range=("-1", "1"))  # was float("-1"), float("1")
    trainer = GANTrainer(gan, *opts, label_smoothing=np.float32(0.1), data_range=(np.int8(-1), 1))
    assert trainer.data_range == (-1.0, 1.0)
