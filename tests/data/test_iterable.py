"""IterableDataset through the DataLoader, batch for batch against torch.utils.data: the same
stream (and one that shards itself with get_worker_info) gives the same batches in the same order
with 0 and 2 workers (threads and forked processes), every batch size and drop_last."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import DataLoader, IterableDataset, get_worker_info

N = 11


def _stream(base, sharded: bool, info):
    start, step = (0, 1)
    if sharded and info is not None:
        start, step = info.id, info.num_workers
    for i in range(start, N, step):
        yield np.array([i, i * 0.5], np.float32), i % 3


def _classes(base):
    """The same deterministic stream as a chainrule and as a torch IterableDataset."""

    class Stream(base):
        def __init__(self, sharded=False):
            self.sharded = sharded

        def __iter__(self):
            return _stream(base, self.sharded, self._info())

    return Stream


class Ours(_classes(IterableDataset)):
    def _info(self):
        return get_worker_info()


def _plain(batch):
    """A batch as nested lists of Python numbers (Tensors of either library, arrays, ints)."""
    if isinstance(batch, (tuple, list)):
        return [_plain(b) for b in batch]
    if hasattr(batch, "numpy"):
        batch = batch.numpy()
    return np.asarray(batch).tolist()


def _torch_stream(tud):
    class Theirs(_classes(tud.IterableDataset)):
        def _info(self):
            return tud.get_worker_info()

    return Theirs


@pytest.mark.torch
@pytest.mark.parametrize("sharded", [False, True])
@pytest.mark.parametrize("batch_size, drop_last", [(None, False), (1, False), (1, True),
                                                   (3, False), (3, True)])
def test_batches_and_their_order_match_pytorch(sharded, batch_size, drop_last):
    tud = pytest.importorskip("torch.utils.data")
    theirs_cls = _torch_stream(tud)
    for workers in (0, 2):
        theirs = [_plain(b) for b in tud.DataLoader(theirs_cls(sharded), batch_size=batch_size,
                                                    drop_last=drop_last, num_workers=workers)]
        contexts = [None, "fork"] if workers and batch_size is not None else [None]
        for context in contexts:
            loader = DataLoader(Ours(sharded), batch_size=batch_size, drop_last=drop_last,
                                num_workers=workers, multiprocessing_context=context)
            ours = [_plain(b) for b in loader]
            assert ours == theirs, (workers, context)
    if workers and not sharded:  # each worker yields all of them, as PyTorch's
        assert sum(len(b[1]) if batch_size else 1 for b in ours) == (
            2 * (N // batch_size * batch_size if drop_last and batch_size else N))


def test_sharded_stream_yields_every_item_once_in_round_robin_order():
    loader = DataLoader(Ours(sharded=True), batch_size=2, num_workers=3)
    labels = [b[0][:, 0].numpy().astype(int).tolist() for b in loader]
    # worker w reads w, w + 3, ...: batches of two, taken from workers 0, 1, 2, 0, 1, 2...
    assert labels == [[0, 3], [1, 4], [2, 5], [6, 9], [7, 10], [8]]


def test_length_follows_the_dataset_when_it_has_one():
    class Sized(Ours):
        def __len__(self):
            return N

    assert len(DataLoader(Sized(), batch_size=3)) == 4
    assert len(DataLoader(Sized(), batch_size=3, drop_last=True)) == 3
    assert len(DataLoader(Sized(), batch_size=None)) == N
    with pytest.raises(TypeError, match="has no len"):
        len(DataLoader(Ours(), batch_size=3))


@pytest.mark.parametrize("option, value", [("shuffle", True), ("sampler", [0, 1]),
                                           ("batch_sampler", [[0, 1]])])
def test_order_options_are_refused_as_in_pytorch(option, value):
    kwargs = {option: value}
    if option == "batch_sampler":
        kwargs["batch_size"] = 1
    with pytest.raises(ValueError, match=f"expected unspecified {option} option"):
        DataLoader(Ours(), **kwargs)
    DataLoader(Ours(), shuffle=False)  # an explicit False is fine, as in PyTorch


def test_worker_info_gives_each_worker_its_own_copy_and_init_runs_first():
    seen = []

    class Recorder(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            self.mine = info.id  # an attribute of this worker's copy only
            seen.append((info.id, info.num_workers, info.dataset is self, self.started))
            yield np.float32(info.id), 0

    def init(worker_id):
        get_worker_info().dataset.started = worker_id

    dataset = Recorder()
    batches = list(DataLoader(dataset, batch_size=4, num_workers=2, worker_init_fn=init))
    assert sorted(seen) == [(0, 2, True, 0), (1, 2, True, 1)]
    assert [b[0].tolist() for b in batches] == [[0.0], [1.0]]
    assert not hasattr(dataset, "mine")


@pytest.mark.parametrize("context", [None, "fork"])
def test_a_failing_stream_raises_in_the_caller(context):
    class Broken(IterableDataset):
        def __iter__(self):
            yield np.float32(1), 0
            raise KeyError("no more records")

    loader = DataLoader(Broken(), batch_size=1, num_workers=2, multiprocessing_context=context)
    with pytest.raises((KeyError, RuntimeError), match="no more records"):
        list(loader)


def test_random_items_are_reproducible_with_a_seeded_loader():
    class Noise(IterableDataset):
        def __iter__(self):
            for _ in range(6):
                yield cr.randn(2).numpy(), 0

    def run(workers):
        loader = DataLoader(Noise(), batch_size=2, num_workers=workers, rng=3)
        return [b[0].numpy() for b in loader]

    first, again = run(2), run(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    # the two workers' items come from different streams
    assert not np.array_equal(first[0], first[1])


def test_stopping_early_ends_the_workers():
    class Endless(IterableDataset):
        def __iter__(self):
            i = 0
            while True:
                yield np.float32(i), 0
                i += 1

    for context in (None, "fork"):
        loader = DataLoader(Endless(), batch_size=2, num_workers=2,
                            multiprocessing_context=context)
        for step, _ in enumerate(loader):
            if step == 3:
                break


@pytest.mark.parametrize("context", [None, "fork"])
def test_worker_init_fn_runs_in_each_worker_of_a_map_style_loader(context):
    class Marked(cr.utils.data.Dataset):
        mark = -1

        def __len__(self):
            return 8

        def __getitem__(self, i):
            return np.float32(self.mark), i

    def init(worker_id):  # in a worker process: its copy of the dataset
        get_worker_info().dataset.mark = 10 + worker_id

    loader = DataLoader(Marked(), batch_size=2, num_workers=2, worker_init_fn=init,
                        multiprocessing_context=context)
    marks = {float(m) for b in loader for m in b[0].numpy()}
    assert marks and marks <= {10.0, 11.0}  # never -1: init ran before the samples
    with pytest.raises(TypeError, match="worker_init_fn must be callable"):
        DataLoader(Marked(), worker_init_fn=3)


def _range_stream(base, info_of):
    """PyTorch's documented example: a range split over the workers by worker_init_fn."""

    class Range(base):
        def __init__(self, start, end):
            self.start, self.end = start, end

        def __iter__(self):
            return iter(range(self.start, self.end))

    def init(worker_id):
        info = info_of()
        dataset = info.dataset  # this worker's copy
        first, last = dataset.start, dataset.end
        per_worker = -(-(last - first) // info.num_workers)
        dataset.start = first + worker_id * per_worker
        dataset.end = min(dataset.start + per_worker, last)

    return Range, init


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")  # 3 on 2 cores
@pytest.mark.parametrize("context", [None, "fork"])
def test_worker_init_fn_sharding_matches_pytorch(context):
    tud = pytest.importorskip("torch.utils.data")
    theirs_cls, their_init = _range_stream(tud.IterableDataset, tud.get_worker_info)
    ours_cls, our_init = _range_stream(IterableDataset, get_worker_info)
    for workers in (0, 2, 3):
        theirs = [b.tolist() for b in tud.DataLoader(theirs_cls(3, 10), batch_size=2,
                                                     num_workers=workers,
                                                     worker_init_fn=their_init)]
        dataset = ours_cls(3, 10)
        loader = DataLoader(dataset, batch_size=2, num_workers=workers, worker_init_fn=our_init,
                            multiprocessing_context=context if workers else None)
        assert [b.tolist() for b in loader] == theirs
        assert (dataset.start, dataset.end) == (3, 10)  # the workers changed their copies


@pytest.mark.torch
def test_more_batches_than_the_reported_length_warn_as_in_pytorch():
    tud = pytest.importorskip("torch.utils.data")

    class Sized(Ours):
        def __len__(self):
            return N

    class TheirSized(_torch_stream(tud)):
        def __len__(self):
            return N

    theirs = tud.DataLoader(TheirSized(), batch_size=1, num_workers=2)
    ours = DataLoader(Sized(), batch_size=1, num_workers=2)
    for loader in (theirs, ours):
        assert len(loader) == N
        with pytest.warns(UserWarning, match="Length of IterableDataset|length of Sized"):
            assert len(list(loader)) == 2 * N  # each worker read all N items
    # PyTorch compares the batches with the N samples, so batches of 3 pass unnoticed there;
    # chainrule compares batches with batches
    ours = DataLoader(Sized(), batch_size=3, num_workers=2)
    assert len(ours) == 4
    with pytest.warns(UserWarning, match="shard it with get_worker_info"):
        assert len(list(ours)) == 8
    sharded = DataLoader(Sized(sharded=True), batch_size=3, num_workers=2)
    assert len(sharded) == 4 and len(list(sharded)) == 4  # no warning
    unasked = DataLoader(Sized(), batch_size=3, num_workers=2)
    assert sum(1 for _ in unasked) == 8  # len() never asked (list() would): no comparison
