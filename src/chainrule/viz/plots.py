"""Training curves, confusion matrices and labelled image grids, saved as PNG files atomically."""

from __future__ import annotations

import os
import warnings

import numpy as np

from ..backend.files import atomic_file

__all__ = ["image_grid", "plot_confusion_matrix", "plot_history", "pyplot", "save_figure"]


def pyplot(who: str = "chainrule.viz"):
    """matplotlib's pyplot on the Agg backend, imported on first use; ``who`` names the package
    that draws, for the error when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"{who} needs matplotlib: pip install 'chainrule[viz]'") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt




def save_figure(fig, path) -> str:
    """Save ``fig`` to ``path`` through a temporary file and an atomic rename, then close it."""
    path = os.fspath(path)
    kind = os.path.splitext(path)[1][1:] or "png"  # the format the name says, PNG without one
    try:
        with warnings.catch_warnings(), atomic_file(path, make_folder=True) as f:
            # matplotlib warns when its search for the best legend place took over a second: a
            # busy machine's clock decides that, not the figure (the legend is drawn the same)
            warnings.filterwarnings("ignore", message='Creating legend with loc="best"',
                                    category=UserWarning)
            fig.savefig(f, format=kind, dpi=110, bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return path


def plot_history(history: dict, path, *, title: str = "") -> str:
    """Loss (and, when present, accuracy) curves per epoch, training and validation side by side."""
    plt = pyplot()
    metrics = [m for m in ("loss", "accuracy") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        epochs = np.arange(1, len(history[m]) + 1)
        ax.plot(epochs, history[m], marker="o", label=f"train {m}")
        if f"val_{m}" in history:
            ax.plot(epochs, history[f"val_{m}"], marker="o", label=f"validation {m}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_confusion_matrix(cm, path, *, class_names=None, title: str = "confusion matrix") -> str:
    """A confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    plt = pyplot()
    cm = np.asarray(cm)
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else list(class_names)
    fig, ax = plt.subplots(figsize=(0.6 * k + 2.5, 0.6 * k + 2))
    ax.imshow(np.log1p(cm), cmap="Blues")
    for i in range(k):
        for j in range(k):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if i == j else "black")
    ax.set_xticks(range(k), names, rotation=90 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return save_figure(fig, path)


def _mosaic(images, ncols: int, pad: int, fill: float):
    """Images (N, H, W) or (N, H, W, 3) tiled into one array, ``pad`` pixels apart."""
    n, h, w = images.shape[:3]
    nrows = -(-n // ncols)
    shape = (nrows * (h + pad) + pad, ncols * (w + pad) + pad) + images.shape[3:]
    out = np.full(shape, fill, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = images[k]
    return out, nrows


def image_grid(images, path, *, titles=None, ncols: int = 10, cmap: str = "gray",
               suptitle: str = "") -> str:
    """A grid of images (N, H, W), (N, 1, H, W) or (N, 3, H, W) with optional per-image titles;
    float values in [0, 1] (clipped to it), uint8 in 0..255.

    The grid is drawn as one image (one ``imshow``), so even hundreds of digits take well under
    a second; titles are text placed above each cell.
    """
    plt = pyplot()
    images = np.asarray(images)
    if images.dtype == np.uint8:  # 0..255, as imshow reads uint8: clipped to [0, 1], all white
        images = images / np.float32(255)
    images = np.clip(images.astype(np.float32), 0, 1)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[1] not in (1, 3, 4)):
        raise ValueError(f"image_grid: images must be (N, H, W) or (N, C, H, W) with C 1, 3 or "
                         f"4, got shape {images.shape}")
    if images.ndim == 4:
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    if len(images) == 0:
        images = np.zeros((1, 8, 8), np.float32)
    h, w = images.shape[1:3]
    ncols = max(1, min(ncols, len(images)))
    pad = max(2, h // 4) if titles is None else max(2, h // 2)
    mosaic, nrows = _mosaic(images, ncols, pad, 1.0)
    cell = 1.2 if titles is None else 1.35
    fig, ax = plt.subplots(figsize=(cell * ncols, cell * nrows + (0.4 if suptitle else 0)))
    if mosaic.ndim == 2:
        # Colored here, as 8-bit RGBA, rather than by imshow: matplotlib then resamples bytes to
        # the saved image's size, not floats. The same pixels, at a much lower peak memory.
        mosaic = plt.get_cmap(cmap)(mosaic, bytes=True)
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if titles is not None:
        for k, title in enumerate(titles[:len(images)]):
            r, c = divmod(k, ncols)
            ax.text(pad + c * (w + pad) + w / 2, pad + r * (h + pad) - 0.5, str(title),
                    ha="center", va="bottom", fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    return save_figure(fig, path)
