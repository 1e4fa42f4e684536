"""Judging generated and reconstructed images with a trained classifier and with pixel errors.

* ``penultimate_features``: a classifier's representation just before its output layer (for
  LeNet-5 the 84 units of F6), the feature space of the LeNet Frechet distance.
* ``evaluate_samples``: LeNet Frechet distance of generated vs real images, the classifier's mean
  confidence on the samples and the histogram of the classes it sees in them (mode collapse shows
  as empty classes).
* ``reconstruction_report``: MSE and PSNR of a (denoising) autoencoder per corruption level, next to
  those of the corrupted input itself.
"""

from __future__ import annotations

import math

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import asnumpy, get_array_module, to_device
from ..data import as_generator
from ..data.arguments import check_int
from ..data.corruptions import NOISE_LEVELS, corrupt
from ..nn.modes import eval_mode
from .metrics import feature_moments, frechet_distance_from_moments, mse_per_image, psnr

__all__ = ["classify", "evaluate_samples", "lenet_frechet_distance", "penultimate_features",
           "reconstruct", "reconstruction_report"]


def _linears(who: str, classifier) -> list:
    found = [m for m in classifier.modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(f"{who}: the classifier has no nn.Linear output layer whose input could "
                         "serve as features")
    return found


def _device(model) -> str:
    p = next(model.parameters(), None)
    return "cpu" if p is None else p.device


def _batches(who: str, model, images, batch_size: int):
    """``images`` in Tensors of ``batch_size``, in the model's dtype (float32 without parameters).

    Checked first: no images failed with an IndexError, a batch size of 0 in range(), nested
    lists with an AttributeError and a model without parameters (an identity) with StopIteration.
    """
    batch_size = check_int(who, "batch_size", batch_size)
    data = images._data if isinstance(images, Tensor) else images
    data = get_array_module(data).asarray(data)
    if data.ndim < 1 or len(data) == 0:
        raise ValueError(f"{who}: images must hold at least one image, got shape "
                         f"{tuple(data.shape)}")
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{who}: images must be real numbers, got dtype {data.dtype}")
    p = next(model.parameters(), None)
    dtype = "float32" if p is None else p.dtype
    device = _device(model)
    for start in range(0, len(data), batch_size):
        yield Tensor(to_device(data[start:start + batch_size].astype(dtype), device))


def _run(model, fn):
    """``fn()`` with ``model`` in eval mode, without a graph; every module gets its own mode back
    (``model.train(was)`` switched a BatchNorm the user froze in eval back to training)."""
    with eval_mode(model), no_grad():
        return fn()


def penultimate_features(classifier, images, *, batch_size: int = 500):
    """The inputs of the ``nn.Linear`` layer the classifier runs last for ``images``, as a host
    array: the layer last called in the forward pass, not the last registered (a head defined in
    ``__init__`` before the body gave the body's first layer's inputs, silently).

    Args:
        classifier: a Module ending in an ``nn.Linear`` (LeNet5, MLP, SmallCNN...).
        images: (N, C, H, W) in the range the classifier was trained on ([0, 1] for chainrule's
            datasets).
        batch_size: images per forward pass.

    Returns:
        A NumPy array (N, D): for LeNet-5, the 84 activations of F6.
    """
    captured, calls = [], []
    handles = [m.register_forward_pre_hook(lambda module, args: calls.append(args[0]))
               for m in _linears("penultimate_features", classifier)]

    def go():
        for x in _batches("penultimate_features", classifier, images, batch_size):
            calls.clear()
            classifier(x)
            captured.append(asnumpy(calls[-1]._data))

    try:
        _run(classifier, go)
    finally:
        for handle in handles:
            handle.remove()
        calls.clear()
    xp = get_array_module(captured[0])
    return xp.concatenate([c.reshape(len(c), -1) for c in captured])


def classify(classifier, images, *, batch_size: int = 500):
    """Softmax probabilities (N, classes) of the classifier for ``images``, as a host array."""
    def go():
        return [asnumpy(classifier(x)._data)
                for x in _batches("classify", classifier, images, batch_size)]

    logits = _run(classifier, go)
    xp = get_array_module(logits[0])
    z = xp.concatenate(logits).astype("float64")
    z = xp.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def lenet_frechet_distance(classifier, real, fake, *, batch_size: int = 500) -> float:
    """Frechet distance between ``real`` and ``fake`` images in the classifier's feature space.

    Called "LeNet Frechet distance" (not FID, which uses an Inception network on natural images):
    lower is closer; compare only numbers computed with the same classifier and sample sizes.
    """
    a = penultimate_features(classifier, real, batch_size=batch_size)
    b = penultimate_features(classifier, fake, batch_size=batch_size)
    return frechet_distance_from_moments(*feature_moments(a), *feature_moments(b))


def evaluate_samples(classifier, real, fake, *, labels=None, batch_size: int = 500) -> dict:
    """How a classifier sees generated images ``fake`` next to ``real`` ones (both in [0, 1]).

    Args:
        classifier: a trained classifier ending in ``nn.Linear`` (e.g. LeNet-5 on MNIST).
        real: real images (N, C, H, W), e.g. the test set.
        fake: generated images (M, C, H, W).
        labels: for a conditional generator, the classes asked for (M,): adds "label_accuracy",
            how often the classifier agrees with the requested class.
        batch_size: images per forward pass.

    Returns:
        A dict: "lenet_frechet_distance", "confidence" (mean top softmax probability on the
        samples), "real_confidence" (the same on real images), "class_histogram" (counts of the
        predicted classes of the samples), "classes_covered" (classes predicted at least once),
        "class_entropy" (entropy of the predicted-class distribution, in nats; log 10 = 2.303 is
        uniform over 10 classes).
    """
    if labels is not None:
        labels = asnumpy(labels._data if isinstance(labels, Tensor) else labels)
        if labels.shape not in ((), (len(fake),)):  # a column (M, 1) would compare M x M pairs
            raise ValueError(f"evaluate_samples: labels must be one class or one per sample "
                             f"({len(fake)},), got shape {labels.shape}")
    probs = classify(classifier, fake, batch_size=batch_size)
    if labels is not None and (labels.dtype.kind not in "iu" or labels.size and not (
            0 <= int(labels.min()) and int(labels.max()) < probs.shape[1])):
        # 1.5 or a class the classifier lacks never matched: a label_accuracy of 0, silently
        raise ValueError(f"evaluate_samples: labels must be ints in [0, {probs.shape[1]}) (the "
                         f"classifier's classes), got dtype {labels.dtype} and values "
                         f"{labels.ravel()[:5].tolist()}")
    real_probs = classify(classifier, real, batch_size=batch_size)
    xp = get_array_module(probs)
    pred = probs.argmax(axis=1)
    counts = xp.bincount(pred, minlength=probs.shape[1])
    p = counts / counts.sum()
    entropy = -float(sum(float(q) * math.log(float(q)) for q in p if q > 0))
    out = {
        "lenet_frechet_distance": lenet_frechet_distance(classifier, real, fake,
                                                         batch_size=batch_size),
        "confidence": float(probs.max(axis=1).mean()),
        "real_confidence": float(real_probs.max(axis=1).mean()),
        "class_histogram": [int(c) for c in counts],
        "classes_covered": int((counts > 0).sum()),
        "class_entropy": entropy,
        "n_real": int(len(real)),
        "n_fake": int(len(fake)),
    }
    if labels is not None:
        out["label_accuracy"] = float((pred == labels).mean())
    return out


def reconstruct(model, images, *, batch_size: int = 500):
    """The model's outputs for ``images`` (a host array), computed in eval mode without a graph."""
    def go():
        return [asnumpy(model(x)._data) for x in _batches("reconstruct", model, images, batch_size)]

    outs = _run(model, go)
    return get_array_module(outs[0]).concatenate(outs)


def reconstruction_report(model, clean, *, noise_levels=NOISE_LEVELS, rng=0,
                          batch_size: int = 500) -> dict:
    """MSE and PSNR of ``model``'s reconstructions of corrupted ``clean`` images, per noise level.

    Args:
        model: an autoencoder (input and output of the same shape, values in [0, 1]).
        clean: clean images in [0, 1] (e.g. the test set).
        noise_levels: corruption specs (see ``data.corruptions.corrupt``); "none" for the clean
            input itself.
        rng: Generator or seed for the noise (a seed makes the report reproducible).
        batch_size: images per forward pass.

    Returns:
        ``{spec: {"input_mse", "input_psnr", "mse", "psnr"}}``: the corrupted input's errors and
        the reconstruction's, both against the clean images.
    """
    rng = as_generator(rng)
    report = {}
    for spec in noise_levels:
        noisy = clean if spec == "none" else corrupt(clean, spec, rng=rng)
        recon = reconstruct(model, noisy, batch_size=batch_size)
        report[spec] = {
            "input_mse": float(mse_per_image(clean, noisy).mean()),
            "input_psnr": psnr(clean, noisy),
            "mse": float(mse_per_image(clean, recon).mean()),
            "psnr": psnr(clean, recon),
        }
    return report
