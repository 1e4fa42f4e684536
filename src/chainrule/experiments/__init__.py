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
from .schedules import SCHEDULES
from .text import (
    TEXT_DATASETS,
    TEXT_MODELS,
    evaluate_text_run,
    is_text_run,
    predict_texts,
    train_text_classifier,
)

__all__ = [
    "AUGMENTATIONS",
    "DATASETS",
    "OPTIMIZERS",
    "SCHEDULES",
    "TEXT_DATASETS",
    "TEXT_MODELS",
    "ImageData",
    "evaluate_checkpoint",
    "evaluate_text_run",
    "is_text_run",
    "load_image_dataset",
    "load_model",
    "predict_images",
    "predict_texts",
    "train_classifier",
    "train_text_classifier",
    "training_images",
]
