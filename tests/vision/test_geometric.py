"""Rotation, affine (shear), perspective, Pad, FiveCrop/TenCrop: torchvision's geometry.

Hand-computed expectations (rot90, a sheared known image, identity maps) and PyTorch's
``grid_sample`` as the sampling oracle; torchvision's own functions where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.vision.transforms.functional as F  # noqa: N812 - torchvision's spelling
from chainrule.vision import transforms
from chainrule.vision.transforms._warp import inverse_affine_matrix

IM = transforms.InterpolationMode


@pytest.fixture
def image():
    return np.random.default_rng(0).random((3, 7, 7)).astype(np.float32)


def test_rotation_by_90_degrees_is_rot90(image):
    for kind in (cr.tensor, lambda a: a.transpose(1, 2, 0)):  # a Tensor and an (H, W, C) array
        out = F.rotate(kind(image), 90)
        got = out.numpy() if isinstance(out, cr.Tensor) else out.transpose(2, 0, 1)
        np.testing.assert_array_equal(got, np.rot90(image, k=1, axes=(1, 2)))  # counter-clockwise
    wide = np.arange(3 * 4 * 6, dtype=np.float64).reshape(3, 4, 6)
    turned = F.rotate(cr.tensor(wide), -90, expand=True)
    np.testing.assert_array_equal(turned.numpy(), np.rot90(wide, k=-1, axes=(1, 2)))
    u8 = (image * 255).astype(np.uint8)
    np.testing.assert_array_equal(F.rotate(cr.tensor(u8), 180, IM.BILINEAR).numpy(),
                                  u8[:, ::-1, ::-1])


def test_shear_moves_each_row_by_its_distance_from_the_centre():
    x = np.arange(5 * 9, dtype=np.float64).reshape(1, 5, 9)
    out = F.affine(cr.tensor(x), 0.0, (0, 0), 1.0, 45.0).numpy()[0]  # x-shear of 45 degrees
    for y in range(5):
        for col in range(9):
            src = col + (y - 2)  # tan(45) = 1 column per row from the centre row 2
            assert out[y, col] == (x[0, y, src] if 0 <= src < 9 else 0.0)
    # a y-shear is the x-shear of the transposed image
    t = F.affine(cr.tensor(x.transpose(0, 2, 1).copy()), 0.0, (0, 0), 1.0, (0.0, 45.0)).numpy()
    np.testing.assert_array_equal(t[0].T, out)


def _grid_sample_oracle(torch, x, matrix, mode, out_hw=None):
    """torchvision's tensor warp written with PyTorch's affine_grid/grid_sample."""
    c, h, w = x.shape
    oh, ow = out_hw or (h, w)
    theta = torch.tensor(matrix, dtype=torch.float64).reshape(1, 2, 3)
    xs = torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow, dtype=torch.float64)
    ys = torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh, dtype=torch.float64)
    base = torch.stack([xs[None, :].expand(oh, ow), ys[:, None].expand(oh, ow),
                        torch.ones(oh, ow, dtype=torch.float64)], -1)
    grid = base.reshape(1, -1, 3) @ (theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h],
                                                                           dtype=torch.float64))
    return torch.nn.functional.grid_sample(torch.tensor(x)[None], grid.reshape(1, oh, ow, 2),
                                           mode=mode, padding_mode="zeros",
                                           align_corners=False)[0].numpy()


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_affine_samples_as_pytorchs_grid_sample(mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).random((2, 9, 12))
    for angle, translate, scale, shear in [(20.0, (2, -3), 1.2, (10.0, -5.0)),
                                           (-137.0, (0, 1), 0.8, (0.0, 0.0)),
                                           (0.0, (0, 0), 1.0, (30.0, 12.0))]:
        ours = F.affine(cr.tensor(x), angle, translate, scale, shear, mode).numpy()
        matrix = inverse_affine_matrix((0.0, 0.0), angle, translate, scale, shear)
        np.testing.assert_allclose(ours, _grid_sample_oracle(torch, x, matrix, mode),
                                   atol=1e-12)
    ours = F.rotate(cr.tensor(x), 33.0, mode, expand=True).numpy()
    matrix = inverse_affine_matrix((0.0, 0.0), -33.0, (0.0, 0.0), 1.0, (0.0, 0.0))
    np.testing.assert_allclose(ours, _grid_sample_oracle(torch, x, matrix, mode, ours.shape[1:]),
                               atol=1e-12)


def test_fill_replaces_or_blends_the_outside():
    x = np.ones((3, 6, 6))
    near = F.rotate(cr.tensor(x), 45, fill=[0.2, 0.4, 0.6]).numpy()
    corner = near[:, 0, 0]
    np.testing.assert_array_equal(corner, [0.2, 0.4, 0.6])
    assert near[0, 3, 3] == 1.0
    bil = F.rotate(cr.tensor(x), 45, IM.BILINEAR, fill=0.5).numpy()
    assert np.all((bil >= 0.5 - 1e-12) & (bil <= 1.0 + 1e-12)) and bil[0, 0, 0] == 0.5
    with pytest.raises(ValueError, match="fill must be a number or one per channel"):
        F.rotate(cr.tensor(x), 45, fill=[1, 2])
    with pytest.raises(ValueError, match="Tensors and arrays take NEAREST or BILINEAR"):
        F.rotate(cr.tensor(x), 45, IM.BICUBIC)


def test_perspective_identity_and_a_shift():
    x = np.random.default_rng(2).random((2, 6, 8))
    corners = [[0, 0], [7, 0], [7, 5], [0, 5]]
    np.testing.assert_allclose(F.perspective(cr.tensor(x), corners, corners).numpy(), x,
                               atol=1e-6)
    moved = [[1, 0], [8, 0], [8, 5], [1, 5]]  # every corner one pixel right
    out = F.perspective(cr.tensor(x), corners, moved, IM.NEAREST).numpy()
    np.testing.assert_array_equal(out[:, :, 1:], x[:, :, :-1].astype(np.float64))
    with pytest.raises(ValueError, match="4 \\[x, y\\] corners"):
        F.perspective(cr.tensor(x), corners[:3], moved[:3])


def test_random_rotation_draws_its_angle_and_is_reproducible(image):
    t = cr.tensor(image)
    fixed = transforms.RandomRotation((30, 30), interpolation=IM.BILINEAR, fill=0.25)
    np.testing.assert_array_equal(fixed(t).numpy(),
                                  F.rotate(t, 30.0, IM.BILINEAR, fill=[0.25] * 3).numpy())
    cr.manual_seed(3)
    a = transforms.RandomRotation(40, expand=True, center=None)(t).numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(transforms.RandomRotation(40, expand=True)(t).numpy(), a)
    angles = [transforms.RandomRotation.get_params((-10, 20), rng=np.random.default_rng(k))
              for k in range(50)]
    assert min(angles) >= -10 and max(angles) <= 20
    with pytest.raises(ValueError, match="degrees as a single number must be non-negative"):
        transforms.RandomRotation(-5)


def test_random_affine_shear_and_params():
    rng = np.random.default_rng(0)
    for _ in range(30):
        angle, (tx, ty), s, (sx, sy) = transforms.RandomAffine.get_params(
            (-5, 5), (0.1, 0.2), (0.9, 1.1), (-10, 10, 20, 30), (40, 20), rng=rng)
        assert -5 <= angle <= 5 and abs(tx) <= 4 and abs(ty) <= 4
        assert isinstance(tx, int) and 0.9 <= s <= 1.1 and -10 <= sx <= 10 and 20 <= sy <= 30
    x = np.random.default_rng(1).random((3, 9, 9)).astype(np.float32)
    sheared = transforms.RandomAffine(0, shear=(45, 45))(cr.tensor(x)).numpy()
    np.testing.assert_array_equal(sheared, F.affine(cr.tensor(x), 0.0, (0, 0), 1.0, 45.0,
                                                    fill=[0.0] * 3).numpy())
    with pytest.raises(ValueError, match="shear must be a number or a sequence of 2 or 4"):
        transforms.RandomAffine(0, shear=(1, 2, 3))
    with pytest.raises(ValueError, match="translate must be two fractions"):
        transforms.RandomAffine(0, translate=(2, 0))


def test_random_perspective_corners_and_probability():
    rng = np.random.default_rng(0)
    for _ in range(30):
        start, end = transforms.RandomPerspective.get_params(20, 10, 0.5, rng=rng)
        assert start == [[0, 0], [19, 0], [19, 9], [0, 9]]
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = end
        assert 0 <= x0 <= 5 and 0 <= y0 <= 2 and 14 <= x1 <= 19 and 0 <= y1 <= 2
        assert 14 <= x2 <= 19 and 7 <= y2 <= 9 and 0 <= x3 <= 5 and 7 <= y3 <= 9
    t = cr.rand(3, 10, 20)
    assert transforms.RandomPerspective(p=0.0)(t) is t
    out = transforms.RandomPerspective(p=1.0, fill=1.0)(t)
    assert out.shape == t.shape and not np.array_equal(out.numpy(), t.numpy())


def test_pad_five_crop_and_ten_crop():
    x = np.arange(2 * 4 * 5).reshape(4, 5, 2).astype(np.uint8)  # an (H, W, C) array
    padded = transforms.Pad((1, 2), fill=(7, 9))(x)
    assert padded.shape == (8, 7, 2) and padded[0, 0].tolist() == [7, 9]
    np.testing.assert_array_equal(padded[2:6, 1:6], x)
    np.testing.assert_array_equal(F.pad(x, 1, padding_mode="edge")[0, 1:-1], x[0])
    np.testing.assert_array_equal(F.pad(x, [-1, 0, 0, -1]), x[:3, 1:])
    t = cr.tensor(np.arange(36.0).reshape(1, 6, 6))
    tl, tr, bl, br, c = transforms.FiveCrop(4)(t)
    np.testing.assert_array_equal(tr.numpy(), t.numpy()[:, :4, 2:])
    np.testing.assert_array_equal(bl.numpy(), t.numpy()[:, 2:, :4])
    np.testing.assert_array_equal(c.numpy(), t.numpy()[:, 1:5, 1:5])
    ten = transforms.TenCrop((4, 3), vertical_flip=True)(t)
    assert len(ten) == 10
    np.testing.assert_array_equal(ten[5].numpy(), t.numpy()[:, ::-1][:, :4, :3])
    with pytest.raises(ValueError, match="bigger than the image"):
        transforms.FiveCrop(7)(t)


def test_pil_images_go_through_pillow():
    pil = pytest.importorskip("PIL.Image")
    a = (np.random.default_rng(0).random((6, 6, 3)) * 255).astype(np.uint8)
    img = pil.fromarray(a)
    out = transforms.RandomRotation((90, 90), fill=(1, 2, 3))(img)
    assert isinstance(out, pil.Image)
    np.testing.assert_array_equal(np.asarray(out), np.rot90(a, k=1))
    sheared = F.affine(img, 0.0, (0, 0), 1.0, 20.0, IM.BICUBIC)
    assert isinstance(sheared, pil.Image) and sheared.size == img.size


def _torchvision():
    pytest.importorskip("torch")
    return pytest.importorskip("torchvision.transforms.functional")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_matches_torchvision(dtype, mode):
    tf = _torchvision()
    import torch
    from torchvision.transforms import InterpolationMode

    x = np.random.default_rng(4).random((3, 11, 14)) * 255
    x = x.astype(dtype)
    im = InterpolationMode(mode)
    atol = 1 if dtype == np.uint8 else 1e-3  # uint8: ties of x.5 may round either way
    for fill in (None, [10.0, 20.0, 30.0]):
        for angle, expand, center in [(33.3, False, None), (-170.0, True, (3, 4))]:
            ours = F.rotate(cr.tensor(x), angle, mode, expand, center, fill).numpy()
            theirs = tf.rotate(torch.tensor(x), angle, im, expand, center, fill).numpy()
            np.testing.assert_allclose(ours.astype(float), theirs, atol=atol)
        ours = F.affine(cr.tensor(x), 20, (2, -3), 1.2, (10, -5), mode, fill, (5, 2)).numpy()
        theirs = tf.affine(torch.tensor(x), 20, (2, -3), 1.2, (10, -5), im, fill,
                           (5, 2)).numpy()
        np.testing.assert_allclose(ours.astype(float), theirs, atol=atol)
        start, end = [[0, 0], [13, 0], [13, 10], [0, 10]], [[2, 1], [12, 3], [11, 9], [1, 10]]
        ours = F.perspective(cr.tensor(x), start, end, mode, fill).numpy()
        theirs = tf.perspective(torch.tensor(x), start, end, im, fill).numpy()
        np.testing.assert_allclose(ours.astype(float), theirs, atol=atol)


def test_elastic_transform_moves_pixels_by_the_displacement():
    x = np.random.default_rng(5).random((2, 6, 8))
    still = np.zeros((1, 6, 8, 2))
    np.testing.assert_allclose(F.elastic_transform(cr.tensor(x), still).numpy(), x, atol=1e-12)
    right = still.copy()
    right[..., 0] = 2 / 8  # one pixel in grid_sample's normalised x
    out = F.elastic_transform(cr.tensor(x), right, IM.NEAREST, fill=[7.0, 7.0]).numpy()
    np.testing.assert_array_equal(out[:, :, :-1], x[:, :, 1:])
    assert np.all(out[:, :, -1] == 7.0)
    with pytest.raises(ValueError, match=r"displacement must have shape \(1, 6, 8, 2\)"):
        F.elastic_transform(cr.tensor(x), np.zeros((6, 8, 2)))
    field = transforms.ElasticTransform.get_params([30.0, 30.0], [3.0, 3.0], [24, 24],
                                                   rng=np.random.default_rng(0))
    assert field.shape == (1, 24, 24, 2) and np.abs(field).max() < 30 / 24
    t = cr.rand(3, 24, 24)
    cr.manual_seed(1)
    a = transforms.ElasticTransform(alpha=20.0, sigma=3.0)(t).numpy()
    cr.manual_seed(1)
    np.testing.assert_array_equal(transforms.ElasticTransform(alpha=20.0, sigma=3.0)(t).numpy(),
                                  a)
    assert not np.array_equal(a, t.numpy())


@pytest.mark.torch
def test_elastic_transform_matches_torchvision():
    tf = _torchvision()
    import torch

    x = np.random.default_rng(6).random((3, 20, 24)).astype(np.float32)
    field = transforms.ElasticTransform.get_params([30.0, 20.0], [3.0, 2.0], [20, 24],
                                                   rng=np.random.default_rng(0))
    from torchvision.transforms import InterpolationMode

    for mode in ("nearest", "bilinear"):
        ours = F.elastic_transform(cr.tensor(x), field, mode, [0.5, 0.2, 0.1]).numpy()
        theirs = tf.elastic_transform(torch.tensor(x), torch.tensor(field),
                                      InterpolationMode(mode), [0.5, 0.2, 0.1]).numpy()
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
