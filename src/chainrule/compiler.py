"""``chainrule.compile``: PyTorch's ``torch.compile`` signature; the model runs eagerly, unchanged.

chainrule has no graph compiler behind ``compile``: it returns what it is given (usable as a
decorator, with or without arguments), so a script that compiles its model runs with the same
results. For a replayed inference plan, use ``chainrule.trace`` explicitly.

>>> import chainrule as cr
>>> @cr.compile(mode="reduce-overhead")
... def f(x):
...     return x * 2
>>> f(cr.tensor([1.0])).tolist()
[2.0]
>>> net = cr.nn.Linear(2, 1)
>>> cr.compile(net) is net
True
"""

from __future__ import annotations

__all__ = ["compile", "disable", "is_compiling"]

# What torch 2.13's compile takes: its modes, and its registered backends by name (a backend may
# also be a callable); a typo there (mode="reduce_overhead") is PyTorch's error, not ignored.
_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
_BACKENDS = ("aot_eager", "aot_eager_decomp_partition", "aot_eager_decomp_partition_crossref",
             "aot_eager_decomp_partition_with_mode", "aot_eager_default_partitioner", "aot_ts",
             "cudagraphs", "eager", "eager_debug", "eager_noexcept", "inductor",
             "invoke_subgraph", "openxla", "openxla_eval", "pre_dispatch_eager", "ts", "tvm")


def _check_choices(mode, backend, dynamic) -> None:
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"compile: unrecognized mode={mode!r}, should be one of: "
                           f"{', '.join(_MODES)}")
    if isinstance(backend, str) and backend not in _BACKENDS:
        raise RuntimeError(f"compile: invalid backend {backend!r}; PyTorch's are "
                           f"{', '.join(_BACKENDS)}, or a callable")
    if backend is not None and not isinstance(backend, str) and not callable(backend):
        raise TypeError(f"compile: backend must be a backend's name or a callable, got "
                        f"{type(backend).__name__} {backend!r}")
    if dynamic is not None and not isinstance(dynamic, bool):
        raise TypeError(f"compile: dynamic must be True, False or None, got {dynamic!r}")


def compile(model=None, *, fullgraph: bool = False, dynamic: bool | None = None, backend=None,  # noqa: A001
            mode: str | None = None, options: dict | None = None, name: str | None = None,
            disable: bool = False, recompile_limit: int | None = None,
            isolate_recompiles: bool = False, shapes_spec=None):
    """Return ``model`` itself (or, without one, a decorator that returns its function itself).

    Every option of ``torch.compile`` is accepted and has no effect: chainrule runs the model
    eagerly, so the results are exactly the uncompiled model's. A ``mode`` or a ``backend`` name
    that PyTorch does not know, or a ``dynamic`` that is not a bool, is refused as PyTorch's.
    """
    for arg, value in (("fullgraph", fullgraph), ("disable", disable),
                       ("isolate_recompiles", isolate_recompiles)):
        if not isinstance(value, bool):
            raise TypeError(f"compile: {arg} must be True or False, got {value!r}")
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be given, not both")
    _check_choices(mode, backend, dynamic)
    if model is None:
        return _identity
    if not callable(model):
        raise TypeError(
            f"compile: model must be a callable (a Module or a function), got "
            f"{type(model).__name__}"
        )
    return model


def _identity(model):
    return compile(model)


def disable(fn=None, recursive: bool = True, *, reason: str | None = None):
    """``torch.compiler.disable``: ``fn`` itself (nothing is compiled to be disabled)."""
    return _identity if fn is None else fn


def is_compiling() -> bool:
    """False: chainrule never traces a function under ``compile``."""
    return False
