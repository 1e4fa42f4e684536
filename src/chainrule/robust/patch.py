"""The printed sticker: a universal adversarial patch (Brown et al. 2017).

One patch, learned over many images, makes the model answer ``target`` wherever it is pasted. It
is trained with expectation over transformation: every image gets the patch at a random position,
rotation and scale, so it works as a physical sticker would, not at one exact spot.

Pasting is a linear map of the patch's pixels. For each image, a matrix ``M`` (H*W x h*w) holds
the bilinear weights with which every image pixel samples the rotated, scaled, shifted patch, and
``m = M 1`` is how much of each pixel the patch covers. The patched image is
``x * (1 - m) + M p``: differentiable in ``p`` with chainrule's ``matmul``, whose gradient is
``M^T g`` - the pasting run backwards.
"""

from __future__ import annotations

import math
import numbers

from ..autograd import Tensor, grad, no_grad
from ..backend import get_array_module
from ..data.arguments import check_number
from ..nn import Module
from ..ops import cross_entropy
from ._core import cast_to_model, check_eps, check_int, check_logits, in_eval_mode, resolve_rng

__all__ = ["apply_patch", "paste_matrices", "patch_side", "patch_success", "random_placements",
           "train_patch"]


def patch_side(area: float, image_side: int) -> int:
    """The side of a square patch covering ``area`` (a share of the image) of an image.

    >>> patch_side(0.09, 28)   # 8 x 8 = 64 of 784 pixels, 8.2%
    8
    """
    area = check_number("patch", "area", area, above=0, below=1, what="a share of the image")
    return max(1, round(math.sqrt(area * image_side * image_side)))


def random_placements(n: int, side: int, image_shape, *, rng, max_rotation: float = 45.0,
                      scale=(0.9, 1.1)) -> list:
    """``n`` random (angle in degrees, scale, centre row, centre column) placements.

    The centre is drawn so that the scaled patch's bounding circle stays inside the image where
    it fits (a sticker is seen whole).
    """
    h, w = image_shape
    check_number("patch", "max_rotation", max_rotation, low=0, why="degrees")
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (0 < low <= high < math.inf):
        raise ValueError(f"patch: scale must be a range (low, high) of finite factors with "
                         f"0 < low <= high, got {scale!r}")
    out = []
    for _ in range(n):
        angle = float(rng.uniform(-max_rotation, max_rotation))
        s = float(rng.uniform(*scale))
        half = min(side * s * math.sqrt(0.5), (min(h, w) - 1) / 2)
        cy = float(rng.uniform(half, h - 1 - half))
        cx = float(rng.uniform(half, w - 1 - half))
        out.append((angle, s, cy, cx))
    return out


def paste_matrices(side: int, image_shape, placements, *, xp, dtype="float32"):
    """The (N, H*W, side*side) bilinear pasting matrices of ``placements``.

    Pixel (i, j) of the image takes the patch at ``u = R(-angle) ((i, j) - centre) / scale +
    (side - 1) / 2``, bilinearly from its four neighbours; points outside the patch take nothing.
    """
    h, w = image_shape
    n = len(placements)
    mats = xp.zeros((n, h * w, side * side), dtype=dtype)
    ii, jj = xp.meshgrid(xp.arange(h, dtype="float64"), xp.arange(w, dtype="float64"),
                         indexing="ij")
    pixel = xp.arange(h * w)
    mid = (side - 1) / 2
    for k, (angle, s, cy, cx) in enumerate(placements):
        a = math.radians(angle)
        dy, dx = (ii - cy).ravel(), (jj - cx).ravel()
        u = (math.cos(a) * dy + math.sin(a) * dx) / s + mid       # patch row
        v = (-math.sin(a) * dy + math.cos(a) * dx) / s + mid      # patch column
        u0, v0 = xp.floor(u), xp.floor(v)
        for du in (0, 1):
            for dv in (0, 1):
                r, c = u0 + du, v0 + dv
                weight = (1 - xp.abs(u - r)) * (1 - xp.abs(v - c))
                inside = (r >= 0) & (r < side) & (c >= 0) & (c < side) & (weight > 0)
                col = (r * side + c)[inside].astype("int64")
                mats[k, pixel[inside], col] += weight[inside].astype(dtype)
    return mats


def apply_patch(x, patch, mats):
    """Paste ``patch`` (C, s, s) onto images ``x`` (N, C, H, W) with pasting matrices ``mats``.

    ``x * (1 - M 1) + M p`` per channel; ``patch`` may be a Tensor that requires grad.

    Returns:
        A Tensor (N, C, H, W).
    """
    x = x._data if isinstance(x, Tensor) else x
    patch = patch if isinstance(patch, Tensor) else Tensor(patch)
    n, c, h, w = x.shape
    xp = get_array_module(x)
    cover = mats.sum(axis=2).reshape(n, 1, h, w)
    flat = patch.reshape(c, -1).transpose(1, 0)                     # (s*s, C)
    pasted = (Tensor(mats) @ flat).permute(0, 2, 1).reshape(n, c, h, w)
    return Tensor(xp.asarray(x * (1 - cover), dtype=x.dtype)) + pasted


def _check_images(who: str, model, x, target):
    """``x`` as an (N, C, H, W) array in [0, 1] of the model's dtype, and ``target`` as one of
    the model's classes."""
    if not isinstance(model, Module):
        raise TypeError(f"{who}: model must be a chainrule nn.Module, got {type(model).__name__}")
    x = x._data if isinstance(x, Tensor) else x
    if not hasattr(x, "shape") or x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"{who}: x must be a batch of images (N, C, H, W) with N >= 1, got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    xp = get_array_module(x)
    if not bool(xp.isfinite(x).all()) or bool((x < 0).any()) or bool((x > 1).any()):
        raise ValueError(f"{who}: x must hold finite values in [0, 1] (the patch's range), got "
                         f"values from {float(x.min()):g} to {float(x.max()):g}")
    x = cast_to_model(model, x)  # float64 images for a float32 model, as the attacks take them
    with no_grad():
        classes = check_logits(who, model(Tensor(x[:1])), 1)
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) \
            or not 0 <= target < classes:
        raise ValueError(f"{who}: target must be one of the model's classes, an int in [0, "
                         f"{classes}), got {target!r}")
    return x, int(target)


@in_eval_mode
def train_patch(model, x, target: int, *, area: float = 0.09, epochs: int = 1,
                batch_size: int = 64, lr: float = 0.05, max_rotation: float = 45.0,
                scale=(0.9, 1.1), rng=None, callback=None):
    """Learn a universal targeted patch over the images ``x`` (N, C, H, W) in [0, 1].

    Each step pastes the patch onto a batch at random placements and takes an Adam step of
    about ``lr`` per pixel down the target's mean cross-entropy (the expectation over
    transformation, estimated by the batch), then clips the patch to [0, 1]. It starts grey
    (0.5 everywhere).

    Args:
        model: a classifier (Module) giving logits; it runs in eval mode (its mode is kept).
        x: training images (N, C, H, W); images of the target class may be left in or out.
        target: the class the patch should make the model answer.
        area: the patch's share of the image (0 < area < 1).
        epochs: passes over ``x``.
        batch_size: images per step.
        lr: Adam's learning rate (about the step on each pixel), > 0.
        max_rotation, scale: the range of the random placements.
        rng: Generator or seed (the order of the images and the placements).
        callback: called as ``callback(step, loss)`` after each step (None: nothing).

    Returns:
        The patch, an array (C, s, s) in [0, 1].
    """
    who = "train_patch"
    check_int(who, "epochs", epochs)
    check_int(who, "batch_size", batch_size)
    lr = check_eps(who, lr, name="lr", positive=True)
    x, target = _check_images(who, model, x, target)
    rng = resolve_rng(rng)
    xp = get_array_module(x)
    n, c, h, w = x.shape
    side = patch_side(area, min(h, w))
    patch = xp.full((c, side, side), 0.5, dtype=x.dtype)
    # Adam's moments in float32 at least: in float16 the squared gradients underflowed to 0, and
    # with the 1e-8 (0 in float16) a pixel's step was m / 0, inf: it jumped to 0 or 1
    moments = xp.result_type(x.dtype, "float32")
    m, v, step = xp.zeros(patch.shape, moments), xp.zeros(patch.shape, moments), 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = x[order[start:start + batch_size]]
            mats = paste_matrices(side, (h, w), random_placements(
                len(batch), side, (h, w), rng=rng, max_rotation=max_rotation, scale=scale),
                xp=xp, dtype=x.dtype)
            p = Tensor(patch, requires_grad=True)
            labels = Tensor(xp.full(len(batch), target, dtype="int64"))
            loss = cross_entropy(model(apply_patch(batch, p, mats)), labels)
            (g,) = grad(loss, p)
            step += 1
            g = g._data.astype(moments, copy=False)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g ** 2
            update = (m / (1 - 0.9 ** step)) / (xp.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
            patch = xp.clip(patch - lr * update, 0, 1).astype(x.dtype)
            if callback is not None:
                callback(step, float(loss.item()))
    return patch


@in_eval_mode
def patch_success(model, x, y, patch, target: int, *, max_rotation: float = 45.0,
                  scale=(0.9, 1.1), rng=None, batch_size: int = 256) -> dict:
    """Targeted success of ``patch`` on images not of class ``target``, at random placements.

    Returns:
        ``{"success_rate", "n", "clean_target_rate"}``: the share of patched images the model
        calls ``target``, how many were scored, and the share it calls ``target`` unpatched.
    """
    who = "patch_success"
    check_int(who, "batch_size", batch_size)
    x, target = _check_images(who, model, x, target)
    xp = get_array_module(x)
    y = xp.asarray(y._data if isinstance(y, Tensor) else y)
    if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"{who}: y must be {x.shape[0]} integer class labels (one per image), "
                         f"got shape {y.shape} of {y.dtype}")
    patch = patch._data if isinstance(patch, Tensor) else xp.asarray(patch)
    if patch.ndim != 3 or patch.shape[0] != x.shape[1] or patch.shape[1] != patch.shape[2] \
            or not 1 <= patch.shape[1] <= min(x.shape[2:]):
        raise ValueError(f"{who}: patch must be square with the images' {x.shape[1]} "
                         f"channel(s), (C, s, s), 1 <= s <= {min(x.shape[2:])} (the images' "
                         f"side), got shape {patch.shape}")
    if not bool(xp.isfinite(patch).all()) or bool((patch < 0).any()) or bool((patch > 1).any()):
        raise ValueError(f"{who}: patch must hold finite values in [0, 1] (the images' range), "
                         f"got values from {float(patch.min()):g} to {float(patch.max()):g}")
    patch = patch.astype(x.dtype, copy=False)
    rng = resolve_rng(rng)
    keep = y != target
    x, side = x[keep], patch.shape[-1]
    hits = clean_hits = 0
    with no_grad():
        for start in range(0, len(x), batch_size):
            batch = x[start:start + batch_size]
            mats = paste_matrices(side, x.shape[2:], random_placements(
                len(batch), side, x.shape[2:], rng=rng, max_rotation=max_rotation, scale=scale),
                xp=xp, dtype=x.dtype)
            hits += int((model(apply_patch(batch, patch, mats))._data.argmax(1) == target).sum())
            clean_hits += int((model(Tensor(batch))._data.argmax(1) == target).sum())
    n = len(x)
    return {"success_rate": hits / n if n else float("nan"), "n": n,
            "clean_target_rate": clean_hits / n if n else float("nan")}
