"""Parameter and Buffer: the two kinds of state a Module owns, one trained and one only kept."""

from __future__ import annotations

from importlib import import_module

from ..autograd.inplace import _overlaps as overlaps
from ..autograd.tensor import Tensor, tensor
from ..backend import config, device_of, ensure_array, to_device

__all__ = ["Buffer", "Parameter", "is_lazy"]

# torch.nn.parameter also names the lazy modules' placeholders; they live beside the lazy
# modules (which import this file), so they are looked up on first use.
_LAZY_NAMES = {"UninitializedParameter": "lazy", "UninitializedBuffer": "lazy_more"}


def _as_array(data):
    """An ndarray for ``data``, sharing memory with an array or Tensor (lists are copied).

    A host array goes to the default device (``chainrule.set_default_device``) when that is
    not the CPU, so that layers built after ``set_default_device("cuda")`` live there.
    """
    if isinstance(data, Tensor):
        data = data._writable()
    elif hasattr(data, "shape") and hasattr(data, "dtype"):
        data = ensure_array(data)
    else:
        return tensor(data)._data
    if config.default_device != "cpu" and device_of(data) == "cpu":
        data = to_device(data, config.default_device)
    return data


class Parameter(Tensor):
    """A trainable tensor of a Module: a floating-point or complex leaf that requires grad.

    The array the ops read (``param._data``) is a read-only view of the values (on the CPU), so
    that a raw write such as ``numpy.asarray(param)[...] = 0`` fails at once instead of silently
    changing what a recorded forward pass saved for backward. Change a parameter with its
    in-place methods under ``no_grad`` (``param.copy_(v)``, ``param.add_(d, alpha=-lr)``..., or
    the same on ``param.data``, a Tensor sharing the writable memory), by assigning a new array
    (``param.data = array``), or through an optimizer or ``load_state_dict``: each of these
    counts the change (``_version``), and backward refuses to use a changed value. CuPy arrays
    have no read-only flag: on a GPU the version count alone guards them.

    Args:
        data: an array, Tensor (memory is shared) or nested list of floats; complex64/complex128
            data (PyTorch's ``dtype=torch.cfloat`` weights, e.g. a Fourier layer's) is trained
            by the optimizers as pairs of reals (real and imaginary parts), as PyTorch's.
        requires_grad: False freezes the parameter (it is still saved in the state dict).
            ``Parameter()`` is an empty one of the default dtype, as PyTorch's.

    >>> import chainrule as cr
    >>> p = Parameter(cr.tensor([1.0, 2.0]))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    # The writable array whose read-only view ``data`` is (the same array on a GPU).
    __slots__ = ("_wdata",)

    def __init__(self, data=None, requires_grad: bool = True):
        data = _as_array([] if data is None else data)  # PyTorch's Parameter(): empty, float
        if data.dtype.kind not in "fc":
            raise TypeError(
                f"Parameter: data must be floating-point or complex, got dtype {data.dtype}; "
                "convert it with .astype('float32')"
            )
        super().__init__(data, requires_grad=bool(requires_grad))
        self._set_array(data)

    def _set_array(self, array) -> None:
        flags = getattr(array, "flags", None)
        if flags is not None and not getattr(flags, "writeable", True):
            base = array.base  # another Parameter's protected view (``p.data = q.data``): tie
            full_view = (hasattr(base, "flags") and base.flags.writeable
                         and (base.shape, base.dtype, base.strides)
                         == (array.shape, array.dtype, array.strides))
            if full_view:
                array, flags = base, base.flags
            elif hasattr(base, "flags") and base.flags.writeable and overlaps(array):
                # an expand() of writable memory: several elements are one memory location, so
                # it stays read-only and an in-place change (an optimizer's step) is refused,
                # as PyTorch's refuses it, instead of one element's update overwriting another's
                self._wdata = self._data = array
                return
            elif hasattr(base, "flags") and base.flags.writeable:
                # part of another Parameter's memory (``nn.Parameter(w[:k])``, nanoGPT's
                # crop_block_size, ``nn.Parameter(w.t())``): share it, as PyTorch's does
                array = array.view()
                array.flags.writeable = True
                flags = array.flags
            else:
                raise ValueError(
                    f"Parameter: the array of shape {array.shape} is read-only, so no optimizer "
                    "or in-place method could change it; pass a writable array (e.g. a .copy())"
                )
        self._wdata = array
        if flags is not None and getattr(flags, "writeable", False):  # CuPy has no such flag
            view = array.view()
            view.flags.writeable = False
            array = view
        self._data = array

    def _writable(self):
        return self._wdata

    def __getstate__(self):
        # As PyTorch's: a copy (``copy.deepcopy(model)``) or pickle of a Parameter has no grad,
        # so a copied model does not step on the original's stale gradients.
        state = super().__getstate__()
        state["_grad"] = None
        return state

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """State of a Module that is saved and moved with it but not trained (e.g. a running mean).
    It prints as a plain tensor, as PyTorch's (whose ``Buffer`` makes a plain tensor).

    Args:
        data: an array, Tensor (memory is shared) or nested list, of any dtype.
        persistent: False keeps the buffer out of ``state_dict()``.
    """

    __slots__ = ("persistent",)

    def __init__(self, data, *, persistent: bool = True):
        super().__init__(_as_array(data), requires_grad=False)
        self.persistent = bool(persistent)


def is_lazy(param) -> bool:
    """Whether ``param`` is a lazy module's placeholder that has no shape yet (PyTorch's
    ``torch.nn.parameter.is_lazy``)."""
    return isinstance(param, tuple(__getattr__(name) for name in _LAZY_NAMES))


def __getattr__(name):
    if name in _LAZY_NAMES:
        return getattr(import_module(f"{__package__}.{_LAZY_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
