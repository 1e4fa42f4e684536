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
    mlp = MLP((4, 2), rng=np.random.default_rng(0))  # no hidden layer: checked, nothing trained
    x = images[:, 0, :2, :2]
    kwargs = {"corruption": np.float32(0.1), "rng": 0}
    assert pretrain_layerwise(mlp, x, epochs=np.int64(1), batch_size=np.int64(2), **kwargs) == []


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


def test_numpy_scalars_in_train():
    from chainrule.train import (
        EarlyStopping,
        ProfileSteps,
        TerminateOnNaN,
        Trainer,
        confusion_matrix,
        top_k_accuracy,
    )

    stop = EarlyStopping(
        patience=np.int64(2),
        start_from_epoch=np.int32(1),
        verbose=0,
        min_delta=np.float32(0.5),
        baseline=np.float32(1.0),
    )
    assert (stop.patience, stop.start_from_epoch, stop.min_delta, stop.baseline) == (2, 1, 0.5, 1.0)
    assert type(stop.patience) is int
    with pytest.raises(ValueError, match="EarlyStopping: patience must be an int >= 0, got True"):
        EarlyStopping(patience=True)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max', got 'MIN'"):
        EarlyStopping(mode="MIN")
    y = np.array([0, 1, 1])
    assert confusion_matrix(y, y, np.int64(2)).tolist() == [[1, 0], [0, 2]]
    scores = np.eye(2)[y]
    assert top_k_accuracy(y, scores, k=np.int64(1)) == 1.0
    from chainrule.train import accuracy

    assert accuracy(y, np.array([0, 0, 1]), ignore_index=np.int64(1)) == 1.0  # was refused
    with pytest.raises(ValueError, match=r"accuracy: ignore_index must be an int \(or None\)"):
        accuracy(y, y, ignore_index=True)
    with pytest.raises(ValueError, match=r"top_k_accuracy: k must be an int in \[1, 2\], got 3"):
        top_k_accuracy(y, scores, k=3)
    assert ProfileSteps(np.int64(1), wait=np.int64(0)).steps == 1
    assert cr.train.ProgressBar(width=np.int64(40)).width == 40  # was refused
    assert TerminateOnNaN(growth=np.float32(1e3)).growth == 1e3
    model = cr.nn.Linear(2, 1)
    trainer = Trainer(model, cr.nn.MSELoss(), cr.optim.SGD(model.parameters(), lr=0.1))
    x = np.ones((4, 2), np.float32)
    history = trainer.fit(x, x[:, :1], epochs=np.int64(0), verbose=0)  # was refused
    assert history.epoch == []
    with pytest.raises(ValueError, match=r"fit: epochs must be an int >= 0, got np.float64\(2.0\)"):
        trainer.fit(x, x[:, :1], epochs=np.float64(2.0), verbose=0)


def test_numpy_scalars_in_explain():
    from chainrule.explain import lrp, noise_tunnel, saliency, sparsity_schedule

    # isinstance(amount, (int, float)) refused np.float32; (int, float, np.floating) refused
    # np.int64 as lrp's epsilon and noise_tunnel's stdev
    assert sparsity_schedule(np.float32(0.75), np.int64(2)) == sparsity_schedule(0.75, 2)
    with pytest.raises(
        ValueError,
        match=r"sparsity_schedule: amount must be the share of "
        r"weights to prune, a number in \[0, 1\), got True",
    ):
        sparsity_schedule(True, 2)
    model = cr.nn.Sequential(cr.nn.Linear(3, 2))
    x = np.ones((2, 3), np.float32)
    assert lrp(model, x, target=0, epsilon=np.int64(1)).shape == (2, 3)
    smooth = noise_tunnel(saliency, model, x, target=0, stdev=np.int64(0), n_samples=np.int64(2))
    np.testing.assert_allclose(smooth, saliency(model, x, target=0))
    with pytest.raises(ValueError, match="noise_tunnel: stdev must be a finite number >= 0"):
        noise_tunnel(saliency, model, x, target=0, stdev=np.nan)


def test_holdout_split_takes_a_numpy_fraction():
    from chainrule.data.split import holdout_split

    labels = np.array([0, 0, 1, 1])
    train, val = holdout_split(labels, np.float32(0.5), 0)  # isinstance (int, float) refused it
    assert len(train) == len(val) == 2
    with pytest.raises(ValueError, match=r"holdout_split: fraction must be a number in \[0, 1\)"):
        holdout_split(labels, True, 0)


def test_read_image_extent(tmp_path):
    from chainrule.data.images import read_image

    missing = tmp_path / "none.png"
    with pytest.raises(FileNotFoundError):  # np.float32 passes the check (was refused)
        read_image(missing, (1, 4, 4), extent=np.float32(0.5))
    with pytest.raises(
        ValueError, match=r"extent must be a fraction, a number in \(0, 1\], got True"
    ):
        read_image(missing, (1, 4, 4), extent=True)  # was taken as 1
