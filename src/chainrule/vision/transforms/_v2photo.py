"""transforms.v2's photometric transforms that take float images where v1's take uint8 only:
``RandomPosterize``, ``RandomEqualize`` and the automatic augmentations (``AutoAugment``,
``RandAugment``, ``TrivialAugmentWide``, ``AugMix``), as torchvision.transforms.v2's.

A float image (values in [0, 1]) is posterized as ``floor(x * 2**bits) / 2**bits``, equalised
through uint8, and solarized at the same fraction of 1 as a uint8 image's threshold of 255;
uint8 and PIL images go as in v1. v2's ``GaussianBlur`` also takes a one-element sigma
(``[s]`` as ``s``), which v1's refuses.
"""

from __future__ import annotations

from . import _adjust as adj
from ._autoaugment import AugMix as _AugMix
from ._autoaugment import AutoAugment as _AutoAugment
from ._autoaugment import RandAugment as _RandAugment
from ._autoaugment import TrivialAugmentWide as _TrivialAugmentWide
from ._pixel import GaussianBlur as _GaussianBlur
from ._pixel import RandomEqualize as _RandomEqualize
from ._pixel import RandomPosterize as _RandomPosterize

__all__ = ["AugMix", "AutoAugment", "GaussianBlur", "RandAugment", "RandomEqualize",
           "RandomPosterize", "TrivialAugmentWide"]


class AutoAugment(_AutoAugment):
    __doc__ = _AutoAugment.__doc__
    _float_ok = True


class RandAugment(_RandAugment):
    __doc__ = _RandAugment.__doc__
    _float_ok = True


class TrivialAugmentWide(_TrivialAugmentWide):
    __doc__ = _TrivialAugmentWide.__doc__
    _float_ok = True


class AugMix(_AugMix):
    __doc__ = _AugMix.__doc__
    _float_ok = True


class RandomPosterize(_RandomPosterize):
    """With probability ``p``, keep ``bits`` bits of each value: a uint8 image's highest bits,
    a float image quantised to ``2 ** bits`` levels (v2's rule)."""

    def _apply(self, image):
        return adj.posterize_v2(image, self.bits)


class RandomEqualize(_RandomEqualize):
    """With probability ``p``, equalise the histogram of each channel (a float image through
    uint8, as v2's)."""

    def _apply(self, image):
        return adj.equalize_v2(image)


class GaussianBlur(_GaussianBlur):
    """v1's ``GaussianBlur``, whose sigma may also be a one-element sequence (v2's
    ``_setup_number_or_seq``: ``[s]`` is the fixed sigma ``s``)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0), *, rng=None):
        if isinstance(sigma, (list, tuple)) and len(sigma) == 1:
            sigma = (sigma[0], sigma[0])
        super().__init__(kernel_size, sigma, rng=rng)
