"""torchvision.transforms.v2's names for the classic pipeline: ``ToImage``, ``ToDtype``...

``from chainrule.vision.transforms import v2`` stands in for ``from torchvision.transforms import
v2``. ``v2.Compose([v2.ToImage(), v2.ToDtype(cr.float32, scale=True), v2.Normalize(m, s)])`` is
v2's replacement for ``ToTensor`` + ``Normalize``: ``ToImage`` turns an (H, W) or (H, W, C) array
or PIL image into a (C, H, W) Tensor of the same dtype, ``ToDtype`` converts it (with ``scale``,
uint8 0..255 becomes float 0..1). ``MixUp`` and ``CutMix`` mix a batch and its labels (after the
DataLoader); ``Identity``, ``RGB``, ``GaussianNoise``, ``RandomChannelPermutation`` are v2's.
``RandomPosterize``, ``RandomEqualize``, ``AutoAugment``, ``RandAugment``,
``TrivialAugmentWide`` and ``AugMix`` take float images too, as v2's (v1's: uint8 only). The
other transforms (crops, flips, ``Resize``, rotations, ``ColorJitter``, ``GaussianBlur``,
``RandomErasing``...) are the ``transforms`` ones (the same arithmetic in v1 and v2); images are
plain Tensors (torchvision's
``tv_tensors.Image`` is a Tensor subclass), not bounding boxes or masks.
"""

from __future__ import annotations

import numpy as np

from ....autograd.tensor import Tensor
from ..._image import _is_pil
from .. import (
    AutoAugmentPolicy,
    CenterCrop,
    ColorJitter,
    Compose,
    ConvertImageDtype,
    ElasticTransform,
    FiveCrop,
    Grayscale,
    InterpolationMode,
    LinearTransformation,
    Normalize,
    Pad,
    PILToTensor,
    RandomAdjustSharpness,
    RandomAffine,
    RandomApply,
    RandomAutocontrast,
    RandomChoice,
    RandomCrop,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomInvert,
    RandomOrder,
    RandomPerspective,
    RandomResizedCrop,
    RandomRotation,
    RandomSolarize,
    RandomVerticalFlip,
    Resize,
    TenCrop,
    ToPILImage,
    ToTensor,
)
from .. import Lambda as _Lambda
from .._mix import RGB, CutMix, GaussianNoise, Identity, MixUp, RandomChannelPermutation
from .._v2photo import (
    AugMix,
    AutoAugment,
    GaussianBlur,
    RandAugment,
    RandomEqualize,
    RandomPosterize,
    TrivialAugmentWide,
)

__all__ = ["AugMix", "AutoAugment", "AutoAugmentPolicy", "CenterCrop", "ColorJitter", "Compose",
           "ConvertImageDtype", "CutMix", "ElasticTransform", "FiveCrop", "GaussianBlur",
           "GaussianNoise", "Grayscale", "Identity", "InterpolationMode", "Lambda",
           "LinearTransformation", "MixUp", "Normalize", "PILToTensor", "Pad", "RGB", "RandAugment",
           "RandomAdjustSharpness", "RandomAffine", "RandomApply", "RandomAutocontrast",
           "RandomChannelPermutation", "RandomChoice", "RandomCrop", "RandomEqualize",
           "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip", "RandomInvert",
           "RandomOrder", "RandomPerspective", "RandomPosterize", "RandomResizedCrop",
           "RandomRotation", "RandomSolarize", "RandomVerticalFlip", "Resize", "TenCrop", "ToDtype",
           "ToImage", "ToPILImage", "ToPureTensor", "ToTensor", "TrivialAugmentWide",
           "functional"]


class Lambda(_Lambda):
    """Apply ``lambd``; with ``types``, only to inputs of those types (others pass unchanged)."""

    def __init__(self, lambd, *types):
        super().__init__(lambd)
        for t in types:
            if not isinstance(t, type):
                raise TypeError(f"Lambda: types must be classes, got {t!r}")
        self.types = types

    def __call__(self, image):
        if self.types and not isinstance(image, self.types):
            return image
        return self.lambd(image)


class ToImage:
    """An image as a (C, H, W) Tensor of its own dtype (no scaling), as v2's ``ToImage``.

    An (H, W, C) or (H, W) array or PIL image is moved to (C, H, W) ((1, H, W) for one channel);
    a Tensor stays as it is, an (H, W) Tensor becoming (1, H, W).
    """

    def __call__(self, image):
        if isinstance(image, Tensor):
            if image.ndim < 2:
                raise ValueError(f"ToImage: a Tensor image needs at least 2 dimensions (H, W), "
                                 f"got shape {tuple(image.shape)}")
            return image.unsqueeze(0) if image.ndim == 2 else image
        if not (isinstance(image, np.ndarray) or _is_pil(image)):
            raise TypeError(f"ToImage: expected a Tensor, a NumPy array or a PIL image, got "
                            f"{type(image).__name__}")
        a = np.asarray(image)
        if a.ndim not in (2, 3):
            raise ValueError(f"ToImage: expected an (H, W) or (H, W, C) image, got shape "
                             f"{a.shape}")
        if a.ndim == 2:
            a = a[:, :, None]
        return Tensor(np.ascontiguousarray(a.transpose(2, 0, 1)))

    def __repr__(self) -> str:
        return "ToImage()"


class ToPureTensor:
    """v2's ``ToPureTensor``: chainrule's images are plain Tensors already; returned as given."""

    def __call__(self, image):
        return image

    def __repr__(self) -> str:
        return "ToPureTensor()"


def _value_bits(dtype: np.dtype) -> int:
    """The bits that hold an integer dtype's non-negative values (int8: 7, uint8: 8)."""
    return dtype.itemsize * 8 - (dtype.kind == "i")


class ToDtype:
    """Convert a Tensor image to ``dtype``; with ``scale``, keep its meaning, as v2's ``ToDtype``.

    Args:
        dtype: the new dtype (``cr.float32``, ``cr.uint8``...).
        scale: rescale the values between the dtypes' ranges (integers 0..max, floats 0..1):
            integer to float multiplies by ``1 / max``; float to integer multiplies by
            ``max + 1 - 0.001`` and truncates (values must lie in [0, 1]); integer to integer
            shifts by the difference of their bits; float to float only converts.
    """

    def __init__(self, dtype, scale: bool = False):
        if isinstance(dtype, dict):
            raise TypeError("ToDtype: a dict of dtypes per kind of input (bounding boxes, masks) "
                            "is not supported (images are plain Tensors here); pass one dtype")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind not in "fiu":
            raise TypeError(f"ToDtype: dtype must be a float or integer dtype, got {self.dtype}")
        if not isinstance(scale, bool):
            raise TypeError(f"ToDtype: scale must be True or False, got {scale!r}")
        self.scale = scale

    def __call__(self, image):
        if not isinstance(image, Tensor):
            raise TypeError(f"ToDtype: expected a Tensor image (apply ToImage first), got "
                            f"{type(image).__name__}")
        source, target = np.dtype(image.dtype), self.dtype
        if source == target:
            return image
        if not self.scale or (source.kind == "f" and target.kind == "f"):
            return image.to(target)
        if source.kind not in "fiu":
            raise TypeError(f"ToDtype: cannot scale an image of dtype {source}")
        a = image.numpy()
        if source.kind == "f":
            if (source == np.float32 and target in (np.int32, np.int64)) or \
                    (source == np.float64 and target == np.int64):
                raise RuntimeError(f"ToDtype: the conversion from {source} to {target} cannot "
                                   "be performed safely")
            if a.size and not (a.min() >= 0 and a.max() <= 1):
                raise ValueError(f"ToDtype: scaling float values to {target} needs them in "
                                 f"[0, 1], got values in [{a.min()}, {a.max()}]")
            top = float(2 ** _value_bits(target) - 1)
            work = a.astype(np.float32) if source.itemsize < 4 else a  # as convert_image_dtype
            return Tensor((work * (top + 1.0 - 1e-3)).astype(target))
        if target.kind == "f":
            return Tensor(a.astype(target) * (1.0 / (2 ** _value_bits(source) - 1)))
        shift = _value_bits(source) - _value_bits(target)
        if shift > 0:
            return Tensor((a >> shift).astype(target))
        return Tensor(a.astype(target) << -shift)

    def __repr__(self) -> str:
        return f"ToDtype(dtype={self.dtype}, scale={self.scale})"


from . import functional  # noqa: E402 - it uses the classes above
