"""Tensor: an array, its gradient, and the Function node that made it.

Operators and most methods (``+``, ``@``, ``.sum()``, ``.relu()`` ...) are attached by
``chainrule.ops``, which is where every differentiable op lives; this file holds only the
bookkeeping.
"""

from __future__ import annotations

import weakref

from ..backend import MetaArray, asnumpy, config, device_of, get_array_module, numpy, to_device
from ..backend.device import check_pin_memory
from ..backend.device import device as _device
from .hooks import RemovableHandle, write_watchers
from .tensor_copy import deepcopy_tensor
from .tensor_data import Shape, Size, legacy_data
from .tensor_text import tensor_text

__all__ = ["Size", "Tensor", "tensor"]


_FLOAT_KINDS = "fc"  # floating-point and complex tensors can require grad
_NDARRAY = numpy.ndarray


_NOT_STATE = frozenset({"_data", "_wdata", "_base", "_counter", "_hooks", "_viewed", "_views",
                        "_earlier", "_cut", "__weakref__", "__dict__"})


class Tensor:
    """A multi-dimensional array that remembers how it was computed, for reverse-mode autodiff.

    Attributes:
        data: the values as a Tensor outside the graph that shares this one's memory (PyTorch's
            ``.data``); the array itself is ``_data`` inside chainrule. Assigning a new array or
            Tensor counts as an in-place change (see ``_version``); so do the in-place methods
            (``add_``, ``copy_``...).
        grad: the accumulated gradient (a Tensor) after ``backward()``, else None.
        requires_grad: whether operations on this tensor are recorded.
        _version: how many times the values were changed in place (``_mark_changed``).
            Backward refuses to use values changed after a recorded op read them. A tensor and
            the tensors detached from it share one count (their memory is one), as in PyTorch.
        _viewed: set (never unset; unset reads as False) on a tensor that an op made as a
            view; ``_views``: weak references to the live views of a memory (autograd/views.py).
            A recorded write (``autograd.inplace_record``) would not reach the tensors sharing
            its memory as views, so it is refused while any lives. ``_base``: a weak reference to
            the tensor a ``detach()`` or ``.data`` alias is of (not linked in the graph).
        _earlier: set by a recorded in-place change (unset reads as None): {version: weak
            reference to the stand-in that took this tensor's place at that version}, so that a
            node that read the tensor before the change reaches the earlier values' node.
    """

    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "_out_idx", "_retains_grad",
                 "_counter", "_hooks", "_base", "_viewed", "_views", "_earlier", "_cut",
                 "__weakref__", "__dict__")  # __dict__: a program's own attributes (x.g = ...)
    __array_priority__ = 1000  # make ``ndarray + Tensor`` call Tensor.__radd__

    def __init__(self, data, *sizes, requires_grad: bool = False):
        if type(data) is not _NDARRAY or sizes:  # ops pass NumPy arrays: one identity check
            data = data._data if isinstance(data, Tensor) and not sizes else legacy_data(data,
                                                                                          sizes)
        if requires_grad and getattr(data, "dtype", numpy.dtype(object)).kind not in _FLOAT_KINDS:
            raise TypeError(
                "Tensor: only floating-point and complex tensors can require gradients, got dtype "
                f"{getattr(data, 'dtype', type(data).__name__)}; use float data or "
                "cr.tensor(data, dtype='float32', requires_grad=True)"
            )
        self._data = data
        self._grad = None  # grad: checked when assigned (autograd/grad_attribute.py)
        self.requires_grad = requires_grad
        self._ctx = None
        self._out_idx = 0
        self._retains_grad = False
        self._counter = [0]  # shared with detached aliases (detach)
        self._hooks = None  # a leaf's gradient hooks (register_hook)

    @property
    def _version(self) -> int:
        return self._counter[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._counter[0] = value

    @property
    def data(self) -> Tensor:
        """The values as a Tensor outside the graph, sharing this tensor's memory (PyTorch's
        ``.data``): ``p.data.add_(d)``, ``m.weight.data.normal_(0, 0.02)``, ``x.data.numpy()``.

        Unlike PyTorch's, it shares the count of in-place changes (as ``detach()`` does), so a
        change through it after a recorded op read the values still makes backward refuse, and
        the memory it writes is a Parameter's own (not the read-only view that ops read). The
        array itself is ``numpy()`` (a copy from a GPU) or ``numpy.asarray(t)``.
        """
        out = Tensor(self._writable())
        out._counter = self._counter
        out._base = weakref.ref(self)  # an alias as detach() makes: no view in the graph's sense
        return out

    @data.setter
    def data(self, value):
        array = value._writable() if isinstance(value, Tensor) else value
        if self.requires_grad and getattr(array, "dtype", self._data.dtype).kind not in "fc":
            raise RuntimeError(f"data set to a tensor that requires gradients must be floating "
                               f"point or complex dtype, got {array.dtype} (as PyTorch refuses)")
        if array is not self._data:
            self._set_array(array)
            self._mark_changed()

    def _mark_changed(self) -> None:
        """Count one in-place change of the values; tell the watchers (``hooks.watch_writes``)."""
        self._version += 1
        for watcher in write_watchers.get():
            watcher(self)

    def _set_array(self, array) -> None:
        """Hold ``array`` as the values (Parameter overrides this to protect them)."""
        self._data = array

    def _writable(self):
        """The array that sanctioned in-place writers (optimizers, ``copy_``...) write into."""
        return self._data

    def __getstate__(self):
        # One entry for the values, so that a copy or pickle keeps a Parameter's protected view
        # and its writable array one memory (see Parameter).
        state = {"data": self._writable()}
        for cls in type(self).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if name not in _NOT_STATE and hasattr(self, name):
                    state[name] = getattr(self, name)
        if self._ctx is not None:  # pickled, as PyTorch's: a leaf with the values, not the graph
            state.update(_ctx=None, _out_idx=0, _retains_grad=False)
        state.update(self.__dict__)  # a program's own attributes (never a slot's or data's name)
        return state

    def __deepcopy__(self, memo):  # copy.deepcopy(t) of a leaf only (autograd/tensor_copy.py)
        return deepcopy_tensor(self, memo)

    def __setstate__(self, state):
        if isinstance(state, tuple):  # the default (dict, slots) form of older pickles
            state = {**(state[0] or {}), **state[1]}
        state = dict(state)
        self._counter = [0]  # a copy starts its own count
        self._hooks = None  # and no hooks
        self._set_array(state.pop("data"))
        state.pop("_version", None)  # a count kept by an older pickle
        for name, value in state.items():
            setattr(self, name, value)

    @property
    def shape(self) -> Shape:
        return Shape(self._data.shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        """The shape as a ``Size`` (a tuple), or the length of dimension ``dim``, as in PyTorch.

        The number of elements is ``numel()`` (NumPy's ``.size`` is not a Tensor attribute).
        """
        if dim is None:
            return Size(self._data.shape)
        nd = self._data.ndim
        if isinstance(dim, bool) or not isinstance(dim, int) or not -max(nd, 1) <= dim < max(nd, 1):
            raise IndexError(f"size(): dim {dim!r} is out of range for a tensor of shape "
                             f"{self.shape} (expected an int in [{-nd}, {nd - 1}])")
        return self._data.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return self._data.size

    def dim(self) -> int:
        """Number of dimensions (``ndim``)."""
        return self._data.ndim

    @property
    def device(self) -> _device:
        """Where the values live: a ``chainrule.device`` ("cpu", "cuda" or "meta"), which is
        also its name as a string."""
        return _DEVICE_OF[device_of(self._data)]

    @property
    def is_meta(self) -> bool:
        """True on the meta device: a shape and a dtype, no values (backend/meta.py)."""
        return type(self._data) is MetaArray

    @property
    def is_cuda(self) -> bool:
        """True when the values live on a GPU (a CuPy array)."""
        return device_of(self._data) == "cuda"

    def __index__(self) -> int:
        if self._data.size != 1 or self._data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got dtype {self._data.dtype}, shape {self.shape}")
        return int(self._data.item())

    def __array__(self, dtype=None, copy=None):
        arr = asnumpy(self._data)
        return arr if dtype is None else arr.astype(dtype, copy=False)

    @property
    def is_leaf(self) -> bool:
        """True for user-made tensors (not from a recorded op); gradients accumulate only here."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The Function node that produced this tensor, or None for a leaf."""
        return self._ctx

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(  # as PyTorch
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its value (``f"{loss:.4f}"``), as in PyTorch; another takes a
        format spec only when it is empty (``f"{t}"``)."""
        if self._data.ndim == 0 and type(self._data) is not MetaArray:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        return tensor_text(self)

    def numpy(self, *, force: bool = False):
        """The data as a NumPy array (shares memory on the CPU; copies from a GPU).

        ``force`` is PyTorch's option (detach and copy to the CPU first); chainrule's array never
        carries a graph and comes to the host anyway, so either value gives the same array.
        """
        if type(self._data) is MetaArray:
            raise TypeError("can't convert meta device type tensor to numpy: a meta tensor has "
                            "no values (Module.to_empty() gives a module on it real memory)")
        return asnumpy(self._data)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item(): tensor has {self._data.size} elements (shape {self.shape}), expected 1"
            )
        return self._data.item()

    def tolist(self):
        return asnumpy(self._data).tolist()

    def detach(self) -> Tensor:
        """A tensor sharing this data, cut from the graph (it does not require grad).

        The two share their count of in-place changes: a change through either is seen by a
        graph that read the other.
        """
        out = Tensor(self._data)
        out._counter = self._counter
        base = getattr(self, "_base", None)  # a detached tensor's detach: the original's alias
        out._base = base if base is not None and base() is not None else weakref.ref(self)
        return out

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place: it becomes a leaf that does not require grad.

        chainrule's graph reaches a node's inputs through the tensors themselves, so an op that
        read this tensor before the cut cannot pass a gradient on to the ops that computed it
        (PyTorch's can). Cutting is what truncated backpropagation through time wants
        (``h.detach_()`` of a state no loss has read, d2l's ``state.detach_()``); a backward
        that later brings such a gradient here raises an error (``reroute.refuse_cut``)
        instead of dropping it. ``t = t.detach()`` leaves the graph of earlier readers whole.
        """
        if self._ctx is not None and getattr(self._ctx, "inputs", None) is not None:
            self._cut = True  # its graph has not run backward: an earlier reader may still
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaf tensors of a float dtype only); returns self."""
        if not isinstance(requires_grad, (bool, numpy.bool_)):  # "no" or 0.0: not a silent flag
            raise TypeError(f"requires_grad_: requires_grad must be a bool, got {requires_grad!r}")
        if requires_grad and self._data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError("only floating-point and complex tensors can require gradients, got "
                            f"dtype {self._data.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (e.g. for sensitivity analysis)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's whole gradient each time backward computes it;
        a Tensor it returns (same shape and dtype) replaces the gradient, None keeps it.

        For a leaf the hook runs before the gradient is added to ``.grad``; for an intermediate
        tensor, before the gradient goes on to the op that made it (and before ``retain_grad``
        keeps it), as in PyTorch. ``grad()`` runs the hooks of the tensors it returns gradients
        for. ``handle.remove()`` unregisters the hook.
        """
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not "
                               "require grad")
        if self._ctx is None:  # a leaf keeps its hooks
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        else:  # an intermediate's hooks live on its node, as long as the graph does
            if self._ctx._grad_hooks is None:
                self._ctx._grad_hooks = {}
            hooks = self._ctx._grad_hooks.setdefault(self._out_idx, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None, *, grad=None) -> None:
        """Backpropagate from this tensor, accumulating gradients into leaf tensors' ``.grad``.

        The arguments are PyTorch's, in its order.

        Args:
            gradient: gradient of the final objective with respect to this tensor; may be omitted
                only for a one-element tensor (it is then 1). ``grad=`` is another name for it.
            retain_graph: keep the graph's saved values so that backward can run through it again
                (None: as ``create_graph``).
            create_graph: record the backward pass itself, for higher-order derivatives.
            inputs: accumulate into these tensors' ``.grad`` only (``autograd.grad``'s
                ``backward_into``); None: into every leaf that requires grad.
        """
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward: give gradient or grad, not both")
            gradient = grad
        if inputs is not None:  # some tensors only
            from .grad import backward_into

            return backward_into(self, gradient, retain_graph, create_graph, inputs)
        graph.run_backward([self], None if gradient is None else [gradient],
                           retain_graph=create_graph if retain_graph is None else retain_graph,
                           create_graph=create_graph)


def tensor(data, *, requires_grad: bool = False, dtype=None, device: str | None = None,
           pin_memory: bool = False) -> Tensor:
    """Make a leaf Tensor from a Python number, nested list, NumPy/CuPy array or Tensor (copied).

    Python floats become the default dtype (float32 unless ``chainrule.set_default_dtype``
    changed it), Python ints int64; arrays keep their dtype unless ``dtype`` is given. Without
    ``device`` the tensor goes to the default device (``chainrule.set_default_device``).
    ``pin_memory=True`` is PyTorch's RuntimeError without a GPU (``backend.check_pin_memory``).

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    check_pin_memory("tensor", pin_memory)
    if isinstance(data, Tensor):
        data = data._data
    xp = get_array_module(data)
    if dtype is not None:
        arr = xp.array(data, dtype=dtype)
    elif hasattr(data, "dtype"):  # a big-endian array in the machine's order, as PyTorch needs
        arr = xp.array(data, dtype=numpy.dtype(data.dtype).newbyteorder("="))
    else:
        arr = numpy.array(data)
        if arr.dtype.kind in "fc" or arr.dtype == numpy.uint64:  # floats: the default dtype
            from .promotion import nested_data_dtype  # it imports this module

            typed = nested_data_dtype(data if isinstance(data, (list, tuple)) else [data])
            arr = arr.astype(typed if typed is not None else config.default_dtype
                             if arr.dtype.kind == "f"
                             else numpy.result_type(config.default_dtype, "F"))
    if arr.dtype.kind in "OVUSMm":  # objects, records, strings, dates: no op computes on them
        raise TypeError(f"tensor(): cannot make a numeric tensor from {type(data).__name__} data"
                        + (f" of dtype {arr.dtype}" if hasattr(data, "dtype") else ""))
    if device is None and config.default_device != "cpu":
        device = config.default_device
    if device is not None:
        arr = to_device(arr, device)
    if requires_grad and arr.dtype.kind not in _FLOAT_KINDS:
        raise TypeError(
            "tensor(): only floating-point and complex tensors can require gradients, got dtype "
            f"{arr.dtype}; pass dtype='float32' or use float data"
        )
    return Tensor(arr, requires_grad=bool(requires_grad))


_DEVICE_OF = {name: _device(name) for name in ("cpu", "cuda", "meta")}


# The backward walk (graph.py imports Tensor from here): imported once, not at each backward().
from . import graph  # noqa: E402
