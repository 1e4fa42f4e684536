"""Twenty-fourth fuzz wave, chainrule.vision's edges: autocontrast of a channel whose scale is
not finite (a NaN in it, a float16 spread too small) against torchvision's formula written in
torch, the RoI poolings refusing NaN and infinite boxes by name, and ImageFolder's loader naming
the file it could not read (a truncated file's Pillow error did not)."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.vision.transforms.functional as F  # noqa: E402, N812 - torchvision's spelling
from chainrule.vision import ops  # noqa: E402
from chainrule.vision.folder import ImageFolder  # noqa: E402


def _torch_autocontrast(img):
    """torchvision.transforms.functional.autocontrast for tensors, in torch."""
    bound = 1.0 if img.is_floating_point() else float(torch.iinfo(img.dtype).max)
    dtype = img.dtype if img.is_floating_point() else torch.float32
    low = img.amin(dim=(-2, -1), keepdim=True).to(dtype)
    high = img.amax(dim=(-2, -1), keepdim=True).to(dtype)
    scale = bound / (high - low)
    keep = torch.isfinite(scale).logical_not()
    low[keep], scale[keep] = 0, 1
    return ((img - low) * scale).clamp(0, bound).to(img.dtype)


def test_autocontrast_keeps_a_channel_whose_scale_is_not_finite():
    rng = np.random.default_rng(24)
    nan = rng.uniform(-0.2, 1.2, (2, 3, 4, 5)).astype(np.float32)
    nan[0, 1, 2, 3] = np.nan  # that channel was NaN all over; torchvision keeps it, clamped
    tiny = np.zeros((3, 2, 2), np.float16)
    tiny[0, 0, 0] = np.float16(2.0**-24)  # 1 / spread overflows float16
    flat = np.full((1, 3, 3), 7, np.uint8)
    mixed = rng.integers(0, 256, (3, 4, 4)).astype(np.uint8)
    for image in (nan, tiny, flat, mixed, rng.random((3, 5, 2))):
        ours = F.autocontrast(cr.tensor(image)).numpy()
        theirs = _torch_autocontrast(torch.tensor(image)).numpy()
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours.astype(np.float64), theirs.astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("name", ["roi_align", "roi_pool", "ps_roi_align", "ps_roi_pool"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_roi_poolings_refuse_a_box_that_is_not_finite(name, bad):
    # int(ceil(nan)) failed inside: "cannot convert float NaN to integer"
    boxes = cr.tensor([[0, 0, 0, 2, 2], [0, 1, 1, bad, 3.0]])
    with pytest.raises(ValueError, match=rf"{name}: boxes must be finite, .* in box 1: "):
        getattr(ops, name)(cr.zeros(1, 4, 5, 5), boxes, 2)


def test_image_folder_names_a_file_it_cannot_read(tmp_path):
    image_module = pytest.importorskip("PIL.Image")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    good = tmp_path / "a" / "good.png"
    image_module.fromarray(np.arange(300, dtype=np.uint8).reshape(10, 10, 3)).save(good)
    data = good.read_bytes()
    (tmp_path / "b" / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "b" / "text.png").write_bytes(b"not an image")
    folder = ImageFolder(tmp_path)
    assert folder[0][0].size == (10, 10)
    with pytest.raises(OSError, match=r"cannot read the image file '.*cut\.png': .*truncated"):
        folder[1]
    with pytest.raises(image_module.UnidentifiedImageError, match=r"text\.png"):
        folder[2]


def test_make_grid_and_save_image_refuse_what_they_cannot_draw(tmp_path):
    pytest.importorskip("PIL")
    from chainrule.vision.utils import make_grid, save_image

    # an empty batch divided by zero (torchvision's ceil(0 / 0) too); Pillow's errors for five
    # channels and an unknown format named neither ("(1, 1, 5), |u1", KeyError 'NOPE')
    with pytest.raises(ValueError, match=r"at least one image, got a batch of shape \(0, 3"):
        make_grid(cr.zeros(0, 3, 4, 4))
    with pytest.raises(ValueError, match="images of 5 channels have no picture mode"):
        save_image(cr.rand(2, 5, 4, 4), tmp_path / "five.png")
    with pytest.raises(ValueError, match="Pillow cannot write the format 'NOPE'; it writes .*PNG"):
        save_image(cr.rand(3, 4, 4), tmp_path / "x.png", format="NOPE")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    save_image(cr.rand(2, 2, 4, 4), tmp_path / "two.png", format="png")  # grey and alpha
    assert (tmp_path / "two.png").stat().st_size > 0


class _Drawn:
    """pyplot and its axes in one, keeping the mosaic that image_grid shows (nothing drawn)."""

    def __init__(self):
        self.mosaics = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: None

    def subplots(self, *args, **kwargs):
        return None, self

    def get_cmap(self, name):
        return lambda mosaic, **kwargs: mosaic

    def imshow(self, mosaic, **kwargs):
        self.mosaics.append(mosaic)


def test_viz_image_grid_reads_uint8_as_0_to_255_and_names_a_bad_shape(monkeypatch):
    from chainrule.viz import plots

    drawn = _Drawn()
    monkeypatch.setattr(plots, "pyplot", lambda *args: drawn)
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: path)
    # uint8 digits were clipped to [0, 1] as floats: every pixel above 0 drawn white
    digits = np.random.default_rng(3).integers(0, 256, (4, 1, 6, 6)).astype(np.uint8)
    plots.image_grid(digits, "bytes.png", ncols=2)
    plots.image_grid(digits / np.float32(255), "floats.png", ncols=2)
    assert len(drawn.mosaics) == 2 and 0 < drawn.mosaics[0].mean() < 1
    np.testing.assert_array_equal(drawn.mosaics[0], drawn.mosaics[1])
    with pytest.raises(ValueError, match=r"image_grid: images must be .* got shape \(2, 5, 5, 3\)"):
        plots.image_grid(np.zeros((2, 5, 5, 3)), "last.png")  # channels last
