"""Grad-CAM and guided Grad-CAM: where in a convolutional layer's map the class evidence lies.

Grad-CAM (Selvaraju et al. 2017) weighs each channel ``k`` of a layer's activations ``A`` by the
mean over positions of the score's gradient there, ``w_k = mean_ij df/dA_kij``, and sums:
``cam = relu(sum_k w_k A_k)``, a map at the layer's resolution (for LeNet-5's C3, 10x10).
Guided Grad-CAM multiplies guided backpropagation (pixel-sharp, but hardly class-specific) by
that map brought to the input's size (coarse, but class-specific). Captum's ``LayerGradCam``,
``GuidedGradCam`` and ``LayerAttribution.interpolate`` compute the same (its ``LayerGradCam``
leaves the ReLU off by default: ``relu_attributions=False``, our ``relu=False``).
"""

from __future__ import annotations

from ..autograd import Tensor, grad
from ..backend import asnumpy, numpy
from ..ops.resample import interpolate
from ._common import (
    as_batch,
    batches,
    check_output,
    check_positive_int,
    eval_mode,
    one_batch,
    resolve_targets,
    scores_of,
)
from .features import _Capture, _layer
from .guided import guided_backprop
from .multi_input import Extra, with_extra

__all__ = ["grad_cam", "guided_grad_cam", "upsample_nearest"]


def upsample_nearest(maps, size):
    """``maps`` (N, C, *spatial) resized to ``size`` by nearest neighbour: PyTorch's
    ``interpolate(mode="nearest")`` (``ops.interpolate``, which follows its index rule), as
    Captum's ``LayerAttribution.interpolate``."""
    maps = numpy.asarray(maps)
    size = (size,) if isinstance(size, int) else tuple(size)
    if len(size) != maps.ndim - 2:
        raise ValueError(f"upsample_nearest: size must have one entry per spatial axis of the "
                         f"maps (shape {maps.shape}), got {size!r}")
    return asnumpy(interpolate(Tensor(maps), size=size, mode="nearest")._data)


def grad_cam(model, layer, x, target=None, *, relu: bool = True, resize: bool = False,
             output: str = "logit", batch_size: int = 64, additional_forward_args=None):
    """Grad-CAM of the target score at ``layer``.

    Args:
        model: a Module returning (N, classes) scores.
        layer: the layer, by its dotted name in ``model.named_modules()`` ("features.3") or as
            the module itself (as Captum's ``LayerGradCam(model, model.conv2)``).
        x: inputs (N, ...), or token indices (integers) for a model that starts with an
            embedding; target: an int, one per sample, or None (the predicted class).
        relu: keep only the positive evidence (the paper's map; Captum's
            ``relu_attributions=True``).
        resize: bring the map to the input's spatial size by nearest neighbour.
        output: "logit" or "probability"; batch_size: samples per backward pass.
        additional_forward_args: more arguments of the model after ``x``, not attributed; a
            Tensor or array with one row per sample goes with its sample (Captum's).

    Returns:
        An array (N, 1, *layer_spatial), or (N, 1, *input_spatial) with ``resize``. For a layer
        without spatial axes (N, C), the map is (N, 1): ``sum_k df/dA_k A_k``.
    """
    who = "grad_cam"
    module = _layer(who, model, layer)
    one_batch(who, x)
    raw = asnumpy(x._data) if isinstance(x, Tensor) else numpy.asarray(x)
    # token indices (an embedding's input) stay integers, as layer_integrated_gradients'
    x = raw if raw.dtype.kind in "iu" and raw.ndim >= 1 and len(raw) else as_batch(who, model, x)
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    whole = batch_size
    if additional_forward_args is not None:
        model, whole = with_extra(model, additional_forward_args, len(x)), len(x)
    t = resolve_targets(who, model, x, target, output=output, batch_size=whole)
    parts = []
    with eval_mode(model):
        for sl in batches(len(x), batch_size):
            if isinstance(model, Extra):
                model.rows = numpy.arange(sl.start, sl.stop)
            xt = Tensor(x[sl], requires_grad=x.dtype.kind == "f")
            cap = _Capture(module)
            try:
                chosen = scores_of(who, model, xt, t[sl], output=output)
            finally:
                cap.handle.remove()
            act = cap.output
            if not isinstance(act, Tensor) or act.ndim < 2:
                raise ValueError(f"{who}: layer {layer!r} must output one (N, C, ...) tensor, "
                                 f"got {type(act).__name__}")
            (g,) = grad(chosen.sum(), act, allow_unused=True)
            a = asnumpy(act._data)
            g = numpy.zeros_like(a) if g is None else asnumpy(g._data)
            weights = g.mean(axis=tuple(range(2, g.ndim)), keepdims=True)
            parts.append((weights * a).sum(axis=1, keepdims=True))
    cam = numpy.concatenate(parts)
    cam = cam.astype(x.dtype if x.dtype.kind == "f" else cam.dtype)
    if relu:
        cam = numpy.maximum(cam, 0)
    if resize:
        if cam.ndim != x.ndim:
            raise ValueError(f"{who}: resize needs a map with as many spatial axes as the input "
                             f"{x.shape}, got {cam.shape}")
        cam = upsample_nearest(cam, x.shape[2:])
    return cam


def guided_grad_cam(model, layer, x, target=None, *, output: str = "logit",
                    batch_size: int = 64):
    """Guided Grad-CAM: guided backpropagation times the Grad-CAM map (with its ReLU) resized
    to the input, as Selvaraju et al. and Captum's ``GuidedGradCam``.

    Args:
        (as ``grad_cam``; the model's nonlinearities must be ``nn.ReLU`` layers, which guided
        backpropagation changes)

    Returns:
        An array shaped like ``x`` (N, C, H, W).
    """
    cam = grad_cam(model, layer, x, target, relu=True, resize=True, output=output,
                   batch_size=batch_size)
    return guided_backprop(model, x, target, output=output, batch_size=batch_size) * cam
