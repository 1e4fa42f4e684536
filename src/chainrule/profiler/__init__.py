"""Where the time of a training step goes: PyTorch's ``torch.profiler``, on the host.

>>> import chainrule as cr
>>> from chainrule.profiler import profile, record_function
>>> model = cr.nn.Linear(3, 2)
>>> with profile(record_shapes=True) as prof:
...     with record_function("step"):
...         model(cr.ones(4, 3)).sum().backward()
>>> counts = {e.key: e.count for e in prof.key_averages()}
>>> counts["step"], counts["Linear"], counts["LinearBackward0"], counts["MatMul"]
(1, 1, 1, 1)

What is recorded, one event per call, nested per thread (an event's self time excludes the events
inside it):

- each op's forward, named by its ``Function`` class (``Linear``, ``ConvNd``, ``MatMul``), not by
  PyTorch's aten names; a PyTorch-style custom Function (``forward(ctx, ...)``) by its class too,
  the ops its forward runs nested inside;
- each node of a backward walk, as ``<op>Backward0`` (PyTorch's form: ``LinearBackward0``; a
  custom Function's node keeps its name, ``MyFnBackward``), with the ops its backward runs nested
  inside it;
- optimizer steps and ``zero_grad``, as PyTorch labels them (``Optimizer.step#SGD.step``);
- with ``with_modules=True``, each Module call (``nn.Module: Linear``) around its ops;
- ``record_function(name)`` regions, and ``ProfilerStep#N`` around each step when a schedule runs
  (the row ``ProfilerStep*`` of every step, as PyTorch's; ``ProfilerStep#N`` in the Chrome trace).

With ``record_shapes`` the input shapes (of a backward node: its incoming gradients), with
``profile_memory`` the bytes of the arrays an op returns (of a backward node: the gradients it
returns; frees are not tracked), with ``with_flops`` the 2*M*N*K count of ``Linear``,
``LinearReLU``, ``MatMul`` and ``ConvNd``.

Costs nothing when not profiling. The engine is not instrumented at all outside a recording: while
one records, ``Function.apply`` (and custom Functions'), the optimizers' ``step``/``zero_grad`` and
(``with_modules``) ``Module.__call__`` are swapped for timed versions, and the backward walk is
handed an observer (``autograd.graph._node_observer``, read once per walk beside the anomaly-mode
test). Stopping, even through an exception, puts every original back, the very same objects. So
recording is process-wide: one profile at a time (a second is refused), and the ops of other
threads are recorded too, each event with its thread id (the Chrome trace's ``tid``). A
``record_function`` outside a recording costs one test.

What bypasses ``Function.apply`` has no event of its own and counts as self time of the event
around it (a Module call, a ``record_function``, the step): the replayed inference plans of
``cr.trace`` (which call the ops' forwards directly) and array work done outside any op. Layers
merged by ``nn.fuse`` do go through it, as the fused op (``LinearReLU``). Times are wall-clock
``time.perf_counter_ns`` on the host; with a GPU backend they are the host side of asynchronous
kernels.
"""

from . import legacy
from ._record import is_recording, record_function
from .events import EventList, FunctionEvent, FunctionEventAvg
from .profile import (
    ProfilerAction,
    ProfilerActivity,
    profile,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction", "ProfilerActivity",
           "is_recording", "legacy", "profile", "record_function", "schedule",
           "supported_activities", "tensorboard_trace_handler"]
