"""torchvision's automatic augmentations: ``AutoAugment`` (Cubuk et al., 2019; the ImageNet,
CIFAR-10 and SVHN policies), ``RandAugment`` (Cubuk et al., 2020), ``TrivialAugmentWide``
(Mueller and Hutter, 2021) and ``AugMix`` (Hendrycks et al., 2020), with torchvision's
operations, magnitude bins and policies.

Images are uint8: a Tensor (..., 1 or 3, H, W), an array (H, W[, 3]) or a PIL image ("L" or
"RGB"). Draws come from ``rng`` or the default generator.
"""

from __future__ import annotations

import enum
import math

import numpy as np

from ...backend.random import resolve_rng
from .._image import _Image
from . import _adjust as adj
from ._resize import InterpolationMode, interpolation_name
from ._warp import affine, rotate

__all__ = ["AugMix", "AutoAugment", "AutoAugmentPolicy", "RandAugment", "TrivialAugmentWide",
           "apply_op"]


def apply_op(img, op_name: str, magnitude: float, interpolation, fill):
    """One named operation of the augmentation spaces at ``magnitude``."""
    if op_name in ("ShearX", "ShearY"):
        degrees = math.degrees(math.atan(magnitude))
        shear = (degrees, 0.0) if op_name == "ShearX" else (0.0, degrees)
        return affine(img, 0.0, (0, 0), 1.0, shear, interpolation, fill, center=(0, 0))
    if op_name in ("TranslateX", "TranslateY"):
        move = (int(magnitude), 0) if op_name == "TranslateX" else (0, int(magnitude))
        return affine(img, 0.0, move, 1.0, (0.0, 0.0), interpolation, fill)
    if op_name == "Rotate":
        return rotate(img, magnitude, interpolation, fill=fill)
    blends = {"Brightness": adj.adjust_brightness, "Color": adj.adjust_saturation,
              "Contrast": adj.adjust_contrast, "Sharpness": adj.adjust_sharpness}
    if op_name in blends:
        return blends[op_name](img, 1.0 + magnitude)
    if op_name == "Posterize":
        return adj.posterize(img, int(magnitude))
    if op_name == "Solarize":
        return adj.solarize(img, magnitude)
    plain = {"AutoContrast": adj.autocontrast, "Equalize": adj.equalize, "Invert": adj.invert,
             "Identity": lambda x: x}
    if op_name in plain:
        return plain[op_name](img)
    raise ValueError(f"apply_op: unknown operation {op_name!r}")


class AutoAugmentPolicy(enum.Enum):
    """The AutoAugment policies learned on ImageNet, CIFAR-10 and SVHN."""

    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


def _pairs(text: str):
    """Sub-policies written as "Op prob magnitude, Op prob magnitude; ..." (magnitude "-" for
    none) into torchvision's ((name, p, magnitude id), (name, p, magnitude id)) tuples."""
    out = []
    for sub in text.split(";"):
        ops = []
        for op in sub.split(","):
            name, p, m = op.split()
            ops.append((name, float(p), None if m == "-" else int(m)))
        out.append(tuple(ops))
    return out


_POLICIES = {
    AutoAugmentPolicy.IMAGENET: _pairs(
        "Posterize 0.4 8, Rotate 0.6 9; Solarize 0.6 5, AutoContrast 0.6 -;"
        "Equalize 0.8 -, Equalize 0.6 -; Posterize 0.6 7, Posterize 0.6 6;"
        "Equalize 0.4 -, Solarize 0.2 4; Equalize 0.4 -, Rotate 0.8 8;"
        "Solarize 0.6 3, Equalize 0.6 -; Posterize 0.8 5, Equalize 1.0 -;"
        "Rotate 0.2 3, Solarize 0.6 8; Equalize 0.6 -, Posterize 0.4 6;"
        "Rotate 0.8 8, Color 0.4 0; Rotate 0.4 9, Equalize 0.6 -;"
        "Equalize 0.0 -, Equalize 0.8 -; Invert 0.6 -, Equalize 1.0 -;"
        "Color 0.6 4, Contrast 1.0 8; Rotate 0.8 8, Color 1.0 2;"
        "Color 0.8 8, Solarize 0.8 7; Sharpness 0.4 7, Invert 0.6 -;"
        "ShearX 0.6 5, Equalize 1.0 -; Color 0.4 0, Equalize 0.6 -;"
        "Equalize 0.4 -, Solarize 0.2 4; Solarize 0.6 5, AutoContrast 0.6 -;"
        "Invert 0.6 -, Equalize 1.0 -; Color 0.6 4, Contrast 1.0 8;"
        "Equalize 0.8 -, Equalize 0.6 -"),
    AutoAugmentPolicy.CIFAR10: _pairs(
        "Invert 0.1 -, Contrast 0.2 6; Rotate 0.7 2, TranslateX 0.3 9;"
        "Sharpness 0.8 1, Sharpness 0.9 3; ShearY 0.5 8, TranslateY 0.7 9;"
        "AutoContrast 0.5 -, Equalize 0.9 -; ShearY 0.2 7, Posterize 0.3 7;"
        "Color 0.4 3, Brightness 0.6 7; Sharpness 0.3 9, Brightness 0.7 9;"
        "Equalize 0.6 -, Equalize 0.5 -; Contrast 0.6 7, Sharpness 0.6 5;"
        "Color 0.7 7, TranslateX 0.5 8; Equalize 0.3 -, AutoContrast 0.4 -;"
        "TranslateY 0.4 3, Sharpness 0.2 6; Brightness 0.9 6, Color 0.2 8;"
        "Solarize 0.5 2, Invert 0.0 -; Equalize 0.2 -, AutoContrast 0.6 -;"
        "Equalize 0.2 -, Equalize 0.6 -; Color 0.9 9, Equalize 0.6 -;"
        "AutoContrast 0.8 -, Solarize 0.2 8; Brightness 0.1 3, Color 0.7 0;"
        "Solarize 0.4 5, AutoContrast 0.9 -; TranslateY 0.9 9, TranslateY 0.7 9;"
        "AutoContrast 0.9 -, Solarize 0.8 3; Equalize 0.8 -, Invert 0.1 -;"
        "TranslateY 0.7 9, AutoContrast 0.9 -"),
    AutoAugmentPolicy.SVHN: _pairs(
        "ShearX 0.9 4, Invert 0.2 -; ShearY 0.9 8, Invert 0.7 -;"
        "Equalize 0.6 -, Solarize 0.6 6; Invert 0.9 -, Equalize 0.6 -;"
        "Equalize 0.6 -, Rotate 0.9 3; ShearX 0.9 4, AutoContrast 0.8 -;"
        "ShearY 0.9 8, Invert 0.4 -; ShearY 0.9 5, Solarize 0.2 6;"
        "Invert 0.9 -, AutoContrast 0.8 -; Equalize 0.6 -, Rotate 0.9 3;"
        "ShearX 0.9 4, Solarize 0.3 3; ShearY 0.8 8, Invert 0.7 -;"
        "Equalize 0.9 -, TranslateY 0.6 6; Invert 0.9 -, Equalize 0.6 -;"
        "Contrast 0.3 3, Rotate 0.8 4; Invert 0.8 -, TranslateY 0.0 2;"
        "ShearY 0.7 6, Solarize 0.4 8; Invert 0.6 -, Rotate 0.8 4;"
        "ShearY 0.3 7, TranslateX 0.9 3; ShearX 0.1 6, Invert 0.6 -;"
        "Solarize 0.7 2, TranslateY 0.6 7; ShearY 0.8 4, Invert 0.8 -;"
        "ShearX 0.7 9, TranslateY 0.8 3; ShearY 0.8 5, AutoContrast 0.7 -;"
        "ShearX 0.7 2, Invert 0.1 -"),
}


def _linspace(start: float, end: float, n: int):
    return np.linspace(start, end, n, dtype=np.float32).astype(np.float64)


def _space(bins: int, height: int, width: int, *, wide: bool, identity: bool, invert: bool):
    """The operations and their (magnitudes, signed) as torchvision's augmentation spaces;
    the order matters (the draws index it)."""
    top = 0.99 if wide else 0.9
    space = {"Identity": (None, False)} if identity else {}
    space.update({
        "ShearX": (_linspace(0.0, top if wide else 0.3, bins), True),
        "ShearY": (_linspace(0.0, top if wide else 0.3, bins), True),
        "TranslateX": (_linspace(0.0, 32.0 if wide else 150.0 / 331.0 * width, bins), True),
        "TranslateY": (_linspace(0.0, 32.0 if wide else 150.0 / 331.0 * height, bins), True),
        "Rotate": (_linspace(0.0, 135.0 if wide else 30.0, bins), True),
        "Brightness": (_linspace(0.0, top, bins), True),
        "Color": (_linspace(0.0, top, bins), True),
        "Contrast": (_linspace(0.0, top, bins), True),
        "Sharpness": (_linspace(0.0, top, bins), True),
        "Posterize": (8 - np.rint(np.arange(bins) / ((bins - 1) / (6 if wide else 4))), False),
        "Solarize": (_linspace(255.0, 0.0, bins), False),
        "AutoContrast": (None, False),
        "Equalize": (None, False),
    })
    if invert:
        space["Invert"] = (None, False)
    return space


class _Augment:
    _float_ok = False  # v2's take float images too

    def _setup(self, interpolation, fill):
        who = type(self).__name__
        self.interpolation = InterpolationMode(interpolation_name(who, interpolation))
        self.fill = fill

    def _prepare(self, image):
        img = _Image(image, type(self).__name__)
        if img.kind != "pil" and img.array.dtype != np.uint8 and not (
                self._float_ok and img.array.dtype.kind == "f"):
            raise TypeError(f"{type(self).__name__}: expected a uint8 image (or a PIL image), "
                            f"got dtype {img.array.dtype}; apply it before ToTensor (or use "
                            f"transforms.v2's, which take float images)")
        fill = self.fill
        if img.kind != "pil" and fill is not None:
            fill = [float(f) for f in np.atleast_1d(fill)]
        return img, fill

    def _op(self, image, name, magnitude, fill):
        if self._float_ok and name in ("Posterize", "Solarize", "Equalize") \
                and _Image(image, "apply_op").array.dtype.kind == "f":
            # v2's rules for a float image in [0, 1]: the threshold a fraction of 1
            if name == "Solarize":
                return adj.solarize(image, magnitude / 255.0)
            return adj.posterize_v2(image, int(magnitude)) if name == "Posterize" \
                else adj.equalize_v2(image)
        return apply_op(image, name, magnitude, self.interpolation, fill)


class AutoAugment(_Augment):
    """One randomly chosen sub-policy of two operations, each applied with its probability
    at its magnitude (the sign of a signed magnitude drawn)."""

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET,
                 interpolation=InterpolationMode.NEAREST, fill=None, *, rng=None):
        self.policy = AutoAugmentPolicy(policy)
        self.policies = _POLICIES[self.policy]
        self._setup(interpolation, fill)
        self.rng = rng

    @staticmethod
    def get_params(transform_num: int, *, rng=None):
        """(sub-policy index, two probabilities, two signs)."""
        rng = resolve_rng(rng, "AutoAugment")
        return int(rng.integers(transform_num)), rng.random(2), rng.integers(0, 2, 2)

    def __call__(self, image):
        img, fill = self._prepare(image)
        height, width = img.size
        index, probs, signs = self.get_params(len(self.policies), rng=self.rng)
        space = _space(10, height, width, wide=False, identity=False, invert=True)
        for i, (name, p, magnitude_id) in enumerate(self.policies[index]):
            if probs[i] <= p:
                magnitudes, signed = space[name]
                magnitude = float(magnitudes[magnitude_id]) if magnitude_id is not None else 0.0
                if signed and signs[i] == 0:
                    magnitude = -magnitude
                image = self._op(image, name, magnitude, fill)
        return image

    def __repr__(self) -> str:
        return f"AutoAugment(policy={self.policy}, fill={self.fill})"


class RandAugment(_Augment):
    """``num_ops`` operations drawn uniformly, each at bin ``magnitude`` of
    ``num_magnitude_bins`` (a random sign for the signed ones)."""

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation=InterpolationMode.NEAREST, fill=None, *, rng=None):
        if not 0 <= magnitude < num_magnitude_bins:
            raise ValueError(f"RandAugment: magnitude must be in 0..num_magnitude_bins - 1 "
                             f"({num_magnitude_bins - 1}), got {magnitude!r}")
        if num_ops < 0:
            raise ValueError(f"RandAugment: num_ops must be non-negative, got {num_ops!r}")
        self.num_ops, self.magnitude = int(num_ops), int(magnitude)
        self.num_magnitude_bins = int(num_magnitude_bins)
        self._setup(interpolation, fill)
        self.rng = rng

    def __call__(self, image):
        img, fill = self._prepare(image)
        rng = resolve_rng(self.rng, "RandAugment")
        space = _space(self.num_magnitude_bins, *img.size, wide=False, identity=True,
                       invert=False)
        names = list(space)
        for _ in range(self.num_ops):
            name = names[int(rng.integers(len(names)))]
            magnitudes, signed = space[name]
            magnitude = float(magnitudes[self.magnitude]) if magnitudes is not None else 0.0
            if signed and rng.integers(2):
                magnitude = -magnitude
            image = self._op(image, name, magnitude, fill)
        return image

    def __repr__(self) -> str:
        return (f"RandAugment(num_ops={self.num_ops}, magnitude={self.magnitude}, "
                f"num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation.value}, fill={self.fill})")


class TrivialAugmentWide(_Augment):
    """One operation drawn uniformly at a magnitude drawn uniformly from its
    ``num_magnitude_bins`` bins (the wide ranges)."""

    def __init__(self, num_magnitude_bins: int = 31, interpolation=InterpolationMode.NEAREST,
                 fill=None, *, rng=None):
        if num_magnitude_bins < 2:
            raise ValueError(f"TrivialAugmentWide: num_magnitude_bins must be at least 2, got "
                             f"{num_magnitude_bins!r}")
        self.num_magnitude_bins = int(num_magnitude_bins)
        self._setup(interpolation, fill)
        self.rng = rng

    def __call__(self, image):
        img, fill = self._prepare(image)
        rng = resolve_rng(self.rng, "TrivialAugmentWide")
        space = _space(self.num_magnitude_bins, *img.size, wide=True, identity=True,
                       invert=False)
        names = list(space)
        name = names[int(rng.integers(len(names)))]
        magnitudes, signed = space[name]
        magnitude = float(magnitudes[int(rng.integers(len(magnitudes)))]) \
            if magnitudes is not None else 0.0
        if signed and rng.integers(2):
            magnitude = -magnitude
        return self._op(image, name, magnitude, fill)

    def __repr__(self) -> str:
        return (f"TrivialAugmentWide(num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation.value}, fill={self.fill})")


class AugMix(_Augment):
    """AugMix (Hendrycks et al., 2020): ``mixture_width`` chains of ``chain_depth`` random
    operations (1 to 3 when negative) at severities below ``severity``, mixed with Dirichlet
    weights, and that mixture blended with the image by a Beta(``alpha``, ``alpha``) weight, as
    torchvision's (the uint8 result truncated)."""

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1,
                 alpha: float = 1.0, all_ops: bool = True,
                 interpolation=InterpolationMode.BILINEAR, fill=None, *, rng=None):
        if not 1 <= severity <= 10:
            raise ValueError(f"AugMix: severity must be in 1..10, got {severity!r}")
        if mixture_width < 1 or alpha <= 0:
            raise ValueError(f"AugMix: mixture_width must be at least 1 and alpha positive, got "
                             f"{mixture_width!r} and {alpha!r}")
        self.severity, self.mixture_width = int(severity), int(mixture_width)
        self.chain_depth, self.alpha, self.all_ops = int(chain_depth), float(alpha), all_ops
        self._setup(interpolation, fill)
        self.rng = rng

    def _space(self, height: int, width: int):
        space = {"ShearX": (_linspace(0.0, 0.3, 10), True),
                 "ShearY": (_linspace(0.0, 0.3, 10), True),
                 "TranslateX": (_linspace(0.0, width / 3.0, 10), True),
                 "TranslateY": (_linspace(0.0, height / 3.0, 10), True),
                 "Rotate": (_linspace(0.0, 30.0, 10), True),
                 "Posterize": (4 - np.rint(np.arange(10) / (9 / 4)), False),
                 "Solarize": (_linspace(255.0, 0.0, 10), False),
                 "AutoContrast": (None, False), "Equalize": (None, False)}
        if self.all_ops:
            for name in ("Brightness", "Color", "Contrast", "Sharpness"):
                space[name] = (_linspace(0.0, 0.9, 10), True)
        return space

    def __call__(self, image):
        img, fill = self._prepare(image)
        rng = resolve_rng(self.rng, "AugMix")
        space = self._space(*img.size)
        names = list(space)
        # one pair of weights per image of a batch (N, C, H, W), as torchvision's
        n = img.array.shape[0] if img.kind == "tensor" and img.array.ndim >= 4 else 1
        shape = (n,) + (1,) * (img.array.ndim - 1) if n > 1 else ()
        m = rng.dirichlet([self.alpha] * 2, size=n).astype(np.float32)
        weights = rng.dirichlet([self.alpha] * self.mixture_width, size=n).astype(np.float32)
        weights = weights * m[:, 1:2]
        work = np.float64 if img.array.dtype == np.float64 else np.float32
        original = np.asarray(img.array, work)
        mix = m[:, 0].reshape(shape) * original
        for i in range(self.mixture_width):
            aug = image
            depth = self.chain_depth if self.chain_depth > 0 else int(rng.integers(1, 4))
            for _ in range(depth):
                name = names[int(rng.integers(len(names)))]
                magnitudes, signed = space[name]
                magnitude = float(magnitudes[int(rng.integers(self.severity))]) \
                    if magnitudes is not None else 0.0
                if signed and rng.integers(2):
                    magnitude = -magnitude
                aug = self._op(aug, name, magnitude, fill)
            mix = mix + weights[:, i].reshape(shape) * np.asarray(_Image(aug, "AugMix").array,
                                                                  work)
        return img.back(mix.astype(img.array.dtype))  # uint8 truncated, as torchvision's

    def __repr__(self) -> str:
        return (f"AugMix(severity={self.severity}, mixture_width={self.mixture_width}, "
                f"chain_depth={self.chain_depth}, alpha={self.alpha}, all_ops={self.all_ops}, "
                f"interpolation={self.interpolation.value}, fill={self.fill})")
