"""Plots and image grids. matplotlib is loaded lazily, only when a figure is drawn (Agg backend)."""

from .plots import image_grid, plot_confusion_matrix, plot_history, pyplot, save_figure

__all__ = ["image_grid", "plot_confusion_matrix", "plot_history", "pyplot", "save_figure"]
