"""Forked worker processes with ``persistent_workers=True`` (data/process_pool.py): the same
processes serve every pass, ``worker_init_fn`` runs once, a worker keeps its copy of the dataset,
as PyTorch's persistent workers; a pass stopped early leaves the next one clean, and a pass that
fails forks new processes for the next. Each case runs in chainrule and PyTorch alike."""

import os

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

if not hasattr(os, "fork"):
    pytest.skip("worker processes need fork", allow_module_level=True)


def _mod(lib):
    return torch.utils.data if lib is torch else cr.data


class Counting:
    """Each sample: its index, the calls so far in this worker's copy, the worker_init_fn runs
    in that copy and the process id."""

    def __init__(self, n=8, fail_at_call=None):
        self.n, self.calls, self.inits, self.fail_at_call = n, 0, 0, fail_at_call

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        if self.calls == self.fail_at_call:  # counted in the worker's copy
            raise ValueError("bad sample")
        return np.array([i, self.calls, self.inits, os.getpid()], dtype=np.int64)


class Stream:
    def __init__(self, n=5):
        self.n, self.passes = n, 0

    def __iter__(self):
        self.passes += 1
        info = cr.data.get_worker_info() or torch.utils.data.get_worker_info()
        for i in range(info.id, self.n, info.num_workers):
            yield np.array([i, self.passes, os.getpid()], dtype=np.int64)


def _init(lib):
    def init(worker_id):
        _mod(lib).get_worker_info().dataset.inits += 1
    return init


def _passes(lib, dataset, persistent, epochs=3, stop_early_at=1, **kw):
    mod = _mod(lib)
    if isinstance(dataset, Stream):
        dataset = type("S", (Stream, mod.IterableDataset), {})(dataset.n)
    loader = mod.DataLoader(dataset, batch_size=2, num_workers=2, multiprocessing_context="fork",
                            persistent_workers=persistent, **kw)
    out = []
    for epoch in range(epochs):
        out.append(np.concatenate([np.asarray(b) for b in loader]))
        if epoch == stop_early_at:
            for _ in loader:
                break
    return out


@pytest.mark.parametrize("persistent", [False, True])
def test_map_style_workers_persist_as_pytorchs(persistent):
    ours, theirs = (_passes(lib, Counting(), persistent, worker_init_fn=_init(lib))
                    for lib in (cr, torch))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a[:, :3], b[:, :3])  # calls and inits per worker copy
    pids = [set(a[:, 3]) for a in ours]
    assert (pids[0] == pids[1] == pids[2]) is persistent
    assert ours[2][:, 2].tolist() == [1] * 8  # worker_init_fn ran once in each copy


@pytest.mark.parametrize("persistent", [False, True])
def test_stream_workers_persist_as_pytorchs(persistent):
    ours, theirs = (_passes(lib, Stream(), persistent) for lib in (cr, torch))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a[:, :2], b[:, :2])  # passes seen by each worker copy
    assert (len({tuple(sorted(set(a[:, 2]))) for a in ours}) == 1) is persistent


def test_a_failed_pass_forks_new_workers_for_the_next():
    loader = cr.data.DataLoader(Counting(fail_at_call=6), batch_size=2, num_workers=2,
                                multiprocessing_context="fork", persistent_workers=True)
    first = np.concatenate([np.asarray(b) for b in loader])  # 4 calls in each worker
    with pytest.raises(ValueError, match="worker process 0 failed on a batch: ValueError: "
                                           "bad sample"):
        list(loader)
    again = np.concatenate([np.asarray(b) for b in loader])
    assert not set(first[:, 3]) & set(again[:, 3])  # new processes, new copies
    assert again[:, :2].tolist() == [[0, 1], [1, 2], [2, 1], [3, 2], [4, 3], [5, 4], [6, 3],
                                     [7, 4]]
    loader.dataset = Counting()  # another dataset: new processes for it
    assert not set(np.concatenate([np.asarray(b) for b in loader])[:, 3]) & set(again[:, 3])


@pytest.mark.parametrize("seeds", [(0, 0, 1)])
def test_the_same_batches_as_without_workers_every_pass(seeds):
    """Each task carries its pass's seed: shuffled passes are those of num_workers=0."""
    class Noisy:  # a sample draws from the default generator: its own stream per sample
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return np.array([i, cr.rand(()).item()])

    data = Noisy()
    loaders = [cr.data.DataLoader(data, batch_size=3, shuffle=True, **kw) for kw in (
        {}, dict(num_workers=2, multiprocessing_context="fork", persistent_workers=True))]
    for seed in seeds:
        passes = []
        for loader in loaders:
            cr.manual_seed(seed)
            passes.append([b.tolist() for b in loader])
        assert passes[0] == passes[1]
