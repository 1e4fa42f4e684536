"""In-place changes of a Tensor's values: ``t[i] = v``, ``copy_``, ``fill_``, ``add_``...

A Function's backward reads the arrays its inputs had when it ran, so changing those arrays
afterwards would silently give a wrong gradient. Every change made here is counted (the tensor's
``_version``; a recorded node notes its inputs' versions), and backward refuses values changed
after a recorded op read them (``graph.run_backward``).

While gradients are recorded, a change of a tensor computed by an op, or a change by a value that
requires grad, is itself recorded, as in PyTorch (``inplace_record``: ``y.relu_()``,
``y.mul_(w)``, ``scores[mask] = -inf``, ``y[:2] += 1``); a leaf that requires grad may change
only while nothing is recorded (``with cr.no_grad():``, e.g. an optimizer step). Unrecorded
changes write straight into the array. Under ``chainrule.trace`` a change is refused (a trace
replays ops, not writes).

The methods follow PyTorch's names; each returns the tensor itself. The result is computed in the
dtype PyTorch promotes the operands to (``promotion.result_type``) and written in the tensor's
dtype; a result of a higher category (a float into an integer tensor, ``int_tensor.add_(1.5)``,
any true division of integers) is PyTorch's RuntimeError.
"""

from __future__ import annotations

import numbers

from ..backend import device_of, get_array_module, to_device
from ..backend.dtypes import check_fill, check_fill_value, check_setitem, uint8_as_mask
from ..backend.random import fill_draws
from . import promotion
from .inplace_record import change, needs_record, record_write, refuse_trace
from .mode import _grad_enabled
from .promotion import check_in_place, dense_beside_sparse, result_type, true_divide_dtype
from .tensor import Tensor
from .views import memory_owner, parameter_view_alias, refresh_copies
from .write import put, sequence_as_tuple

__all__ = ["drop_empty_ellipsis", "ints_first", "mark_changed", "writable_array"]


def writable_array(t: Tensor, who: str = "in-place change"):
    """The array to write ``t``'s new values into, checking that ``t`` may change now.

    Raises RuntimeError for a tensor that requires grad while gradients are recorded, and for
    read-only memory (an expand(), a read-only array: not an op's view of a Parameter, which is
    written through the Parameter's memory); ``TraceError`` while ``chainrule.trace`` records."""
    refuse_trace(who)
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
        if 0 in arr.strides[:arr.ndim] or getattr(t, "_viewed", False) and _overlaps(arr):
            raise RuntimeError(
                f"{who}: more than one element of the tensor of shape {t.shape} is one memory "
                f"location (strides {arr.strides}: an expand() or overlapping unfold() windows), "
                "so an in-place change would write it more than once; clone() it first")
        if (alias := parameter_view_alias(t, arr, who)) is not None:  # p[0].zero_(), no_grad
            return alias
        raise RuntimeError(
            f"{who}: the tensor of shape {t.shape} is read-only memory (a part of an expand() or "
            "overlapping unfold() windows, or an array that was read-only when it was wrapped); "
            "clone() it first, or change the Parameter itself inside `with cr.no_grad():`")
    return arr


def _overlaps(arr) -> bool:
    """Whether two elements of ``arr`` (of more than one element) are one memory location."""
    if arr.size < 2:
        return False
    span = sum((n - 1) * abs(s) for n, s in zip(arr.shape, arr.strides))
    return span < (arr.size - 1) * arr.itemsize


def mark_changed(t: Tensor) -> None:
    """Count an unrecorded in-place change of ``t`` (and so of the tensors it shares its count
    with).

    Where ``t`` (or what it is a ``.data``/``detach()`` alias of, or a ``no_grad`` view of:
    ``y[0].add_(1)``) is an op's output at the version the op made, and the op's backward does
    not read its output (``Function.reads_output``: a matmul, a product), the node takes it as
    the one it made, through the views between them: PyTorch's gradient is then unaffected, and
    the ops that read the changed values read them as they are (``scores.data.masked_fill_(mask,
    -inf)`` before a softmax, as older attention code writes it). A node that read the values
    before the change refuses if its backward reads them, else it keeps the op's node as PyTorch.
    """
    before = t._counter[0]
    t._mark_changed()
    refresh_copies(t)  # a copy made where PyTorch views (views.track_copy) shows the change
    cur = t if t._ctx is not None else _base_of(t)
    cur = memory_owner(t) if cur is None else cur  # a view made under no_grad: its owner
    while cur is not None and cur._ctx is not None and cur._counter is t._counter:
        node, k = cur._ctx, cur._out_idx
        made = getattr(node, "_out_versions", None)
        flag = node.reads_output
        if made is None or made[k] != before or (
                node.reads_inputs is not False if flag is None else flag):
            return
        node._out_versions = (*made[:k], t._counter[0], *made[k + 1:])
        cur._earlier = getattr(cur, "_earlier", None) or {}  # for the nodes that read it before
        cur._earlier[before] = (node, k)  # (autograd/reroute.py)
        viewed = [i for i, x in enumerate(node.inputs or ()) if x._counter is t._counter]
        if not viewed or node.reads_inputs is not False or node._versions[viewed[0]] != before:
            return
        node._versions = [*node._versions]  # the view op read its base at the new version too
        node._versions[viewed[0]] = t._counter[0]
        cur = node.inputs[viewed[0]]


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


def _apply(t: Tensor, who: str, write) -> Tensor:
    """The unrecorded change: ``write(array)`` into ``t``'s memory, counted."""
    arr = writable_array(t, who)
    write(arr)
    mark_changed(t)
    return t


def _plain_item(i, xp):
    """One index item as ``setitem`` writes with it: a Tensor as its array, a list or range as an
    array, a 0-d integer array as an int (as in PyTorch and ``t[i]``: NumPy would select a copy
    with it, which a write through ``ints_first``'s steps would miss), a uint8 array as a mask."""
    if isinstance(i, Tensor):
        i = i._data
    i = uint8_as_mask(i, stacklevel=5)
    if isinstance(i, (list, range)):  # t[range(n), y] -= 1 (makemore) as t[list(range(n)), y]
        return xp.asarray(i) if len(i) else xp.zeros(0, dtype=xp.intp)  # [] selects nothing
    if getattr(i, "shape", None) == () and getattr(i, "dtype", None) is not None \
            and i.dtype.kind in "iu":
        return int(i)
    return i


def _plain_index(index, xp):
    """``index`` with Tensors (and lists inside a tuple) as arrays, 0-d integer ones as ints."""
    if isinstance(index, tuple):
        return tuple(_plain_item(i, xp) for i in index)
    return index if isinstance(index, list) else _plain_item(index, xp)


def setitem(self, index, value) -> None:
    """``t[index] = value``: NumPy's indexing rules, but an int beside an array selects first, as
    in PyTorch and as ``t[index]`` reads (``ints_first``). Recorded while gradients are recorded
    and ``t`` or ``value`` requires grad (``inplace_record.record_write``)."""
    xp, value = get_array_module(self._data), check_setitem(value, self._data.dtype)
    index = drop_empty_ellipsis(_plain_index(sequence_as_tuple(index), xp), self._data.ndim)
    if needs_record(self, (value,)):
        record_write(self, _plain_item(index, xp) if isinstance(index, list) else index, value,
                     "__setitem__")
        return
    _apply(self, "__setitem__", lambda arr: put(arr, index, _value(arr, value)))


def copy_(self, src) -> Tensor:
    """Copy ``src`` (a Tensor, array or number, broadcast to this shape) into this tensor.
    Recorded as ``self[...] = src`` while gradients are recorded (``record_write``)."""
    if needs_record(self, (src,)):
        record_write(self, Ellipsis, src, "copy_")
        return self

    def write(arr):
        # any dtype converts, as PyTorch's copy_ (float into int truncates toward zero)
        get_array_module(arr).copyto(arr, _value(arr, src), casting="unsafe")

    return _apply(self, "copy_", write)


def fill_(self, value) -> Tensor:
    """Set every element to the number (or one-element Tensor) ``value``; a number the dtype
    cannot hold (NaN into an integer tensor, 1e5 into float16) is PyTorch's RuntimeError."""
    if isinstance(value, numbers.Number):
        value = check_fill("fill_", value, self._data.dtype)
    if needs_record(self, (value,)):
        record_write(self, Ellipsis, value, "fill_")
        return self
    return _apply(self, "fill_", lambda arr: arr.fill(_value(arr, value)))


def zero_(self) -> Tensor:
    """Set every element to zero (recorded: the earlier values get a zero gradient)."""
    if needs_record(self, ()):
        record_write(self, Ellipsis, 0, "zero_")
        return self
    return _apply(self, "zero_", lambda arr: arr.fill(0))


def _opmath(arr) -> dict:
    """float16 multiplies and divides in float32, rounded once, as PyTorch's: a number is not
    rounded to float16 first (``x.mul_(1e5)`` would be inf, ``x.mul_(1e-7)`` 20% off)."""
    dtype = arr.dtype
    return {"dtype": "float32"} if dtype.kind == "f" and dtype.itemsize == 2 else {}


def _same(x, t, other):
    """``other``, or the old values ``x`` where it is the tensor ``t`` itself (``y.add_(y)``)."""
    return x if other is t else other


def _scaled(other, alpha):
    return other if alpha == 1 else other * alpha


def _castable(who, t, other, *, divide=False, alpha=1):
    """RuntimeError where the dtype PyTorch computes ``t`` and ``other`` in cannot be written
    into ``t`` (``int_tensor.add_(1.5)``, ``int_tensor.div_(2)``)."""
    if divide or not (isinstance(other, Tensor) and other._data.dtype == t._data.dtype):
        dtype = result_type(t, other)
        check_in_place(who, t, true_divide_dtype(dtype) if divide else dtype)
    promotion.check_alpha(who, t, other, alpha)


def add_(self, other, *, alpha=1) -> Tensor:
    """``self += alpha * other``; PyTorch's RuntimeError where the promoted result cannot be
    written into this tensor's dtype (an integer tensor and a float). A sparse ``other`` (of this
    shape) adds as its dense form, as PyTorch's ``dense += sparse``."""
    if not isinstance(other, Tensor):
        other = dense_beside_sparse("add_", self, other)[1]
    _castable("add_", self, other, alpha=alpha)

    def write(arr):  # any cast within a category, as PyTorch (uint8 += int8), checked above
        get_array_module(arr).add(arr, _scaled(_value(arr, other), alpha), out=arr,
                                  casting="unsafe")

    return change(self, "add_", lambda x: x + _scaled(_same(x, self, other), alpha), (other,),
                  write)


def sub_(self, other, *, alpha=1) -> Tensor:
    """``self -= alpha * other`` (dtypes and a sparse ``other`` as ``add_``)."""
    if not isinstance(other, Tensor):
        other = dense_beside_sparse("sub_", self, other)[1]
    _castable("sub_", self, other, alpha=alpha)

    def write(arr):
        get_array_module(arr).subtract(arr, _scaled(_value(arr, other), alpha), out=arr,
                                       casting="unsafe")

    return change(self, "sub_", lambda x: x - _scaled(_same(x, self, other), alpha), (other,),
                  write)


def mul_(self, other) -> Tensor:
    """``self *= other`` (dtypes as ``add_``)."""
    _castable("mul_", self, other)

    def write(arr):
        get_array_module(arr).multiply(arr, _value(arr, other), out=arr, casting="unsafe",
                                       **_opmath(arr))

    return change(self, "mul_", lambda x: x * _same(x, self, other), (other,), write)


def div_(self, other, *, rounding_mode=None) -> Tensor:
    """``self /= other`` (true division: a floating or complex tensor); with ``rounding_mode``
    ("trunc" or "floor") ``divide_``'s rounded quotient, which keeps an integer tensor."""
    if rounding_mode is not None:
        return self.divide_(other, rounding_mode=rounding_mode)
    _castable("div_", self, other, divide=True)

    def write(arr):
        get_array_module(arr).true_divide(arr, _value(arr, other), out=arr, **_opmath(arr))

    return change(self, "div_", lambda x: x / _same(x, self, other), (other,), write)


def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """Limit every element to ``[min, max]`` (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clamp_: give min, max or both")
    if self._data.dtype.kind == "c":
        raise NotImplementedError(f"clamp_: complex numbers have no order, got dtype {self.dtype}")
    for bound in (min, max):
        if bound is not None:
            _castable("clamp_", self, bound)

    def write(arr):
        # computed in the promoted dtype, then written back (an int32 bound on a uint8 tensor)
        get_array_module(arr).clip(arr, _value(arr, min), _value(arr, max), out=arr,
                                   casting="unsafe")

    return change(self, "clamp_", lambda x: x.clamp(min, max), (min, max), write)


def masked_fill_(self, mask, value) -> Tensor:
    """Set the elements where the boolean ``mask`` (broadcast to this shape) is True."""
    m = mask._data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) is None or m.dtype.kind != "b":
        raise TypeError("masked_fill_: mask must be a boolean Tensor")
    value = check_fill_value("masked_fill_", value, self._data.dtype)  # 1e5 into float16: refused

    def write(arr):
        xp = get_array_module(arr)
        xp.copyto(arr, xp.asarray(_value(arr, value), dtype=arr.dtype), where=m)

    return change(self, "masked_fill_", lambda x: x.masked_fill(mask, value), (value,), write)


def _pick(op, rng, generator):
    """``rng``, or PyTorch's name for it, ``generator`` (a ``chainrule.Generator``)."""
    if generator is not None and rng is not None:
        raise TypeError(f"{op}: give rng or generator, not both")
    return rng if generator is None else generator


def normal_(self, mean: float = 0.0, std: float = 1.0, *, rng=None, generator=None) -> Tensor:
    """Fill with samples of N(mean, std^2) from ``rng`` (or ``generator``) or the default one
    (complex: each part N(mean, std^2 / 2); an integer tensor is refused, as in PyTorch)."""
    return _fill_with(self, "normal_", fill_draws("normal_", _pick("normal_", rng, generator),
                                                  self._data.dtype, self.shape, mean, std))


def uniform_(self, a: float = 0.0, b: float = 1.0, *, rng=None, generator=None) -> Tensor:
    """Fill with samples of U(a, b) from ``rng`` (or ``generator``) or the default one (complex:
    each part; an integer tensor is refused, as in PyTorch)."""
    return _fill_with(self, "uniform_", fill_draws("uniform_", _pick("uniform_", rng, generator),
                                                   self._data.dtype, self.shape, a, b))


def _fill_with(t: Tensor, who: str, draw) -> Tensor:
    """Write the host array ``draw`` into ``t`` (recorded as a constant write where needed)."""
    values = _value(t._data, draw.astype(t._data.dtype))
    if needs_record(t, ()):
        record_write(t, Ellipsis, values, who)
        return t

    def write(arr):
        arr[...] = values

    return _apply(t, who, write)


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
# ``t += v`` and friends: truly in place, as in PyTorch (an alias sees the change), and recorded
# where needed; ``y[:2] += 1`` writes y through its view (inplace_record).
Tensor.__iadd__ = add_
Tensor.__isub__ = sub_
Tensor.__imul__ = mul_
Tensor.__itruediv__ = div_


def drop_empty_ellipsis(index, ndim):
    """``index`` without an Ellipsis that stands for no axis of an ``ndim``-D tensor, where the
    index holds arrays: PyTorch expands it into nothing, so arrays on either side of it stay
    adjacent and their axes stay in place (``x[None, a, ..., b]`` of a 2-D ``x`` is ``(1, n)``),
    where NumPy counts it as a separator and moves the arrays' axes first (``(n, 1)``)."""
    if not isinstance(index, tuple) or not any(i is Ellipsis for i in index):
        return index
    if not any(getattr(i, "ndim", 0) > 0 or getattr(getattr(i, "dtype", None), "kind", "") == "b"
               for i in index):
        return index
    used = sum(0 if i is None or i is Ellipsis
               else i.ndim if getattr(getattr(i, "dtype", None), "kind", "") == "b" else 1
               for i in index)
    if used != ndim:
        return index
    return tuple(i for i in index if i is not Ellipsis)


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
