"""Explicit layer fusion: ``nn.fuse(model)`` turns a layer followed by a ReLU into one fused layer.

A ``Linear``, ``Conv1d`` or ``Conv2d`` followed by a ``ReLU`` computes ``relu(layer(x))``. Run as
one op (``F.linear_relu``, ``F.conv2d_relu``), the bias add and the ReLU are one pass, the node
saves nothing but its output, and the backward masks the gradient once: the same values and
gradients, less time (docs/performance.md). Nothing does this behind your back: ``fuse`` does it
when you call it (``Trainer`` and the command line call it for you, ``Trainer(fuse=False)`` keeps
your layers as they are), and ``repr(model)`` shows the fused layers:

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

from .activation import ReLU
from .containers import Sequential
from .conv import Conv1d, Conv2d
from .linear import Identity, Linear
from .module import Module

__all__ = ["Conv1dReLU", "Conv2dReLU", "LinearReLU", "fuse"]


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


_FUSED = {Linear: LinearReLU, Conv1d: Conv1dReLU, Conv2d: Conv2dReLU}


def _plain(module: Module) -> bool:
    """No hooks and no instance-level ``forward``: nothing observes the output inside the pair."""
    return not (module._forward_pre_hooks or module._forward_hooks or "forward" in module.__dict__)


def _fused_copy(layer: Module, cls: type) -> Module:
    """``layer`` as an instance of ``cls``: the same Parameters, settings and mode, no new init."""
    fused = cls.__new__(cls)
    fused.__dict__.update(layer.__dict__)
    for store in ("_parameters", "_buffers", "_modules", "_forward_pre_hooks", "_forward_hooks"):
        fused.__dict__[store] = dict(layer.__dict__[store])
    return fused


def fuse(model: Module) -> Module:
    """Fuse, in place, each Linear / Conv1d / Conv2d followed by a ReLU inside ``model``'s
    ``Sequential`` containers into one fused layer (``LinearReLU``...), and return ``model``.

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
        for first, second in zip(names, names[1:]):
            layer, act = seq._modules[first], seq._modules[second]
            cls = _FUSED.get(type(layer))
            if cls is not None and type(act) is ReLU and _plain(layer) and _plain(act):
                seq._modules[first] = _fused_copy(layer, cls)
                seq._modules[second] = Identity().train(act.training)
    return model
