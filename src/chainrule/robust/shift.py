"""Strange poses: accuracy and confidence of a classifier as its inputs are rotated, scaled,
shifted and distorted, and the most confident mistakes ("a 6 upside down is a 9 with 0.99")."""

from __future__ import annotations

import math
import numbers

from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ..data.transforms import elastic_distortion
from ..ops import softmax
from ._core import cast_to_model, check_int, check_logits, in_eval_mode, resolve_rng

__all__ = ["POSES", "confident_mistakes", "pose_curves", "transform_images", "warp"]

POSES = {
    "rotation": [float(a) for a in range(-180, 181, 15)],
    "scale": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5],
    "translation": [float(t) for t in range(-8, 9, 2)],
    "elastic": [0.0, 8.0, 16.0, 24.0, 34.0, 48.0, 64.0],
}


def warp(images, *, angle: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)):
    """Rotate by ``angle`` degrees (counterclockwise), scale and shift (rows, columns) images.

    About the image's centre, with bilinear sampling; what comes from outside is 0 (the MNIST
    background).

    Args:
        images: (N, C, H, W) array.

    Returns:
        An array of the same shape and dtype (integer images rounded to the nearest value).
    """
    _check_pose(angle, scale, shift)
    xp = get_array_module(images)
    n, c, h, w = images.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ii, jj = xp.meshgrid(xp.arange(h, dtype="float64"), xp.arange(w, dtype="float64"),
                         indexing="ij")
    a = math.radians(angle)
    dy, dx = (ii - cy - shift[0]) / scale, (jj - cx - shift[1]) / scale
    # inverse map: the source of each output pixel, turned back by -angle (rows point down,
    # so this sign turns the picture counterclockwise as it is shown)
    sy = math.cos(a) * dy + math.sin(a) * dx + cy
    sx = -math.sin(a) * dy + math.cos(a) * dx + cx
    y0, x0 = xp.floor(sy).astype("int64"), xp.floor(sx).astype("int64")
    out = xp.zeros(images.shape, dtype="float64")
    for oy in (0, 1):
        for ox in (0, 1):
            r, col = y0 + oy, x0 + ox
            weight = (1 - xp.abs(sy - r)) * (1 - xp.abs(sx - col))
            inside = (r >= 0) & (r < h) & (col >= 0) & (col < w)
            taken = images[:, :, xp.clip(r, 0, h - 1), xp.clip(col, 0, w - 1)]
            out += taken * xp.where(inside, weight, 0.0)
    if images.dtype.kind in "iu":  # rounded as torchvision's rotate; astype truncated 127.5
        info = xp.iinfo(images.dtype)
        out = xp.clip(xp.rint(out), info.min, info.max)
    return out.astype(images.dtype)


def _check_pose(angle, scale, shift) -> None:
    """Refuse a pose that would give a plausible image of nothing: a NaN or infinite angle,
    scale or shift, or a scale <= 0 (scale 0 gave a black image, angle NaN one too)."""
    def finite(v):
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)

    if not finite(angle):
        raise ValueError(f"warp: angle must be a finite number of degrees, got {angle!r}")
    if not finite(scale) or scale <= 0:
        raise ValueError(f"warp: scale must be a finite number > 0, got {scale!r}")
    try:
        pair = tuple(shift)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(map(finite, pair)):
        raise ValueError(f"warp: shift must be a pair (rows, columns) of finite numbers, got "
                         f"{shift!r}")


def transform_images(images, kind: str, value: float, *, rng=None):
    """``images`` under one pose change: rotation (degrees), scale, translation (pixels, along
    the diagonal) or elastic (distortion strength alpha, Simard et al.'s sigma = 4)."""
    if kind == "rotation":
        return warp(images, angle=value)
    if kind == "scale":
        return warp(images, scale=value)
    if kind == "translation":
        return warp(images, shift=(value, value))
    if kind == "elastic":
        if value == 0:
            return images
        # in the images' dtype: elastic_distortion gives float32, which a float64 model refused
        return elastic_distortion(images, rng=resolve_rng(rng), alpha=value,
                                  sigma=4.0).astype(images.dtype, copy=False)
    raise ValueError(f"pose: kind must be one of {', '.join(POSES)}, got {kind!r}")


def _probabilities(model, x, batch_size: int):
    xp = get_array_module(x)
    with no_grad():
        parts = [softmax(model(Tensor(x[i:i + batch_size])), axis=1)._data
                 for i in range(0, len(x), batch_size)]
    return xp.concatenate(parts)


def _images_and_labels(who: str, model, x, y):
    """``x`` as an (N, C, H, W) array of the model's dtype and ``y`` as N integer labels (a list
    or Tensor too), each one of the model's classes: a label array of another shape would
    broadcast against the predictions, and a label no output can have would count as a mistake,
    giving a wrong accuracy instead of an error."""
    x = x._data if isinstance(x, Tensor) else x
    if not hasattr(x, "shape") or x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"{who}: x must be a batch of images (N, C, H, W) with N >= 1, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    xp = get_array_module(x)
    x = cast_to_model(model, x)  # float64 images for a float32 model, as the attacks take them
    y = xp.asarray(y._data if isinstance(y, Tensor) else y)
    if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"{who}: y must be {x.shape[0]} integer class labels (one per image), "
                         f"got shape {y.shape} of {y.dtype}")
    with no_grad():
        classes = check_logits(who, model(Tensor(x[:1])), 1)
    if bool((y < 0).any()) or bool((y >= classes).any()):
        raise ValueError(f"{who}: y must hold class labels in [0, {classes}) (the model's "
                         f"outputs), got labels from {int(y.min())} to {int(y.max())}")
    return x, y


@in_eval_mode
def pose_curves(model, x, y, poses=None, *, rng=None, batch_size: int = 500) -> dict:
    """Accuracy and mean confidence (top softmax probability) at each pose of each kind.

    Args:
        model: a classifier; it runs in eval mode (its mode is kept).
        x, y: images (N, C, H, W) and labels.
        poses: ``{kind: [values]}`` (default ``POSES``).
        rng: Generator or seed for the elastic distortions.

    Returns:
        ``{kind: [{"value", "accuracy", "confidence", "confidence_wrong"}, ...]}``;
        ``confidence_wrong`` is the mean confidence of the wrong answers (NaN when none).
    """
    x, y = _images_and_labels("pose_curves", model, x, y)
    check_int("pose_curves", "batch_size", batch_size)
    rng = resolve_rng(rng)
    curves = {}
    for kind, values in (poses or POSES).items():
        rows = []
        for value in values:
            p = _probabilities(model, transform_images(x, kind, value, rng=rng), batch_size)
            pred, conf = p.argmax(axis=1), p.max(axis=1)
            wrong = pred != y
            rows.append({"value": float(value), "accuracy": float((~wrong).mean()),
                         "confidence": float(conf.mean()),
                         "confidence_wrong": float(conf[wrong].mean()) if wrong.any()
                         else float("nan")})
        curves[kind] = rows
    return curves


@in_eval_mode
def confident_mistakes(model, x, y, angles, *, k: int = 20, batch_size: int = 500) -> list:
    """The ``k`` most confident wrong answers over rotations by ``angles``.

    Returns:
        A list of dicts, most confident first: ``index`` (into x), ``angle``, ``label``,
        ``predicted``, ``confidence`` and ``image`` (the rotated image).
    """
    x, y = _images_and_labels("confident_mistakes", model, x, y)
    check_int("confident_mistakes", "k", k)  # k = 0 returned every mistake (it never hit len k)
    check_int("confident_mistakes", "batch_size", batch_size)
    found = []
    for angle in angles:
        p = _probabilities(model, warp(x, angle=angle), batch_size)
        pred, conf = p.argmax(axis=1), p.max(axis=1)
        found += [(float(conf[i]), int(i), float(angle), int(pred[i]))
                  for i in (pred != y).nonzero()[0]]
    found.sort(key=lambda t: (-t[0], t[1], t[2]))
    out, seen = [], set()
    for conf, i, angle, predicted in found:
        if i in seen:  # one pose per image: its most confident mistake
            continue
        seen.add(i)
        out.append({"index": i, "angle": angle, "label": int(y[i]), "predicted": predicted,
                    "confidence": conf, "image": warp(x[i:i + 1], angle=angle)[0]})
        if len(out) == k:
            break
    return out
