"""Zhang, Zhao & LeCun's (2015) character-level ConvNet for text classification."""

from __future__ import annotations

from .. import nn
from ..nn._checks import positive_int
from .registry import register

__all__ = ["CharCNN"]

_SIZES = {"small": (256, 1024, 0.05), "large": (1024, 2048, 0.02)}


@register("char_cnn", summary="character-level ConvNet: 6 temporal convolutions, 3 dense layers",
          source="Zhang, Zhao & LeCun, Character-level convolutional networks for text "
                 "classification, 2015")
class CharCNN(nn.Module):
    """Six temporal convolutions (kernels 7, 7, 3, 3, 3, 3; max pooling of 3 after the 1st, 2nd
    and 6th) and three dense layers with dropout between them, over one-hot characters.

    ``size="small"`` has 256 feature maps and 1,024 dense units, ``"large"`` 1,024 and 2,048, as
    in the paper, whose Gaussian initializations it follows: weights N(0, 0.05^2) for the small
    model and N(0, 0.02^2) for the large (the biases, which the paper does not give, start at 0).

    Args:
        size: "small" or "large".
        num_classes: output units (4 for AG News).
        alphabet_size: input channels (70: ``data.text.ALPHABET``).
        length: characters per text (1,014 in the paper; at least 123).
        dropout: dropout probability between the dense layers (0.5 in the paper).
        rng: numpy Generator for the initialization and the dropout masks.

    Shape:
        (N, alphabet_size, length) -> logits (N, num_classes).
    """

    def __init__(self, size: str = "small", num_classes: int = 4, alphabet_size: int = 70,
                 length: int = 1014, dropout: float = 0.5, *, rng=None):
        super().__init__()
        if size not in _SIZES:
            raise ValueError(f"CharCNN: size must be 'small' or 'large', got {size!r}")
        length = positive_int("CharCNN", "length", length)  # 200.0 failed in Linear
        frame = ((length - 6) // 3 - 6) // 3 - 8
        if frame // 3 < 1:
            raise ValueError(f"CharCNN: length must be at least 123 characters, got {length}")
        features, dense, std = _SIZES[size]
        self.size = size
        conv = [nn.Conv1d(alphabet_size, features, 7, rng=rng), nn.ReLU(), nn.MaxPool1d(3),
                nn.Conv1d(features, features, 7, rng=rng), nn.ReLU(), nn.MaxPool1d(3)]
        for _ in range(3):
            conv += [nn.Conv1d(features, features, 3, rng=rng), nn.ReLU()]
        conv += [nn.Conv1d(features, features, 3, rng=rng), nn.ReLU(), nn.MaxPool1d(3)]
        self.features = nn.Sequential(*conv)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(features * (frame // 3), dense, rng=rng), nn.ReLU(),
            nn.Dropout(dropout, rng=rng), nn.Linear(dense, dense, rng=rng), nn.ReLU(),
            nn.Dropout(dropout, rng=rng), nn.Linear(dense, num_classes, rng=rng))
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, std, rng=rng)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.features(x))
