"""The MNIST CNN of Madry et al. (2017), the standard model of adversarial-training results."""

from __future__ import annotations

from .. import nn
from ..nn._checks import _is_int
from .registry import register

__all__ = ["MadryCNN", "quarter_side"]


def quarter_side(who: str, input_size) -> int:
    """The side of the features after two halvings of an ``input_size`` image (a multiple of 4)."""
    # 28.0 passed here and failed in Linear ("in_features must be an int, got 3136.0")
    if not _is_int(input_size) or input_size % 4 or input_size < 4:
        raise ValueError(f"{who}: input_size must be a positive multiple of 4, got "
                         f"{input_size!r}")
    return int(input_size) // 4


@register("madry_cnn", summary="Madry et al.'s MNIST CNN: conv 32@5x5, pool, conv 64@5x5, pool, "
          "1024 hidden, 10 outputs",
          source="Madry et al., Towards deep learning models resistant to adversarial attacks, "
          "2017")
class MadryCNN(nn.Module):
    """conv5x5(32) - ReLU - pool - conv5x5(64) - ReLU - pool - linear(1024) - ReLU - linear.

    The convolutions are padded ("same"), as in the MNIST challenge's model, so a 28x28 image
    gives 7x7x64 features.

    Args:
        in_channels: image channels (1 for grey).
        num_classes: output units.
        input_size: image height = width, a multiple of 4 (28 for MNIST).
        rng: numpy Generator for initialization.

    Shape:
        input (N, in_channels, input_size, input_size) -> logits (N, num_classes).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 28, *,
                 rng=None):
        super().__init__()
        side = quarter_side("MadryCNN", input_size)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * side * side, 1024, rng=rng), nn.ReLU(),
            nn.Linear(1024, num_classes, rng=rng),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
