"""chainrule.vision.transforms.v2.functional: torchvision.transforms.v2.functional's names (v1's
operations plus v2's own), against hand-worked values and torchvision's where it imports."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision.transforms import v2
from chainrule.vision.transforms.v2 import functional as F


def test_the_module_and_v2s_own_names():
    import chainrule.vision.transforms.v2.functional as same

    assert same is F is v2.functional
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) / 24
    t = cr.tensor(x)
    assert F.get_size(t) == [3, 4] and F.get_num_channels(t) == 2
    assert F.get_image_size(t) == [4, 3]  # v1's order, still there
    np.testing.assert_array_equal(F.horizontal_flip(t).numpy(), x[:, :, ::-1])
    np.testing.assert_array_equal(F.vertical_flip(t).numpy(), x[:, ::-1])
    np.testing.assert_array_equal(F.permute_channels(t, [1, 0]).numpy(), x[::-1])
    with pytest.raises(ValueError, match="length of permutation does not match"):
        F.permute_channels(t, [0])
    assert F.grayscale_to_rgb(t[:1]).shape == (3, 3, 4)
    assert F.grayscale_to_rgb(cr.zeros(3, 2, 2)).shape == (3, 2, 2)
    image = F.to_image((x[0] * 255).astype(np.uint8))
    assert image.shape == (1, 3, 4) and image.dtype == cr.uint8
    as_float = F.to_dtype(image, cr.float32, scale=True)
    np.testing.assert_allclose(as_float.numpy(), image.numpy() / 255, rtol=1e-6)
    assert F.to_dtype(image).dtype == cr.float32 and float(F.to_dtype(image).max()) > 1
    np.testing.assert_array_equal(F.posterize(t, 1).numpy(), np.floor(x * 2) / 2)
    noisy = F.gaussian_noise(t, sigma=0.5, rng=np.random.default_rng(0))
    assert 0 <= float(noisy.min()) and float(noisy.max()) <= 1
    assert F.resize(t, [6, 8]).shape == (2, 6, 8) and F.elastic is F.elastic_transform


@pytest.mark.torch
def test_v2_functional_matches_torchvision():
    torch = pytest.importorskip("torch")
    try:
        import torchvision.transforms.v2.functional as tvf
    except Exception as e:  # noqa: BLE001 - a torchvision built for another torch
        pytest.skip(f"torchvision does not import: {e!r}")
    rng = np.random.default_rng(1)
    x = rng.random((3, 6, 7)).astype(np.float32)
    calls = [lambda M, L: M.equalize(L.tensor(x)), lambda M, L: M.posterize(L.tensor(x), 3),
             lambda M, L: M.grayscale_to_rgb(L.tensor(x[:1])),
             lambda M, L: M.permute_channels(L.tensor(x), [2, 0, 1]),
             lambda M, L: M.to_dtype(L.tensor(x), L.uint8, scale=True),
             lambda M, L: M.rgb_to_grayscale(L.tensor(x)), lambda M, L: M.resize(L.tensor(x), 4),
             lambda M, L: M.adjust_hue(L.tensor(x), 0.2)]
    for call in calls:
        ours, theirs = call(F, cr).numpy(), call(tvf, torch).numpy()
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
