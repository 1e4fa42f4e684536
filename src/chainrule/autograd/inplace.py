"""In-place changes of a Tensor's values: ``t[i] = v``, ``copy_``, ``fill_``, ``add_``...

A Function's backward reads the arrays its inputs had when it ran, so changing those arrays
afterwards would silently give a wrong gradient. Every change made here is counted (the tensor's
``_version``; a recorded node notes its inputs' versions), and backward refuses values changed
after a recorded op read them (``graph.run_backward``). And a tensor that requires grad may be
changed in place only while nothing is recorded (``with cr.no_grad():``): its change could never
be differentiated.

One in-place write is recorded: ``out[index] = v`` (and ``out.copy_(v)``) with ``v`` requiring
grad, into a buffer that shares its memory with no other tensor (``out = cr.zeros(T, H)``), and
the writes that follow into the same buffer (``record_write``; the node is ``write.WriteInto``).

The methods follow PyTorch's names; each returns the tensor itself. Python scalars keep the
tensor's dtype; a Tensor or array value is cast to it (``same_kind``: a float into an integer
tensor is refused, as NumPy's in-place operators do).
"""

from __future__ import annotations

from ..backend import device_of, get_array_module, to_device
from ..backend.random import resolve_rng
from .mode import _grad_enabled
from .tensor import Tensor
from .write import WriteInto, attach, put, take

__all__ = ["check_values", "ints_first", "mark_changed", "record_write", "writable_array"]


def writable_array(t: Tensor, who: str = "in-place change"):
    """The array to write ``t``'s new values into, checking that ``t`` may change now.

    Raises RuntimeError for a tensor that requires grad while gradients are recorded, and for
    memory that is read-only (a view of a Parameter's values made by an op).
    """
    if t.requires_grad and _grad_enabled.get():
        kind = "a leaf tensor" if t._ctx is None else "a tensor computed by a recorded op"
        raise RuntimeError(
            f"{who}: {kind} that requires grad (shape {t.shape}) cannot be modified in place "
            "while gradients are recorded; use `with cr.no_grad():` (e.g. to update weights "
            "between backward() and the next forward)"
        )
    return _memory(t, who)


def _memory(t: Tensor, who: str):
    """``t``'s writable array; RuntimeError for read-only memory (see ``writable_array``)."""
    arr = t._writable()
    flags = getattr(arr, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):
        base = _base_of(t)
        while base is not None and base._data is arr:  # a detached Parameter: write through it
            if base._writable() is not arr:
                return base._writable()
            base = _base_of(base)
        raise RuntimeError(
            f"{who}: the tensor of shape {t.shape} is read-only memory (a view of a Parameter's "
            "values made by an op, or an array that was read-only when it was wrapped); change "
            "the Parameter itself, e.g. `with cr.no_grad(): param.copy_(value)`"
        )
    return arr


def check_values(who: str, *values) -> None:
    """Raise RuntimeError if a value to be written in place is a Tensor that requires grad while
    gradients are recorded: of the in-place methods only ``t[index] = v`` and ``t.copy_(v)`` are
    recorded (``record_write``), so through any other its gradient would be lost without a word
    (``out.index_add_(0, i, v)`` would leave ``v.grad`` None)."""
    if not _grad_enabled.get():
        return
    for v in values:
        if isinstance(v, Tensor) and v.requires_grad:
            raise RuntimeError(
                f"{who}: the value written in place requires grad (shape {v.shape}), but chainrule "
                f"records no {who} (only out[index] = v and out.copy_(v) into a fresh buffer), so "
                "its gradient would be lost; build the result out of place (cr.where, cat/stack, "
                "scatter, index_add...), or write v.detach() if no gradient should reach it"
            )


def mark_changed(t: Tensor) -> None:
    """Count an in-place change of ``t`` (and so of the tensors it shares its count with)."""
    t._mark_changed()


def _base_of(t):
    ref = getattr(t, "_base", None)
    return None if ref is None else ref()


def _value(arr, value):
    """``value`` as something NumPy/CuPy can write into ``arr``: a Tensor becomes its array, and
    an array on another device is moved to ``arr``'s."""
    if isinstance(value, Tensor):
        value = value._data
    if hasattr(value, "shape") and get_array_module(value) is not get_array_module(arr):
        value = to_device(value, device_of(arr))
    return value


def _apply(t: Tensor, who: str, write, *values) -> Tensor:
    arr = writable_array(t, who)
    check_values(who, *values)
    write(arr)
    mark_changed(t)
    return t


def _records(t: Tensor, value) -> bool:
    """Whether writing ``value`` into ``t`` is recorded (``record_write``): while gradients are
    recorded, a value that requires grad, or any value into a buffer a recorded write made."""
    return _grad_enabled.get() and (isinstance(t._ctx, WriteInto)
                                    or (isinstance(value, Tensor) and value.requires_grad))


def record_write(t: Tensor, index, value, who: str, write) -> None:
    """Write ``value`` into ``t`` at ``index`` (``write(arr)`` does it), and record it: a
    ``WriteInto`` node becomes ``t``'s ``_ctx``, through which ``t``'s gradient reaches ``value``.

    Refused (RuntimeError), since the gradient could not be followed: a target that requires grad
    for another reason than an earlier recorded write (a leaf, another op's output); a target that
    is not a float tensor; one that shares its memory with another tensor (a view, a ``detach()``
    or ``.data`` of one, or one a view was made of): the other tensor would see the values but not
    the gradient; and an integer-array index that names a position twice (which value is kept is
    undefined). ``index`` holds arrays, not lists or Tensors.
    """
    if t.requires_grad and not isinstance(t._ctx, WriteInto):
        writable_array(t, who)  # raises: a leaf that requires grad, or an op's output

    def refuse(reason):
        shown = f" (shape {value.shape})" if isinstance(value, Tensor) else ""
        raise RuntimeError(
            f"{who}: the value written in place requires grad{shown} (or the target holds one "
            f"written before); chainrule records such a write only into a float tensor that "
            f"shares its memory with no other (`out = cr.zeros(n, h); out[i] = h`), but {reason}, "
            "so its gradient would be lost; build the result out of place (cr.where, cat/stack, "
            "scatter, index_add...), or write v.detach() if no gradient should reach it")

    if t._data.dtype.kind != "f":
        refuse(f"the target has dtype {t._data.dtype}")
    if _base_of(t) is not None or getattr(t, "_viewed", False):
        refuse(f"the target (shape {t.shape}) shares its memory with another tensor (it is a view, "
               "a detach() or .data of one, or a view of it was made before this write: keep "
               "such a view's values in their own variable) that would not see the gradient")
    xp = get_array_module(t._data)
    arrays = False
    for item in index if isinstance(index, tuple) else (index,):
        kind = getattr(getattr(item, "dtype", None), "kind", None)
        if kind in ("i", "u") and item.ndim > 0:
            arrays = True
        elif not (item is None or item is Ellipsis or isinstance(item, slice) or kind == "b"
                  or (hasattr(item, "__index__") and not isinstance(item, bool))):
            refuse(f"the index holds a {type(item).__name__} ({item!r}); ints, slices, None, "
                   "Ellipsis, boolean masks and integer arrays are recorded")
    if arrays:
        positions = take(xp.arange(t._data.size).reshape(t._data.shape), index)
        if xp.unique(positions).size != positions.size:
            refuse("the integer index names a position more than once (which value would be "
                   "kept is undefined)")
    if not isinstance(value, Tensor):
        value = Tensor(xp.asarray(_value(t._data, value)))  # a constant into a recorded buffer
    write(_memory(t, who))
    mark_changed(t)
    attach(t, index, value)


def _plain_index(index, xp):
    """``index`` with Tensors (and lists inside a tuple) as arrays."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else xp.asarray(i) if isinstance(i, list)
                     else i for i in index)
    return index


def setitem(self, index, value) -> None:
    """``t[index] = value``: NumPy's indexing rules, but an int beside an array selects first, as
    in PyTorch and as ``t[index]`` reads (``ints_first``). Recorded when ``value`` requires grad
    (``record_write``)."""
    index = _plain_index(index, get_array_module(self._data))

    def write(arr):
        put(arr, index, _value(arr, value))

    if _records(self, value):
        if isinstance(index, list):
            index = get_array_module(self._data).asarray(index)
        record_write(self, index, value, "__setitem__", write)
        return
    _apply(self, "__setitem__", write, value)


def copy_(self, src) -> Tensor:
    """Copy ``src`` (a Tensor, array or number, broadcast to this shape) into this tensor.
    Recorded when ``src`` requires grad (``record_write``), as ``self[...] = src``."""
    def write(arr):
        get_array_module(arr).copyto(arr, _value(arr, src), casting="same_kind")

    if _records(self, src):
        record_write(self, Ellipsis, src, "copy_", write)
        return self
    return _apply(self, "copy_", write, src)


def fill_(self, value) -> Tensor:
    """Set every element to the number ``value``."""
    return _apply(self, "fill_", lambda arr: arr.fill(_value(arr, value)), value)


def zero_(self) -> Tensor:
    """Set every element to zero."""
    return _apply(self, "zero_", lambda arr: arr.fill(0))


def add_(self, other, *, alpha=1) -> Tensor:
    """``self += alpha * other``."""
    def write(arr):
        value = _value(arr, other)
        if alpha != 1:
            value = value * alpha
        arr += value

    return _apply(self, "add_", write, other)


def sub_(self, other, *, alpha=1) -> Tensor:
    """``self -= alpha * other``."""
    def write(arr):
        value = _value(arr, other)
        if alpha != 1:
            value = value * alpha
        arr -= value

    return _apply(self, "sub_", write, other)


def mul_(self, other) -> Tensor:
    """``self *= other``."""
    def write(arr):
        arr *= _value(arr, other)

    return _apply(self, "mul_", write, other)


def div_(self, other) -> Tensor:
    """``self /= other`` (true division: a float tensor)."""
    def write(arr):
        arr /= _value(arr, other)

    return _apply(self, "div_", write, other)


def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """Limit every element to ``[min, max]`` (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clamp_: give min, max or both")

    def write(arr):
        get_array_module(arr).clip(arr, _value(arr, min), _value(arr, max), out=arr)

    return _apply(self, "clamp_", write, min, max)


def masked_fill_(self, mask, value) -> Tensor:
    """Set the elements where the boolean ``mask`` (broadcast to this shape) is True."""
    m = mask._data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) is None or m.dtype.kind != "b":
        raise TypeError("masked_fill_: mask must be a boolean Tensor")

    def write(arr):
        xp = get_array_module(arr)
        xp.copyto(arr, xp.asarray(_value(arr, value), dtype=arr.dtype), where=m)

    return _apply(self, "masked_fill_", write, value)


def _pick(op, rng, generator):
    """``rng``, or PyTorch's name for it, ``generator`` (a ``chainrule.Generator``)."""
    if generator is not None and rng is not None:
        raise TypeError(f"{op}: give rng or generator, not both")
    return rng if generator is None else generator


def normal_(self, mean: float = 0.0, std: float = 1.0, *, rng=None, generator=None) -> Tensor:
    """Fill with samples of N(mean, std^2) from ``rng`` (or ``generator``) or the default one."""
    draw = resolve_rng(_pick("normal_", rng, generator), "normal_").normal(mean, std,
                                                                          size=self.shape)

    def write(arr):
        arr[...] = _value(arr, draw.astype(arr.dtype))

    return _apply(self, "normal_", write)


def uniform_(self, a: float = 0.0, b: float = 1.0, *, rng=None, generator=None) -> Tensor:
    """Fill with samples of U(a, b) from ``rng`` (or ``generator``) or the default one."""
    draw = resolve_rng(_pick("uniform_", rng, generator), "uniform_").uniform(a, b,
                                                                             size=self.shape)

    def write(arr):
        arr[...] = _value(arr, draw.astype(arr.dtype))

    return _apply(self, "uniform_", write)


def _augmented(name, method):
    """``t += v`` and friends: in place, as in PyTorch, where an in-place change is allowed.

    A tensor that requires grad while gradients are recorded is not changed: the statement
    rebinds the name to the recorded out-of-place result (``t = t + v``), so a graph is never
    left with values changed under it. Under ``no_grad`` (weight updates), it changes in place
    and keeps its identity and ``.grad``.
    """
    def inplace(self, other):
        if self.requires_grad and _grad_enabled.get():
            return getattr(Tensor, name)(self, other)
        return method(self, other)

    return inplace


Tensor.__setitem__ = setitem
Tensor.copy_ = copy_
Tensor.fill_ = fill_
Tensor.zero_ = zero_
Tensor.add_ = add_
Tensor.sub_ = sub_
Tensor.mul_ = mul_
Tensor.div_ = div_
Tensor.clamp_ = clamp_
Tensor.clip_ = clamp_
Tensor.masked_fill_ = masked_fill_
Tensor.normal_ = normal_
Tensor.uniform_ = uniform_
Tensor.__iadd__ = _augmented("__add__", add_)
Tensor.__isub__ = _augmented("__sub__", sub_)
Tensor.__imul__ = _augmented("__mul__", mul_)
Tensor.__itruediv__ = _augmented("__truediv__", div_)


def ints_first(index):
    """``index`` as two steps, ints (and slices, None, ...) first, then the arrays, where it
    mixes ints and arrays; None otherwise.

    NumPy counts an int beside an integer array or a mask as an array index: when a slice, None
    or Ellipsis separates them, the arrays' axes go first (``x[0, :, [1, 2]]`` of a (2, 3, 4)
    tensor is (2, 3)). PyTorch selects with the int first, so the array's axis stays in place
    ((3, 2)); chainrule follows PyTorch. When both orders agree the two steps give the same.
    """
    if not isinstance(index, tuple):
        return None
    ints = [hasattr(i, "__index__") and getattr(i, "ndim", 0) == 0 and not isinstance(i, bool)
            for i in index]
    arrays = [getattr(i, "ndim", 0) > 0 for i in index]
    if not any(ints) or not any(arrays):
        return None
    basic, rest = [], []
    for item, is_int, is_array in zip(index, ints, arrays, strict=True):
        if is_array:
            basic += [slice(None)] * (item.ndim if item.dtype.kind == "b" else 1)
            rest.append(item)
        elif is_int:
            basic.append(item)
        else:
            basic.append(item)
            rest.append(Ellipsis if item is Ellipsis else slice(None))
    return tuple(basic), tuple(rest)
