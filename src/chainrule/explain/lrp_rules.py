"""The relevance rules of ``lrp`` (Montavon et al. 2019, "Layer-wise relevance propagation: an
overview"), one object per rule, and the way a model's layers are given them.

A layer with input ``a`` and outputs ``z_j`` gets the relevance ``R_j`` of its outputs and hands
``R_i = sum_j c_ij / (sum_i' c_i'j) R_j`` to its inputs, ``c_ij`` input ``i``'s share of ``z_j``:

* ``ZeroRule`` (LRP-0): ``c_ij = a_i w_ij`` (the bias is in the denominator);
* ``EpsilonRule(eps)``: the same with ``eps * sign(z_j)`` added to the denominator, which absorbs
  the relevance of weak, contradictory contributions;
* ``GammaRule(gamma)``: ``c_ij = a_i (w_ij + gamma w_ij^+)``, the bias ``b + gamma b^+``:
  positive contributions favoured (lower layers);
* ``AlphaBetaRule(alpha, beta)``, ``alpha - beta = 1``: positive and negative contributions
  ``(a_i w_ij)^+-`` shared out apart, ``R_i = sum_j (alpha c+_ij / z+_j - beta c-_ij / z-_j) R_j``
  (the bias's positive part in ``z+``, its negative part in ``z-``); alpha=1, beta=0 is z+;
* ``ZBRule(low, high)`` for the first layer, whose inputs lie in ``[low, high]``:
  ``c_ij = a_i w_ij - low_i w_ij^+ - high_i w_ij^-``;
* ``FlatRule`` (``c_ij = 1``: shared evenly over a unit's inputs), ``WSquareRule``
  (``c_ij = w_ij^2``), both blind to the input: for the first layer;
* ``IdentityRule``: the relevance passed on unchanged (a layer whose input and output have one
  shape, e.g. ``BatchNorm2d``).

Zero and epsilon take every layer ``lrp`` has a rule for; the rules that change weights take
``Linear`` and ``Conv2d`` (a pooling or batch norm layer keeps epsilon unless given Zero, Epsilon
or Identity). Every denominator gets a stabilizer ``1e-9 * sign(z)`` (``sign(0)`` = 1), as
Captum's rules.
"""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import asnumpy, get_array_module, numpy
from ..data.arguments import check_number
from ..nn import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    ReLU,
    Tanh,
    Unflatten,
)
from ..ops import conv2d, linear

__all__ = [
    "AlphaBetaRule",
    "EpsilonRule",
    "FlatRule",
    "GammaRule",
    "IdentityRule",
    "LRPRule",
    "WSquareRule",
    "ZBRule",
    "ZeroRule",
]

STABILIZER = 1e-9
RULED = (Linear, Conv2d, MaxPool1d, MaxPool2d, MaxPool3d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm2d)
PASSED = (ReLU, Tanh, Dropout)
RESHAPING = (Flatten, Unflatten, Identity)
WEIGHTED = (Linear, Conv2d)


class _Spread(Function):
    """Forward: the layer's output ``z``. Backward: the relevance divided by ``z + eps sign z``."""

    def forward(self, z):
        xp = get_array_module(z)
        self.denominator = z + self.eps * xp.where(z >= 0, 1, -1).astype(z.dtype)
        return z.copy()

    def backward(self, g):
        return g * Tensor(1 / self.denominator)


class _Collect(Function):
    """Forward: the layer's input ``a``. Backward: ``a`` times what reached it."""

    def forward(self, a):
        self.a = a
        return a.copy()

    def backward(self, g):
        return g * Tensor(self.a)


class _Part(Function):
    """Forward: ``value``, a stand-in for the layer's input (``a+``, ``a-``, ``low``, ones...).
    Backward: ``value`` times what reached it, sent to the input."""

    def forward(self, a):
        return self.value.copy()

    def backward(self, g):
        return g * Tensor(self.value)


class _Through(Function):
    """Forward: the activation's output ``y``. Backward: the relevance straight on to its input
    ``z`` (none into ``y``'s own graph)."""

    def forward(self, z, y):
        return y.copy()

    def backward(self, g):
        return g, None


class _Redirect(Function):
    """Forward: the layer's own output. Backward: the relevance sent, times ``coefs``, into the
    rule's stand-in outputs instead (none into the layer's own graph)."""

    def forward(self, output, *stand_ins):
        return output.copy()

    def backward(self, g):
        return (None, *[g * c for c in self.coefs])


def _pre(module, args):
    return (_Collect.apply(args[0]), *args[1:])


def _through(module, args, output):
    return _Through.apply(args[0], output)


class LRPRule:
    """A relevance rule for ``lrp``'s ``rules``; ``takes``: the layer types it applies to."""

    takes: tuple = RULED

    def hooks(self, layer):
        """``(forward pre-hook or None, forward hook)`` making ``layer`` follow the rule."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class EpsilonRule(LRPRule):
    """LRP-epsilon: ``R_i = a_i sum_j w_ij R_j / (z_j + eps sign z_j)``, eps a finite number > 0."""

    def __init__(self, epsilon: float = 0.25):
        self.epsilon = check_number(type(self).__name__, "epsilon", epsilon, low=0)
        if self.epsilon == 0:
            raise ValueError(
                f"{type(self).__name__}: epsilon must be > 0, got {epsilon!r}; ZeroRule() is LRP-0"
            )

    def hooks(self, layer):
        eps = self.epsilon

        def post(module, args, output):
            return _Spread.apply(output, eps=eps)

        return _pre, post


class ZeroRule(EpsilonRule):
    """LRP-0: the relevance in proportion to ``a_i w_ij`` (epsilon only the 1e-9 stabilizer)."""

    def __init__(self):
        self.epsilon = STABILIZER

    def __repr__(self) -> str:
        return "ZeroRule()"


class IdentityRule(LRPRule):
    """The relevance of the outputs passed on as the inputs' (input and output of one shape)."""

    def hooks(self, layer):
        def post(module, args, output):
            if tuple(args[0].shape) != tuple(output.shape):
                raise ValueError(
                    f"IdentityRule: layer {type(module).__name__} maps shape "
                    f"{tuple(args[0].shape)} to {tuple(output.shape)}; the rule "
                    "needs one shape"
                )
            return _Through.apply(args[0], output)

        return None, post


def _map(layer, x, weight, bias):
    """``layer``'s linear map applied to ``x`` with ``weight`` and ``bias`` (arrays or None)."""
    w = Tensor(weight)
    b = None if bias is None else Tensor(bias)
    if isinstance(layer, Linear):
        return linear(x, w, b)
    padding = layer.padding
    if layer.padding_mode != "zeros":
        x, padding = layer._padded(x)
    return conv2d(x, w, b, layer.stride, padding, layer.dilation, layer.groups)


def _params(layer):
    w = asnumpy(layer.weight.detach()._data)
    b = None if layer.bias is None else asnumpy(layer.bias.detach()._data)
    return w, b


class _Weighted(LRPRule):
    """A rule that shares relevance by contributions of its own: ``terms(a, w, b)`` gives the
    groups ``(coefficient, [(input stand-in, weight, bias), ...])``; each group's outputs are
    summed, stabilized and take ``coefficient`` times the relevance."""

    takes = WEIGHTED

    def hooks(self, layer):
        def post(module, args, output):
            x = args[0]
            w, b = _params(module)
            coefs, stand_ins = [], []
            for coef, parts in self.terms(asnumpy(x.detach()._data), w, b):
                z = None
                for value, weight, bias in parts:
                    value = numpy.broadcast_to(value, x.shape).astype(w.dtype)
                    zi = _map(module, _Part.apply(x, value=value), weight, bias)
                    z = zi if z is None else z + zi
                coefs.append(coef)
                stand_ins.append(_Spread.apply(z, eps=STABILIZER))
            return _Redirect.apply(output, *stand_ins, coefs=coefs)

        return None, post


def _pos(v):
    return None if v is None else numpy.maximum(v, 0)


def _neg(v):
    return None if v is None else numpy.minimum(v, 0)


class GammaRule(_Weighted):
    """LRP-gamma: positive weights (and bias) boosted, ``w + gamma w^+``; gamma >= 0. Made for
    inputs >= 0 (after a ReLU): on signed inputs it is ``a (w + gamma w^+)`` as Captum's, which
    favours no sign. ``bias=False`` leaves the bias out of the denominators (Captum's
    ``set_bias_to_zero``)."""

    def __init__(self, gamma: float = 0.25, *, bias: bool = True):
        self.gamma = check_number("GammaRule", "gamma", gamma, low=0)
        self.bias = bool(bias)

    def terms(self, a, w, b):
        g = self.gamma
        b = b + g * _pos(b) if self.bias and b is not None else None
        return [(1.0, [(a, w + g * _pos(w), b)])]


class AlphaBetaRule(_Weighted):
    """LRP-alpha-beta: positive contributions ``(a_i w_ij)^+`` share out ``alpha`` times the
    relevance, negative ones ``beta`` times it, ``alpha - beta = 1``; ``AlphaBetaRule()`` is
    alpha1-beta0 (z+). ``bias=False`` leaves the bias out of the denominators."""

    def __init__(self, alpha: float = 1.0, beta: float = 0.0, *, bias: bool = True):
        self.alpha = check_number("AlphaBetaRule", "alpha", alpha, low=1)
        self.beta = check_number("AlphaBetaRule", "beta", beta, low=0)
        if abs(self.alpha - self.beta - 1) > 1e-12:
            raise ValueError(
                f"AlphaBetaRule: alpha - beta must be 1 (relevance conserved), got "
                f"alpha={alpha!r}, beta={beta!r}"
            )
        self.bias = bool(bias)

    def terms(self, a, w, b):
        ap, an, wp, wn = _pos(a), _neg(a), _pos(w), _neg(w)
        b = b if self.bias else None
        out = [(self.alpha, [(ap, wp, _pos(b)), (an, wn, None)])]
        if self.beta:
            out.append((-self.beta, [(ap, wn, _neg(b)), (an, wp, None)]))
        return out


class ZBRule(_Weighted):
    """The z^B rule for the first layer, its inputs bounded by ``low`` <= x <= ``high``
    (numbers, or arrays shaped like one sample or broadcastable to it)."""

    def __init__(self, low=0.0, high=1.0):
        lo, hi = numpy.asarray(low, dtype=numpy.float64), numpy.asarray(high, dtype=numpy.float64)
        if not (numpy.isfinite(lo).all() and numpy.isfinite(hi).all()):
            raise ValueError("ZBRule: low and high must be finite")
        try:
            ok = (lo <= hi).all()
        except ValueError:
            raise ValueError(
                f"ZBRule: low (shape {lo.shape}) and high (shape {hi.shape}) do "
                "not broadcast together"
            ) from None
        if not ok:
            raise ValueError("ZBRule: low must be <= high everywhere")
        self.low, self.high = lo, hi

    def __repr__(self) -> str:
        return f"ZBRule(low={self.low.tolist()!r}, high={self.high.tolist()!r})"

    def terms(self, a, w, b):
        sample = a.shape[1:]
        for name, v in (("low", self.low), ("high", self.high)):
            try:
                fits = numpy.broadcast_shapes(v.shape, sample) == tuple(sample)
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"ZBRule: {name} has shape {v.shape}, which does not broadcast "
                    f"to one input of the layer, shape {tuple(sample)}"
                )
        if (a < self.low - 1e-6 * (1 + abs(self.low))).any() or (
            a > self.high + 1e-6 * (1 + abs(self.high))
        ).any():
            raise ValueError(
                "ZBRule: the layer's inputs leave [low, high]; give the bounds of "
                "the data (the rule is for the first layer)"
            )
        return [(1.0, [(a, w, None), (self.low, -_pos(w), None), (self.high, -_neg(w), None)])]


class FlatRule(_Weighted):
    """The flat rule: a unit's relevance shared evenly over the inputs it sees (first layer)."""

    def terms(self, a, w, b):
        return [(1.0, [(numpy.ones_like(a), numpy.ones_like(w), None)])]


class WSquareRule(_Weighted):
    """The w^2 rule: a unit's relevance shared in proportion to the squared weights."""

    def terms(self, a, w, b):
        return [(1.0, [(numpy.ones_like(a), w * w, None)])]
