"""The robustness figures: accuracy curves, attack grids, patches, confidence histograms.

matplotlib is imported when a figure is drawn, never on ``import chainrule.robust``.
"""

from __future__ import annotations

from ..backend import asnumpy
from ..viz import image_grid, pyplot, save_figure

__all__ = ["plot_attack_grid", "plot_confidence_histograms", "plot_curve", "plot_pose_curves"]



def _pyplot():
    return pyplot("chainrule.robust's figures")


def plot_curve(xs, curves: dict, path, *, xlabel: str, ylabel: str = "accuracy",
               title: str = "", chance: float | None = None) -> str:
    """Lines ``{label: ys}`` over ``xs``, with an optional dashed chance level."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for label, ys in curves.items():
        ax.plot(xs, ys, marker="o", label=label)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_pose_curves(curves: dict, path, *, title: str = "") -> str:
    """One panel per pose change: accuracy and mean confidence against its value."""
    plt = _pyplot()
    labels = {"rotation": "rotation (degrees)", "scale": "scale", "translation":
              "shift (pixels, diagonal)", "elastic": "elastic distortion alpha"}
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.4), squeeze=False)
    for ax, (kind, rows) in zip(axes[0], curves.items()):
        xs = [r["value"] for r in rows]
        ax.plot(xs, [r["accuracy"] for r in rows], marker="o", label="accuracy")
        ax.plot(xs, [r["confidence"] for r in rows], marker="s", label="mean confidence")
        ax.plot(xs, [r["confidence_wrong"] for r in rows], marker="^",
                label="confidence when wrong")
        ax.set_xlabel(labels.get(kind, kind))
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_attack_grid(x, adversarial, labels, predicted, confidences, path, *, classes,
                     suptitle: str = "") -> str:
    """Rows of three: original (true label), perturbation (scaled to [0, 1]), adversarial
    (the model's answer and confidence)."""
    x, adv = asnumpy(x), asnumpy(adversarial)
    delta = adv - x
    scale = max(float(abs(delta).max()), 1e-12)
    images, titles = [], []
    for i in range(len(x)):
        images += [x[i], 0.5 + 0.5 * delta[i] / scale, adv[i]]
        titles += [f"{classes[int(labels[i])]}", "perturbation",
                   f"{classes[int(predicted[i])]} {float(confidences[i]):.2f}"]
    return image_grid(images, path, titles=titles, ncols=6, suptitle=suptitle)


def plot_confidence_histograms(confidences: dict, path, *, title: str = "") -> str:
    """Histograms of the maximum softmax probability, one per input set ``{name: values}``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, values in confidences.items():
        ax.hist(asnumpy(values), bins=40, range=(0, 1), alpha=0.5, density=True, label=name)
    ax.set_xlabel("maximum softmax probability")
    ax.set_ylabel("density")
    ax.legend()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
