"""The figures: image grids, training curves and confusion matrices, saved atomically as PNG."""

from __future__ import annotations

import numpy as np
import pytest

plt = pytest.importorskip("matplotlib.pyplot")
Image = pytest.importorskip("PIL.Image")

from chainrule.viz import plots  # noqa: E402


def _pixels(path):
    return np.asarray(Image.open(path))


class _MatplotlibColors:
    """pyplot, except that ``get_cmap`` leaves the mosaic as it is: matplotlib colors the float
    mosaic itself, as the grid did before it colored it as 8-bit RGBA."""

    def __getattr__(self, name):
        return getattr(plt, name)

    @staticmethod
    def get_cmap(name):
        return lambda mosaic, **kwargs: mosaic


@pytest.mark.parametrize("titles", [None, "labels"])
def test_image_grid_pixels_equal_matplotlib_coloring_the_float_mosaic(tmp_path, rng, monkeypatch,
                                                                       titles):
    """The grid colors its grey mosaic itself (8-bit RGBA: less memory to save it), with the same
    PNG pixels as when matplotlib colored the float mosaic."""
    images = rng.random((23, 1, 12, 12)).astype(np.float32)
    images[0, 0, 0, :4] = [-1.0, 2.0, 0.0, 1.0]  # clipped to [0, 1]
    names = [f"{i}->{i + 1}" for i in range(23)] if titles else None
    ours = plots.image_grid(images, tmp_path / "ours.png", titles=names, ncols=6, suptitle="s")
    monkeypatch.setattr(plots, "pyplot", _MatplotlibColors)
    reference = plots.image_grid(images, tmp_path / "reference.png", titles=names, ncols=6,
                                 suptitle="s")
    a, b = _pixels(ours), _pixels(reference)
    assert a.ndim == 3 and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def test_image_grid_of_color_images_and_an_empty_grid(tmp_path, rng):
    path = plots.image_grid(rng.random((5, 3, 9, 9)), tmp_path / "rgb.png", ncols=3)
    pixels = _pixels(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert (pixels[..., :3].std(axis=2) > 0).any()  # colored, not grey
    empty = plots.image_grid(np.zeros((0, 1, 8, 8)), tmp_path / "empty.png")
    assert _pixels(empty).size > 0


def test_figures_are_written_atomically(tmp_path):
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8],
               "val_accuracy": [0.4, 0.7]}
    paths = [plots.plot_history(history, tmp_path / "figs" / "curves.png", title="t"),
             plots.plot_confusion_matrix(np.array([[3, 1], [0, 4]]), tmp_path / "figs" / "cm.png",
                                         class_names=["a", "b"])]
    for p in paths:
        assert _pixels(p).size > 0
    assert sorted(f.name for f in (tmp_path / "figs").iterdir()) == ["cm.png", "curves.png"]
