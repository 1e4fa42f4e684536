"""Fuzz wave 25: an error in a forked worker process reaches the loop with its own type when it
is one of Python's (``KeyError``, ``IndexError``, ``ValueError``...), as PyTorch re-raises a
worker's error; every one was a RuntimeError, which ``except KeyError`` did not catch. And
persistent worker processes that have already ended are stopped quietly: at interpreter exit
(multiprocessing ends its children first when any ``weakref.finalize``, a
``TemporaryDirectory``, was made before the loader's) a BrokenPipeError traceback was printed."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.workers import start_processes, stop_processes

if not hasattr(os, "fork"):
    pytest.skip("worker processes need fork", allow_module_level=True)


class _Failing:
    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise self.error
        return np.float32(i)


class _OwnError(Exception):
    pass


@pytest.mark.parametrize(("error", "kind"), [
    (KeyError("no sample 3"), KeyError), (IndexError("index 3"), IndexError),
    (ValueError("bad pixel"), ValueError), (_OwnError("custom"), RuntimeError),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad byte"), RuntimeError)])
def test_a_worker_process_error_keeps_its_type(error, kind):
    loader = cr.data.DataLoader(_Failing(error), batch_size=2, num_workers=2,
                                multiprocessing_context="fork")
    with pytest.raises(kind, match=f"worker process 1 failed on a batch: {type(error).__name__}"
                                   ":") as info:
        list(loader)
    assert type(info.value) is kind and "Traceback" in str(info.value)


def test_pytorch_raises_the_same_types():
    torch = pytest.importorskip("torch")
    for error in (KeyError("k"), IndexError("i")):
        loader = torch.utils.data.DataLoader(_Failing(error), batch_size=2, num_workers=2,
                                             multiprocessing_context="fork")
        with pytest.raises(type(error)):
            list(loader)


def test_stopping_workers_that_have_ended_is_quiet():
    pipes, processes = start_processes(lambda plan, base: None, [0, 0, 0, 0], 2, _Failing(None))
    for process in processes:  # what multiprocessing's exit handler does to daemonic children
        process.terminate()
        process.join()
    stop_processes(pipes, processes, False)  # before: BrokenPipeError
    assert all(conn.closed for conn in pipes) and not any(p.is_alive() for p in processes)
