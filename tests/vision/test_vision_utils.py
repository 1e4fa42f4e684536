"""chainrule.vision.utils.make_grid / save_image against torchvision's documented rules (expected
grids written out by hand), and against torchvision itself when it is installed."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.vision.utils import make_grid, save_image

P = 9.0  # the pad value of the layout tests


def _images():
    """Three one-channel 2x2 images: image k holds 10k, 10k+1 (top row), 10k+2, 10k+3."""
    return cr.tensor(np.arange(12, dtype=np.float64).reshape(3, 1, 2, 2)
                     + np.array([0, 6, 12]).reshape(3, 1, 1, 1))


def test_grid_layout_rows_padding_and_pad_value():
    grid = make_grid(_images(), nrow=2, padding=1, pad_value=P)
    expected = np.array([
        [P, P, P, P, P, P, P],
        [P, 0, 1, P, 10, 11, P],
        [P, 2, 3, P, 12, 13, P],
        [P, P, P, P, P, P, P],
        [P, 20, 21, P, P, P, P],
        [P, 22, 23, P, P, P, P],
        [P, P, P, P, P, P, P],
    ])
    assert grid.shape == (3, 7, 7) and grid.dtype == cr.float64
    for channel in grid.numpy():  # one channel repeated to three
        np.testing.assert_array_equal(channel, expected)


def test_grid_in_one_row_without_padding():
    grid = make_grid(_images(), padding=0).numpy()  # nrow=8 > 3 images: one row
    np.testing.assert_array_equal(grid[0], [[0, 1, 10, 11, 20, 21], [2, 3, 12, 13, 22, 23]])


def test_default_padding_is_two_zero_pixels():
    grid = make_grid(cr.ones(2, 3, 1, 1)).numpy()
    assert grid.shape == (3, 5, 8)
    np.testing.assert_array_equal(grid[1], [[0] * 8, [0] * 8, [0, 0, 1, 0, 0, 1, 0, 0],
                                            [0] * 8, [0] * 8])


def test_list_of_images_is_the_stacked_batch():
    images = _images()
    as_list = make_grid([images[0], images[1], images[2]], nrow=2, padding=1)
    np.testing.assert_array_equal(as_list.numpy(), make_grid(images, nrow=2, padding=1).numpy())


def test_single_images_come_back_without_padding():
    image = np.array([[0.1, 0.2], [0.3, 0.4]])
    for given in (cr.tensor(image), cr.tensor(image[None]), cr.tensor(image[None, None])):
        grid = make_grid(given, padding=5)
        np.testing.assert_array_equal(grid.numpy(), np.stack([image] * 3))
    rgb = np.arange(12.0).reshape(3, 2, 2)
    np.testing.assert_array_equal(make_grid(cr.tensor(rgb)).numpy(), rgb)


def test_channels_other_than_one_are_kept():
    for channels in (2, 3, 4):
        grid = make_grid(cr.zeros(2, channels, 3, 3), padding=1)
        assert grid.shape == (channels, 5, 9)


def test_normalize_by_the_batch_range():
    batch = cr.tensor(np.array([-1.0, 0.0, 1.0, 3.0]).reshape(2, 1, 1, 2))
    grid = make_grid(batch, normalize=True, padding=0).numpy()
    np.testing.assert_allclose(grid[0], [[0.0, 0.25, 0.5, 1.0]], rtol=0, atol=1e-15)
    assert batch.numpy()[0, 0, 0, 0] == -1.0  # the input is left alone


def test_normalize_with_value_range_clamps_first():
    batch = cr.tensor(np.array([-1.0, 0.5, 1.0, 3.0]).reshape(2, 1, 1, 2))
    grid = make_grid(batch, normalize=True, value_range=(0, 2), padding=0).numpy()
    np.testing.assert_allclose(grid[2], [[0.0, 0.25, 0.5, 1.0]], rtol=0, atol=1e-15)


def test_scale_each_uses_each_images_range():
    batch = cr.tensor(np.array([0.0, 2.0, 10.0, 30.0]).reshape(2, 1, 1, 2))
    grid = make_grid(batch, normalize=True, scale_each=True, padding=0).numpy()
    np.testing.assert_allclose(grid[0], [[0.0, 1.0, 0.0, 1.0]], rtol=0, atol=1e-15)


def test_a_constant_image_normalizes_to_zero_not_nan():
    grid = make_grid(cr.full((2, 1, 2, 2), 0.7), normalize=True).numpy()
    assert np.all(grid == 0.0)


def test_float32_stays_float32_and_no_graph_is_recorded():
    x = cr.tensor(np.full((2, 1, 2, 2), 0.5, np.float32), requires_grad=True)
    grid = make_grid(x, normalize=True, value_range=(0.0, 1.0))
    assert grid.dtype == cr.float32 and not grid.requires_grad


def test_bad_arguments_are_refused_with_their_values():
    with pytest.raises(TypeError, match="list containing int"):
        make_grid([cr.zeros(1, 2, 2), 3])
    with pytest.raises(TypeError, match="got str"):
        make_grid("images")
    with pytest.raises(TypeError, match=r"value_range has to be a tuple .*\[0, 1\]"):
        make_grid(cr.zeros(2, 1, 2, 2), normalize=True, value_range=[0, 1])
    with pytest.raises(ValueError, match="nrow must be an int >= 1, got 0"):
        make_grid(cr.zeros(2, 1, 2, 2), nrow=0)
    with pytest.raises(ValueError, match=r"got shape \(1, 2, 1, 2, 2\)"):
        make_grid(cr.zeros(1, 2, 1, 2, 2))
    with pytest.raises(ValueError, match="same shape"):
        make_grid([cr.zeros(1, 2, 2), cr.zeros(1, 3, 2)])
    with pytest.raises(TypeError, match="floating-point images, got dtype uint8"):
        make_grid(cr.zeros(2, 1, 2, 2, dtype=cr.uint8), normalize=True)


# save_image


def _read(source):
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(source) as picture:
        return picture.format, np.asarray(picture.convert("RGB"))


def test_save_image_rounds_as_torchvision_and_round_trips_through_png(tmp_path):
    pytest.importorskip("PIL")
    # x * 255 + 0.5 clamped to [0, 255], rounded down: 0, 128, 255, 254, 0, 255, 0, 1
    values = np.array([[0.0, 0.5, 1.0, 0.998], [-0.2, 1.3, 0.0019, 0.002]])
    path = tmp_path / "image.png"
    assert save_image(cr.tensor(values[None]), path) is None
    fmt, pixels = _read(path)
    assert fmt == "PNG" and pixels.shape == (2, 4, 3)
    for c in range(3):
        np.testing.assert_array_equal(pixels[..., c], [[0, 128, 255, 254], [0, 255, 0, 1]])


def test_save_image_writes_the_grid(tmp_path):
    pytest.importorskip("PIL")
    save_image(_images() / 30.0, str(tmp_path / "grid.png"), nrow=2, padding=1, pad_value=1.0)
    _, pixels = _read(tmp_path / "grid.png")
    assert pixels.shape == (7, 7, 3)
    assert pixels[0, 0, 0] == 255 and pixels[1, 4, 0] == 85  # 10/30 * 255 + 0.5 = 85.5
    assert pixels[4, 1, 1] == 170  # 20/30 * 255 + 0.5 = 170.5


def test_save_image_format_from_extension_argument_or_file_object(tmp_path):
    pytest.importorskip("PIL")
    image = cr.full((3, 4, 4), 0.25)
    save_image(image, tmp_path / "a.jpg")
    assert (tmp_path / "a.jpg").read_bytes()[:2] == b"\xff\xd8"
    save_image(image, tmp_path / "a.dat", format="PNG")
    assert (tmp_path / "a.dat").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    buffer = io.BytesIO()
    save_image(image, buffer, format="PNG")
    assert _read(io.BytesIO(buffer.getvalue()))[1][0, 0].tolist() == [64, 64, 64]
    with pytest.raises(ValueError, match=r"unknown file extension '\.xyz'"):
        save_image(image, tmp_path / "a.xyz")
    assert not (tmp_path / "a.xyz").exists()
    with pytest.raises(TypeError, match="fp must be a path or a binary file object, got int"):
        save_image(image, 3)


def test_save_image_to_a_path_is_atomic(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    path = tmp_path / "kept.png"
    path.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_image(cr.zeros(3, 2, 2), path)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["kept.png"]  # no temporary file left behind


def test_save_image_refuses_integers_and_nan(tmp_path):
    pytest.importorskip("PIL")
    with pytest.raises(TypeError, match="got dtype uint8; divide integer images by 255"):
        save_image(cr.zeros(3, 2, 2, dtype=cr.uint8), tmp_path / "a.png")
    with pytest.raises(ValueError, match="NaN"):
        save_image(cr.full((3, 2, 2), float("nan")), tmp_path / "a.png")
    assert not (tmp_path / "a.png").exists()


def test_save_image_without_pillow_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[viz\]"'):
        save_image(cr.zeros(3, 2, 2), tmp_path / "a.png")


@pytest.mark.torch
@pytest.mark.parametrize("options", [
    {}, {"nrow": 3, "padding": 1, "pad_value": 0.5}, {"normalize": True},
    {"normalize": True, "value_range": (-0.5, 0.5)}, {"normalize": True, "scale_each": True},
])
@pytest.mark.parametrize("shape", [(7, 1, 3, 4), (5, 3, 2, 2), (1, 1, 3, 3), (3, 4, 5), (4, 5)])
def test_make_grid_matches_torchvision(rng, options, shape):
    torch = pytest.importorskip("torch")
    tv_utils = pytest.importorskip("torchvision.utils")
    x = rng.standard_normal(shape)
    ours = make_grid(cr.tensor(x), **options).numpy()
    theirs = tv_utils.make_grid(torch.tensor(x), **options).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=1e-15)
