"""An image as the transforms see it: an array with its height, width and channel axes."""

from __future__ import annotations

import sys

import numpy as np

from ..autograd.mode import is_grad_enabled
from ..autograd.tensor import Tensor

__all__ = ["_Image", "_is_pil"]


def _is_pil(image) -> bool:
    """A PIL image (recognised without importing Pillow, which chainrule does not need)."""
    return type(image).__module__.startswith("PIL.") and hasattr(image, "getbands")


class _Image:
    """An image as an array with its height, width and channel axes, and a way to give it back
    as the kind it came in (Tensor (..., C, H, W); array (H, W) or (H, W, C); PIL image)."""

    def __init__(self, image, who: str):
        self.kind = "tensor" if isinstance(image, Tensor) else "pil" if _is_pil(image) \
            else "array"
        self.source, self.who = image, who
        self.array = image._data if self.kind == "tensor" else np.asarray(image)
        if self.kind == "tensor":
            if self.array.ndim < 2:
                raise ValueError(f"{who}: expected a (..., H, W) Tensor, got shape "
                                 f"{self.array.shape}")
            self.h_axis, self.w_axis, self.c_axis = self.array.ndim - 2, self.array.ndim - 1, \
                (self.array.ndim - 3 if self.array.ndim >= 3 else None)
        else:
            if self.array.ndim not in (2, 3):
                raise ValueError(f"{who}: expected an (H, W) or (H, W, C) image, got shape "
                                 f"{self.array.shape}")
            self.h_axis, self.w_axis, self.c_axis = 0, 1, (2 if self.array.ndim == 3 else None)

    @property
    def size(self) -> tuple[int, int]:
        return self.array.shape[self.h_axis], self.array.shape[self.w_axis]

    def back(self, array):
        array = np.ascontiguousarray(array)
        if self.kind == "tensor":
            if self.source.requires_grad and is_grad_enabled():
                raise RuntimeError(
                    f"{self.who}: the image requires grad, but this transform computes on its "
                    "values and is not recorded (torchvision's tensor transforms are "
                    "differentiable), so the gradient would silently stop here. Transform "
                    "x.detach() (or under no_grad()) for data, or use the recorded ops for a "
                    "gradient: nn.functional.interpolate, affine_grid/grid_sample, pad, flip")
            return Tensor(array)
        if self.kind == "pil":
            module, source = sys.modules["PIL.Image"], self.source
            out = module.fromarray(array)
            if out.mode != source.mode and array.dtype == np.uint8 and \
                    len(out.getbands()) == len(source.getbands()):
                # the source's mode, as torchvision's PIL crops and flips keep it: a "P" image
                # came back "L" (its palette indices as grey), "CMYK" as "RGBA"...
                out = module.frombytes(source.mode, out.size, array.tobytes())
                if source.mode in ("P", "PA"):
                    out.putpalette(source.getpalette())
            return out
        return array

    def window(self, top: int, left: int, height: int, width: int):
        index = [slice(None)] * self.array.ndim
        index[self.h_axis] = slice(top, top + height)
        index[self.w_axis] = slice(left, left + width)
        return self.array[tuple(index)]

    def flipped(self, axis):
        return np.flip(self.array, axis=axis)
