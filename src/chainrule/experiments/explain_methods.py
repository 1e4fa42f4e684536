"""The newer attribution methods of ``chainrule explain --method``, for the CLI's image classifiers.

Beside the seven classics (gradients, occlusion, deconvnet) of ``experiments/explain.py``:

- ``lrp``: layer-wise relevance propagation, the epsilon rule (Linear, Conv2d, pooling, ReLU...),
  or with ``rule`` one of LRP_RULES for the Linear and Conv2d layers ("composite": the LRP
  overview's gamma / epsilon / LRP-0 by depth, ``explain.composite_rules``).
- ``deeplift``: DeepLIFT's rescale rule against a black image.
- ``deeplift_shap``: DeepLIFT averaged over ``n_samples`` test images of the run's dataset as
  baselines (the background distribution SHAP asks for), drawn with ``seed``.
- ``shapley``: Shapley value sampling over superpixels (squares of ``window`` pixels, every channel
  together) with ``n_samples`` random orderings, a black image standing for an absent superpixel.
- ``feature_permutation``: how much the score falls when a superpixel is shuffled among the
  images given (two at least).
- ``noise_tunnel``: integrated gradients (``steps``) averaged over ``n_samples`` copies of each
  image with Gaussian noise of standard deviation ``stdev`` (SmoothGrad over IG).
- ``layer_ig``: integrated gradients at a convolution layer's output
  (by default the last one whose map is larger than 1 x 1) summed over its channels and brought
  to the image's size by nearest neighbour, as Grad-CAM's map is: which regions of the layer's
  feature maps carry the decision.
"""

from __future__ import annotations

from .. import explain, nn
from ..backend import numpy

__all__ = ["LRP_RULES", "MORE_METHODS", "attribute_more", "superpixels"]

MORE_METHODS = (
    "lrp",
    "deeplift",
    "deeplift_shap",
    "shapley",
    "feature_permutation",
    "noise_tunnel",
    "layer_ig",
)

LRP_RULES = ("epsilon", "zero", "gamma", "alpha1beta0", "alpha2beta1", "composite")


def superpixels(shape, window: int):
    """An integer mask shaped like one image (C, H, W): squares of ``window`` x ``window`` pixels
    (smaller at the right and bottom edges), each one group over every channel."""
    _, h, w = shape
    rows = numpy.arange(h) // window
    cols = numpy.arange(w) // window
    ids = rows[:, None] * (-(-w // window)) + cols[None, :]
    return numpy.broadcast_to(ids, shape).copy()


def _last_conv(model, x) -> str:
    """The last Conv2d whose output map is larger than 1 x 1 (LeNet-5's last one is 1 x 1)."""
    names = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    for name in reversed(names):
        if numpy.prod(explain.layer_activations(model, name, x[:1]).shape[2:]) > 1:
            return name
    raise ValueError(
        "--method layer_ig: the model has no Conv2d layer with an output map larger "
        "than 1 x 1; name a layer whose output is (N, C, H, W) with --layer"
    )


def _layer_ig(model, x, target, layer, steps):
    layer = _last_conv(model, x) if layer is None else layer
    maps, delta = explain.layer_integrated_gradients(
        model, layer, x, target, steps=steps, return_convergence_delta=True
    )
    if maps.ndim != 4:
        raise ValueError(
            f"--layer {layer!r}: layer_ig needs a layer whose output is "
            f"(N, C, H, W), got shape {tuple(maps.shape)}"
        )
    summed = maps.sum(axis=1, keepdims=True)
    details = {"layer": layer, "completeness_error": delta.tolist()}
    return explain.upsample_nearest(summed, x.shape[2:]), details


def attribute_more(
    method,
    model,
    x,
    target,
    *,
    steps,
    n_samples,
    window,
    stdev,
    layer,
    seed,
    background=None,
    rule=None,
):
    """``(maps shaped like x, details)`` of one of MORE_METHODS (see the module docstring);
    ``background``: the baseline images of ``deeplift_shap``; ``rule``: lrp's (None: epsilon)."""
    if method == "lrp":
        maps, delta = explain.lrp(model, x, target, rules=rule, return_convergence_delta=True)
        return maps, {"rule": rule or "epsilon", "conservation_error": delta.tolist()}
    if method == "deeplift":
        maps, delta = explain.deeplift(model, x, target, return_convergence_delta=True)
        return maps, {"completeness_error": delta.tolist()}
    if method == "deeplift_shap":
        return explain.deeplift_shap(model, x, target, baselines=background), {
            "baselines": len(background)
        }
    mask = superpixels(x.shape[1:], window)
    if method == "shapley":
        return explain.shapley_value_sampling(
            model, x, target, feature_mask=mask, n_samples=n_samples, rng=seed
        ), {}
    if method == "feature_permutation":
        if len(x) < 2:
            raise ValueError(
                "--method feature_permutation shuffles superpixels among the images: "
                f"give two images at least, got {len(x)}"
            )
        return explain.feature_permutation(model, x, target, feature_mask=mask, rng=seed), {}
    if method == "noise_tunnel":
        return explain.noise_tunnel(
            explain.integrated_gradients,
            model,
            x,
            target,
            n_samples=n_samples,
            stdev=stdev,
            rng=seed,
            steps=steps,
        ), {}
    if method == "layer_ig":
        return _layer_ig(model, x, target, layer, steps)
    raise ValueError(f"--method {method!r}: expected one of {MORE_METHODS}")
