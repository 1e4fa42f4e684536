"""read_image: scaling by the real bit depth, headers checked before pixels, clear errors."""

import struct

import numpy as np
import pytest

from chainrule.data.images import read_image

Image = pytest.importorskip("PIL.Image")

SHAPE = (1, 6, 5)


def _ramp(dtype, top):
    return (np.arange(30).reshape(6, 5) * (top // 29)).astype(dtype)


def test_8_bit_png_is_divided_by_255(tmp_path):
    a = _ramp(np.uint8, 255)
    Image.fromarray(a, mode="L").save(tmp_path / "a.png")
    np.testing.assert_allclose(read_image(tmp_path / "a.png", SHAPE)[0], a / 255, rtol=1e-6)


def test_16_bit_png_is_divided_by_65535(tmp_path):
    a = _ramp(np.uint16, 65535)
    Image.fromarray(a).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as img:
        assert img.mode.startswith("I")
    x = read_image(tmp_path / "a.png", SHAPE)
    np.testing.assert_allclose(x[0], a / 65535, rtol=1e-6)
    assert x.max() <= 1.0


def test_16_bit_big_endian_image_is_divided_by_65535(tmp_path):
    a = _ramp(np.uint16, 65535)
    img = Image.frombytes("I;16B", (5, 6), a.astype(">u2").tobytes())
    img.save(tmp_path / "a.tiff")
    np.testing.assert_allclose(read_image(tmp_path / "a.tiff", SHAPE)[0], a / 65535, rtol=1e-6)


def test_1_bit_image_gives_0_and_1(tmp_path):
    a = np.zeros((6, 5), bool)
    a[2:4, 1:3] = True
    Image.fromarray(a).convert("1").save(tmp_path / "a.png")
    x = read_image(tmp_path / "a.png", SHAPE)
    np.testing.assert_array_equal(x[0], a.astype(np.float32))


@pytest.mark.parametrize("dtype,scale", [(np.uint8, 255), (np.uint16, 65535)])
def test_integer_arrays_are_scaled_by_their_width(tmp_path, dtype, scale):
    a = _ramp(dtype, scale)
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_allclose(read_image(tmp_path / "a.npy", SHAPE)[0], a / scale, rtol=1e-6)


def test_float_arrays_in_range_pass_unchanged(tmp_path):
    a = np.linspace(0, 1, 30, dtype=np.float32).reshape(1, 6, 5)
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(read_image(tmp_path / "a.npy", SHAPE), a)
    np.save(tmp_path / "f.npy", np.asfortranarray(a[0].astype(np.float64)))
    np.testing.assert_array_equal(read_image(tmp_path / "f.npy", SHAPE), a)


@pytest.mark.parametrize("value,message", [
    (np.nan, "NaN or infinite"),
    (np.inf, "NaN or infinite"),
    (-1000.0, "values range over [-1000, 1], expected [0, 1]"),
    (3.0, "values range over [0, 3], expected [0, 1]"),
    (255.0, "values range over [0, 255], expected [0, 1]"),
])
def test_float_arrays_outside_0_1_are_refused(tmp_path, value, message):
    a = np.linspace(0, 1, 30, dtype=np.float32).reshape(6, 5)
    a[3, 3] = value
    np.save(tmp_path / "x.npy", a)
    with pytest.raises(ValueError, match=r"x\.npy: ") as err:
        read_image(tmp_path / "x.npy", SHAPE)
    assert message in str(err.value)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint32, np.complex64])
def test_arrays_without_a_defined_range_are_refused(tmp_path, dtype):
    np.save(tmp_path / "x.npy", np.zeros((6, 5), dtype))
    with pytest.raises(ValueError, match=r"x\.npy: array of dtype .*expected floats in \[0, 1\]"):
        read_image(tmp_path / "x.npy", SHAPE)


def test_float_image_outside_0_1_is_refused(tmp_path):
    Image.fromarray(np.full((6, 5), 7.5, np.float32), mode="F").save(tmp_path / "f.tiff")
    with pytest.raises(ValueError, match=r"values range over \[7\.5, 7\.5\]"):
        read_image(tmp_path / "f.tiff", SHAPE)


def _npy_header(shape, descr="<f4", version=1):
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    size = 10 if version == 1 else 12
    header += " " * (-(len(header) + size + 1) % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode()


@pytest.mark.parametrize("version", [1, 2])
def test_npy_header_is_checked_before_the_payload(tmp_path, version, monkeypatch):
    path = tmp_path / "x.npy"
    path.write_bytes(_npy_header((10**6, 10**6), version=version) + b"\0" * 64)
    monkeypatch.setattr(np, "empty", None)  # nothing may be allocated for this file
    with pytest.raises(ValueError, match=r"x\.npy: image has shape \(1000000, 1000000\), the "
                                         r"model expects \(6, 5\)"):
        read_image(path, SHAPE)


def test_npy_of_the_right_shape_but_short_payload(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(_npy_header((6, 5)) + b"\0" * 64)
    with pytest.raises(ValueError, match=r"x\.npy: the \.npy header says float32 of shape "
                                         r"\(6, 5\) \(120 bytes\) but the file holds 64 bytes"):
        read_image(path, SHAPE)


@pytest.mark.parametrize("content,name,message", [
    (b"", "empty.png", "the file is empty"),
    (b"", "empty.npy", "the file is empty"),
    (b"hello, I am text\n" * 10, "text.png", "not an image file Pillow can read"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "broken.png", ""),
    (b"not numpy at all", "text.npy", "not a readable .npy file"),
    (b"\x93NUMPY\x01\x00\x10\x00{'descr': 'O'}", "pickle.npy", ""),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 5 6\nshowpage\n", "eps.png",
     "not an image file Pillow can read"),
])
def test_non_images_are_one_line_errors(tmp_path, content, name, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError) as err:
        read_image(tmp_path / name, SHAPE)
    assert str(err.value).startswith(str(tmp_path / name) + ": ")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_truncated_png_pixels_are_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (6, 5), dtype=np.uint8), mode="L").save(tmp_path / "t.png")
    raw = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(raw[: len(raw) - 30])
    with pytest.raises(ValueError, match=r"t\.png: a damaged image file"):
        read_image(tmp_path / "t.png", SHAPE)


def test_wrong_size_is_refused_from_the_header_alone(tmp_path, monkeypatch):
    Image.new("L", (300, 200)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image.Image, "load", None)  # decoding would fail the test
    with pytest.raises(ValueError, match=r"big\.png: image has shape \(200, 300\), the model "
                                         r"expects \(6, 5\)"):
        read_image(tmp_path / "big.png", SHAPE)


def test_colour_images_are_still_refused(tmp_path):
    Image.new("RGB", (5, 6)).save(tmp_path / "c.png")
    with pytest.raises(ValueError, match="expected a greyscale image, got colour mode 'RGB'"):
        read_image(tmp_path / "c.png", SHAPE)


# resize: fitting other sizes, with the pixel count still bounded from the header


def _page(h, w, box, value=0, background=255):
    a = np.full((h, w), background, np.uint8)
    a[box] = value
    return a


def test_resize_content_crops_fits_the_extent_and_centres(tmp_path):
    # a dark 30x50 bar off-centre on a light 60x100 page, fitted as MNIST's digits were: its
    # larger side fills 20 of 28 pixels, its mass at the centre, on the page's own level
    Image.fromarray(_page(60, 100, np.s_[5:35, 40:90]), mode="L").save(tmp_path / "p.png")
    x = read_image(tmp_path / "p.png", (1, 28, 28), resize="content", extent=20 / 28)
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    dark = np.argwhere(x[0] < 0.5)
    assert (dark.max(0) - dark.min(0) + 1).tolist() == [12, 20]
    np.testing.assert_allclose(dark.mean(0), [13.5, 13.5])
    assert x[0, 0, 0] == 1.0 and x.min() == 0.0


def test_resize_whole_keeps_the_margins_and_the_aspect_ratio(tmp_path):
    a = np.zeros((8, 16), np.float32)
    a[:, 4:8] = 1.0
    np.save(tmp_path / "a.npy", a)
    x = read_image(tmp_path / "a.npy", (1, 8, 8), resize="whole")[0]
    np.testing.assert_array_equal(x[[0, 1, 6, 7]], 0)  # padded with the background, 0
    np.testing.assert_array_equal(x[2:6], np.tile([0, 0, 1, 1, 0, 0, 0, 0], (4, 1)))


def test_resize_of_the_right_size_changes_nothing_for_a_framed_image(tmp_path):
    a = _ramp(np.uint8, 255)
    Image.fromarray(a, mode="L").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png", SHAPE, resize="whole"),
                                  read_image(tmp_path / "a.png", SHAPE))


@pytest.mark.parametrize("size,mode,message", [
    ((9000, 8000), "L", "9000x8000 = 72,000,000 pixels; resizing reads at most 64,000,000"),
    ((6000, 6000), "I;16", "6000x6000 = 36,000,000 pixels (2 bytes each: at most 32,000,000)"),
    ((4100, 4000), "F", "4100x4000 = 16,400,000 pixels (4 bytes each: at most 16,000,000)"),
])
def test_resize_bounds_the_pixels_from_the_header(tmp_path, monkeypatch, size, mode, message):
    Image.new(mode, size).save(tmp_path / ("big.tiff" if mode == "F" else "big.png"))
    path = next(tmp_path.iterdir())
    monkeypatch.setattr(Image.Image, "load", None)  # decoding would fail the test
    with pytest.raises(ValueError, match=r"big\.(png|tiff): the image has ") as err:
        read_image(path, SHAPE, resize="content")
    assert message in str(err.value)


def test_resize_bounds_npy_arrays_from_the_header(tmp_path, monkeypatch):
    path = tmp_path / "x.npy"
    path.write_bytes(_npy_header((10**5, 10**5)) + b"\0" * 64)
    monkeypatch.setattr(np, "empty", None)
    with pytest.raises(ValueError, match=r"x\.npy: the image has 100000x100000 = "
                                         r"10,000,000,000 pixels \(4 bytes each"):
        read_image(path, SHAPE, resize="whole")
    path.write_bytes(_npy_header((3, 6, 5)) + b"\0" * 360)
    with pytest.raises(ValueError, match=r"resizing reads a greyscale image of shape \(H, W\) "
                                         r"or \(1, H, W\), got shape \(3, 6, 5\)"):
        read_image(path, SHAPE, resize="whole")


def test_resize_keeps_the_value_checks(tmp_path):
    a = np.full((12, 10), 0.5, np.float32)
    a[3, 3] = np.nan
    np.save(tmp_path / "x.npy", a)
    with pytest.raises(ValueError, match="NaN or infinite"):
        read_image(tmp_path / "x.npy", SHAPE, resize="content")
    with pytest.raises(ValueError, match="resize must be None or one of"):
        read_image(tmp_path / "x.npy", SHAPE, resize="stretch")


def test_image_statistics_of_training_images():
    from chainrule.data.datasets import digits
    from chainrule.data.images import image_statistics

    (x, _), _ = digits()
    assert image_statistics(x[:, None]) == {"background": 0.0, "extent": 1.0}
    mnist_like = np.zeros((4, 28, 28), np.float32)
    mnist_like[:, 4:24, 9:19] = 1.0  # 20 high, 10 wide
    assert image_statistics(mnist_like) == {"background": 0.0, "extent": 0.7143}
    assert image_statistics(1 - mnist_like)["background"] == 1.0
