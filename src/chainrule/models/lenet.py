"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998) and a small CNN for the 8x8 digits."""

from __future__ import annotations

from .. import nn
from .madry import quarter_side
from .registry import register

__all__ = ["LeNet5", "SmallCNN"]


@register("lenet5", summary="LeNet-5: C1 6@5x5, S2, C3 16@5x5, S4, C5 120, F6 84, 10 outputs",
          source="LeCun et al., Gradient-based learning applied to document recognition, 1998")
class LeNet5(nn.Module):
    """LeNet-5 for 28x28 (MNIST) or 32x32 grey images.

    ``variant="classic"`` follows the paper's shape with tanh units and average-pooling subsampling;
    ``variant="modern"`` uses ReLU and max pooling (faster to train, a little more accurate).
    Simplifications from the paper, as in most re-implementations: C3 connects to all six S2 maps
    (the paper used a sparse connection table), subsampling has no trainable coefficient, and the
    output is a linear layer whose logits go into softmax cross-entropy instead of Euclidean RBF
    units.

    Args:
        variant: "classic" or "modern".
        in_channels: image channels (1 for grey).
        num_classes: output units, one per class.
        input_size: 28 (padded by 2 in C1, as the paper padded MNIST to 32x32) or 32.
        rng: numpy Generator for initialization.

    Shape:
        input (N, in_channels, input_size, input_size) -> logits (N, num_classes).
    """

    def __init__(self, variant: str = "modern", in_channels: int = 1, num_classes: int = 10,
                 input_size: int = 28, *, rng=None):
        super().__init__()
        if variant not in ("classic", "modern"):
            raise ValueError(f"LeNet5: variant must be 'classic' or 'modern', got {variant!r}")
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5: input_size must be 28 or 32, got {input_size}")
        self.variant = variant
        act = nn.Tanh if variant == "classic" else nn.ReLU
        pool = nn.AvgPool2d if variant == "classic" else nn.MaxPool2d
        pad = 2 if input_size == 28 else 0
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pad, rng=rng), act(), pool(2),   # C1, S2
            nn.Conv2d(6, 16, 5, rng=rng), act(), pool(2),                         # C3, S4
            nn.Conv2d(16, 120, 5, rng=rng), act(),                                # C5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(120, 84, rng=rng), act(),                     # F6
            nn.Linear(84, num_classes, rng=rng),                                  # output
        )

    def forward(self, x):
        return self.classifier(self.features(x))


@register("small_cnn",
          summary="two 3x3 conv layers + max pooling: a fast CNN for 8x8 or 28x28 digits",
          source="chainrule (the README's offline demo model)")
class SmallCNN(nn.Module):
    """conv3x3(16) - ReLU - maxpool - conv3x3(32) - ReLU - maxpool - linear(64) - ReLU - linear.

    Args:
        in_channels: image channels.
        num_classes: output units.
        input_size: image height = width (a multiple of 4, e.g. 8 for the bundled digits, 28 for
            MNIST).
        rng: numpy Generator for initialization.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, input_size: int = 8, *,
                 rng=None):
        super().__init__()
        side = quarter_side("SmallCNN", input_size)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * side * side, 64, rng=rng), nn.ReLU(),
            nn.Linear(64, num_classes, rng=rng),
        )

    def forward(self, x):
        return self.net(x)
