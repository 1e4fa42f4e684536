"""How many threads matrix products use, chosen for the machine as it is.

Every matrix product in chainrule is NumPy's, and NumPy hands it to a BLAS library (OpenBLAS or
MKL) that by default starts one thread per CPU and splits each product between them. On an idle
machine that is the fastest choice. On a busy one it is the slowest: a product finishes when its
last thread does, and a thread that shares its core with another process waits for a time slice
(milliseconds) to finish work that takes microseconds, so every product waits, many times a step.
One thread per free CPU avoids the wait and loses little.

So chainrule picks the count when it is imported: the CPUs this process may use, less those that
other processes keep busy at that moment, at least 1 (``auto_threads``). ``set_num_threads``
(PyTorch's name) changes it, ``CHAINRULE_NUM_THREADS`` or ``chainrule train --threads`` fix it,
and a user who set ``OPENBLAS_NUM_THREADS`` (or OMP/MKL's) is left alone (``settings.py``). The
threads are set through threadpoolctl, which reaches the BLAS and OpenMP libraries already loaded,
and numba's pool when numba's parallel layer has started (chainrule's own numba kernels are
serial). The count changes the order of some sums inside the BLAS library, so results agree to
rounding, not bit for bit, between runs that use different counts; fix the count to compare runs
bit for bit.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass

from .settings import config, parse_threads

try:
    import threadpoolctl
except ImportError:  # pragma: no cover - a core dependency; chainrule still imports without it
    threadpoolctl = None

__all__ = ["Machine", "apply_configured_threads", "auto_threads", "get_num_threads", "machine",
           "oversubscription_hint", "set_num_threads"]


@dataclass(frozen=True)
class Machine:
    """What the thread choice looks at.

    Attributes:
        cpus: the CPUs this process may use (its affinity mask, and a cgroup CPU quota if any).
        busy: how many of those CPUs other processes keep busy now (a fraction when they come and
            go).
    """

    cpus: int
    busy: float

    def __str__(self) -> str:
        return f"{self.cpus} CPUs, {self.busy:.1f} kept busy by other processes"


def _usable_cpus() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity masks
        n = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            n = min(n, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, n)


def _own_runnable() -> int:
    """This process's threads that are running or ready to run (this one at least)."""
    count = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                count += f.read().rsplit(")", 1)[1].split()[0] == "R"
        except (OSError, IndexError):
            continue  # a thread that ended meanwhile
    return max(count, 1)


def _runnable_now() -> float | None:
    """Other processes' threads ready to run right now, over the whole machine (Linux), else None.

    This process's own threads (BLAS threads still spinning after a product, say) do not count.
    """
    try:
        samples = []
        for i in range(3):
            if i:
                time.sleep(0.001)
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
            samples.append(max(0, running - _own_runnable()))
        return sum(samples) / len(samples)
    except (OSError, ValueError, IndexError):
        return None


def machine() -> Machine:
    """The CPUs this process may use and how many of them other processes keep busy now.

    On Linux "busy" counts the threads ready to run at this moment (a few samples a millisecond
    apart, from /proc/loadavg), so a competing process counts as soon as it starts; elsewhere it is
    the one-minute load average. Both are machine-wide: in a container limited to some of the
    machine's CPUs, they are scaled to that share.
    """
    cpus = _usable_cpus()
    load = _runnable_now()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (OSError, AttributeError):  # pragma: no cover - Windows
            load = 0.0
    total = max(os.cpu_count() or cpus, cpus)
    return Machine(cpus=cpus, busy=max(0.0, load) * cpus / total)


def auto_threads(m: Machine | None = None) -> int:
    """The thread count "auto" means: CPUs less the busy ones, rounded, at least 1.

    >>> auto_threads(Machine(cpus=4, busy=1.2)), auto_threads(Machine(cpus=2, busy=3.0))
    (3, 1)
    """
    m = machine() if m is None else m
    return max(1, min(m.cpus, math.floor(m.cpus - m.busy + 0.5)))


def _limit(count: int) -> None:
    if threadpoolctl is None:
        raise ImportError("chainrule: setting the number of threads needs threadpoolctl "
                          "(pip install threadpoolctl)")
    threadpoolctl.ThreadpoolController().limit(limits=count)
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is not None and getattr(parallel, "_is_initialized", False):
        import numba

        numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))


def set_num_threads(n: int | str) -> None:
    """Set how many threads matrix products use (BLAS, OpenMP, numba's pool if started).

    The same as assigning ``chainrule.config.threads``.

    Args:
        n: a positive integer, or "auto" to choose again for the machine as it is now
            (``auto_threads``).

    Raises:
        ValueError: if ``n`` is neither, with the value received.
    """
    try:
        threads = parse_threads(n)
    except ValueError as e:
        raise ValueError(f"set_num_threads: {e}") from None
    config.threads = threads  # applied by _apply


def _apply(threads: int | str | None) -> None:
    """Set the threads an assignment to ``config.threads`` asks for (None: leave them alone)."""
    if threads is not None:
        _limit(auto_threads() if threads == "auto" else threads)


def _blas_libraries() -> list:
    return [] if threadpoolctl is None else [
        lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


# NumPy's BLAS is among the libraries loaded before this module (``backend`` imports NumPy first).
# Others that load later, such as SciPy's own OpenBLAS that numba brings in when it compiles
# chainrule's kernels, start with a thread per CPU whatever was set before; chainrule never calls
# them, so they do not count in get_num_threads.
_NUMPY_BLAS = frozenset(lib["filepath"] for lib in _blas_libraries())


def get_num_threads() -> int:
    """How many threads the BLAS library under NumPy uses now (1 if none is found)."""
    counts = [lib["num_threads"] for lib in _blas_libraries()
              if lib["filepath"] in _NUMPY_BLAS or not _NUMPY_BLAS]
    return max(counts, default=1)


def oversubscription_hint() -> str:
    """One line of advice when BLAS's threads and other processes want more CPUs than there are.

    Empty when they fit, or when the count was fixed through chainrule (the user chose it).
    """
    if isinstance(config.threads, int):
        return ""
    n, m = get_num_threads(), machine()
    if n == 1 or n + m.busy <= m.cpus + 0.5:
        return ""
    return (f"chainrule: {n} BLAS threads on {m}: matrix products may run several times slower "
            f"than with --threads {auto_threads(m)} (or CHAINRULE_NUM_THREADS, "
            "chainrule.set_num_threads)")


def apply_configured_threads() -> None:
    """Set the threads that ``config.threads`` asks for; called once, when chainrule is imported.

    Never raises: a failure becomes a warning and the BLAS library keeps its own choice.
    """
    if config.threads is None or threadpoolctl is None:
        return
    try:
        _limit(auto_threads() if config.threads == "auto" else config.threads)
    except Exception as e:  # noqa: BLE001 - importing chainrule must not fail over threads
        warnings.warn(f"chainrule: could not set the number of threads ({e}); the BLAS library "
                      "keeps its own", RuntimeWarning, stacklevel=2)


config._on_change("threads", _apply)
