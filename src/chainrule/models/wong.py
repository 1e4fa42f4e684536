"""The MNIST CNN of Wong, Rice & Kolter (2020), the model of their fast adversarial training."""

from __future__ import annotations

from .. import nn
from .madry import quarter_side
from .registry import register

__all__ = ["WongCNN"]


@register("wong_cnn", summary="Wong et al.'s MNIST CNN: conv 16@4x4/2, conv 32@4x4/2, 100 hidden, "
          "10 outputs",
          source="Wong, Rice & Kolter, Fast is better than free: revisiting adversarial training, "
          "ICLR 2020")
class WongCNN(nn.Module):
    """conv4x4(16, stride 2) - ReLU - conv4x4(32, stride 2) - ReLU - linear(100) - ReLU - linear.

    The MNIST model of Wong, Rice & Kolter, "Fast is better than free: revisiting adversarial
    training" (ICLR 2020), with which FGSM training from a random start (``chainrule train
    wong_cnn --adversarial fgsm --schedule cyclic``) reaches about 89 % accuracy under PGD at
    eps = 0.3 in their report. Both convolutions have padding 1, so each halves the side: a 28x28
    image gives 7x7x32 features. PyTorch's default initialization (the layers' own).

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
        side = quarter_side("WongCNN", input_size)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 4, stride=2, padding=1, rng=rng), nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2, padding=1, rng=rng), nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * side * side, 100, rng=rng), nn.ReLU(),
            nn.Linear(100, num_classes, rng=rng),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
