"""Resampling layers: ``Upsample`` (and its two fixed-mode forms), the pixel shuffles and
``ChannelShuffle``.

Each holds PyTorch's options unchanged and calls its function of ``chainrule.ops.resample``.
"""

from __future__ import annotations

from ..ops.resample import channel_shuffle, interpolate, pixel_shuffle, pixel_unshuffle
from .module import Module

__all__ = ["ChannelShuffle", "PixelShuffle", "PixelUnshuffle", "Upsample", "UpsamplingBilinear2d",
           "UpsamplingNearest2d"]


def _floats(scale_factor):
    """PyTorch stores a scale factor as a float, or a tuple of floats.

    As PyTorch's module, a list is refused (a tuple gives one factor per spatial axis);
    ``F.interpolate`` itself takes either.
    """
    if isinstance(scale_factor, list):
        raise TypeError(f"Upsample: scale_factor must be a number or a tuple of numbers (one per "
                        f"spatial axis), got the list {scale_factor!r}; pass tuple(...) instead")
    if isinstance(scale_factor, tuple):
        return tuple(_floats(f) for f in scale_factor)
    if isinstance(scale_factor, (int, float)) and not isinstance(scale_factor, bool):
        return float(scale_factor)
    return scale_factor


class Upsample(Module):
    """Resize the spatial axes of (N, C, L) or (N, C, H, W) input (``F.interpolate``).

    >>> Upsample(scale_factor=2.0, mode="bilinear")
    Upsample(scale_factor=2.0, mode='bilinear')
    """

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{type(self).__name__}: give exactly one of size and scale_factor, "
                             f"got size={size!r}, scale_factor={scale_factor!r}")
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = _floats(scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):  # noqa: A002 - PyTorch's name
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")`` for (N, C, H, W) input."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r) (``F.pixel_shuffle``)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):  # noqa: A002
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W) (``F.pixel_unshuffle``)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):  # noqa: A002
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Regroup the channels of (N, C, *) input (``F.channel_shuffle``)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input):  # noqa: A002
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
