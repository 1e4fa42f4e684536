"""transforms.v2.GaussianBlur's one-element sigma and Pad's fill check, as torchvision's
(v2's _setup_number_or_seq; v1's Pad refuses a fill that is not a number, tuple or list)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import transforms
from chainrule.vision.transforms import v2


def _tv2():
    try:  # a torchvision built for another torch fails with RuntimeError, not ImportError
        import torchvision.transforms.v2 as tv2
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"torchvision does not import: {e!r}")
    return tv2


def test_v2_gaussian_blur_takes_a_one_element_sigma():
    blur = v2.GaussianBlur(3, sigma=[0.7])
    assert blur.sigma == (0.7, 0.7)
    image = cr.tensor(np.random.default_rng(0).random((3, 6, 6)))
    fixed = v2.GaussianBlur(3, sigma=0.7)(image)
    np.testing.assert_array_equal(blur(image).numpy(), fixed.numpy())
    with pytest.raises(ValueError, match="sigma"):  # v1 refuses it, as torchvision's v1
        transforms.GaussianBlur(3, sigma=[0.7])
    with pytest.raises(ValueError, match="sigma"):
        v2.GaussianBlur(3, sigma=[-1.0])


def test_v2_gaussian_blur_sigma_matches_torchvision():
    tv2 = _tv2()
    for sigma in ([0.7], (0.2, 1.5), 2, [3.0]):
        assert list(v2.GaussianBlur(3, sigma=sigma).sigma) == tv2.GaussianBlur(3, sigma).sigma


@pytest.mark.parametrize("fill", ["a", object()])
def test_pad_refuses_a_fill_of_another_kind_at_construction(fill):
    for cls in (transforms.Pad, v2.Pad):
        with pytest.raises(TypeError, match="Pad: fill must be a number"):
            cls(1, fill=fill)
    for fill in (0, 1.5, (1, 2, 3), [4]):
        transforms.Pad(1, fill=fill)
    with pytest.raises(TypeError, match="fill"):  # v1's refuses None too
        transforms.Pad(1, fill=None)


def test_pad_fill_check_matches_torchvision():
    tv2 = _tv2()
    import torchvision.transforms as tv1

    for cls in (tv1.Pad, tv2.Pad):
        with pytest.raises(TypeError):
            cls(1, fill="a")
