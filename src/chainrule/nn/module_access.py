"""Reaching into a Module by dotted name, and PyTorch's Module methods about memory and types.

``model.get_submodule("features.3")``, ``get_parameter("features.3.weight")``,
``get_buffer("bn.running_mean")`` and ``set_submodule("classifier.2", nn.Linear(512, 10))`` walk
the registered children one name at a time, as PyTorch's do (a Sequential's children are named
"0", "1"...), and say which step of the path failed.
"""

from __future__ import annotations

from ..autograd.tensor import Tensor
from ..backend import get_array_module, validate_device
from ..backend.dtypes import bfloat16
from ..ops.methods import legacy_dtype
from .state import ArgumentKindError, convert

__all__ = ["Access"]


def _check_target(who: str, target) -> str:
    if not isinstance(target, str):
        raise TypeError(f"{who}: target must be a dotted name string, got {type(target).__name__}")
    return target


class Access:
    """The by-name accessors of ``Module`` (a base class of it)."""

    def get_submodule(self, target: str = ""):
        """The submodule at the dotted path ``target`` ("" is the module itself)."""
        _check_target("get_submodule", target)
        module, walked = self, type(self).__name__
        for name in target.split(".") if target else ():
            child = module._modules.get(name)
            if child is None:
                raise AttributeError(f"get_submodule({target!r}): {walked} has no submodule "
                                     f"{name!r} (it has: {', '.join(module._modules) or 'none'})")
            module, walked = child, f"{walked}.{name}"
        return module

    def set_submodule(self, target: str, module, strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target``, replacing what is there; with
        ``strict=True`` the last name must already be a submodule."""
        from .module import Module

        _check_target("set_submodule", target)
        if not target:
            raise ValueError("set_submodule: target must name a submodule, got ''")
        if not isinstance(module, Module):
            raise ArgumentKindError(  # PyTorch's error is a ValueError (this was a TypeError)
                f"set_submodule: module must be a Module, got {type(module).__name__}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and name not in parent._modules:
            raise AttributeError(f"set_submodule({target!r}, strict=True): "
                                 f"{type(parent).__name__} has no submodule {name!r}")
        if name in parent.__dict__ or name in parent._parameters or name in parent._buffers:
            raise AttributeError(f"set_submodule({target!r}): {name!r} of "
                                 f"{type(parent).__name__} is not a submodule")
        setattr(parent, name, module)

    def _get_member(self, who: str, target: str, store: str):
        _check_target(who, target)
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        found = getattr(module, store)
        if name not in found:
            kind = "parameter" if store == "_parameters" else "buffer"
            raise AttributeError(f"{who}({target!r}): {type(module).__name__} has no {kind} "
                                 f"{name!r} (it has: {', '.join(found) or 'none'})")
        return found[name]

    def get_parameter(self, target: str):
        """The Parameter at the dotted path ``target`` (e.g. ``"fc.weight"``)."""
        return self._get_member("get_parameter", target, "_parameters")

    def get_buffer(self, target: str):
        """The buffer at the dotted path ``target`` (e.g. ``"bn.running_mean"``)."""
        return self._get_member("get_buffer", target, "_buffers")

    def share_memory(self):
        """Move every parameter and buffer (and a gradient already there) into memory that
        processes forked after this share, as PyTorch's: Hogwild-style workers that step one
        model in place (``Tensor.share_memory_``). Returns self."""
        for t in (*self.parameters(), *self.buffers()):
            t.share_memory_()
            if isinstance(t.grad, Tensor):  # a dense gradient (not a sparse one)
                t.grad.share_memory_()
        return self

    def _apply(self, fn, recurse: bool = True):
        """PyTorch's: ``fn(tensor) -> tensor`` on the children first (through their own
        ``_apply``, which a class may override to convert tensors it keeps elsewhere, e.g. a
        cache), then on this module's parameters, buffers and gradients. Parameters and buffers
        keep their identity (their values are replaced). ``to``, ``half``... go through it.
        Returns self."""
        if recurse:
            for child in self.children():
                child._apply(fn)
        for store in (self._parameters, self._buffers):
            for t in store.values():
                if t is None:
                    continue
                new = fn(t)
                t.data = new._data if isinstance(new, Tensor) else new
                if t.grad is not None:  # a sparse one (Embedding(sparse=True)'s) too
                    t.grad = fn(t.grad)
        return self

    def _cast(self, device, dtype, kinds: str):
        """``to(device, dtype)`` of the entries whose dtype kind is in ``kinds``, by ``_apply``."""
        def cast(t):
            if isinstance(t, Tensor):
                return Tensor(convert(t._data, device, dtype, kinds))
            if device is not None and str(t.device) != str(device):  # a sparse gradient
                raise NotImplementedError(f"Module.to: a sparse gradient is not moved to {device}; "
                                          "call zero_grad() first")
            return t if dtype is None or t.dtype.kind not in kinds else t.to(dtype)

        return self._apply(cast)

    # As PyTorch's, these cast the floating-point entries only: complex ones keep their dtype.
    def half(self):
        """Cast floating-point parameters and buffers to float16; returns self."""
        return self._cast(None, get_array_module().dtype("float16"), "f")

    def double(self):
        """Cast floating-point parameters and buffers to float64; returns self."""
        return self._cast(None, get_array_module().dtype("float64"), "f")

    def float(self):
        """Cast floating-point parameters and buffers to float32; returns self."""
        return self._cast(None, get_array_module().dtype("float32"), "f")

    def bfloat16(self):
        """PyTorch's cast to bfloat16, which chainrule cannot compute in: the TypeError that
        ``to(chainrule.bfloat16)`` gives (this was an AttributeError)."""
        return self.to(bfloat16)

    def type(self, dst_type):
        """Cast the parameters and buffers to ``dst_type`` (a dtype, a dtype name or a legacy
        type such as ``torch.DoubleTensor`` or ``"torch.cuda.FloatTensor"``); returns the module.

        As PyTorch's, integer buffers are cast too (``num_batches_tracked`` becomes float)."""
        dtype = get_array_module().dtype(legacy_dtype(getattr(dst_type, "dtype", dst_type)))
        self.to(dtype=dtype)
        for m in self.modules():
            for name, b in m._buffers.items():
                if b is not None and b.dtype != dtype:
                    m._buffers[name] = b.to(dtype)
        return self

    def to_empty(self, *, device=None, recurse: bool = True):
        """Give every parameter and buffer fresh, uninitialized storage on ``device`` (PyTorch's
        step after building on the meta device): the values are garbage until initialized or
        loaded. ``recurse=False``: this module's own members only."""
        name = "cpu" if device is None else validate_device(device)
        modules = self.modules() if recurse else (self,)
        for m in modules:
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is not None:
                        t.data = get_array_module(t._data).empty(t.shape, dtype=t.dtype)
                        t.grad = None
        return self if name == "cpu" else self.to(name)

    def compile(self, *args, **kwargs) -> None:
        """PyTorch's in-place ``Module.compile``, with ``torch.compile``'s keywords: chainrule runs
        eagerly (see ``chainrule.compile``), so the module is left as it is."""
        unknown = sorted(set(kwargs) - _COMPILE_KEYWORDS)
        if unknown or len(args) > 0:
            raise TypeError(f"Module.compile: takes torch.compile's keyword arguments only, got "
                            f"{len(args)} positional and unknown {unknown}")


_COMPILE_KEYWORDS = {"fullgraph", "dynamic", "backend", "mode", "options", "disable", "name",
                     "recompile_limit", "isolate_recompiles", "shapes_spec"}
