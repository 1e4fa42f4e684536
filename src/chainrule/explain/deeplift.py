"""DeepLIFT's rescale rule (Shrikumar, Greenside & Kundaje 2017): attributions from differences.

DeepLIFT explains ``f(x) - f(x')`` against a baseline ``x'``. It runs ``x`` and ``x'`` through the
network together and backpropagates with one change at each nonlinearity ``y = s(z)``: the local
derivative ``s'(z)`` is replaced by the slope of the secant, ``(s(z) - s(z')) / (z - z')`` (the
plain derivative where ``|z - z'| < eps``). Linear layers keep their gradient, so for a network of
linear layers and such nonlinearities the attributions ``(x - x') * multiplier`` sum to exactly
``f(x) - f(x')``. At a max pooling the secant is taken per window: the change of each window's
maximum is sent back to the winning positions of ``x`` and of ``x'`` and divided by the input's
change there, as Captum's ``DeepLift`` does.

The rule is applied to the layers that are modules (``nn.ReLU``, ``ELU``, ``LeakyReLU``,
``Sigmoid``, ``Tanh``, ``Softplus``, ``MaxPool2d``); a nonlinearity called as a function inside
``forward`` keeps its gradient, as in Captum.
"""

from __future__ import annotations

import contextlib

from ..autograd import Function, Tensor, grad
from ..backend import asnumpy, get_array_module, numpy
from ..nn import ELU, MaxPool2d, ReLU, Sigmoid, Softplus, Tanh, fuse, unfuse
from ..nn.activation import LeakyReLU
from ..nn.fuse import FUSED_LAYERS
from ..ops import concat
from ..ops.pool import max_pool2d
from ..ops.unpool import max_unpool2d
from ._common import (
    as_batch,
    baseline_shapes,
    batches,
    check_output,
    check_positive_int,
    chosen_scores,
    eval_mode,
    resolve_targets,
    scores_of,
)
from .multi_input import pack

__all__ = ["deeplift"]

ELEMENTWISE = (ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus)


def _halves(a):
    n = a.shape[0] // 2
    d = a[:n] - a[n:]
    return get_array_module(a).concatenate([d, d])


class SecantRule(Function):
    """Forward: the layer's output ``y`` (already computed from ``z``). Backward: ``g * dy/dz`` (by
    secant) straight to ``z`` where ``z`` and ``z'`` differ, else ``g`` on to ``y``'s own graph,
    which gives the plain derivative."""

    def forward(self, z, y):
        xp = get_array_module(z)
        dz, dy = _halves(z), _halves(y)
        self.plain = xp.abs(dz) < self.eps
        self.slope = xp.where(self.plain, 0, dy / xp.where(self.plain, 1, dz)).astype(z.dtype)
        return y.copy()

    def backward(self, g):
        return g * Tensor(self.slope), g * Tensor(self.plain.astype(self.slope.dtype))


class MaxPoolRule(Function):
    """Captum's max-pooling rule: the change of each window's maximum sent back to where ``x``'s
    and ``x'``'s maxima are, divided by the input's change (the plain gradient where it is 0)."""

    def forward(self, z, y):
        xp = get_array_module(z)
        n = z.shape[0] // 2
        top = xp.maximum(y[:n], y[n:])
        self.out_delta = xp.concatenate([top - y[n:], y[:n] - top])
        dz = _halves(z)
        self.plain = xp.abs(dz) < self.eps
        self.inv = xp.where(self.plain, 0, 1 / xp.where(self.plain, 1, dz)).astype(z.dtype)
        return y.copy()

    def backward(self, g):
        m = self.module
        spread = max_unpool2d(g * Tensor(self.out_delta), Tensor(self.indices), m.kernel_size,
                              m.stride, m.padding, output_size=self.size)
        n = spread.shape[0] // 2
        both = spread[:n] + spread[n:]
        moved = concat([both, both], axis=0) * Tensor(self.inv)
        if not self.plain.any():
            return moved, None
        # where z = z' the plain gradient of the pooling: g summed onto each window's winner
        xp = get_array_module(self.inv)
        plain = xp.zeros((*self.size[:2], self.size[2] * self.size[3]), dtype=self.inv.dtype)
        lead = xp.indices(g.shape[:2])
        flat = self.indices.reshape(*g.shape[:2], -1)
        xp.add.at(plain, (lead[0][..., None], lead[1][..., None], flat),
                  g._data.reshape(*g.shape[:2], -1))
        return moved + Tensor(plain.reshape(self.size) * self.plain), None


def _hook(eps):
    def hook(module, inputs, output):
        z = inputs[0]
        if isinstance(module, MaxPool2d):
            _, idx = max_pool2d(Tensor(z._data), module.kernel_size, module.stride,
                                module.padding, module.dilation, module.ceil_mode,
                                return_indices=True)
            return MaxPoolRule.apply(z, output, eps=eps, module=module, indices=idx._data,
                                     size=tuple(z.shape))
        return SecantRule.apply(z, output, eps=eps)
    return hook


@contextlib.contextmanager
def _rescale(model, eps):
    fused = any(isinstance(m, FUSED_LAYERS) for m in model.modules())
    if fused:  # a fused Linear + ReLU hides its ReLU layer: unfuse for the block, as relu_rule
        unfuse(model)
    layers = [m for m in model.modules() if isinstance(m, (*ELEMENTWISE, MaxPool2d))]
    for m in layers:
        if getattr(m, "inplace", False):
            raise ValueError(f"deeplift: {type(m).__name__}(inplace=True) overwrites the input "
                             "the rule needs; build the model with inplace=False")
        if isinstance(m, MaxPool2d) and (m.dilation not in (1, (1, 1)) or m.return_indices):
            raise ValueError("deeplift: MaxPool2d with dilation or return_indices is not "
                             "supported")
    handles = [m.register_forward_hook(_hook(eps)) for m in layers]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        if fused:
            fuse(model)


def deeplift(model, x, target=None, *, baseline=0.0, multiply_by_inputs: bool = True,
             eps: float = 1e-10, output: str = "logit", batch_size: int = 64,
             additional_forward_args=None, return_convergence_delta: bool = False):
    """DeepLIFT attributions of the target score by the rescale rule (Captum's ``DeepLift``).

    Args:
        model: a Module whose nonlinearities are layers (see the module docstring).
        x: inputs (N, ...); target: an int, one per sample, or None (the predicted class).
        baseline: the reference ``x'``: a number, or an array shaped like one sample (or
            (1, ...), Captum's form) or like x.
        multiply_by_inputs: return ``(x - x') * multipliers`` (the attributions, summing to
            ``f(x) - f(x')`` for linear layers and elementwise nonlinearities); False: the
            multipliers alone (Captum's ``multiply_by_inputs=False``).
        eps: below this change of a layer's input the plain derivative is used.
        output: "logit" or "probability"; batch_size: samples per backward pass.
        additional_forward_args: more arguments of the model, not attributed; ``x`` may be a
            tuple of inputs (``baseline`` then a tuple too), giving a tuple (``multi_input``).
        return_convergence_delta: also return, as Captum's, ``delta`` (N,): the attributions
            summed over every input minus ``f(x) - f(x')`` (0 up to rounding for linear layers
            and elementwise nonlinearities with ``multiply_by_inputs``).

    Returns:
        An array shaped like ``x``, or ``(attributions, delta)``.
    """
    who = "deeplift"
    packed = pack(who, model, x, additional_forward_args)
    if packed is not None:
        out = deeplift(packed.model, packed.x, target,
                       baseline=packed.like_x("baseline", baseline),
                       multiply_by_inputs=multiply_by_inputs, eps=eps, output=output,
                       batch_size=batch_size, return_convergence_delta=return_convergence_delta)
        if return_convergence_delta:
            return packed.unpack(out[0]), out[1]
        return packed.unpack(out)
    x = as_batch(who, model, x)
    check_output(who, output)
    batch_size = check_positive_int(who, "batch_size", batch_size)
    base = numpy.asarray(asnumpy(baseline._data) if isinstance(baseline, Tensor) else baseline)
    if base.dtype.kind not in "fiub" or base.shape not in baseline_shapes(x):
        raise ValueError(f"{who}: baseline must be a number or an array shaped like one sample "
                         f"{x.shape[1:]} (or (1, ...)) or like x {x.shape},"
                         f" got {baseline!r:.80}")
    base = numpy.broadcast_to(base.astype(x.dtype), x.shape)
    t = resolve_targets(who, model, x, target, output=output, batch_size=batch_size)
    mult = numpy.empty_like(x)
    with eval_mode(model), _rescale(model, eps):
        for sl in batches(len(x), batch_size):
            both = Tensor(numpy.concatenate([x[sl], base[sl]]), requires_grad=True)
            chosen = scores_of(who, model, both, numpy.concatenate([t[sl], t[sl]]),
                               output=output)
            (g,) = grad(chosen.sum(), both)
            mult[sl] = asnumpy(g._data)[:sl.stop - sl.start]
    attributions = (x - base) * mult if multiply_by_inputs else mult
    if not return_convergence_delta:
        return attributions
    gap = chosen_scores(model, x, t, output, batch_size) - chosen_scores(
        model, numpy.ascontiguousarray(base), t, output, batch_size)
    return attributions, attributions.reshape(len(x), -1).sum(axis=1, dtype=numpy.float64) - gap
