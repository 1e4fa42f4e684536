"""Figures of generative runs: sample mosaics, reconstruction rows, latent scatter, GAN losses.

Image grids are drawn as one mosaic image (a single ``imshow``, many times faster than one subplot
per image, which matters for a grid after every epoch). matplotlib is imported lazily, only when a
figure is made, and figures are saved atomically by ``viz.save_figure``.
"""

from __future__ import annotations

from ..backend import asnumpy, get_array_module
from ..viz import pyplot, save_figure

__all__ = ["class_histogram", "latent_scatter", "plot_gan_losses", "progress_strip",
           "reconstruction_rows", "sample_grid"]



def _pyplot():
    return pyplot("chainrule.generative's figures")


def _mosaic(rows, pad: int = 1):
    """Images (C, H, W) arranged in rows, as one (H', W', 3) array with grey gutters.

    One ``imshow`` of a mosaic is much faster than a subplot per image.
    """
    rows = [[asnumpy(img) for img in row] for row in rows]
    first = rows[0][0]
    if first.ndim == 2:
        rows = [[img[None] for img in row] for row in rows]
        first = rows[0][0]
    _, h, w = first.shape
    ncols = max(len(row) for row in rows)
    xp = get_array_module(first)
    canvas = xp.full((len(rows) * (h + pad) + pad, ncols * (w + pad) + pad, 3), 0.5, "float32")
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            if img.shape[1:] != (h, w) or img.shape[0] not in (1, 3):
                raise ValueError(f"image grids need images (1 or 3, {h}, {w}), got shape "
                                 f"{img.shape}")
            top, left = pad + i * (h + pad), pad + j * (w + pad)
            canvas[top:top + h, left:left + w] = xp.clip(img, 0, 1).transpose(1, 2, 0)
    return canvas, h, w, pad


def _draw_mosaic(rows, path, *, row_labels=None, col_labels=None, title: str = "",
                 scale: float = 0.045) -> str:
    plt = _pyplot()
    canvas, h, w, pad = _mosaic(rows)
    height, width = canvas.shape[:2]
    fig, ax = plt.subplots(figsize=(max(2.5, width * scale), max(1.5, height * scale) + 0.5))
    ax.imshow(canvas, interpolation="nearest")
    ax.set_xticks([pad + j * (w + pad) + w / 2 for j in range(len(col_labels or []))],
                  col_labels or [])
    ax.set_yticks([pad + i * (h + pad) + h / 2 for i in range(len(row_labels or []))],
                  row_labels or [])
    ax.tick_params(length=0, labelsize=8)
    ax.xaxis.tick_top()
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=9, pad=14 if col_labels else 6)
    return save_figure(fig, path)


def sample_grid(images, path, *, ncols: int = 10, col_labels=None, row_labels=None,
                title: str = "") -> str:
    """Images (N, C, H, W) in [0, 1] as one mosaic of ``ncols`` columns (one imshow: fast).

    Args:
        images: 1- or 3-channel images.
        path: the PNG to write.
        ncols: images per row.
        col_labels: a label above each column (e.g. the class a conditional GAN was asked for).
        row_labels: a label left of each row (e.g. one class per row).
        title: the figure's title.
    """
    images = asnumpy(images)
    rows = [images[i:i + ncols] for i in range(0, len(images), ncols)]
    return _draw_mosaic(rows, path, col_labels=col_labels, row_labels=row_labels, title=title,
                        scale=0.03)


def reconstruction_rows(rows, path, *, labels=("input", "corrupted", "reconstruction"),
                        n: int = 10, title: str = "") -> str:
    """One row per stage (e.g. input / corrupted / reconstruction) of the same ``n`` images.

    Args:
        rows: a sequence of image batches of equal length (N, C, H, W), C = 1 or 3, in [0, 1]
            (grey rows are shown in grey beside colour ones).
        path: the PNG to write.
        labels: one name per row, written at its left.
        n: how many images per row.
        title: the figure's title.
    """
    rows = [asnumpy(r)[:n] for r in rows]
    if len({len(r) for r in rows}) != 1 or len(labels) != len(rows):
        raise ValueError(f"reconstruction_rows: need rows of equal length and one label each, got "
                         f"lengths {[len(r) for r in rows]} and {len(labels)} labels")
    return _draw_mosaic(rows, path, row_labels=list(labels), title=title, scale=0.06)


def progress_strip(strips, path, *, epochs=None, title: str = "fixed noise, one row per epoch"):
    """The same fixed-noise samples after each epoch, one row per epoch (first row: epoch 1)."""
    strips = [asnumpy(s) for s in strips]
    epochs = list(range(1, len(strips) + 1)) if epochs is None else list(epochs)
    return _draw_mosaic(strips, path, row_labels=[f"epoch {e}" for e in epochs], title=title,
                        scale=0.06)


def plot_gan_losses(steps: dict, path, *, title: str = "GAN losses") -> str:
    """Both players' losses per training step (and D's outputs on real/fake images if logged).

    Args:
        steps: dict name -> list of per-step values, e.g. "d_loss", "g_loss", "d_real", "d_fake"
            (lists may be shorter when a player steps less often, e.g. WGAN-GP's generator).
        path: the PNG to write.
    """
    plt = _pyplot()
    probs = [k for k in ("d_real", "d_fake") if steps.get(k)]
    extra = [k for k in ("wasserstein", "gp") if steps.get(k)]
    panels = 1 + bool(probs) + bool(extra)
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.5), squeeze=False)
    groups = [[k for k in ("d_loss", "g_loss") if steps.get(k)], probs, extra]
    ylabels = ["loss", "mean D output (probability)", "critic"]
    for ax, keys, ylabel in zip(axes[0], [g for g in groups if g],
                                [y for g, y in zip(groups, ylabels) if g]):
        for k in keys:
            values = list(steps[k])
            ax.plot(range(1, len(values) + 1), values, lw=0.8, label=k)
        ax.set_xlabel("step of that player")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return save_figure(fig, path)


def latent_scatter(codes, labels, path, *, title: str = "2-D codes of the test set") -> str:
    """Scatter plot of 2-D codes coloured by class (the picture of a 2-unit bottleneck)."""
    plt = _pyplot()
    codes, labels = asnumpy(codes), asnumpy(labels)
    if codes.ndim != 2 or codes.shape[1] != 2 or len(labels) != len(codes):
        raise ValueError(f"latent_scatter: codes must be (N, 2) with N labels, got shape "
                         f"{codes.shape} and {len(labels)} labels")
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=3, alpha=0.7)
    fig.colorbar(points, ax=ax, ticks=sorted({int(v) for v in labels}), label="class")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    ax.set_title(title)
    return save_figure(fig, path)


def class_histogram(counts, path, *, class_names=None,
                    title: str = "classes of generated images (by the classifier)") -> str:
    """Bar chart of how many generated images the classifier puts in each class."""
    plt = _pyplot()
    counts = [int(c) for c in counts]
    names = [str(i) for i in range(len(counts))] if class_names is None else list(class_names)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(range(len(counts)), counts, color="tab:blue")
    ax.axhline(sum(counts) / len(counts), color="tab:red", ls="--", lw=1, label="uniform")
    ax.set_xticks(range(len(counts)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("samples")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)
