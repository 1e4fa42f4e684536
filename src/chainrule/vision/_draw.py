"""torchvision.utils' drawing helpers: ``draw_bounding_boxes``, ``draw_segmentation_masks`` and
``draw_keypoints``, with torchvision's arguments, checks, colours and Pillow calls.

Images are (C, H, W) uint8 or float Tensors in [0, 1]; a float image is drawn on through uint8
(v2's ``to_dtype(scale=True)`` both ways) and comes back in its dtype. Boxes and keypoints are
truncated to whole pixels. Automatic colours are torchvision's palette, ``(i * (2**25 - 1,
2**15 - 1, 2**21 - 1)) % 255`` for object ``i``. Nothing is recorded (torchvision draws under
``no_grad``). Oriented (N, 8) boxes (four corners) are drawn as torchvision's: the first edge
dashed (5 pixels on, 5 off), the others solid, the fill a polygon.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import asnumpy

__all__ = ["draw_bounding_boxes", "draw_keypoints", "draw_segmentation_masks"]

_PALETTE = (2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1)


def _pillow(who: str):
    try:
        from PIL import Image, ImageColor, ImageDraw, ImageFont
    except ImportError as e:
        raise ImportError(f'{who} needs Pillow: pip install "chainrule[viz]"') from e
    return Image, ImageColor, ImageDraw, ImageFont


def _colors(who: str, colors, count: int, floating: bool = False) -> list[tuple]:
    """torchvision's _parse_colors: None (the palette), one colour for all, or a list."""
    if colors is None:
        colors = [tuple(int(i * p % 255) for p in _PALETTE) for i in range(count)]
        if floating:  # torchvision's palette holds int64 tensors: v / 255 is float32 there
            return [tuple(float(np.float32(v) / np.float32(255)) for v in c) for c in colors]
    elif isinstance(colors, list):
        if len(colors) < count:
            raise ValueError(f"{who}: colors must have at least one colour per object, got "
                             f"{len(colors)} for {count}")
    elif not isinstance(colors, (tuple, str)):
        raise ValueError(f"{who}: colors must be a tuple or a string, or a list thereof, got "
                         f"{colors!r}")
    elif isinstance(colors, tuple) and len(colors) != 3:
        raise ValueError(f"{who}: a colors tuple must be an RGB triplet, got {colors!r}")
    else:
        colors = [colors] * count
    color_names = _pillow(who)[1]
    colors = [color_names.getrgb(c) if isinstance(c, str) else c for c in colors]
    return [tuple(v / 255 for v in c) for c in colors] if floating else colors


def _image(who: str, image, channels=(3,)) -> np.ndarray:
    if not isinstance(image, Tensor):
        raise TypeError(f"{who}: image must be a Tensor, got {type(image).__name__}")
    kind = np.dtype(image.dtype)
    if kind != np.uint8 and kind.kind != "f":
        raise ValueError(f"{who}: the image dtype must be uint8 or float, got {image.dtype}")
    if image.ndim != 3:
        raise ValueError(f"{who}: pass one (C, H, W) image, not a batch; got shape "
                         f"{tuple(image.shape)}")
    if image.shape[0] not in channels:
        raise ValueError(f"{who}: the image must have {' or '.join(map(str, channels))} "
                         f"channels (RGB{' or grayscale' if 1 in channels else ''}), got "
                         f"{image.shape[0]}")
    return asnumpy(image.detach()._data)


def _to_uint8(image: Tensor) -> np.ndarray:
    if np.dtype(image.dtype) == np.uint8:
        return asnumpy(image.detach()._data)
    from .transforms.v2.functional import to_dtype
    return asnumpy(to_dtype(image.detach(), np.uint8, scale=True)._data)


def _back(pixels: np.ndarray, dtype) -> Tensor:
    out = Tensor(np.ascontiguousarray(pixels))
    if np.dtype(dtype) == np.uint8:
        return out
    from .transforms.v2.functional import to_dtype
    return to_dtype(out, dtype, scale=True)


def _oriented(draw, corners, color, width, fill):
    """Four corners: the first edge dashed, the other three solid, then the filled polygon."""
    (x, y), (x_end, y_end) = corners[0:2], corners[2:4]
    left, on = math.hypot(x_end - x, y_end - y), True
    angle = math.atan2(y_end - y, x_end - x)
    while left > 0:
        step = min(left, 5)
        nx, ny = x + math.cos(angle) * step, y + math.sin(angle) * step
        if on:
            draw.line([(x, y), (nx, ny)], color, width, None)
        x, y, left, on = nx, ny, left - step, not on
    for i in range(2, 8, 2):
        draw.line(((corners[i], corners[i + 1]), (corners[(i + 2) % 8], corners[(i + 3) % 8])),
                  width=width, fill=color)
    draw.polygon(corners, fill=fill, outline=None, width=0)


def draw_bounding_boxes(image: Tensor, boxes, labels=None, colors=None, fill: bool = False,
                        width: int = 1, font=None, font_size=None, label_colors=None,
                        label_background_colors=None, fill_labels: bool = False) -> Tensor:
    """Boxes (N, 4) in (xmin, ymin, xmax, ymax) or (N, 8) corners drawn on ``image`` (1 or 3
    channels; the result has 3), with optional ``labels``; ``fill`` fills each box at alpha
    100/255."""
    who = "draw_bounding_boxes"
    _image(who, image, (1, 3))
    box = asnumpy(boxes._data if isinstance(boxes, Tensor) else np.asarray(boxes))
    if box.ndim != 2 or box.shape[1] not in (4, 8):
        raise ValueError(f"{who}: boxes must be (N, 4) (xmin, ymin, xmax, ymax) or (N, 8) "
                         f"(x1, y1, ..., x4, y4), got shape {box.shape}")
    if box.shape[1] == 4 and ((box[:, 0] > box[:, 2]).any() or (box[:, 1] > box[:, 3]).any()):
        raise ValueError(f"{who}: boxes must be in (xmin, ymin, xmax, ymax) format (use "
                         f"vision.ops.box_convert to convert them)")
    if len(box) == 0:
        warnings.warn("boxes doesn't contain any box. No box was drawn", stacklevel=2)
        return image
    if labels is None:
        labels = [None] * len(box)
    elif len(labels) != len(box):
        raise ValueError(f"{who}: {len(box)} boxes but {len(labels)} labels; give one label "
                         f"per box")
    colors = _colors(who, colors, len(box))
    if label_colors or fill_labels:
        label_colors = _colors(who, label_colors if label_colors else "black", len(box))
    else:
        label_colors = list(colors)
    if fill_labels and label_background_colors:
        label_background_colors = _colors(who, label_background_colors, len(box))
    else:
        label_background_colors = list(colors)
    pil, _, draw_module, font_module = _pillow(who)
    if font is None:
        if font_size is not None:
            warnings.warn("Argument 'font_size' will be ignored since 'font' is not set.",
                          stacklevel=2)
        text_font = font_module.load_default()
    else:
        text_font = font_module.truetype(font=font, size=font_size or 10)
    pixels = _to_uint8(image)
    if pixels.shape[0] == 1:
        pixels = np.tile(pixels, (3, 1, 1))
    canvas = pil.fromarray(np.ascontiguousarray(pixels.transpose(1, 2, 0)))
    draw = draw_module.Draw(canvas, "RGBA") if fill else draw_module.Draw(canvas)
    for corners, color, label, text_color, back in zip(box.astype(np.int64).tolist(), colors,
                                                       labels, label_colors,
                                                       label_background_colors):
        shade = tuple(color) + (100,) if fill else None
        if len(corners) == 8:
            _oriented(draw, corners, color, width, shade)
        else:
            draw.rectangle(corners, width=width, outline=color, fill=shade)
        if label is not None:
            margin = width + 1
            where = (corners[0] + margin, corners[1] + margin)
            if fill_labels:
                left, top, right, bottom = draw.textbbox(where, label, font=text_font)
                draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=back)
            draw.text(where, label, fill=text_color, font=text_font)
    return _back(np.asarray(canvas).transpose(2, 0, 1), image.dtype)


def draw_segmentation_masks(image: Tensor, masks, alpha: float = 0.8, colors=None) -> Tensor:
    """Boolean ``masks`` ((N, H, W) or (H, W)) blended onto an RGB ``image`` at ``alpha``; a pixel
    under two masks or more is blended with black."""
    who = "draw_segmentation_masks"
    pixels = _image(who, image)
    mask = asnumpy(masks._data if isinstance(masks, Tensor) else np.asarray(masks))
    if mask.ndim == 2:
        mask = mask[None]
    if mask.ndim != 3:
        raise ValueError(f"{who}: masks must be (H, W) or (N, H, W), got shape {mask.shape}")
    if mask.dtype != np.bool_:
        raise ValueError(f"{who}: masks must be bool, got {mask.dtype}")
    if mask.shape[-2:] != pixels.shape[-2:]:
        raise ValueError(f"{who}: the image and the masks must have the same height and width, "
                         f"got {pixels.shape[-2:]} and {mask.shape[-2:]}")
    if len(mask) == 0:
        warnings.warn("masks doesn't contain any mask. No mask was drawn", stacklevel=2)
        return image
    floating = pixels.dtype.kind == "f"
    painted = pixels.copy()
    for m, color in zip(mask, _colors(who, colors, len(mask), floating)):
        painted[:, m] = np.asarray(color, pixels.dtype)[:, None]
    painted[:, mask.sum(0) > 1] = 0
    work = pixels.dtype if floating else np.dtype(np.float32)  # PyTorch's uint8 * float
    out = (pixels.astype(work) * work.type(1 - alpha)
           + painted.astype(work) * work.type(alpha))
    return Tensor(out.astype(pixels.dtype))


def draw_keypoints(image: Tensor, keypoints, connectivity=None, colors=None, radius: int = 2,
                   width: int = 3, visibility=None) -> Tensor:
    """Keypoints (N, K, 2) in (x, y) drawn on an RGB ``image`` as discs of ``radius``, joined by
    lines of ``width`` for each (i, j) of ``connectivity``; invisible points (``visibility``
    (N, K) False) and their lines are left out."""
    who = "draw_keypoints"
    _image(who, image)
    points = asnumpy(keypoints._data if isinstance(keypoints, Tensor) else np.asarray(keypoints))
    if points.ndim != 3:
        raise ValueError(f"{who}: keypoints must be (num_instances, K, 2), got shape "
                         f"{points.shape}")
    if visibility is None:
        seen = np.ones(points.shape[:-1], bool)
    else:
        seen = asnumpy(visibility._data if isinstance(visibility, Tensor)
                       else np.asarray(visibility))
    if seen.ndim == 3:  # pred.split([2, 1], dim=-1)'s (N, K, 1), as torchvision takes it
        seen = seen.squeeze(-1)
    if seen.ndim != 2 or seen.shape != points.shape[:-1]:
        raise ValueError(f"{who}: visibility must be (num_instances, K) = {points.shape[:-1]}, "
                         f"got shape {seen.shape}")
    pil, _, draw_module, _ = _pillow(who)
    canvas = pil.fromarray(np.ascontiguousarray(_to_uint8(image).transpose(1, 2, 0)))
    draw = draw_module.Draw(canvas)
    for instance, visible in zip(points.astype(np.int64).tolist(), seen.astype(bool).tolist()):
        for (x, y), shown in zip(instance, visible):
            if shown:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colors,
                             outline=None, width=0)
        for i, j in connectivity or ():
            if visible[i] and visible[j]:
                draw.line((tuple(instance[i]), tuple(instance[j])), width=width)
    return _back(np.asarray(canvas).transpose(2, 0, 1), image.dtype)
