"""The rest of ``torch.utils.checkpoint``'s names: ``CheckpointError``, ``noop_context_fn``,
``create_selective_checkpoint_contexts`` with ``CheckpointPolicy`` and
``SelectiveCheckpointContext``, ``set_checkpoint_early_stop``, ``set_checkpoint_debug_enabled``,
``detach_variable`` and ``check_backward_validity``.

Selective checkpointing in PyTorch saves the outputs of the ops a policy picks and recomputes the
rest. chainrule's ``checkpoint`` replays the block as one call (it does not see the block's ops
one at a time), so it recomputes every op whatever the policy says: the gradients are the same,
only more is recomputed; the policy (a function, or a list of ops to save) is checked and not
called. Early stopping and the debug switch are recorded and change nothing: the block is
always recomputed whole, and its error messages always name what differed.
"""

from __future__ import annotations

import contextlib
import enum
import warnings

from ..autograd import Tensor

__all__ = ["CheckpointError", "CheckpointPolicy", "SelectiveCheckpointContext",
           "check_backward_validity", "create_selective_checkpoint_contexts", "detach_variable",
           "noop_context_fn", "set_checkpoint_debug_enabled", "set_checkpoint_early_stop"]

_switches = {"early_stop": True, "debug": None}


class CheckpointError(RuntimeError):
    """A recomputation that does not match the first pass (PyTorch's ``CheckpointError``)."""


class CheckpointPolicy(enum.Enum):
    """What a selective-checkpoint policy answers for an op (see the module docstring)."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


class SelectiveCheckpointContext:
    """What a policy function is given: ``is_recompute``, False in the first pass."""

    def __init__(self, *, is_recompute: bool):
        self.is_recompute = is_recompute


def noop_context_fn():
    """Two null contexts: the default ``context_fn`` of ``checkpoint``."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """The ``context_fn`` pair of PyTorch's selective checkpointing: ``policy_fn_or_list`` is a
    policy ``(ctx, op, *args, **kwargs) -> CheckpointPolicy`` or a list of ops to save. Here both
    contexts are null: every op is recomputed (see the module docstring)."""
    if isinstance(policy_fn_or_list, list):
        return noop_context_fn()
    if not callable(policy_fn_or_list):
        raise TypeError(f"create_selective_checkpoint_contexts: policy_fn_or_list must be either "
                        f"a function or a list of ops, got {type(policy_fn_or_list).__name__}")
    return noop_context_fn()


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool):
    """Record PyTorch's switch to stop recomputing once the needed tensors are back (see the
    module docstring), for the block inside."""
    previous, _switches["early_stop"] = _switches["early_stop"], bool(enable)
    try:
        yield
    finally:
        _switches["early_stop"] = previous


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    """Record PyTorch's debug switch (None, True or False) for the block inside."""
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"set_checkpoint_debug_enabled: enabled must be None, True or False, got "
                        f"{enabled!r}")
    previous, _switches["debug"] = _switches["debug"], enabled
    try:
        yield
    finally:
        _switches["debug"] = previous


def detach_variable(inputs: tuple) -> tuple:
    """Each Tensor of the tuple detached, keeping its ``requires_grad``; other values as they
    are."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            d = x.detach()
            d.requires_grad = x.requires_grad
            x = d
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs) -> None:
    """Warn, as PyTorch, when no Tensor among ``inputs`` requires grad."""
    if not any(x.requires_grad for x in inputs if isinstance(x, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)
