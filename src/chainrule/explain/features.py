"""Feature visualization of convolutional nets: what a layer's channels respond to.

* ``first_layer_filters``: the first convolution's kernels, which act on pixels directly.
* ``top_activating_patches``: for a channel, the dataset's input patches (its receptive field)
  where it responds most (Zeiler & Fergus 2014; Girshick et al. 2014).
* ``project_activation``: an activation projected back to pixel space with the deconvnet or
  guided backpropagation rule (``guided.relu_rule``), as in Zeiler & Fergus's figures.
* ``activation_maximization``: an input made by gradient ascent to excite a channel, with random
  jitter and periodic blurring as regularizers (Olah, Mordvintsev & Schubert 2017).

Layers are named by their dotted path in ``model.named_modules()`` ("features.3"), or given as
the module itself (``model.features[3]``, as Captum's layer methods take them).
"""

from __future__ import annotations

from ..autograd import Tensor, grad, no_grad
from ..backend import asnumpy, numpy
from ..nn import AvgPool2d, Conv2d, MaxPool2d, Module
from ._common import as_batch, batches, check_positive_int, copied, eval_mode, generator
from .guided import RULES, relu_rule

__all__ = ["activation_maximization", "first_layer_filters", "layer_activations",
           "project_activation", "receptive_field", "top_activating_patches"]


def _layer(who: str, model, layer):
    """The layer named ``layer`` (a dotted name), or ``layer`` itself when it is one of the
    model's modules (as Captum's layer methods take it)."""
    if isinstance(layer, Module):
        if not any(m is layer for m in model.modules()):
            raise ValueError(f"{who}: layer {type(layer).__name__} is not a module of "
                             f"{type(model).__name__}")
        return layer
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        names = [n for n in modules if n]
        raise ValueError(f"{who}: model has no layer {layer!r}; its layers are {names}")
    return modules[layer]


def first_layer_filters(model):
    """The kernels (out, in, kh, kw) of the model's first ``Conv2d``."""
    for m in model.modules():
        if isinstance(m, Conv2d):
            return m.weight.numpy().copy()
    raise ValueError(f"first_layer_filters: {type(model).__name__} has no Conv2d layer")


class _Capture:
    """A forward hook that keeps the layer's output Tensor."""

    def __init__(self, module):
        self.output = None
        self.handle = module.register_forward_hook(self)

    def __call__(self, module, inputs, output):
        self.output = output
        return copied(output)  # the rest of the model runs on a copy (``copied``)


def _run_to(model, module, xb):
    """``module``'s output when ``model`` runs on ``xb`` (the model's output is discarded)."""
    cap = _Capture(module)
    try:
        model(xb)
    finally:
        cap.handle.remove()
    return cap.output


def layer_activations(model, layer: str, x, *, batch_size: int = 256):
    """The output of ``layer`` for every sample of ``x``, as an array (N, ...)."""
    module = _layer("layer_activations", model, layer)
    x = as_batch("layer_activations", model, x)
    parts = []
    with no_grad(), eval_mode(model):
        for sl in batches(len(x), batch_size):
            parts.append(asnumpy(_run_to(model, module, Tensor(x[sl]))._data))
    return numpy.concatenate(parts)


def receptive_field(model, layer: str, *, axis: int = 0) -> tuple[int, int, int]:
    """``(size, jump, start)``: output position ``i`` of ``layer`` sees input rows
    ``start + i * jump`` to ``start + i * jump + size - 1`` (which may fall in the padding).

    ``axis``: 0 for the rows, 1 for the columns (they differ where a kernel, stride, padding or
    dilation is not square). The convolutions and poolings up to and including ``layer`` are
    taken in registration order, which is their order in the forward pass for Sequential models
    such as LeNet-5.
    """
    module = _layer("receptive_field", model, layer)
    if axis not in (0, 1) or isinstance(axis, bool):
        raise ValueError(f"receptive_field: axis must be 0 (rows) or 1 (columns), got {axis!r}")
    size, jump, start = 1, 1, 0
    for m in model.modules():
        if isinstance(m, (Conv2d, MaxPool2d, AvgPool2d)):
            k = _at(m.kernel_size, axis)
            s = _at(m.stride if m.stride not in (None, (), []) else m.kernel_size, axis)
            if isinstance(m, Conv2d):  # F.pad's order: last axis first, (before, after) each
                p = int(m._reversed_padding_repeated_twice[2 * (1 - axis)])
            else:
                p = _at(m.padding, axis)
            d = _at(getattr(m, "dilation", 1), axis)
            size += ((k - 1) * d) * jump
            start -= p * jump
            jump *= s
        if m is module:
            break
    return size, jump, start


def _at(v, axis: int) -> int:
    return int(v[axis] if isinstance(v, (tuple, list)) else v)


def top_activating_patches(model, layer: str, x, channel: int, *, k: int = 9,
                           batch_size: int = 256) -> dict:
    """The ``k`` input patches where ``channel`` of ``layer`` responds most.

    Each sample contributes at most one patch (its strongest position), so the patches show
    ``k`` different images. For a layer without spatial axes the patch is the whole input.

    Returns:
        {"patches": (k, C, rows, cols) array (the receptive field; zero outside the image),
        "values": (k,) the activations, "samples": (k,) indices into ``x``,
        "positions": (k, 2) (row, col)}.
    """
    who = "top_activating_patches"
    k = check_positive_int(who, "k", k)
    acts = layer_activations(model, layer, x, batch_size=batch_size)
    _check_channel(who, layer, channel, acts.shape)
    a = acts[:, channel]
    x = as_batch(who, model, x)
    if a.ndim == 1:
        order = numpy.argsort(-a, kind="stable")[:k]
        return {"patches": x[order], "values": a[order], "samples": order,
                "positions": numpy.zeros((len(order), 2), dtype=numpy.int64)}
    flat = a.reshape(len(a), -1)
    best = flat.argmax(axis=1)
    order = numpy.argsort(-flat[numpy.arange(len(a)), best], kind="stable")[:k]
    (sh, jh, st), (sw, jw, sl) = (receptive_field(model, layer, axis=i) for i in (0, 1))
    h, w = x.shape[-2:]
    patches = numpy.zeros((len(order), x.shape[1], sh, sw), dtype=x.dtype)
    positions = []
    for j, n in enumerate(order):
        r, c = divmod(int(best[n]), a.shape[-1])
        positions.append((r, c))
        top, left = st + r * jh, sl + c * jw
        t0, l0 = max(top, 0), max(left, 0)
        t1, l1 = min(top + sh, h), min(left + sw, w)
        patches[j, :, t0 - top:t1 - top, l0 - left:l1 - left] = x[n, :, t0:t1, l0:l1]
    return {"patches": patches, "values": flat[order, best[order]], "samples": order,
            "positions": numpy.array(positions, dtype=numpy.int64)}


def _check_channel(who, layer, channel, shape) -> None:
    """``channel`` must index axis 1 of the layer's output (its channels or units)."""
    if isinstance(channel, bool) or not isinstance(channel, (int, numpy.integer)) or not (
            0 <= channel < shape[1]):
        raise ValueError(f"{who}: channel must be an int in [0, {shape[1]}) for layer {layer!r} "
                         f"(output shape {tuple(shape)}), got {channel!r}")


def _channel_score(out, channel, position=None):
    """The activation to explain: one position of a channel, or the channel's mean."""
    if out.ndim == 2:
        return out[:, channel].sum()
    if position is None:
        return out[:, channel].mean() * out.shape[0]
    r, c = position
    return out[:, channel, r, c].sum()


def project_activation(model, layer: str, x, channel: int, *, position=None,
                       rule: str = "deconvnet"):
    """Project one activation of ``layer`` back to the input (N, ...) of ``x``.

    Args:
        channel: the channel (or unit) of ``layer``.
        position: (row, col) of the activation, or None for the channel's strongest one in each
            sample.
        rule: "deconvnet", "guided" (guided backpropagation) or "gradient" (plain backprop).

    Returns:
        An array shaped like ``x``.
    """
    who = "project_activation"
    if rule not in (*RULES, "gradient"):
        raise ValueError(f"{who}: rule must be one of {(*RULES, 'gradient')}, got {rule!r}")
    module = _layer(who, model, layer)
    x = as_batch(who, model, x)
    out = numpy.empty_like(x)
    with eval_mode(model):
        for n in range(len(x)):
            xt = Tensor(x[n:n + 1], requires_grad=True)
            if rule == "gradient":
                act = _run_to(model, module, xt)
            else:
                with relu_rule(model, rule):
                    act = _run_to(model, module, xt)
            _check_channel(who, layer, channel, act.shape)
            pos = position
            if pos is None and act.ndim == 4:
                flat = asnumpy(act._data[0, channel]).argmax()
                pos = divmod(int(flat), act.shape[-1])
            (g,) = grad(_channel_score(act, channel, pos), xt)
            out[n] = asnumpy(g._data)[0]
    return out


def _blur(img, sigma: float):
    """Gaussian blur over the last two axes (a separable 5-tap kernel, edges repeated)."""
    taps = numpy.exp(-0.5 * (numpy.arange(-2, 3) / sigma) ** 2)
    taps /= taps.sum()
    for axis in (-1, -2):
        padded = numpy.pad(img, [(0, 0)] * (img.ndim - 2) + (
            [(0, 0), (2, 2)] if axis == -1 else [(2, 2), (0, 0)]), mode="edge")
        n = img.shape[axis]
        img = sum(t * numpy.take(padded, range(i, i + n), axis=axis) for i, t in enumerate(taps))
    return img


def activation_maximization(model, layer: str, channel: int, shape, *, steps: int = 200,
                            lr: float = 0.05, jitter: int = 2, blur_every: int = 4,
                            blur_sigma: float = 0.5, value_range=(0.0, 1.0), rng=None) -> dict:
    """An input that excites ``channel`` of ``layer``, by gradient ascent from grey noise.

    Each step shifts the image by a random ``jitter`` (up to that many pixels, wrapping
    around), takes the gradient of the channel's mean activation there, shifts it back, steps
    along the gradient divided by its mean absolute value, and clips to ``value_range``; every
    ``blur_every`` steps the image is blurred a little. Jitter and blur keep the image from
    becoming high-frequency noise the network happens to answer to.

    Args:
        shape: one input's shape, e.g. (1, 28, 28).
        steps: ascent steps; lr: the step size (in units of the value range).
        jitter: the largest random shift in pixels (0: none).
        blur_every: blur period in steps (0: never); blur_sigma: the blur's width in pixels.
        value_range: (low, high) the pixels are kept in.
        rng: Generator or seed for the start and the jitter.

    Returns:
        {"image": an array of ``shape``, "activations": (steps + 1,) the channel's mean
        activation before the first step and after each one}.
    """
    who = "activation_maximization"
    steps = check_positive_int(who, "steps", steps)
    jitter = check_positive_int(who, "jitter", jitter, low=0)
    blur_every = check_positive_int(who, "blur_every", blur_every, low=0)
    module = _layer(who, model, layer)
    rng = generator(rng)
    low, high = value_range
    dtype = next((p.dtype for p in model.parameters()), numpy.float32)
    img = (low + (high - low) * (0.5 + 0.01 * rng.standard_normal((1, *shape)))).astype(dtype)
    history = []

    def value(image):
        with no_grad():
            out = _run_to(model, module, Tensor(image))
        _check_channel(who, layer, channel, out.shape)
        a = asnumpy(out._data)[0, channel]
        return float(a.mean())

    with eval_mode(model):
        history.append(value(img))
        for step in range(steps):
            dy, dx = (rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0))
            moved = numpy.roll(img, (int(dy), int(dx)), axis=(-2, -1))
            xt = Tensor(moved, requires_grad=True)
            act = _run_to(model, module, xt)
            (g,) = grad(_channel_score(act, channel), xt)
            g = numpy.roll(asnumpy(g._data), (-int(dy), -int(dx)), axis=(-2, -1))
            img = img + lr * (high - low) * g / (numpy.abs(g).mean() + 1e-12)
            if blur_every and (step + 1) % blur_every == 0:
                img = _blur(img, blur_sigma)
            img = numpy.clip(img, low, high).astype(dtype)
            history.append(value(img))
    return {"image": img[0], "activations": numpy.array(history)}
