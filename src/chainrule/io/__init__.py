"""Saving and loading: model weights and training state as safetensors checkpoints."""

from .checkpoint import (
    load_training_state,
    load_weights,
    read_config,
    read_shapes,
    save_training_state,
    save_weights,
)

__all__ = [
    "load_training_state",
    "load_weights",
    "read_config",
    "read_shapes",
    "save_training_state",
    "save_weights",
]
