"""Generative models at work: adversarial training, pre-training, and measures of what they make.

* ``GANTrainer`` (a ``train.Trainer`` whose ``train_step`` takes one discriminator step and one
  generator step), ``gradient_penalty`` (WGAN-GP) and ``GANMonitor`` (sample grids per epoch, a
  fixed-noise progress strip, both players' loss curves).
* ``frechet_distance``, ``lenet_frechet_distance``, ``evaluate_samples`` (classifier confidence and
  class histogram of generated digits), ``psnr`` and ``reconstruction_report`` (denoising per noise
  level).
* ``pretrain_layerwise`` and ``compare_pretraining``: greedy layer-wise autoencoder pre-training.
* ``RBM`` (Bernoulli-Bernoulli restricted Boltzmann machine: energy, free energy, conditionals,
  CD-k and PCD updates), ``train_rbm`` and ``pretrain_rbm_stack`` (a DBN's greedy RBM pre-training
  of a sigmoid MLP).

The autoencoder applications (denoising, colorization, watermark removal) are data transforms in
``chainrule.data.corruptions`` plus the ordinary ``Trainer``; the models are in
``chainrule.models`` (``Autoencoder``, ``ConvAutoencoder``, ``MLPGAN``, ``DCGAN``,
``ConditionalGAN``).
"""

from .adversarial import GAN_LOSSES, GANOptimizers, GANTrainer, frozen, gradient_penalty
from .callbacks import GANMonitor
from .dbn import pretrain_rbm_stack, train_rbm
from .evaluation import (
    classify,
    evaluate_samples,
    lenet_frechet_distance,
    penultimate_features,
    reconstruct,
    reconstruction_report,
)
from .figures import (
    class_histogram,
    latent_scatter,
    plot_gan_losses,
    progress_strip,
    reconstruction_rows,
    sample_grid,
)
from .metrics import (
    feature_moments,
    frechet_distance,
    frechet_distance_from_moments,
    mse_per_image,
    psnr,
    trace_sqrt_product,
)
from .pretraining import compare_pretraining, pretrain_layerwise
from .rbm import RBM, cd_statistics, free_energy

__all__ = [
    "GAN_LOSSES",
    "RBM",
    "GANMonitor",
    "GANOptimizers",
    "GANTrainer",
    "class_histogram",
    "cd_statistics",
    "classify",
    "compare_pretraining",
    "evaluate_samples",
    "feature_moments",
    "frechet_distance",
    "frechet_distance_from_moments",
    "free_energy",
    "frozen",
    "gradient_penalty",
    "latent_scatter",
    "lenet_frechet_distance",
    "mse_per_image",
    "penultimate_features",
    "plot_gan_losses",
    "pretrain_layerwise",
    "pretrain_rbm_stack",
    "progress_strip",
    "psnr",
    "reconstruct",
    "reconstruction_report",
    "reconstruction_rows",
    "sample_grid",
    "trace_sqrt_product",
    "train_rbm",
]
