"""The model registry shared by the command line and checkpoints: a name -> constructor table.

A checkpoint stores ``{"name": ..., "kwargs": {...}}``; ``build`` turns that back into the same
model.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelInfo", "available", "build", "build_from_config", "config_of", "register"]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    cls: type
    summary: str
    source: str


_REGISTRY: dict[str, ModelInfo] = {}


def register(name: str, *, summary: str, source: str):
    """Class decorator adding a model to the registry under ``name``."""

    def deco(cls):
        _REGISTRY[name] = ModelInfo(name, cls, summary, source)
        cls.registry_name = name
        return cls

    return deco


def available() -> list[ModelInfo]:
    """All registered models, sorted by name."""
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def build(name: str, **kwargs):
    """Construct the registered model ``name`` with ``kwargs``; it remembers them for checkpoints.

    Raises:
        ValueError: unknown name; the message lists the known ones.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    model = _REGISTRY[name].cls(**kwargs)
    model.config = {"name": name, "kwargs": {k: v for k, v in kwargs.items() if k != "rng"}}
    return model


def build_from_config(config: dict, **extra):
    """Rebuild a model from a checkpoint's ``{"name": ..., "kwargs": ...}`` config."""
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(
            f"not a model config (expected a dict with 'name' and 'kwargs'): {config!r}"
        )
    return build(config["name"], **{**config.get("kwargs", {}), **extra})


def config_of(model) -> dict | None:
    """The config a registered model was built with (None for a model not built by ``build``)."""
    return getattr(model, "config", None)
