import numpy as np
import pytest

from chainrule.data import transforms as T


def test_scale_uint8_to_unit_interval():
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    np.testing.assert_allclose(T.scale(x), [[0.0, 128 / 255, 1.0]], rtol=1e-6)
    assert T.scale(x).dtype == np.float32


def test_scale_divides_other_data_by_its_maximum_or_max_value():
    np.testing.assert_allclose(T.scale(np.array([0, 50, 200])), [0.0, 0.25, 1.0])
    np.testing.assert_allclose(T.scale(np.array([0.0, 3.0]), max_value=6), [0.0, 0.5])
    assert T.scale(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]  # no 0 / 0
    assert T.scale(np.zeros((0, 4))).shape == (0, 4)


@pytest.mark.parametrize("data, match", [
    ([-5.0, 2.0], r"negative values \(min -5.0\)"),  # before: [-2.5, 1.0], outside [0, 1]
    ([-3.0, -1.0], "negative values"),  # before: "max_value must be positive", never given
    ([1.0, np.nan], "NaN or infinite"),  # before: all NaN
    ([1.0, np.inf], "NaN or infinite"),  # before: zeros and a NaN
])
def test_scale_refuses_data_it_cannot_bring_into_the_unit_interval(data, match):
    with pytest.raises(ValueError, match=match):
        T.scale(np.array(data))


@pytest.mark.parametrize("max_value", [0, -1.0, np.nan, np.inf])
def test_scale_refuses_a_max_value_that_is_not_positive_and_finite(max_value):
    with pytest.raises(ValueError, match="max_value must be a positive finite number"):
        T.scale(np.ones(3), max_value=max_value)


def test_standardize_reuses_training_statistics(rng):
    train = rng.normal(3.0, 2.0, size=(1000,))
    z, mean, std = T.standardize(train)
    assert abs(z.mean()) < 1e-5 and abs(z.std() - 1) < 1e-4
    z2, _, _ = T.standardize(np.array([mean]), mean, std)
    assert abs(z2[0]) < 1e-6


def test_one_hot():
    np.testing.assert_array_equal(T.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="label 3 is outside"):
        T.one_hot(np.array([3]), 3)
    with pytest.raises(TypeError, match="labels must be integers"):
        T.one_hot(np.array([1.0]), 3)


def test_noise_is_deterministic_under_a_seed():
    x = np.full((4, 5), 0.5, np.float32)
    a = T.add_gaussian_noise(x, 0.3, rng=np.random.default_rng(7))
    b = T.add_gaussian_noise(x, 0.3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1 and not np.array_equal(a, x)
    m = T.mask_noise(np.ones((100, 100)), 0.25, rng=np.random.default_rng(0))
    assert abs((m == 0).mean() - 0.25) < 0.02


def test_random_shift_moves_whole_pixels():
    img = np.zeros((1, 7, 7), np.float32)
    img[0, 3, 3] = 1.0
    out = T.random_shift(np.repeat(img, 50, 0), 2, rng=np.random.default_rng(0))
    assert out.shape == (50, 7, 7) and np.all(out.sum(axis=(1, 2)) == 1.0)
    ys, xs = np.nonzero(out.sum(axis=0))
    assert ys.min() >= 1 and ys.max() <= 5 and xs.min() >= 1 and xs.max() <= 5


def test_affine_identity_and_elastic_shapes(rng):
    imgs = rng.random((3, 2, 9, 9)).astype(np.float32)
    same = T.random_affine(imgs, rng=rng, degrees=0, translate=0, scale_range=(1, 1))
    np.testing.assert_allclose(same, imgs, atol=1e-6)
    e = T.elastic_distortion(imgs, rng=np.random.default_rng(1), alpha=0.0)
    np.testing.assert_allclose(e, imgs, atol=1e-6)
    e = T.elastic_distortion(imgs, rng=np.random.default_rng(1))
    assert e.shape == imgs.shape and e.dtype == np.float32 and not np.allclose(e, imgs)
    with pytest.raises(ValueError, match="expected images of shape"):
        T.random_affine(np.zeros(5), rng=rng)


def test_gaussian_noise_refuses_a_non_finite_sigma():
    # sigma=nan passed the "sigma < 0" check and gave an image of nans.
    for sigma in (float("nan"), float("inf"), -0.1):
        with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
            T.add_gaussian_noise(np.zeros((2, 2)), sigma, rng=np.random.default_rng(0))


@pytest.mark.parametrize("call, match", [
    (lambda x, r: T.random_shift(x, -2, rng=r), "max_shift must be a whole number"),  # NumPy's
    (lambda x, r: T.random_shift(x, 1.5, rng=r), "max_shift must be a whole number"),  # was 1
    (lambda x, r: T.random_affine(x, rng=r, degrees=-10), "degrees must be"),  # NumPy's
    (lambda x, r: T.random_affine(x, rng=r, translate=np.nan), "translate must be"),
    (lambda x, r: T.random_affine(x, rng=r, scale_range=(1.1, 0.9)), "low <= high"),
    (lambda x, r: T.random_affine(x, rng=r, scale_range=(0, 1)), "scale_range must be"),  # NaN
    (lambda x, r: T.elastic_distortion(x, rng=r, sigma=0), "sigma must be"),  # NaN images
    (lambda x, r: T.elastic_distortion(x, rng=r, alpha=np.inf), "alpha must be"),
])
def test_augmentations_refuse_bad_settings_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.ones((2, 6, 6), np.float32), np.random.default_rng(0))


@pytest.mark.parametrize("data, mean, std", [
    ([1.0, np.nan], None, None),  # before: every value NaN
    ([1.0, 2.0], None, np.inf),  # before: zeros
    ([1.0, 2.0], 0.0, -1.0),  # before: the signs flipped
])
def test_standardize_refuses_statistics_that_are_not_finite(data, mean, std):
    with pytest.raises(ValueError, match="standardize: mean and std must be finite"):
        T.standardize(np.array(data), mean, std)


def test_standardize_takes_statistics_per_channel():
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2)
    mean, std = x.mean(axis=(0, 2, 3), keepdims=True), x.std(axis=(0, 2, 3), keepdims=True)
    z, _, _ = T.standardize(x, mean, std)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-6)
