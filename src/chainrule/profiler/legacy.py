"""PyTorch's older path, ``torch.autograd.profiler`` (here ``chainrule.autograd.profiler``):
``profile(enabled=True, use_cuda=False, ...)`` without a schedule, and the same
``record_function`` and event classes as ``chainrule.profiler``.

>>> import chainrule as cr
>>> with cr.autograd.profiler.profile(record_shapes=True) as prof:
...     y = cr.ones(2, 3).sum()
>>> [(e.key, e.count) for e in prof.key_averages()]
[('Sum', 1)]
"""

from __future__ import annotations

from ._record import record_function
from .events import EventList, FunctionEvent, FunctionEventAvg
from .profile import profile as _profile

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "profile", "record_function"]


class profile(_profile):  # noqa: N801 - PyTorch's name
    """``torch.autograd.profiler.profile``: the same recording, switched by ``enabled``; with
    ``use_cuda=True`` and no GPU backend it warns and profiles the CPU, as PyTorch's."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None):
        if not isinstance(enabled, bool):
            raise TypeError(f"profile: enabled must be True or False, got {enabled!r}")
        if not use_cpu:
            raise ValueError("profile: use_cpu=False leaves nothing to profile on chainrule "
                             "(every op runs from the host); pass use_cpu=True")
        self.enabled = enabled
        super().__init__(use_cuda=use_cuda or use_device == "cuda", record_shapes=record_shapes,
                         profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops, with_modules=with_modules)

    def start(self) -> None:
        if self.enabled:
            super().start()

    def stop(self) -> None:
        if self.enabled:
            super().stop()

    @property
    def function_events(self) -> EventList:
        """The recorded events (``prof.function_events``, as PyTorch's)."""
        return self.events()
