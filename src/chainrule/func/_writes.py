"""``vmap``'s check of in-place changes: a loop must not change, once per slice, a tensor that
PyTorch's batched call would change once or refuse to change.

PyTorch's ``vmap`` calls the function once on batched tensors. An in-place change of a tensor
that is not batched (one captured from outside, an ``in_dims=None`` argument, a module's buffer
such as BatchNorm's running statistics) by a batched value is an error there, and by an unbatched
value it happens once. chainrule's loop would change it once per slice: the running statistics
updated N times, an accumulator N times larger, an unmapped argument holding the last slice's
values. So ``vmap`` watches the changes (``autograd.hooks.watch_writes``) and refuses a memory
changed in two different slices that is not a mapped input's: a tensor made inside the function
is new memory at each slice, and a slice of a mapped input is that input's memory.
"""

from __future__ import annotations

import weakref

__all__ = ["SharedWrites"]


def _root(array):
    """The array that owns ``array``'s memory (the end of its chain of views)."""
    while getattr(array, "base", None) is not None and hasattr(array.base, "shape"):
        array = array.base
    return array


def _ref(array):
    try:
        return weakref.ref(array)
    except TypeError:  # an array type without weak references: held until the loop ends
        return lambda: array


class SharedWrites:
    """The write watcher of one ``vmap`` loop (``next_slice`` before each call, ``check`` after
    it)."""

    def __init__(self, mapped):
        self.mapped = {id(_root(x._data)) for x in mapped}
        self.keep = [_root(x._data) for x in mapped]  # their ids stay theirs during the loop
        self.seen: dict = {}  # id(root) -> (weak reference to root, slice that changed it)
        self.slice = -1
        self.shared = None

    def next_slice(self) -> None:
        self.slice += 1

    def __call__(self, t) -> None:
        root = _root(t._data)
        key = id(root)
        if key in self.mapped or self.shared is not None:
            return
        entry = self.seen.get(key)
        if entry is not None and entry[0]() is root and entry[1] != self.slice:
            self.shared = t
            return
        self.seen[key] = (_ref(root), self.slice)

    def check(self) -> None:
        """Raise after a call that changed a tensor an earlier slice changed too."""
        if self.shared is None:
            return
        t = self.shared
        raise RuntimeError(
            f"vmap: the function changed in place a tensor that is not mapped (dtype {t.dtype}, "
            f"shape {tuple(t.shape)}): a tensor captured from outside, an in_dims=None argument "
            "or a module's buffer updated in training mode (a BatchNorm's running statistics, "
            "spectral_norm's power-iteration vectors). chainrule's vmap calls the function once "
            "per slice and would change it once per slice, where PyTorch's vmap changes it once "
            "(by a value that is not mapped) or raises (by a mapped one); it has been changed by "
            "the slices so far. Map it with in_dims, change a clone made inside the function, "
            "or put the module in eval() (for BatchNorm: func.replace_all_batch_norm_modules_)")
