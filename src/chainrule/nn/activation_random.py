"""Layers with random draws in training mode: ``RReLU`` (random leaky slopes) and the SELU
networks' dropouts ``AlphaDropout`` and ``FeatureAlphaDropout``. Each owns its generator
(``rng``), so a seeded model draws the same slopes and masks on every run."""

from __future__ import annotations

from ..ops.activation_random import alpha_dropout, feature_alpha_dropout, rrelu, slope_bounds
from ._checks import resolve_rng
from .dropout import _Dropout
from .module import Module

__all__ = ["AlphaDropout", "FeatureAlphaDropout", "RReLU"]


class RReLU(Module):
    """Randomized leaky ReLU: in training, each negative element is scaled by its own slope drawn
    uniformly from [lower, upper]; in eval mode by (lower + upper) / 2.

    Args:
        lower, upper: the range of the slopes.
        inplace: write the result into the input and return it, as PyTorch's.
        rng: numpy Generator for the slopes (None: the default generator).

    Shape:
        any -> same.

    >>> import chainrule as cr
    >>> RReLU(0.25, 0.75).eval()(cr.tensor([-1.0, 2.0])).tolist()
    [-0.5, 2.0]
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False,
                 *, rng=None):
        super().__init__()
        slope_bounds("RReLU", lower, upper)
        self.lower = lower
        self.upper = upper
        self.inplace = inplace
        self.rng = resolve_rng(rng, "RReLU")

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return rrelu(input, self.lower, self.upper, self.training, self.inplace, rng=self.rng)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"


class AlphaDropout(_Dropout):
    """Alpha dropout for SELU networks (``F.alpha_dropout``) in training mode, the identity in
    eval mode: dropped units take SELU's saturation value and an affine map keeps zero mean and
    unit variance.

    Args:
        p: drop probability, in [0, 1) (the functional form takes 1, which gives zeros).
        rng: numpy Generator for the masks (None: the default generator).

    Shape:
        any -> same.
    """

    def forward(self, input):  # noqa: A002
        return alpha_dropout(input, self.p, self.training, self.inplace, rng=self.rng)


class FeatureAlphaDropout(_Dropout):
    """Alpha dropout of whole channels of (N, C, *) input (``F.feature_alpha_dropout``).

    Args:
        p: drop probability, in [0, 1) (the functional form takes 1, which gives zeros).
        rng: numpy Generator for the masks (None: the default generator).

    Shape:
        (N, C, *) -> same.
    """

    def forward(self, input):  # noqa: A002
        return feature_alpha_dropout(input, self.p, self.training, self.inplace, rng=self.rng)
