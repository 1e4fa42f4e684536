"""Figures of explanations: attribution maps, filters, patches and accuracy-versus-sparsity.

matplotlib is imported only when a figure is drawn; files are written by ``viz.save_figure``.
"""

from __future__ import annotations

from ..backend import numpy
from ..viz import image_grid, pyplot, save_figure

__all__ = ["plot_attributions", "plot_filters", "plot_sparsity_curves", "plot_traces"]



def _pyplot():
    return pyplot("chainrule.explain's figures")


def plot_attributions(images, maps: dict, path, *, titles=None, suptitle: str = "") -> str:
    """One row per image: the image, then one signed heatmap per method (red +, blue -).

    Args:
        images: (N, 1, H, W) or (N, H, W) in [0, 1].
        maps: {method name: (N, ...) attributions shaped like ``images``}.
        titles: one title per row (e.g. "7 (p=0.99)").
    """
    plt = _pyplot()
    images = numpy.asarray(images, dtype=numpy.float32).reshape(len(images), *images.shape[-2:])
    n, cols = len(images), 1 + len(maps)
    fig, axes = plt.subplots(n, cols, figsize=(1.6 * cols, 1.6 * n + 0.3), squeeze=False)
    for i in range(n):
        axes[i, 0].imshow(images[i], cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_ylabel(titles[i] if titles else "", fontsize=8)
        for j, (name, m) in enumerate(maps.items(), start=1):
            a = numpy.asarray(m[i], dtype=numpy.float64).reshape(images.shape[-2:])
            bound = numpy.abs(a).max() or 1.0
            axes[i, j].imshow(a, cmap="seismic", vmin=-bound, vmax=bound)
            if i == 0:
                axes[i, j].set_title(name, fontsize=8)
        if i == 0:
            axes[i, 0].set_title("input", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    return save_figure(fig, path)


def plot_filters(weights, path, *, suptitle: str = "") -> str:
    """Convolution kernels (out, in, kh, kw) as images, each scaled to its own range."""
    w = numpy.asarray(weights, dtype=numpy.float64).reshape(-1, *weights.shape[-2:])
    low = w.min(axis=(1, 2), keepdims=True)
    span = w.max(axis=(1, 2), keepdims=True) - low
    return image_grid((w - low) / numpy.where(span > 0, span, 1.0), path,
                      titles=[str(i) for i in range(len(w))], ncols=min(len(w), 8),
                      suptitle=suptitle)


def plot_sparsity_curves(curves: dict, path, *, ylabel: str = "test accuracy",
                         title: str = "") -> str:
    """Accuracy versus sparsity: {label: [(sparsity, accuracy), ...]}."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, points in curves.items():
        s, a = zip(*points)
        ax.plot(s, a, marker="o", label=label)
    ax.set_xlabel("share of weights pruned")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_traces(traces: dict, path, *, xlabel: str = "step", ylabel: str = "activation",
                title: str = "") -> str:
    """Line plots of several series: {label: values}."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for label, values in traces.items():
        ax.plot(numpy.asarray(values), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(traces) <= 10:
        ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, path)
