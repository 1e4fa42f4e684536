"""Lazy layers: ``LazyLinear`` and ``LazyConv1d/2d/3d`` infer their input size at the first call.

As PyTorch's: until that call the weight and bias are ``UninitializedParameter``s (no shape: reading
it is a RuntimeError); the first call sets ``in_features`` / ``in_channels`` from the input, gives
the parameters their shapes, draws PyTorch's initialization, and the module becomes a plain
``Linear`` / ``Conv*d``. The parameters are materialized in place, so they keep their identity: an
optimizer built before the first call holds them and trains them, as PyTorch's does (its docs
advise a dry run first all the same). ``load_state_dict`` before the first call materializes them
with the loaded shapes, and the first call then keeps the loaded values. ``Module.to(dtype)``
before the first call sets the dtype they will have.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..ops._unbatched import either_layout
from ._checks import float_dtype, positive_int, reset_with, resolve_rng
from .conv import Conv1d, Conv2d, Conv3d
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyLinear", "LazyModuleMixin",
           "UninitializedParameter"]


class UninitializedParameter(Parameter):
    """A parameter whose shape a lazy module sets at its first call (``materialize``).

    It holds an empty array of its dtype meanwhile; asking for its shape is a RuntimeError, as
    in PyTorch, so that it cannot pass for a real parameter.
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, dtype=None):
        dt = float_dtype(dtype, "UninitializedParameter")
        super().__init__(get_array_module().empty((0,), dtype=dt), requires_grad)

    @property
    def shape(self):
        raise RuntimeError(
            "an uninitialized parameter (of a lazy module) has no shape before the module's "
            "first call: run the model once on an input (or load a state dict) first")

    def materialize(self, shape) -> None:
        """Give the parameter ``shape`` (zeros of its dtype, on its device), in place: it becomes
        a ``Parameter``, the same object."""
        xp = get_array_module(self._data)
        self._set_array(xp.zeros(tuple(int(s) for s in shape), dtype=self._data.dtype))
        self._mark_changed()
        self.__class__ = Parameter

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


def _uninitialized(p):
    return isinstance(p, UninitializedParameter)


class LazyModuleMixin:
    """What PyTorch's lazy modules answer before their first call (their class changes to the
    plain one after it, which has no such method, as in PyTorch)."""

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer still waits for the first call to get its shape."""
        state = [*self._parameters.values(), *self._buffers.values()]
        return any(hasattr(t, "materialize") for t in state)


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last axis of its first input, as PyTorch's.

    Args:
        out_features, bias: as for Linear.
        rng: numpy Generator for the weights drawn at the first call (None: the default one).
        dtype: floating-point dtype of the parameters.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> layer = nn.LazyLinear(3)
    >>> layer
    LazyLinear(in_features=0, out_features=3, bias=True)
    >>> layer(cr.ones(2, 5)).shape, layer
    ((2, 3), Linear(in_features=5, out_features=3, bias=True))
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, *, rng=None, dtype=None):
        Module.__init__(self)
        self.in_features = 0
        self.out_features = positive_int("LazyLinear", "out_features", out_features, 0)
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self._lazy_rng = resolve_rng(rng, "LazyLinear")

    def reset_parameters(self, *, rng=None) -> None:
        """PyTorch's initialization, once the first call has given the weights their shapes."""
        if not _uninitialized(self.weight):
            super().reset_parameters(rng=rng)

    def forward(self, x):
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) < 1:
            raise ValueError(f"LazyLinear: expected an input with a last axis of features, got "
                             f"{'a ' + type(x).__name__ if shape is None else 'shape ()'}")
        if _uninitialized(self.weight):
            self.in_features = positive_int("LazyLinear", "the input's last axis", shape[-1])
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            reset_with(self, self._lazy_rng)
        else:  # loaded from a state dict before the first call
            self.in_features = self.weight.shape[1]
        _become(self)
        return self.forward(x)  # now the plain class's


class _LazyConv(LazyModuleMixin):
    """What the lazy convolutions share: the first call sets ``in_channels`` and the weights."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", *, rng=None,
                 dtype=None):
        # Checked with groups input channels (divisible by groups), then made lazy; nothing is
        # drawn (reset_parameters below) until the first call.
        super().__init__(groups, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, rng=rng, dtype=dtype)
        self._make_lazy(bias, rng)

    def _make_lazy(self, bias: bool, rng) -> None:
        dt = self.weight._data.dtype
        self.in_channels = 0
        self.weight = UninitializedParameter(dtype=dt)
        if bias:
            self.bias = UninitializedParameter(dtype=dt)
        self._lazy_rng = resolve_rng(rng, type(self).__name__)

    def reset_parameters(self, *, rng=None) -> None:
        """PyTorch's initialization, once the first call has given the weights their shapes."""
        if "_lazy_rng" in self.__dict__ and not _uninitialized(self.weight):
            super().reset_parameters(rng=rng)

    def _weight_shape(self, channels: int) -> tuple:
        return (self.out_channels, channels // self.groups) + self.kernel_size

    def _loaded_channels(self) -> int:
        return self.weight.shape[1] * self.groups

    def _first_call(self, x) -> None:
        """Give the weights their shapes from ``x``'s channels (or read them from loaded
        weights), then become the plain class."""
        who, nd = type(self).__name__, self._nd
        shape = getattr(x, "shape", None)
        if shape is None or len(shape) not in (nd + 1, nd + 2):
            got = type(x).__name__ if shape is None else f"shape {tuple(shape)}"
            raise ValueError(f"{who}: expected a {either_layout(nd)} input, got {got}")
        if _uninitialized(self.weight):
            channels = positive_int(who, "the input's channels", shape[-nd - 1])
            if channels % self.groups:
                raise ValueError(f"{who}: the input's {channels} channels (shape {tuple(shape)}) "
                                 f"must be divisible by groups={self.groups}")
            self.in_channels = channels
            self.weight.materialize(self._weight_shape(channels))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            reset_with(self, self._lazy_rng)
        else:  # loaded from a state dict before the first call
            self.in_channels = self._loaded_channels()
        _become(self)

    def forward(self, x):
        self._first_call(x)
        return self.forward(x)  # now the plain class's


def _become(module) -> None:
    """Turn a lazy module into its plain class once its parameters have shapes."""
    if module.bias is not None and _uninitialized(module.bias):
        raise RuntimeError(f"{type(module).__name__}: the weight was loaded but the bias was not; "
                           "load both, or neither")
    del module._lazy_rng
    module.__class__ = module.cls_to_become


class LazyConv1d(_LazyConv, Conv1d):
    """``Conv1d`` whose ``in_channels`` is its first input's axis 1; arguments as Conv1d's
    without ``in_channels``."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """``Conv2d`` whose ``in_channels`` is its first input's axis 1; arguments as Conv2d's
    without ``in_channels``."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """``Conv3d`` whose ``in_channels`` is its first input's axis 1; arguments as Conv3d's
    without ``in_channels``."""

    cls_to_become = Conv3d
