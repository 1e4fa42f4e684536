"""Twenty-fourth fuzz wave, chainrule.vision.transforms: ToPILImage over every dtype, channel
count and mode, read back and compared with the values it was given (torchvision's rules: floats
times 255 and truncated, or kept for mode "F"); Pillow reinterpreted two of them silently."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision import transforms
from chainrule.vision.transforms import functional as F  # noqa: N812 - torchvision's spelling
from chainrule.vision.transforms import v2


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_to_pil_image_mode_f_keeps_the_values_of_any_float_dtype(dtype):
    pytest.importorskip("PIL")
    # a float64 Tensor with mode="F" came back as Pillow's reading of its bytes: 5.6e27, 1.18...
    x = np.random.default_rng(0).random((1, 3, 4)).astype(dtype)
    out = transforms.ToPILImage("F")(cr.tensor(x))
    assert out.mode == "F" and out.size == (4, 3)
    np.testing.assert_array_equal(np.asarray(out), x[0].astype(np.float32))


def test_to_pil_image_mode_1_of_bools_keeps_them():
    pytest.importorskip("PIL")
    # mode="1" of a bool Tensor gave all-False (its bytes read as packed bits)
    x = np.random.default_rng(1).random((1, 5, 6)) > 0.5
    for mode in (None, "1"):
        out = transforms.ToPILImage(mode)(cr.tensor(x))
        assert out.mode == "1"
        np.testing.assert_array_equal(np.asarray(out), x[0])


def test_to_pil_image_refuses_more_than_four_channels_by_name():
    pytest.importorskip("PIL")
    with pytest.raises(ValueError, match="should not have > 4 channels, got 5"):
        transforms.ToPILImage()(cr.rand(5, 3, 4))
    with pytest.raises(ValueError, match="should not have > 4 channels, got 32"):
        transforms.ToPILImage()(np.zeros((3, 32, 32), np.uint8))  # a (C, H, W) array


@pytest.mark.parametrize("target", [np.uint8, np.int16])
def test_float16_images_scale_to_integers_as_float32_ones_do(target):
    # 255.999 rounds to 256 in float16: white (1.0) became 0, black (torchvision's own result,
    # deliberately not followed), and 0.5 became 128 where float32 gives 127
    x = np.concatenate([[1.0, 0.5, 0.0], np.random.default_rng(2).random(29)]).astype(np.float16)
    image = x.reshape(2, 4, 4)
    expected = F.convert_image_dtype(cr.tensor(image.astype(np.float32)), target).numpy()
    assert expected[0, 0, :3].tolist() == [np.iinfo(target).max, np.iinfo(target).max // 2, 0]
    for ours in (
        F.convert_image_dtype(cr.tensor(image), target),
        v2.ToDtype(target, scale=True)(cr.tensor(image)),
    ):
        assert ours.dtype == target
        np.testing.assert_array_equal(ours.numpy(), expected)
    if target == np.uint8:  # v2's equalize goes through uint8 the same way: the same levels
        ours = v2.functional.equalize(cr.tensor(image)).numpy().astype(np.float32)
        theirs = v2.functional.equalize(cr.tensor(image.astype(np.float32))).numpy()
        np.testing.assert_array_equal(np.rint(ours * 255), np.rint(theirs * 255))


def test_normalize_broadcasts_one_mean_or_std_and_refuses_a_std_that_becomes_zero():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).random((2, 3, 4, 5)).astype(np.float32)
    for mean, std in (([0.5], [0.1, 0.2, 0.3]), ([0.4, 0.5, 0.6], [0.25])):
        ours = transforms.Normalize(mean, std)(cr.tensor(x)).numpy()
        theirs = (torch.tensor(x) - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(
            -1, 1, 1
        )
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)
    # 1e-50 is 0 in float32: the image became inf (torchvision checks after the conversion)
    with pytest.raises(ValueError, match=r"std \[1e-50\] evaluated to zero .* float32"):
        transforms.Normalize([0.5], [1e-50])(cr.tensor(x))
    with pytest.raises(ValueError, match="one value per channel"):
        transforms.Normalize([0.5, 0.5], [0.1, 0.2, 0.3])


def test_pad_refuses_a_fill_outside_the_integer_dtype_and_crop_a_negative_size():
    torch = pytest.importorskip("torch")
    image = np.zeros((1, 3, 3), np.uint8)
    for fill in (300, -1):  # 300 became 44, -1 became 255
        with pytest.raises(RuntimeError, match="without overflow"):
            torch.nn.functional.pad(torch.tensor(image), (1, 1, 1, 1), value=fill)
        with pytest.raises(ValueError, match=rf"fill {fill} cannot be converted to uint8"):
            F.pad(cr.tensor(image), 1, fill=fill)
    assert F.pad(cr.tensor(image), 1, fill=255).numpy()[0, 0].tolist() == [255] * 5
    # a height of -1 sliced [0:-1] (torchvision's too): all the rows but one
    with pytest.raises(ValueError, match="height and width must be >= 0, got -1 and 5"):
        F.crop(cr.rand(3, 6, 8), 0, 0, -1, 5)


def test_random_transforms_refuse_ranges_that_fail_later_by_name():
    # each failed inside with "too many values to unpack" or "math domain error" (at the first
    # call, or only at the calls whose draw was negative)
    with pytest.raises(TypeError, match="brightness should be a single number or a list/tuple"):
        transforms.ColorJitter(brightness=[0.5, 1.0, 1.5])
    with pytest.raises(TypeError, match="hue should be a single number or a list/tuple"):
        transforms.ColorJitter(hue=(0.1,))
    with pytest.raises(ValueError, match=r"RandomErasing: ratio must be positive, got \(0, 1\)"):
        transforms.RandomErasing(ratio=(0, 1))
    with pytest.raises(ValueError, match=r"RandomResizedCrop: scale must be >= 0 and ratio > 0"):
        transforms.RandomResizedCrop(4, scale=(-1, 1))
    with pytest.raises(ValueError, match=r"RandomResizedCrop: scale must be >= 0 and ratio > 0"):
        transforms.RandomResizedCrop(4, ratio=(0, 1))
    jitter = transforms.ColorJitter(brightness=[0.5, 1.5], hue=[-0.1, 0.1])
    assert jitter(cr.rand(3, 4, 4)).shape == (3, 4, 4)


def test_only_normalize_records_a_graph_the_others_refuse_an_image_that_requires_grad(tmp_path):
    from chainrule.vision.folder import make_dataset

    x = cr.rand(3, 6, 6, requires_grad=True)
    assert transforms.Normalize([0.5], [0.2])(x).requires_grad
    # the others are refused: their output did not require grad, so a gradient stopped silently
    for transform in (lambda t: F.resize(t, [3, 3]), F.hflip, lambda t: F.adjust_brightness(t, 2)):
        with pytest.raises(RuntimeError, match="requires grad, but this transform .* not recorded"):
            transform(x)
        with cr.no_grad():
            assert not transform(x).requires_grad
        assert not transform(x.detach()).requires_grad
    # an empty class_to_idx collected nothing without a word (torchvision: ValueError)
    with pytest.raises(ValueError, match="class_to_idx must have at least one entry"):
        make_dataset(tmp_path, {}, extensions=(".png",))


@pytest.mark.parametrize("inplace", [True, False])
def test_erase_records_the_window_as_torchvisions_slice_assignment(inplace):
    torch = pytest.importorskip("torch")
    # the window was written into the Tensor's data behind autograd's back: gradients flowed
    # through the erased pixels, and a leaf that requires grad was changed silently
    rng = np.random.default_rng(5)
    a, v = rng.random((2, 3, 6, 6)), rng.standard_normal((3, 1, 1))
    x = cr.tensor(a, requires_grad=True)
    out = F.erase(x * 2, 1, 2, 2, 3, cr.tensor(v), inplace=inplace)
    (out**2).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ty = tx * 2
    ty = ty if inplace else ty.clone()
    ty[..., 1:3, 2:5] = torch.tensor(v)
    (ty**2).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    if inplace:
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            F.erase(cr.rand(3, 4, 4, requires_grad=True), 0, 0, 2, 2, 0.0, inplace=True)


def _torch_expanded_size(torch, matrix, w, h):
    """torchvision's _compute_affine_output_size, in torch."""
    pts = torch.tensor(
        [[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h, 1.0]]
        + [[0.5 * w, -0.5 * h, 1.0]]
    )
    moved = torch.matmul(pts, torch.tensor(matrix, dtype=torch.float).view(2, 3).T)
    low, high = moved.aminmax(dim=0)
    halfs = torch.tensor((w * 0.5, h * 0.5))
    low, high = low + halfs, high + halfs
    cmax = high.mul_(1.0 / 1e-4).trunc_().mul_(1e-4).ceil_()
    cmin = low.mul_(1.0 / 1e-4).trunc_().mul_(1e-4).floor_()
    size = cmax - cmin
    return int(size[1]), int(size[0])


def test_rotate_with_expand_takes_torchvisions_output_size():
    torch = pytest.importorskip("torch")
    from chainrule.vision.transforms._warp import inverse_affine_matrix

    # numpy's float32 matmul gave -123.50001 where PyTorch's gives -123.5: one row more
    cases = [(271, 135, 118.1878205634066)]
    rng = np.random.default_rng(6)
    cases += [
        (int(h), int(w), float(a))
        for h, w, a in zip(*rng.integers(1, 60, (2, 20)), rng.uniform(-360, 360, 20))
    ]
    for h, w, angle in cases:
        matrix = inverse_affine_matrix((0.0, 0.0), -angle, (0.0, 0.0), 1.0, (0.0, 0.0))
        out = F.rotate(cr.zeros(1, h, w), angle, expand=True)
        assert tuple(out.shape[1:]) == _torch_expanded_size(torch, matrix, w, h), (h, w, angle)


def test_perspective_refuses_corners_that_define_no_transform():
    torch = pytest.importorskip("torch")
    start = [[0, 0], [2, 0], [2, 4], [0, 4]]
    for end in ([[0, -1], [4, -2], [0, 3], [0, 2]], [[2, 0], [5, 1], [2, 0], [2, 4]]):
        # NumPy's least squares answered a rank-7 system (PyTorch's lstsq, torchvision's
        # solver, refuses the first and returns its own, other, answer for the second)
        rows = [
            r
            for (x, y), (u, v) in zip(end, start)
            for r in ([x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y])
        ]
        assert int(torch.linalg.matrix_rank(torch.tensor(rows, dtype=torch.float64))) == 7
        with pytest.raises(ValueError, match="no perspective transform maps endpoints .* rank 7"):
            F.perspective(cr.rand(1, 5, 3), start, end)


def test_elastic_transform_samples_torchvisions_float32_grid():
    torch = pytest.importorskip("torch")
    # the identity grid came from NumPy's linspace, an ulp away from PyTorch's: displacements
    # of whole pixels put samples on a rounding edge, and nearest took the neighbouring pixel
    rng = np.random.default_rng(8)
    for _ in range(12):
        h, w = (int(v) for v in rng.integers(5, 25, 2))
        x = rng.integers(0, 256, (2, h, w)).astype(np.uint8)
        shift = np.round(rng.standard_normal((1, h, w, 2)) * 2) / np.array([w, h])
        shift = shift.astype(np.float32)
        space = [torch.linspace((1 - s) / s, (s - 1) / s, s) for s in (h, w)]
        grid_y, grid_x = torch.meshgrid(space, indexing="ij")
        grid = torch.stack([grid_x, grid_y], -1)[None] + torch.tensor(shift)
        theirs = torch.nn.functional.grid_sample(
            torch.tensor(x, dtype=torch.float32)[None], grid, "nearest", "zeros", False
        )[0]
        ours = F.elastic_transform(cr.tensor(x), cr.tensor(shift), "nearest").numpy()
        np.testing.assert_array_equal(ours, theirs.to(torch.uint8).numpy())


def test_adjust_hue_turns_a_float16_image_in_float32_as_torchvision():
    # torchvision converts to float32 for the HSV round trip; float16 arithmetic was up to
    # 12 float16 ulps (0.006) off
    x = np.random.default_rng(9).random((2, 3, 5, 6)).astype(np.float16)
    for factor in (-0.5, -0.2, 0.1, 0.5):
        ours = F.adjust_hue(cr.tensor(x), factor)
        assert ours.dtype == cr.float16
        in_float32 = F.adjust_hue(cr.tensor(x.astype(np.float32)), factor).numpy()
        np.testing.assert_array_equal(ours.numpy(), in_float32.astype(np.float16))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_resize_of_float16_is_float32_rounded_back_as_torchvision(mode):
    torch = pytest.importorskip("torch")
    # float16 was resized in float16 arithmetic: about a third of the pixels an ulp from
    # torchvision's, which resizes in float32 and rounds back once
    x = np.random.default_rng(10).random((3, 9, 13)).astype(np.float16)
    ours = F.resize(cr.tensor(x), [7, 17], getattr(transforms.InterpolationMode, mode.upper()))
    in_float32 = F.resize(
        cr.tensor(x.astype(np.float32)),
        [7, 17],
        getattr(transforms.InterpolationMode, mode.upper()),
    )
    assert ours.dtype == cr.float16
    np.testing.assert_array_equal(ours.numpy(), in_float32.numpy().astype(np.float16))
    theirs = torch.nn.functional.interpolate(
        torch.tensor(x).float()[None], size=[7, 17], mode=mode, antialias=True, align_corners=False
    )[0].half()
    assert (ours.numpy() != theirs.numpy()).mean() < 0.02


@pytest.mark.parametrize("mode", ["P", "PA", "CMYK", "YCbCr", "RGBX"])
def test_pil_crops_and_flips_keep_the_images_mode(mode):
    image_module = pytest.importorskip("PIL.Image")
    # the result was made from its array alone: a "P" image came back "L" (palette indices as
    # grey levels), "CMYK" as "RGBA", "YCbCr" as "RGB"; torchvision's PIL path keeps the mode
    rgb = np.random.default_rng(11).integers(0, 256, (6, 8, 3)).astype(np.uint8)
    image = image_module.fromarray(rgb).convert(mode)
    pairs = [
        (F.hflip(image), image.transpose(image_module.Transpose.FLIP_LEFT_RIGHT)),
        (F.crop(image, 1, 2, 3, 4), image.crop((2, 1, 6, 4))),
        (transforms.CenterCrop(4)(image), image.crop((2, 1, 6, 5))),
    ]
    for ours, theirs in pairs:
        assert ours.mode == theirs.mode == mode
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        assert ours.getpalette() == theirs.getpalette()
