"""A Trainer callback that profiles a few training steps with ``chainrule.profiler``."""

from __future__ import annotations

from ..data.arguments import check_int
from ..profiler import ProfilerAction, profile
from .callbacks import Callback

__all__ = ["ProfileSteps"]


class ProfileSteps(Callback):
    """Profile ``steps`` training steps after the first ``wait`` and print where their time went.

    Each step (batch) is ``prof.step()`` of a ``chainrule.profiler.profile``: the steps before
    ``wait`` run unrecorded (the first one pays for lazy set-up), the next ``steps`` are recorded
    with ``with_modules=True`` (and any other ``profile`` option given), and then
    ``on_trace_ready(prof)`` runs; by default it prints ``prof.key_averages().table(sort_by,
    row_limit)``. Training that ends earlier reports the steps it recorded (and what ran after the
last of them: validation, if any). The table's text is
    kept in ``self.tables``.

    Args:
        steps: training steps to record, >= 1.
        wait: steps to run first without recording, >= 0.
        sort_by, row_limit: the table's order and length (``EventList.table``).
        on_trace_ready: called with the profiler instead of printing the table.
        **options: more ``profile`` options (``record_shapes``, ``profile_memory``, ...).
    """

    def __init__(self, steps: int, *, wait: int = 1, sort_by: str = "self_cpu_time_total",
                 row_limit: int = 20, on_trace_ready=None, **options):
        steps = check_int("ProfileSteps", "steps", steps)
        wait = check_int("ProfileSteps", "wait", wait, low=0)
        self.steps, self.wait, self.sort_by, self.row_limit = steps, wait, sort_by, row_limit
        self.on_trace_ready = on_trace_ready
        self.options = {"with_modules": True, **options}
        self.tables: list[str] = []
        self.prof = None

    def _plan(self, step: int) -> ProfilerAction:
        i = step - self.wait
        if i < 0 or i >= self.steps:
            return ProfilerAction.NONE
        return ProfilerAction.RECORD_AND_SAVE if i == self.steps - 1 else ProfilerAction.RECORD

    def _ready(self, prof) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(prof)
            return
        text = prof.key_averages().table(sort_by=self.sort_by, row_limit=self.row_limit)
        self.tables.append(text)
        print(f"profile of {self._done} training steps (chainrule.profiler):\n" + text,
              flush=True)

    def on_train_begin(self, logs=None):
        self._done = 0  # steps recorded so far
        self.prof = profile(schedule=self._plan, on_trace_ready=self._ready, **self.options)
        self.prof.start()

    def on_batch_end(self, batch, logs=None):
        if self.prof is not None:
            self._done += self.prof.current_action in (ProfilerAction.RECORD,
                                                       ProfilerAction.RECORD_AND_SAVE)
            self.prof.step()

    def on_train_end(self, logs=None):
        prof, self.prof = self.prof, None
        if prof is not None:
            prof.stop()
