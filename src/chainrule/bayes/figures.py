"""Figures of chainrule.bayes: fitted curves, loss curves, reliability diagrams, uncertainty bands.

matplotlib is imported when a figure is drawn, never on ``import chainrule.bayes``.
"""

from __future__ import annotations

from ..autograd import Tensor, no_grad
from ..backend import asnumpy, get_array_module
from ..viz import pyplot, save_figure
from ._checks import eval_modes, restore_modes
from .curves import REGULARIZERS, SIZES, true_curve

__all__ = ["plot_fits", "plot_losses", "plot_reliability", "plot_bands"]

_COLOURS = {"none": "tab:red", "weight decay": "tab:blue", "early stopping": "tab:green"}



def _pyplot():
    return pyplot("chainrule.bayes's figures")


def _grid(train, n: int = 300):
    x = asnumpy(train[0])
    xp = get_array_module(x)
    return xp.linspace(-1.6, 1.6, n, dtype=x.dtype)[:, None]


def _curve(model, grid):
    modes = eval_modes(model)
    try:
        with no_grad():
            return asnumpy(model(Tensor(grid))._data)[:, 0]
    finally:
        restore_modes(modes)


def plot_fits(study: dict, path) -> str:
    """One panel per net size: the samples, the true curve and each regularizer's fit."""
    plt = _pyplot()
    train, val = study["data"]["train"], study["data"]["val"]
    grid = _grid(train)
    fig, axes = plt.subplots(1, len(SIZES), figsize=(4.2 * len(SIZES), 3.4), sharey=True)
    for ax, size in zip(axes, SIZES):
        ax.plot(grid[:, 0], true_curve(grid[:, 0]), color="0.6", lw=3, label="true curve")
        ax.scatter(train[0][:, 0], train[1][:, 0], color="k", s=18, zorder=3, label="training")
        ax.scatter(val[0][:, 0], val[1][:, 0], color="k", marker="x", s=14, zorder=3,
                   label="validation")
        for reg in REGULARIZERS:
            fit = study["fits"][(size, reg)]
            ax.plot(grid[:, 0], _curve(fit["model"], grid), color=_COLOURS[reg],
                    label=f"{reg} (test MSE {fit['test_mse']:.3f})")
        widths = "-".join(str(w) for w in SIZES[size])
        ax.set_title(f"{size}-sized net {widths}")
        ax.set_ylim(-2.2, 2.2)
        ax.legend(fontsize=6.5, loc="lower right")
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    return save_figure(fig, path)


def plot_losses(study: dict, path) -> str:
    """Training and validation loss per epoch of the unregularized fits; where early stopping
    stopped and which epoch it kept."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(SIZES), figsize=(4.2 * len(SIZES), 3.2), sharey=True)
    for ax, size in zip(axes, SIZES):
        fit = study["fits"][(size, "none")]
        stop = study["fits"][(size, "early stopping")]
        ax.semilogy(fit["train_loss"], color="tab:red", label="training loss")
        ax.semilogy(fit["val_loss"], color="tab:red", ls="--", label="validation loss")
        if stop["stopped_epoch"] is not None:
            ax.axvline(stop["best_epoch"], color="tab:green", label=f"kept: epoch "
                       f"{stop['best_epoch'] + 1}")
            ax.axvline(stop["stopped_epoch"], color="tab:green", ls=":",
                       label=f"stopped: epoch {stop['stopped_epoch'] + 1}")
        ax.set_title(f"{size}-sized net")
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("mean squared error")
    return save_figure(fig, path)


def plot_reliability(curves: dict, path, *, title: str = "reliability diagram") -> str:
    """Accuracy against confidence per bin for ``{label: reliability(...) dict}``, with ECEs.

    Each value is ``reliability``'s result with an extra "ece" entry, drawn as a line over the
    bins' mean confidence; the diagonal is perfect calibration.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.4, 4.2))
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", label="calibrated")
    for label, r in curves.items():
        keep = r["count"] > 0
        ax.plot(r["confidence"][keep], r["accuracy"][keep], marker="o", ms=3,
                label=f"{label} (ECE {100 * r['ece']:.1f}%)")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_bands(grid, bands: dict, train, path, *, title: str = "") -> str:
    """Predictive mean and +-2 standard deviations per method: ``{label: (mean, std)}``."""
    plt = _pyplot()
    grid = asnumpy(grid).ravel()
    fig, axes = plt.subplots(1, len(bands), figsize=(4.0 * len(bands), 3.2), sharey=True,
                             squeeze=False)
    for ax, (label, (mean, std)) in zip(axes[0], bands.items()):
        mean, std = asnumpy(mean).ravel(), asnumpy(std).ravel()
        ax.plot(grid, true_curve(grid), color="0.6", lw=2)
        ax.fill_between(grid, mean - 2 * std, mean + 2 * std, color="tab:blue", alpha=0.25)
        ax.plot(grid, mean, color="tab:blue")
        ax.scatter(asnumpy(train[0]).ravel(), asnumpy(train[1]).ravel(), color="k", s=12)
        ax.set_title(label)
        ax.set_ylim(-3, 3)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
