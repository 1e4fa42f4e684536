"""End-to-end runs behind the command line: train a classifier into a run folder, evaluate it."""

from .catalog import DATASETS, ImageData, load_image_dataset
from .classify import (
    AUGMENTATIONS,
    OPTIMIZERS,
    evaluate_checkpoint,
    load_model,
    train_classifier,
)
from .predict import predict_images, training_images

__all__ = [
    "AUGMENTATIONS",
    "DATASETS",
    "OPTIMIZERS",
    "ImageData",
    "evaluate_checkpoint",
    "load_image_dataset",
    "load_model",
    "predict_images",
    "train_classifier",
    "training_images",
]
