"""The lecture's models, each citing its source, and the registry the CLI and checkpoints use."""

from .lenet import LeNet5, SmallCNN
from .mlp import MLP
from .perceptron import Perceptron
from .registry import ModelInfo, available, build, build_from_config, config_of, register

__all__ = [
    "MLP",
    "LeNet5",
    "ModelInfo",
    "Perceptron",
    "SmallCNN",
    "available",
    "build",
    "build_from_config",
    "config_of",
    "register",
]
