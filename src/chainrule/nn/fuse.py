"""Explicit layer fusion: ``nn.fuse(model)`` runs a ReLU together with its neighbour as one op.

A ``ReLU`` followed by a ``MaxPool1d``/``MaxPool2d`` becomes one max pooling op that rectifies its
pooled output (``F.max_pool2d_relu``: the two commute, and the pooled array is kh * kw times
smaller). A ``Linear``, ``Conv1d``, ``Conv2d``, ``ConvTranspose1d`` or ``ConvTranspose2d``
followed by a ``ReLU`` (not then pooled) becomes one op too (``F.linear_relu``, ``F.conv2d_relu``,
``F.conv_transpose2d_relu``...): the bias add and the ReLU in one pass, the node saving nothing
but its output. The same values and gradients, less time (docs/performance.md).
Nothing does this behind your back: ``fuse`` does it when you call it (``Trainer`` and the command
line call it for you, ``Trainer(fuse=False)`` keeps your layers as they are), and ``repr(model)``
shows the fused layers:

>>> import numpy as np
>>> from chainrule import nn
>>> model = nn.Sequential(nn.Linear(4, 3, rng=np.random.default_rng(0)), nn.ReLU())
>>> nn.fuse(model)
Sequential(
  (0): LinearReLU(in_features=4, out_features=3, bias=True)
  (1): Identity()
)

A fused layer is a subclass of the layer it replaces and holds that layer's own Parameters, so
the state dict (its keys and values), an optimizer made before fusing, and saved checkpoints
are unchanged; the ReLU's place is kept by an ``Identity``. Pairs are fused inside every
``Sequential`` of the model, where the order of layers is known; a layer or ReLU with hooks, or a
subclass with its own ``forward``, is left alone (its exact class must be one of the three).
"""

from __future__ import annotations

from ..ops.pool import max_pool1d_relu, max_pool2d_relu
from .activation import ReLU
from .containers import Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .linear import Identity, Linear
from .module import Module
from .pool import MaxPool1d, MaxPool2d

__all__ = ["FUSED_LAYERS", "Conv1dReLU", "Conv2dReLU", "ConvTranspose1dReLU",
           "ConvTranspose2dReLU", "LinearReLU", "MaxPool1dReLU", "MaxPool2dReLU", "fuse", "unfuse"]


class LinearReLU(Linear):
    """``relu(x @ weight.T + bias)`` as one op (``F.linear_relu``); made by ``nn.fuse``."""

    def forward(self, x):
        return self.forward_relu(x)


class Conv1dReLU(Conv1d):
    """``relu(conv1d(x))`` as one op (``F.conv1d_relu``); made by ``nn.fuse``."""

    def forward(self, x):
        return self.forward_relu(x)


class Conv2dReLU(Conv2d):
    """``relu(conv2d(x))`` as one op (``F.conv2d_relu``); made by ``nn.fuse``."""

    def forward(self, x):
        return self.forward_relu(x)


class ConvTranspose1dReLU(ConvTranspose1d):
    """``relu(conv_transpose1d(x))`` as one op (``F.conv_transpose1d_relu``); by ``nn.fuse``."""

    def forward(self, x):
        return self.forward_relu(x)


class ConvTranspose2dReLU(ConvTranspose2d):
    """``relu(conv_transpose2d(x))`` as one op (``F.conv_transpose2d_relu``): the bias and the
    ReLU in col2im's sweep; made by ``nn.fuse``."""

    def forward(self, x):
        return self.forward_relu(x)


class MaxPool1dReLU(MaxPool1d):
    """``max_pool1d(relu(x))`` as one op (``F.max_pool1d_relu``); made by ``nn.fuse``."""

    _op = staticmethod(max_pool1d_relu)


class MaxPool2dReLU(MaxPool2d):
    """``max_pool2d(relu(x))`` as one op (``F.max_pool2d_relu``): the ReLU runs on the pooled,
    smaller output (the two commute); made by ``nn.fuse``."""

    _op = staticmethod(max_pool2d_relu)


# A layer followed by a ReLU: the layer takes the ReLU in.
_LAYER_RELU = {Linear: LinearReLU, Conv1d: Conv1dReLU, Conv2d: Conv2dReLU,
               ConvTranspose1d: ConvTranspose1dReLU, ConvTranspose2d: ConvTranspose2dReLU}
# A ReLU followed by max pooling: the pool takes the ReLU in, and pools first.
_RELU_POOL = {MaxPool1d: MaxPool1dReLU, MaxPool2d: MaxPool2dReLU}


def _without_hooks(module: Module) -> bool:
    """No hooks and no instance-level ``forward`` (or a convolution's ``_conv_forward``, which
    its forward calls): nothing observes or changes the output inside the pair."""
    return not (module._forward_pre_hooks or module._forward_hooks or module._backward_hooks
                or module._backward_pre_hooks or "forward" in module.__dict__
                or "_conv_forward" in module.__dict__)


def _fused_copy(layer: Module, cls: type) -> Module:
    """``layer`` as an instance of ``cls``: the same Parameters, settings and mode, no new init."""
    fused = cls.__new__(cls)
    fused.__dict__.update(layer.__dict__)
    for store in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks", "_forward_hooks",
                  "_backward_hooks", "_backward_pre_hooks"):
        if store in layer.__dict__:
            fused.__dict__[store] = dict(layer.__dict__[store])
    return fused


def fuse(model: Module) -> Module:
    """Fuse, in place, each ReLU inside ``model``'s ``Sequential`` containers with the max pooling
    after it (``MaxPool2dReLU``...) or else with the Linear / Conv / ConvTranspose (1-D, 2-D)
    before it (``LinearReLU``...), and return ``model``.

    Values, gradients and the state dict stay the same; fusing twice changes nothing more.

    Args:
        model: any Module; its Sequentials (itself included) are searched.

    Returns:
        ``model`` itself, fused.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fuse: model must be a chainrule nn.Module, got {type(model).__name__}")
    for seq in [m for m in model.modules() if isinstance(m, Sequential)]:
        names = list(seq._modules)
        # Pool pairs first: ReLU -> max pool, fused into the pool, leaves the layer before
        # them plain, and the rectifier then runs over the pooled (smaller) array.
        for act_name, pool_name in zip(names, names[1:]):
            act, pool = seq._modules[act_name], seq._modules[pool_name]
            cls = _RELU_POOL.get(type(pool))
            plain = cls is not None and pool.dilation == 1 and not pool.return_indices
            if plain and type(act) is ReLU and _without_hooks(act) and _without_hooks(pool):
                seq._modules[pool_name] = _fused_copy(pool, cls)
                seq._modules[act_name] = Identity().train(act.training)
        for first, second in zip(names, names[1:]):
            layer, act = seq._modules[first], seq._modules[second]
            cls = _LAYER_RELU.get(type(layer))
            if (cls is not None and type(act) is ReLU and _without_hooks(layer)
                    and _without_hooks(act)):
                seq._modules[first] = _fused_copy(layer, cls)
                seq._modules[second] = Identity().train(act.training)
    return model


_UNFUSED = {**{fused: layer for layer, fused in _LAYER_RELU.items()},
          **{fused: pool for pool, fused in _RELU_POOL.items()}}
FUSED_LAYERS = tuple(_UNFUSED)  # every class ``fuse`` makes (``isinstance(m, FUSED_LAYERS)``)


def unfuse(model: Module) -> Module:
    """Undo ``fuse`` in place: each fused layer back to its plain class, its ReLU back in the
    ``Identity`` that kept its place (after a layer, before a pool); returns ``model``.

    For code that needs the ReLU layers themselves (e.g. ``explain``'s guided backpropagation,
    which changes their gradient rule). The Parameters, values and state dict stay the same.

    Raises:
        ValueError: a fused layer whose ReLU's place holds something else than an ``Identity``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"unfuse: model must be a chainrule nn.Module, got {type(model).__name__}")
    for seq in [m for m in model.modules() if isinstance(m, Sequential)]:
        names = list(seq._modules)
        for k, name in enumerate(names):
            layer = seq._modules[name]
            unfused = _UNFUSED.get(type(layer))
            if unfused is None:
                continue
            k_relu = k + 1 if unfused in _LAYER_RELU else k - 1
            place = names[k_relu] if 0 <= k_relu < len(names) else None
            if place is None or type(seq._modules[place]) is not Identity:
                raise ValueError(f"unfuse: {type(layer).__name__} at {name!r} has no Identity "
                                 "holding its ReLU's place beside it (was it made by nn.fuse?)")
            seq._modules[place] = ReLU().train(layer.training)
            seq._modules[name] = _fused_copy(layer, unfused)
    return model
