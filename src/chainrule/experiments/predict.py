"""Classify image files with a saved classifier: what ``chainrule predict`` runs.

Each file is read and checked on its own (``data.images.read_image``: its header before its
pixels), so an unreadable file gets its own error in the results and every other file is still
classified. Each image's background (the median of its border) is compared with that of the
model's training images, which a run records in ``model.safetensors`` (under ``images``; runs
saved before that are known by their dataset's name): an image that looks inverted (dark strokes
on light paper, for a model trained on MNIST's light digits on black) is flagged, or inverted on
request.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..backend import get_array_module
from ..data.images import RESIZE_MODES, background_level, read_image
from ..ops import cross_entropy
from ..train import Trainer
from .checks import check_outputs
from .classify import _run_config, _short, load_model

__all__ = ["predict_images", "training_images"]

# The training images of runs saved before model.safetensors recorded them (image_statistics of
# each dataset's training set): light strokes on a black background, the content filling the
# frame, except MNIST's digits, fitted into 20x20 of the 28x28.
_KNOWN = {"digits": {"background": 0.0, "extent": 1.0},
          "mnist": {"background": 0.0, "extent": 0.7143},
          "fashion_mnist": {"background": 0.0, "extent": 1.0}}
# An image whose background level is this far from the training images' looks inverted.
_FLIPPED = 0.5


def training_images(config: dict, path) -> dict | None:
    """The training images' ``background`` and ``extent`` a run config records, or None.

    Runs saved before they were recorded are looked up by their dataset's name.

    Raises:
        ValueError: a recorded entry that is not two numbers in range; the message names ``path``.
    """
    stats = config.get("images")
    if stats is None:
        return _KNOWN.get(config.get("dataset"))
    ok = isinstance(stats, dict) and all(
        isinstance(stats.get(k), (int, float)) and not isinstance(stats.get(k), bool)
        and math.isfinite(stats[k]) for k in ("background", "extent"))
    if not ok or not (0 <= stats["background"] <= 1 and 0 < stats["extent"] <= 1):
        raise ValueError(f"{path}: the config's 'images' entry is {_short(stats)}, expected "
                         "{'background': 0..1, 'extent': a fraction > 0}")
    return {"background": float(stats["background"]), "extent": float(stats["extent"])}


def predict_images(checkpoint, paths, *, invert: bool | str = False, resize: str | None = None,
                   on_error: str = "report") -> list[dict]:
    """Class and probabilities for each image file (greyscale PNG/JPEG, or .npy).

    Args:
        checkpoint: a classifier's run folder or its model.safetensors.
        paths: the image files, of the model's input size unless ``resize``.
        invert: False classifies the images as they are, and flags the ones that look inverted;
            True inverts every image (``1 - x``); ``"auto"`` inverts those whose background
            disagrees with the training images'.
        resize: None refuses images of another size; ``"content"`` or ``"whole"`` fits them to
            the model's size (see ``data.images.read_image``; ``"content"`` crops to the content
            and fits it as the training images are, MNIST's way).
        on_error: ``"report"`` gives an unreadable file an ``error`` in its result and goes on;
            ``"raise"`` raises the first file's error.

    Returns:
        One dict per path, in order, with ``file`` (the path as given) and either ``error`` (why
        it could not be read, one line) or ``class``, ``probabilities`` (class name -> p, in the
        classes' order) and ``inverted`` (whether it was inverted), and, when something looks
        wrong, a one-line ``warning`` (``looks_inverted`` is then True if that is why).

    Raises:
        ValueError: the checkpoint cannot be loaded or is no classifier of its classes; bad
            arguments; with ``on_error="raise"``, an unreadable file.
        FileNotFoundError: with ``on_error="raise"``, a missing file.
    """
    if not (isinstance(invert, bool) or invert == "auto"):
        raise ValueError(f"predict_images: invert must be False, True or 'auto', got {invert!r}")
    if resize not in (None, *RESIZE_MODES):
        raise ValueError(f"predict_images: resize must be None or one of {RESIZE_MODES}, got "
                         f"{resize!r}")
    if on_error not in ("report", "raise"):
        raise ValueError(f"predict_images: on_error must be 'report' or 'raise', got "
                         f"{on_error!r}")
    net, config = load_model(checkpoint)
    _run_config(Path(checkpoint), config, "input_shape", "classes")
    shape, classes = tuple(config["input_shape"]), config["classes"]
    known = training_images(config, checkpoint)
    if invert == "auto" and known is None:
        raise ValueError(f"{checkpoint}: the run records no training images' background (dataset "
                         f"{_short(config.get('dataset'))}), so invert='auto' cannot tell which "
                         "images are inverted; invert all of them (True) or none (False)")
    results, read = [], []
    for p in paths:
        entry = {"file": str(p)}
        results.append(entry)
        try:
            x = read_image(p, shape, resize=resize, extent=known["extent"] if known else 1.0)
        except (ValueError, OSError) as err:
            if on_error == "raise":
                raise
            entry["error"] = _reason(p, err)
            continue
        read.append((entry, *_polarity(x, invert, known)))
    if not read:
        return results
    xp = get_array_module(read[0][1])
    batch = xp.stack([x for _, x, _ in read])
    check_outputs(net, batch[:2], None, config["model"].get("name"), "images",
                  f" (is {checkpoint} a classifier?)")
    logits = Trainer(net, cross_entropy, None).predict(batch, batch_size=256)
    if logits.ndim != 2 or logits.shape[1] != len(classes):
        raise ValueError(f"{checkpoint}: the model gives {logits.shape[1:]} outputs per image but "
                         f"the config names {len(classes)} classes")
    z = xp.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    for (entry, _, info), pr in zip(read, probs):
        entry.update({"class": classes[int(pr.argmax())],
                      "probabilities": {c: round(float(v), 4) for c, v in zip(classes, pr)},
                      **info})
    return results


def _reason(path, err: Exception) -> str:
    """Why ``path`` could not be read, in one line, without the path in front."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    text = " ".join(str(err).split())
    for prefix in (f"{path}: ", f"{Path(path)}: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text or type(err).__name__


def _polarity(x, invert, known):
    """``x`` inverted or not (see predict_images), and what its result records about that."""
    if known is None:
        return (1 - x if invert else x), {"inverted": bool(invert)}
    level, trained = background_level(x), known["background"]
    flipped = abs(level - trained) > _FLIPPED
    if invert == "auto":
        invert = flipped
    if invert:
        info = {"inverted": True}
        if not flipped:
            info["warning"] = (f"inverted as asked, though its background ({level:.2f}) already "
                               f"matched the training images' ({trained:.2f})")
        return 1 - x, info
    if not flipped:
        return x, {"inverted": False}
    ink, paper = ("dark", "light") if trained < 0.5 else ("light", "dark")
    return x, {"inverted": False, "looks_inverted": True,
               "warning": f"looks inverted ({ink} strokes on a {paper} background, border "
                          f"level {level:.2f}); the model was trained on {paper}-on-{ink} "
                          f"images (background {trained:.2f})"}
