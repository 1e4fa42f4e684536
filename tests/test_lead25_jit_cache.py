"""numba's disk cache and processes that compile at once (backend/jit_cache.py).

numba numbers each compiled version of a kernel in an index that it updates without a lock; two
test workers that compiled versions of the cross-entropy kernel at the same moment left an index
whose entry for (float32 C, ...) named the machine code of (float64 F, ...). Every later process
then failed in 29 tests with numba's "can't unbox array from PyObject" (seen in this session's
CI run). Loads and compilations now take turns under a file lock, and a damaged index is emptied
and the kernel compiled afresh."""

import types

import numpy as np
import pytest

from chainrule.backend import jit, jit_cache

fcntl = pytest.importorskip("fcntl")  # POSIX: the lock is fcntl.flock


def _kernel(folder, compile_for_args):
    return types.SimpleNamespace(stats=types.SimpleNamespace(cache_path=str(folder)),
                                 _compile_for_args=compile_for_args)


def test_loads_and_compilations_run_under_an_exclusive_lock(tmp_path):
    seen = []

    def compile_for_args(*args):
        fd = open(tmp_path / "chainrule-compile.lock", "a")  # another open file: another holder
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            fd.close()
        seen.append(args)
        return "compiled"

    kernel = jit_cache.guard(_kernel(tmp_path, compile_for_args))
    assert kernel._compile_for_args(1, 2) == "compiled" and seen == [(1, 2)]
    with open(tmp_path / "chainrule-compile.lock", "a") as fd:  # released after
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_kernel_without_a_cache_folder_runs_unlocked():
    kernel = jit_cache.guard(_kernel("", lambda *a: sum(a)))
    assert kernel._compile_for_args(2, 3) == 5


class _Damaged:
    """A dispatcher whose cached version belongs to other argument types until recompiled."""

    def __init__(self, message):
        self.message, self.recompiled = message, 0
        self.stats = types.SimpleNamespace(cache_path="")

    def __call__(self, x):
        if not self.recompiled:
            raise TypeError(self.message)
        return x * 2

    def recompile(self):
        self.recompiled += 1


def test_a_damaged_cache_index_is_emptied_and_the_kernel_compiled_afresh(monkeypatch):
    damaged = _Damaged("can't unbox array from PyObject into native value.  The object maybe "
                       "of a different type")
    monkeypatch.setattr(jit, "_kernels", {"cross_entropy": damaged})
    assert jit._lazy("cross_entropy")(np.float64(3)) == 6
    assert damaged.recompiled == 1


def test_other_type_errors_are_not_taken_for_a_damaged_cache(monkeypatch):
    other = _Damaged("No matching definition for argument type(s)")
    monkeypatch.setattr(jit, "_kernels", {"cross_entropy": other})
    with pytest.raises(TypeError, match="No matching definition"):
        jit._lazy("cross_entropy")(1.0)
    assert other.recompiled == 0
