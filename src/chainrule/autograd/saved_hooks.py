"""Hooks on the tensors a graph saves for backward: PyTorch's ``saved_tensors_hooks``.

Inside ``with saved_tensors_hooks(pack_hook, unpack_hook):`` every node recorded keeps, instead
of each tensor its backward will read, what ``pack_hook(tensor)`` returns; when backward runs
the node, ``unpack_hook(packed)`` gives the tensor its backward reads in its place. Activation
offloading (``save_on_cpu``), compression and counting what a graph saves are built on this.

What a node saves is what its backward reads of its inputs (``Function.reads_inputs``): both
factors of a product, the input and the weight of a linear layer (whichever gradients are
needed), nothing for a sum or a reshape. A Python number that an operator made a 0-d tensor
(``x * 2``) is packed as one (PyTorch keeps numbers apart from its saved tensors).
A PyTorch-style custom Function saves what ``ctx.save_for_backward`` is given. As in PyTorch,
an input changed in place after it was packed is not refused by backward: the unpacked value is
read (a copy made by ``pack_hook`` keeps the values from before the change). The innermost
active pair of hooks is the one used; ``disable_saved_tensors_hooks(message)`` makes entering
one an error with that message (and is itself refused while one is active), as PyTorch's.

Two things differ from PyTorch. chainrule's node still holds its inputs, which are the edges
of its graph, so packing one does not free its memory: the hooks see and replace what backward
reads, which is what compression, casts and counting need, but offloading saves nothing. An op
whose backward reads its output only (``exp``, ``tanh``, ``relu``, ``softmax``: ``reads_inputs``
False, ``reads_output`` True) packs its output, as PyTorch saves their result; one that reads
its inputs and its output (``pow``, ``div``) packs its inputs only, and reads its output directly
(a node that consumes the output packs it, as its input). An op whose ``create_graph`` backward
differentiates its forward formula (``Function.composite``) reads the inputs themselves there.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar

from ..backend import asnumpy
from .function import Function
from .mode import _saved_hooks, no_grad
from .tensor import Tensor

__all__ = ["disable_saved_tensors_hooks", "pack_saved", "packing", "save_on_cpu",
           "saved_tensors_hooks", "unpacked"]

# The message of an active ``disable_saved_tensors_hooks``, or None.
_disabled: ContextVar[str | None] = ContextVar("chainrule_saved_hooks_disabled", default=None)


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within the block, nodes recorded save ``pack_hook(tensor)`` for each tensor their
    backward reads, and backward gives them ``unpack_hook(packed)`` in its place.

    Args:
        pack_hook: ``tensor -> anything``; called when the node is recorded. It must not change
            the tensor in place.
        unpack_hook: ``packed -> Tensor``; called when backward runs the node (each time, with
            ``retain_graph``). For the gradients to be right it should give back the values
            ``pack_hook`` got (a copy, a tensor on another device, a decompressed one).

    >>> import chainrule as cr
    >>> from chainrule.autograd.graph import saved_tensors_hooks
    >>> shapes = []
    >>> with saved_tensors_hooks(lambda t: shapes.append(t.shape) or t, lambda t: t):
    ...     a = cr.ones(3, requires_grad=True)
    ...     y = (a * a).sum()
    >>> shapes
    [(3,), (3,)]
    """

    def __init__(self, pack_hook, unpack_hook):
        for name, hook in (("pack_hook", pack_hook), ("unpack_hook", unpack_hook)):
            if not callable(hook):
                raise TypeError(f"saved_tensors_hooks: {name} must be callable, got "
                                f"{type(hook).__name__}")
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook
        self._tokens = []

    def __enter__(self):
        message = _disabled.get()
        if message is not None:
            raise RuntimeError(message)
        self._tokens.append(_saved_hooks.set((self.pack_hook, self.unpack_hook)))
        return self

    def __exit__(self, *exc) -> None:
        _saved_hooks.reset(self._tokens.pop())


class disable_saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within the block, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)``
    (for a feature that cannot work with them); entering this block while hooks are active
    raises it too."""

    def __init__(self, error_message: str):
        if not isinstance(error_message, str):
            raise TypeError(f"disable_saved_tensors_hooks: error_message must be a str, got "
                            f"{type(error_message).__name__}")
        self.error_message = error_message
        self._tokens = []

    def __enter__(self):
        if _saved_hooks.get() is not None:
            raise RuntimeError(self.error_message)
        self._tokens.append(_disabled.set(self.error_message))
        return self

    def __exit__(self, *exc) -> None:
        _disabled.reset(self._tokens.pop())


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """Save each tensor as a host (NumPy) copy and move it back to its device in backward:
    activation offloading from a GPU. ``pin_memory`` and ``device_type`` are PyTorch's options
    for CUDA's page-locked memory, accepted and not needed here."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        super().__init__(_to_host, _from_host)
        self.pin_memory = bool(pin_memory)
        self.device_type = device_type


def _to_host(t: Tensor):
    if t.is_meta:  # no values to copy
        return t.device, t
    return t.device, Tensor(asnumpy(t._data).copy())


def _from_host(packed):
    device, t = packed
    return t if device in ("cpu", "meta") else t.to(device)


class _Unpacked(Function):
    """``value`` read in place of the saved input: recorded (under ``create_graph``) as a node
    whose gradient goes to that input unchanged, so higher derivatives still reach it."""

    reads_inputs = False
    complex_grad = True

    def forward(self, x):
        return self.value

    def backward(self, g):
        return g


def unpacked(original: Tensor, value) -> Tensor:
    """The tensor a backward reads in place of ``original``: ``value``, what the unpack hook
    gave, linked in the graph to ``original``."""
    if value is original:
        return original
    if not isinstance(value, Tensor):
        raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got "
                        f"result of type {type(value).__name__}")
    return _Unpacked.apply(original, value=value._data)


class _UnpackingBackward:
    """A node's ``backward`` while it holds packed inputs: unpack them, run the op's backward
    on them, put the inputs (the graph's edges) back."""

    __slots__ = ("node", "packed", "unpack")

    def __init__(self, fn, packed: dict, unpack):
        self.node = weakref.ref(fn)  # the node holds this: no cycle
        self.packed, self.unpack = packed, unpack

    def __call__(self, *grads):
        fn = self.node()
        edges = fn.inputs
        inputs = list(edges)
        for i, p in self.packed.items():
            inputs[i] = unpacked(edges[i], self.unpack(p))
        fn.inputs = tuple(inputs)
        try:
            return type(fn).backward(fn, *grads)
        finally:
            fn.inputs = edges


class _UnpackingOutput(_UnpackingBackward):
    """The same for a node that packed its output (``packed``: {0: what pack_hook gave}): the
    output its backward reads (``self.output``) is the unpacked one while it runs."""

    __slots__ = ()

    def __call__(self, *grads):
        fn = self.node()
        refs = fn._outputs
        out = refs[0]()
        value = self.unpack(self.packed[0])
        held = unpacked(out, value) if out is not None else _as_output(value)
        fn._outputs = (weakref.ref(held),)  # held here while backward runs
        try:
            return type(fn).backward(fn, *grads)
        finally:
            fn._outputs = refs


def _as_output(value) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got "
                        f"result of type {type(value).__name__}")
    return value


def pack_saved(fn, given, inputs, outs, hooks) -> None:
    """Pack the inputs that ``fn``'s backward reads, or its output where it reads that only
    (``Function.apply``, while recording inside ``saved_tensors_hooks``)."""
    reads = fn.reads_inputs
    if reads is False:
        if fn.reads_output and len(outs) == 1 and fn.packs_inputs:
            fn.backward = _UnpackingOutput(fn, packing(hooks[0], outs, [0]), hooks[1])
            # What the hooks keep is theirs: a later change of the output is not checked
            # (PyTorch's rule), and the node lets it be, as one that reads no output.
            fn.reads_output = False
        return
    if not fn.packs_inputs:
        return
    pack, unpack = hooks
    read = list(range(len(inputs)) if reads is True else reads(fn))
    # Tensors the caller gave, not numbers that apply wrapped
    chosen = [i for i in read if i < len(given) and given[i] is inputs[i]]
    if chosen:
        fn.backward = _UnpackingBackward(fn, packing(pack, [inputs[i] for i in chosen], chosen),
                                         unpack)
        # What the hooks keep is theirs: an in-place change of a packed input is not checked
        # (PyTorch's rule), the inputs read unpacked still are.
        rest = [i for i in read if i not in chosen]
        fn.reads_inputs = lambda _fn: rest


def packing(pack, tensors, keys) -> dict:
    """``{key: pack(tensor)}``, the hook run with recording and the hooks off (an op in it is
    not part of the graph, and does not pack again); a hook that changes its tensor in place is
    refused."""
    token = _saved_hooks.set(None)
    try:
        with no_grad():
            packed = {}
            for k, t in zip(keys, tensors):
                version = t._counter[0]
                packed[k] = pack(t)
                if t._counter[0] != version:  # the forward's values changed under the graph
                    raise RuntimeError(
                        "saved_tensors_hooks: the pack hook changed its input in place (a tensor "
                        f"of shape {tuple(t.shape)}, a value of the forward pass), as PyTorch "
                        "refuses; pack a copy instead (t.clone().mul_(...))")
            return packed
    finally:
        _saved_hooks.reset(token)
