"""Callbacks that watch a GAN learn: a sample grid per epoch, a fixed-noise strip, loss curves."""

from __future__ import annotations

from pathlib import Path

from ..backend import asnumpy
from ..data import as_generator
from ..data.arguments import check_int
from ..train import Callback
from .figures import plot_gan_losses, progress_strip, sample_grid

__all__ = ["GANMonitor"]

_STEP_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "wasserstein", "gp")


class GANMonitor(Callback):
    """Save what a GAN generates as it trains, from one fixed batch of noise.

    After every epoch it writes ``samples/epoch_NNN.png`` (a grid of ``n_samples`` images from the
    same fixed noise each time, so the grids can be compared). When training ends it writes
    ``progress.png`` (the first ``strip`` of those images after each epoch, one row per epoch) and
    ``losses.png`` (both players' losses per step). A conditional GAN's fixed samples cycle through
    the classes, so each column of the grid shows one class.

    Args:
        directory: the run folder to write into (created if needed).
        n_samples: images per grid.
        strip: images per row of the progress strip.
        seed: seed of the fixed noise (independent of the training noise).
        ncols: columns of the grids (10 suits the ten digit classes).

    Attributes:
        steps: dict name -> per-step values of d_loss, g_loss, d_real, d_fake (or wasserstein, gp).
        strips: the fixed-noise strip of each epoch seen (host arrays).
    """

    order = 20  # after checkpoints (10), before the progress bar (100)

    def __init__(self, directory, *, n_samples: int = 64, strip: int = 10, seed: int = 1234,
                 ncols: int = 10):
        # strip or ncols 0 failed only at the end
        n_samples, strip, ncols = (check_int("GANMonitor", n, v) for n, v in
                                   (("n_samples", n_samples), ("strip", strip), ("ncols", ncols)))
        self.directory = Path(directory)
        self.n_samples, self.strip, self.seed, self.ncols = n_samples, min(strip, n_samples), \
            seed, ncols
        self.steps: dict[str, list[float]] = {k: [] for k in _STEP_KEYS}
        self.strips: list = []
        self.epochs: list[int] = []

    def on_train_begin(self, logs=None):
        gan = self.trainer.model
        self.directory.mkdir(parents=True, exist_ok=True)
        self._z = gan.sample_latent(self.n_samples, rng=as_generator(self.seed))
        self._labels = ([i % gan.num_classes for i in range(self.n_samples)]
                        if gan.num_classes else None)

    def samples(self):
        """The fixed-noise samples now, a host array (n_samples, C, H, W) in [0, 1]."""
        gan = self.trainer.model
        images = gan.sample(self.n_samples, rng=None, labels=self._labels, z=self._z)
        return asnumpy(images._data)

    def on_batch_end(self, batch, logs=None):
        for k in _STEP_KEYS:
            if logs and k in logs:
                self.steps[k].append(float(logs[k]))

    def on_epoch_end(self, epoch, logs=None):
        images = self.samples()
        columns = None if self._labels is None else [str(v) for v in self._labels[:self.ncols]]
        sample_grid(images, self.directory / "samples" / f"epoch_{epoch + 1:03d}.png",
                    ncols=self.ncols, col_labels=columns, title=f"epoch {epoch + 1}")
        self.strips.append(images[:self.strip])
        self.epochs.append(epoch + 1)

    def on_train_end(self, logs=None):
        if self.strips:
            progress_strip(self.strips, self.directory / "progress.png", epochs=self.epochs)
        if any(self.steps.values()):
            plot_gan_losses(self.steps, self.directory / "losses.png")
