"""More lazy layers: ``LazyConvTranspose1d/2d/3d``, ``LazyBatchNorm1d/2d/3d`` and
``LazyInstanceNorm1d/2d/3d`` infer their input channels at the first call, as PyTorch's.

They work as ``nn.lazy``'s: the parameters (and, for the norms, the running statistics, held in
``UninitializedBuffer``s) have no shape until the first call (or ``load_state_dict``) gives them
one, in place; then the module becomes a plain ``ConvTranspose*d`` / ``BatchNorm*d`` /
``InstanceNorm*d``.
"""

from __future__ import annotations

from ..backend import get_array_module
from ._checks import float_dtype, positive_int
from .conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .group_norm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm
from .lazy import LazyModuleMixin, UninitializedParameter, _LazyConv
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .parameter import Buffer

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d", "UninitializedBuffer"]


class UninitializedBuffer(Buffer):
    """A buffer whose shape a lazy module sets at its first call (``materialize``); asking for
    its shape before is a RuntimeError, as for ``UninitializedParameter``."""

    __slots__ = ()

    def __init__(self, requires_grad: bool = False, dtype=None, persistent: bool = True):
        if requires_grad:
            raise ValueError("UninitializedBuffer: a buffer takes no gradient, got "
                             "requires_grad=True")
        dt = float_dtype(dtype, "UninitializedBuffer")
        super().__init__(get_array_module().empty((0,), dtype=dt), persistent=persistent)

    @property
    def shape(self):
        raise RuntimeError(
            "an uninitialized buffer (of a lazy module) has no shape before the module's first "
            "call: run the model once on an input (or load a state dict) first")

    def materialize(self, shape) -> None:
        """Give the buffer ``shape`` (zeros of its dtype), in place: it becomes a ``Buffer``."""
        xp = get_array_module(self._data)
        self._set_array(xp.zeros(tuple(int(s) for s in shape), dtype=self._data.dtype))
        self._mark_changed()
        self.__class__ = Buffer

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"


class _LazyConvTranspose(_LazyConv):
    """``_LazyConv`` for a weight of shape (in, out/groups, *kernel)."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", *,
                 rng=None, dtype=None):
        # the ConvTranspose's own __init__ (past _LazyConv's), with groups input channels
        super(_LazyConv, self).__init__(groups, out_channels, kernel_size, stride, padding,
                                        output_padding, groups, bias, dilation, padding_mode,
                                        rng=rng, dtype=dtype)
        self._make_lazy(bias, rng)

    def _weight_shape(self, channels: int) -> tuple:
        return (channels, self.out_channels // self.groups) + self.kernel_size

    def _loaded_channels(self) -> int:
        return self.weight.shape[0]

    def forward(self, x, output_size=None):
        self._first_call(x)
        return self.forward(x, output_size)  # now the plain class's


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` is its first input's channel axis; arguments
    as ConvTranspose1d's without ``in_channels``."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` is its first input's channel axis."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """``ConvTranspose3d`` whose ``in_channels`` is its first input's channel axis."""

    cls_to_become = ConvTranspose3d


class _LazyNorm(LazyModuleMixin):
    """The first call sets ``num_features`` and gives the weight, bias and running statistics
    their shape (C,) and PyTorch's initial values (1, 0, 0, 1)."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, dtype=None, bias: bool = True):
        super().__init__(1, eps, momentum, affine, track_running_stats, dtype=dtype, bias=bias)
        self.num_features = 0
        for name in ("weight", "bias"):
            if getattr(self, name) is not None:
                setattr(self, name, UninitializedParameter(dtype=getattr(self, name).dtype))
        for name in ("running_mean", "running_var"):
            if getattr(self, name) is not None:
                setattr(self, name, UninitializedBuffer(dtype=getattr(self, name).dtype))

    def reset_parameters(self) -> None:
        """PyTorch's initial values, once the first call has given the state its shape."""
        if self.num_features and not any(hasattr(t, "materialize") for t in (
                self.weight, self.bias, self.running_mean, self.running_var)):
            super().reset_parameters()

    def forward(self, x):
        who = type(self).__name__
        ndim = getattr(x, "ndim", None)
        if ndim not in self._ranks:
            got = type(x).__name__ if ndim is None else f"shape {tuple(x.shape)}"
            raise ValueError(f"{who}: expected input of shape {self._layout}, got {got}")
        state = [t for t in (self.weight, self.bias, self.running_mean, self.running_var)
                 if t is not None]
        lazy = [t for t in state if hasattr(t, "materialize")]
        if lazy and len(lazy) < len(state):
            raise RuntimeError(f"{who}: part of the state was loaded before the first call; "
                               f"load all of weight, bias, running_mean and running_var, or none")
        if lazy:
            # The channel axis: 1, or 0 for an instance norm's unbatched (C, *) input (where
            # PyTorch reads axis 1 all the same).
            axis = 0 if isinstance(self, _InstanceNorm) and ndim != self._ranks[0] else 1
            self.num_features = positive_int(who, "the input's channels", x.shape[axis])
            for t in lazy:
                t.materialize((self.num_features,))
            self.reset_parameters()
        elif state:  # loaded from a state dict before the first call
            self.num_features = state[0].shape[0]
        self.__class__ = self.cls_to_become
        return self.forward(x)


class LazyBatchNorm1d(_LazyNorm, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is its first input's axis 1; arguments as
    BatchNorm1d's without ``num_features``."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNorm, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is its first input's axis 1."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNorm, BatchNorm3d):
    """``BatchNorm3d`` whose ``num_features`` is its first input's axis 1."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNorm, InstanceNorm1d):
    """``InstanceNorm1d`` whose ``num_features`` is its first input's channel axis; PyTorch's
    lazy defaults ``affine=True``, ``track_running_stats=True`` (the plain layer's are False)."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNorm, InstanceNorm2d):
    """``InstanceNorm2d`` whose ``num_features`` is its first input's channel axis."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNorm, InstanceNorm3d):
    """``InstanceNorm3d`` whose ``num_features`` is its first input's channel axis."""

    cls_to_become = InstanceNorm3d
