"""The default process group of ``chainrule.distributed`` (a world of one process): whether it
is initialized and with which backend name. It lives here, below ``nn``, so that
``nn.parallel.DistributedDataParallel`` can refuse to wrap a model before
``init_process_group``, as PyTorch's does."""

from __future__ import annotations

__all__ = ["NOT_INITIALIZED", "default_group", "set_default_group"]

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")

_DEFAULT: list = [None]  # the backend name while a default group exists, else None


def default_group(op: str | None = None):
    """The default group's backend name; with ``op``, a ValueError (PyTorch's) if there is none."""
    if _DEFAULT[0] is None and op is not None:
        raise ValueError(f"{op}: {NOT_INITIALIZED}")
    return _DEFAULT[0]


def set_default_group(backend) -> None:
    _DEFAULT[0] = backend
