"""Fuzz wave 16, the data pipeline against PyTorch's ``torch.utils.data``: the loader's workers
(``worker_init_fn``, ``get_worker_info``, ``persistent_workers``, which worker builds which
batch), its option checks, the samplers' attributes and the collation of nested samples. The
same program runs on both libraries (``lib`` is ``torch`` or ``chainrule``); what a random
generator decides is compared only where PyTorch defines it. Earlier waves:
tests/test_fuzz6_data.py, tests/test_fuzz11_collate.py, tests/test_fuzz14_data.py.
"""

import collections
import multiprocessing
import time

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import outcome

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")


def _norm(b):
    """A batch or sample as plain data: Tensors by dtype, shape and values."""
    if isinstance(b, (torch.Tensor, cr.Tensor)):
        return ("T", str(b.dtype).replace("torch.", ""), tuple(b.shape),
                b.detach().numpy().tolist())
    if isinstance(b, dict):
        return (type(b).__name__, {k: _norm(v) for k, v in b.items()})
    if isinstance(b, tuple) and hasattr(b, "_fields"):
        return ("NT", type(b).__name__, [_norm(v) for v in b])
    if isinstance(b, (list, tuple)):
        return (type(b).__name__, [_norm(v) for v in b])
    if isinstance(b, np.ndarray):
        return ("A", str(b.dtype), b.tolist())
    return ("V", type(b).__name__, b)


_ERRORS = (RuntimeError, TypeError, ValueError, IndexError, KeyError)


def _both(fn):
    """``fn(lib)`` gives the same plain result in both libraries, or both raise."""
    theirs, ours = outcome(torch, fn, errors=_ERRORS), outcome(cr, fn, errors=_ERRORS)
    if isinstance(theirs, Exception) or isinstance(ours, Exception):
        assert isinstance(theirs, Exception) and isinstance(ours, Exception), \
            f"torch {theirs!r}, chainrule {ours!r}"
        return None
    assert ours == theirs
    return ours


def _counts():
    """Calls per worker id, which a ``worker_init_fn`` counts in any worker (PyTorch's are forked
    processes)."""
    return multiprocessing.Array("i", 4)


# --- worker threads of a map-style dataset -------------------------------------------------------


@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("n, batch_size, workers", [(0, 1, 2), (4, 2, 3), (9, 2, 2)])
def test_every_worker_starts_and_builds_every_kth_batch_on_its_own_copy(n, batch_size, workers,
                                                                       persistent):
    # worker threads came from a pool that starts threads as batches arrive and reuses idle
    # ones: worker_init_fn ran for some workers only (none for an empty pass), a batch went to
    # whichever thread was free, and every worker read the caller's dataset itself, so what
    # worker_init_fn set there (a per-worker handle, a shard, a mark) was overwritten by the
    # next worker, leaked into the other workers' batches and stayed in the caller's dataset.
    # PyTorch: each worker starts once per pass (once in all with persistent_workers) on its
    # own copy, and batch i is built by worker i % k.
    def loader(lib):
        calls = _counts()

        class Marked(lib.utils.data.Dataset):
            mark = -1

            def __len__(self):
                return n

            def __getitem__(self, i):
                time.sleep(0.002 * (i % 3))  # so that a free thread would take the next batch
                return np.array([self.mark, lib.utils.data.get_worker_info().id, i])

        def init(worker_id):
            with calls.get_lock():
                calls[worker_id] += 1
            lib.utils.data.get_worker_info().dataset.mark = 10 + worker_id

        ds = Marked()
        dl = lib.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=workers,
                                       worker_init_fn=init, persistent_workers=persistent)
        passes = [[_norm(b) for b in dl] for _ in range(2)]
        return passes, list(calls), ds.mark

    passes, calls, mark = _both(loader)
    assert mark == -1 and calls == [1 if persistent else 2] * workers + [0] * (4 - workers)


def test_a_persistent_worker_keeps_its_copy_from_pass_to_pass():
    # persistent_workers was accepted and ignored: each pass started its workers afresh
    def loader(lib):
        class Counting(lib.utils.data.Dataset):
            def __init__(self):
                self.reads = 0

            def __len__(self):
                return 4

            def __getitem__(self, i):
                self.reads += 1  # the worker's own count, pass after pass
                return self.reads

        ds = Counting()
        out = []
        for persistent in (False, True):
            dl = lib.utils.data.DataLoader(ds, batch_size=1, num_workers=2,
                                           persistent_workers=persistent)
            out.append([[_norm(b) for b in dl] for _ in range(2)])
        return out, ds.reads

    out, reads = _both(loader)
    assert reads == 0 and out[1][1][0][3] == [3]


@pytest.mark.parametrize("workers, persistent, batch_size", [(2, True, 2), (3, True, None),
                                                             (2, False, 2)])
def test_a_stream_sharded_by_worker_init_fn_keeps_its_shards_with_persistent_workers(
        workers, persistent, batch_size):
    # PyTorch's documented sharding: worker_init_fn narrows its copy's range; a persistent
    # worker keeps that copy (and what __iter__ counts on it) from epoch to epoch
    def loader(lib):
        data, calls = lib.utils.data, _counts()

        class Range(data.IterableDataset):
            def __init__(self):
                self.start, self.end, self.epochs = 0, 7, 0

            def __iter__(self):
                self.epochs += 1
                return iter([np.array([i, self.epochs]) for i in range(self.start, self.end)])

        def init(worker_id):
            with calls.get_lock():
                calls[worker_id] += 1
            info = data.get_worker_info()
            ds, per = info.dataset, -(-7 // info.num_workers)
            ds.start, ds.end = worker_id * per, min(worker_id * per + per, 7)

        ds = Range()
        dl = data.DataLoader(ds, batch_size=batch_size, num_workers=workers, worker_init_fn=init,
                             persistent_workers=persistent)
        return [[_norm(b) for b in dl] for _ in range(3)], list(calls), ds.epochs

    epochs, calls, untouched = _both(loader)
    assert untouched == 0 and calls[:workers] == [1 if persistent else 3] * workers


def test_a_failing_worker_init_fn_raises_in_the_caller():
    def init(worker_id):
        if worker_id == 1:
            raise KeyError("no shard for worker 1")

    dl = cr.utils.data.DataLoader(list(range(6)), batch_size=2, num_workers=2,
                                  worker_init_fn=init)
    got = iter(dl)
    assert next(got).tolist() == [0, 1]  # worker 0's batch
    with pytest.raises(KeyError, match="no shard for worker 1"):
        next(got)


def test_a_dataset_that_cannot_be_copied_is_shared_by_the_workers():
    class Proxy(cr.utils.data.Dataset):  # a __getattr__ that recurses on a bare copy
        def __init__(self, items):
            self.items = items

        def __getattr__(self, name):
            return getattr(self.items, name)

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i]

    dl = cr.utils.data.DataLoader(Proxy([1, 2, 3]), batch_size=2, num_workers=2)
    assert [b.tolist() for b in dl] == [[1, 2], [3]]


# --- what samplers give: indices, or keys passed on as they are ----------------------------------

_KEYS = [[3, 1], [3.0, 1.0], [1.5], [True, False], [-1, np.int64(2)], [np.float64(2.0)],
         "tensor", "float tensor", [7]]


def _indices_that_are_not_integers_reach_the_dataset_as_they_are_case(keys, dataset, batching):
    # the loader read a sampler's (or batch sampler's) indices with int(): a float index 1.5
    # from a computed sampler read sample 1, and 3.0 read sample 3, where PyTorch passes them
    # to dataset[...] (a list or Tensor refuses them; a dict with float keys takes them); a
    # batch sampler's string keys were a ValueError
    def loader(lib):
        data = lib.utils.data
        picks = {"tensor": lib.tensor([3, 1]), "float tensor": lib.tensor([3.0, 1.0])}.get(
            keys, keys) if isinstance(keys, str) else keys  # (not a dict's keys: PyTorch hashes
        # a Tensor by identity, chainrule's loader passes its number)
        ds = {"list": lambda: list(range(10, 15)),
              "tensors": lambda: data.TensorDataset(lib.arange(5.0), lib.arange(5)),
              "dict": lambda: {1.5: 7, 3.0: 8, 1.0: 9, 2.0: 6, -1: 5, 7: 2}}[dataset]
        kw = {"sampler": dict(sampler=picks, batch_size=2),
              "batch_sampler": dict(batch_sampler=[picks]),
              "unbatched": dict(sampler=picks, batch_size=None),
              "workers": dict(sampler=picks, batch_size=2, num_workers=2 if lib is cr else 0)
              }[batching]  # PyTorch's batches are those of 0 workers
        return [_norm(b) for b in data.DataLoader(ds(), **kw)]

    _both(loader)


def test_indices_that_are_not_integers_reach_the_dataset_as_they_are():
    each_case(_indices_that_are_not_integers_reach_the_dataset_as_they_are_case, grid(
        ("batching", ["sampler", "batch_sampler", "unbatched", "workers"]),
        ("keys, dataset", [
    (k, d) for k in _KEYS for d in ("list", "tensors", "dict")
    if not (d == "dict" and "tensor" in str(k))], lambda v: str(v)),
    ))


def test_an_empty_batch_of_a_batch_sampler_is_refused_as_in_pytorch():
    # a TensorDataset's batches are gathered at once: an empty one came out as a batch of no
    # samples (a mean loss over it is NaN) where PyTorch's collate raises
    def loader(lib):
        ds = lib.utils.data.TensorDataset(lib.arange(5.0))
        return [_norm(b) for b in lib.utils.data.DataLoader(ds, batch_sampler=[[1], []])]

    _both(loader)
    picked = cr.utils.data.DataLoader(list(range(5)), batch_sampler=[[], [2]], collate_fn=list)
    assert list(picked) == [[], [2]]  # a collate_fn of its own decides, as in PyTorch


def test_a_subset_of_a_dict_like_dataset_keeps_its_keys():
    # Subset turned every index into an int: the keys of a dict-like dataset were a ValueError
    def read(lib):
        data = lib.utils.data
        sub = data.Subset({"a": 1.5, "b": 2.5, 3: 0.5}, ["b", np.int64(3), "a"])
        return [sub[i] for i in range(3)], [_norm(b) for b in data.DataLoader(sub, batch_size=2)]

    assert _both(read)[0] == [2.5, 0.5, 1.5]


# --- the loader's option checks ------------------------------------------------------------------

_DROPS = ["False", "True", 1, 0, None, np.bool_(True), 1.0, False]


def _drop_last_must_be_a_bool_as_in_pytorch_case(drop_last, batching):
    # drop_last was read with bool(): drop_last="False" silently dropped the last batch (and 1
    # or None were taken); PyTorch's BatchSampler raises a ValueError unless it is a bool
    def loader(lib):
        kw = dict(batching)
        ds = list(range(5))
        if kw.pop("stream", False):
            class Stream(lib.utils.data.IterableDataset):
                def __iter__(self):
                    return iter(range(5))

            ds, kw = Stream(), dict(batch_size=2)
        dl = lib.utils.data.DataLoader(ds, drop_last=drop_last, **kw)
        return [_norm(b) for b in dl], dl.drop_last

    _both(loader)


def test_drop_last_must_be_a_bool_as_in_pytorch():
    each_case(_drop_last_must_be_a_bool_as_in_pytorch_case, grid(
        ("batching", [dict(batch_size=2), dict(batch_size=None),
                      dict(batch_sampler=[[0, 1], [2]]), dict(stream=True)]),
        ("drop_last", _DROPS, [repr(d) for d in _DROPS]),
    ))


# --- a TensorDataset whose Tensor requires grad --------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_batches_of_a_tensor_that_requires_grad_carry_its_gradient(seed):
    # a TensorDataset's batches were gathered from its NumPy arrays: a Tensor that requires
    # grad (learned inputs, an optimized perturbation) gave batches that did not, so backward
    # never reached it and its optimizer silently left it alone; PyTorch stacks its rows t[i]
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    values, labels = rng.standard_normal((n, 3)), rng.integers(0, 4, n)
    order = rng.integers(0, n, int(rng.integers(1, 2 * n))).tolist()
    kw = [dict(batch_size=2), dict(batch_size=3, drop_last=True), dict(sampler=order, batch_size=2),
          dict(batch_sampler=[order[:2], order[2:] or [0]]), dict(batch_size=None),
          dict(batch_size=2, num_workers=2)][seed]

    def train(lib):
        x = lib.tensor(values, requires_grad=True)
        weights = lib.tensor(np.arange(1.0, 4.0))
        ds = lib.utils.data.TensorDataset(x, lib.tensor(labels))
        opts = {k: v for k, v in kw.items() if lib is cr or k != "num_workers"}  # PyTorch's
        seen = []  # worker processes refuse a Tensor that requires grad; chainrule's threads not
        for xb, yb in lib.utils.data.DataLoader(ds, **opts):
            seen.append((xb.requires_grad, yb.requires_grad, _norm(yb)))
            ((xb * weights).sum() * (yb + 1).sum()).backward()
        return seen, x.grad.numpy().tolist()

    seen, grad = _both(train)
    assert all(needs and not label_needs for needs, label_needs, _ in seen) and any(map(any, grad))


# --- the samplers' attributes --------------------------------------------------------------------


def test_sampler_attributes_are_pytorchs_and_weights_can_change_between_passes():
    # WeightedRandomSampler.weights was a NumPy array (weights.clone(), weights.numpy() and
    # Tensor arithmetic failed), and RandomSampler lacked PyTorch's _num_samples
    def read(lib):
        data = lib.utils.data
        rs = [data.RandomSampler(range(4), num_samples=k) for k in (None, 6)]
        ws = data.WeightedRandomSampler([1, 2.5, 0], 5, generator=lib.Generator().manual_seed(1))
        before = _norm(ws.weights.clone())
        ws.weights[1] = 0.0  # hard-example reweighting in place, between passes
        after = sorted(set(ws))
        ws.weights = ws.weights * 0 + lib.tensor([0.0, 0.0, 1.0], dtype=lib.float64)
        return ([r._num_samples for r in rs], before, after, sorted(set(ws)),
                ws.weights.numpy().tolist())

    assert _both(read) == ([None, 6], ("T", "float64", (3,), [1.0, 2.5, 0.0]), [0], [2],
                           [0.0, 0.0, 1.0])


# --- timeout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("context", [None, "fork"])
def test_a_batch_slower_than_the_timeout_is_pytorchs_runtime_error(stream, context):
    # timeout was checked and kept but never applied: a hung worker (a stalled network read)
    # hung the training loop instead of raising PyTorch's RuntimeError
    def loader(lib, slow, timeout):
        data = lib.utils.data

        class Slow(data.Dataset):
            def __len__(self):
                return 6

            def __getitem__(self, i):
                time.sleep(0.6 if slow and i == 3 else 0)
                return np.float32(i)

        class SlowStream(data.IterableDataset):
            def __iter__(self):
                info = data.get_worker_info()
                for i in range(info.id, 6, info.num_workers):
                    time.sleep(0.6 if slow and i == 3 else 0)
                    yield np.float32(i)

        kw = dict(multiprocessing_context=context) if lib is cr and context else {}
        dl = data.DataLoader(SlowStream() if stream else Slow(), batch_size=2, num_workers=2,
                             timeout=timeout, **kw)
        return [_norm(b) for b in dl]

    assert _both(lambda lib: loader(lib, slow=False, timeout=60))
    for lib in (torch, cr) if not stream and context is None else (cr,):
        with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0\.15 seconds"):
            loader(lib, slow=True, timeout=0.15)


# --- random pipelines: datasets, samplers and worker options together ----------------------------


_Pair = collections.namedtuple("_Pair", "a b")


def _dataset(lib, rng, n):
    data = lib.utils.data
    x = rng.standard_normal((n, 2)).astype(str(rng.choice(["float32", "float64"])))
    y = rng.integers(0, 4, n)
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return data.TensorDataset(lib.tensor(x), lib.tensor(y))
    if kind == 1:  # dict samples with strings and namedtuples
        return [{"x": x[i], "tag": f"t{i}", "p": _Pair(int(y[i]), float(x[i, 0]))}
                for i in range(n)]
    if kind == 2:
        k = int(rng.integers(0, n + 1))
        parts = [data.TensorDataset(lib.tensor(x[:k]), lib.tensor(y[:k])),
                 data.Subset(data.TensorDataset(lib.tensor(x), lib.tensor(y)), list(range(k, n)))]
        return data.ConcatDataset(parts)
    if kind == 3:
        return data.StackDataset(data.TensorDataset(lib.tensor(x)), [int(v) for v in y])
    if kind == 4:
        return data.Subset(data.TensorDataset(lib.tensor(x), lib.tensor(y)),
                           rng.permutation(n).tolist())
    return [(lib.tensor(x[i]), float(y[i])) for i in range(n)]


def _sampler(lib, rng, n, ds):
    data = lib.utils.data
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return dict(sampler=data.SequentialSampler(ds), batch_size=int(rng.integers(1, 4)))
    if kind == 1:
        replicas = int(rng.integers(1, 4))
        rank = int(rng.integers(0, replicas))
        return dict(sampler=data.DistributedSampler(ds, replicas, rank, shuffle=False,
                                                    drop_last=bool(rng.integers(0, 2))),
                    batch_size=int(rng.integers(1, 4)))
    if kind == 2:
        inner = rng.integers(0, n, int(rng.integers(0, 2 * n))).tolist()
        return dict(batch_sampler=data.BatchSampler(inner, int(rng.integers(1, 4)),
                                                    bool(rng.integers(0, 2))))
    if kind == 3:
        return dict(batch_size=None)
    return dict(batch_size=int(rng.integers(1, 5)), drop_last=bool(rng.integers(0, 2)))


@pytest.mark.parametrize("seed", range(30))
def test_random_pipelines_with_workers_give_pytorchs_batches(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    draws = rng.integers(0, 2**31, 8)
    workers = int(rng.integers(1, 4))
    extra = [dict(), dict(persistent_workers=True), dict(prefetch_factor=1),
             dict(timeout=30), dict(worker_init_fn=lambda w: None)][seed % 5]

    def loader(lib, workers, extra):
        local = np.random.default_rng(draws)
        ds = _dataset(lib, local, n)
        kw = _sampler(lib, local, n, ds)
        dl = lib.utils.data.DataLoader(ds, num_workers=workers, **kw, **extra)
        return [[_norm(b) for b in dl] for _ in range(2)], len(dl)

    theirs = outcome(torch, lambda lib: loader(lib, 0, {}), errors=_ERRORS)
    ours = outcome(cr, lambda lib: loader(lib, workers, extra), errors=_ERRORS)
    assert not isinstance(theirs, Exception) and ours == theirs  # worker threads: the same


# --- samples that require grad -------------------------------------------------------------------


def test_stacking_samples_that_require_grad_passes_gradcheck():
    from chainrule.data.gather import stack_rows

    rng = np.random.default_rng(0)
    rows = [cr.tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(3)]
    np.testing.assert_array_equal(stack_rows(rows, np.dtype("float64")).detach().numpy(),
                                  np.stack([r.detach().numpy() for r in rows]))
    assert cr.autograd.gradcheck(lambda *r: stack_rows(list(r), np.dtype("float64")) ** 2, rows)


@pytest.mark.parametrize("seed", range(8))
def test_samples_that_require_grad_are_collated_with_their_gradient(seed):
    # default_collate refused a sample Tensor that requires grad (a custom dataset's self.z[i]
    # of learned latent codes); PyTorch stacks it and the gradient reaches the Tensor
    rng = np.random.default_rng(seed)
    n, width = int(rng.integers(2, 6)), int(rng.integers(1, 4))
    codes, targets = rng.standard_normal((n, width)), rng.standard_normal(n)
    shape = [lambda z, i: (z[i], float(targets[i])), lambda z, i: {"z": z[i], "k": i},
             lambda z, i: [z[i] * 2, (z[i].sum(), np.float32(i))], lambda z, i: z[i]][seed % 4]
    batch_size = [1, 2, 3, None][seed // 2 % 4]

    def train(lib):
        z = lib.tensor(codes, requires_grad=True)

        class Latents(lib.utils.data.Dataset):
            def __len__(self):
                return n

            def __getitem__(self, i):
                return shape(z, i)

        total = 0.0
        for batch in lib.utils.data.DataLoader(Latents(), batch_size=batch_size):
            leaves = []
            stack = [batch]
            while stack:
                b = stack.pop()
                if isinstance(b, dict):
                    stack.extend(b.values())
                elif isinstance(b, (list, tuple)):
                    stack.extend(b)
                elif b.requires_grad:
                    leaves.append(b)
            loss = sum((leaf * leaf).sum() for leaf in leaves)
            loss.backward()
            total += float(loss)
        return round(total, 9), z.grad.numpy().tolist()

    _both(train)


# --- default_collate and default_convert called directly, on more kinds of leaves ----------------

_EXTRA_LEAVES = [np.str_("u"), b"by", None, 1 + 2j, np.complex64(1j), np.array(["a", "b"]),
                 np.int8(-3), np.array(3, np.uint16), collections.OrderedDict(a=1.5),
                 collections.defaultdict(int, {"k": 2}), np.float16(1.5), 10**20,
                 np.zeros((0, 2)), (), [], {}, np.array([1, 2], dtype=np.uint32)]


def _direct_collation_of_random_nested_samples_case(seed):
    # wave 11 went through the DataLoader; these call default_collate and default_convert
    # themselves, with leaves it did not draw (NumPy strings, bytes, None, complex numbers,
    # string arrays, unsigned arrays, OrderedDict/defaultdict, ints past int64, empty containers)
    from .test_fuzz11_collate import _T, _bump, _gen, _map

    rng = np.random.default_rng(seed)
    base = _gen(rng)
    leaf = _EXTRA_LEAVES[seed % len(_EXTRA_LEAVES)]  # the same in every sample, as it is
    samples = [_map(base, lambda x, i=i: _bump(x, i)) for i in range(3)]

    def collated(lib, convert):
        made = [_map(s, lambda v: lib.tensor(v.a) if isinstance(v, _T) else v) for s in samples]
        made = [(s, leaf) if seed % 2 else {"e": leaf, "b": s} for s in made]
        if convert:
            return _norm(lib.utils.data.default_convert(made[0]))
        return _norm(lib.utils.data.default_collate(made))

    _both(lambda lib: collated(lib, False))
    _both(lambda lib: collated(lib, True))


def test_direct_collation_of_random_nested_samples():
    each_case(_direct_collation_of_random_nested_samples_case, grid(("seed", range(60))))


# --- determinism under manual_seed ---------------------------------------------------------------


@pytest.mark.parametrize("workers", [0, 2])
def test_manual_seed_repeats_every_random_choice_of_the_data_pipeline(workers):
    # as in PyTorch, with no generator given the shuffles, samplers and splits draw from the
    # default generator: the same seed repeats them, another seed changes them
    def draws(lib, seed):
        lib.manual_seed(seed)
        data = lib.utils.data
        dl = data.DataLoader(list(range(30)), batch_size=7, shuffle=True,
                             num_workers=workers if lib is cr else 0)
        return ([[b.tolist() for b in dl] for _ in range(2)],
                list(data.RandomSampler(range(30))),
                list(data.RandomSampler(range(30), replacement=True, num_samples=40)),
                list(data.SubsetRandomSampler(range(5, 35))),
                list(data.WeightedRandomSampler([1.0] * 30, 30, replacement=False)),
                [list(p) for p in data.random_split(range(30), [0.3, 0.7])])

    for lib in (torch, cr):
        first, again, other = draws(lib, 0), draws(lib, 0), draws(lib, 1)
        assert first == again and first[0][0] != first[0][1]  # passes differ, runs repeat
        assert all(a != b for a, b in zip(first, other, strict=True))
        assert sorted(sum(first[0][0], [])) == list(range(30)) == sorted(first[4])


@pytest.mark.parametrize("context", [None, "fork"])
def test_initial_seed_in_a_worker_is_its_seed_so_seed_worker_changes_every_pass(context):
    # initial_seed() in a worker was the main process's seed: PyTorch's reproducibility recipe
    # (seed_worker: numpy.random.seed(torch.initial_seed() % 2**32)) seeded NumPy the same in
    # every worker and every pass, so a dataset's NumPy augmentations repeated epoch after
    # epoch. In PyTorch it is the worker's seed (base_seed + id), new every pass
    def passes(lib):
        data = lib.utils.data
        lib.manual_seed(5)

        def seed_worker(worker_id):
            np.random.seed(lib.initial_seed() % 2**32)

        class Noisy(data.Dataset):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                info = data.get_worker_info()
                return np.array([np.random.rand(), lib.initial_seed() == info.seed,
                                 info.seed - info.id])

        kw = dict(multiprocessing_context=context) if lib is cr and context else {}
        dl = data.DataLoader(Noisy(), batch_size=2, num_workers=2, worker_init_fn=seed_worker,
                             **kw)
        got = [np.concatenate([b.numpy() for b in dl]) for _ in range(2)]
        base_seeds = {float(v) for g in got for v in g[:, 2]}
        return (bool(got[0][:, 1].all() and got[1][:, 1].all()), len(base_seeds),
                bool(np.all(got[0][:, 0] != got[1][:, 0])), lib.initial_seed())

    assert _both(passes) == (True, 2, True, 5)  # one base seed per pass, the caller's kept


def test_manual_seed_in_a_worker_leaves_the_callers_generator_alone():
    # a worker_init_fn's torch.manual_seed(42 + worker_id) reseeded the process-wide generator
    # from a worker thread: every later pass shuffled in the same order and the caller's own
    # draws (dropout, initialization) restarted from 42 + k. In PyTorch it seeds the worker only
    def passes(lib):
        data = lib.utils.data
        lib.manual_seed(0)

        class Seeds(data.Dataset):
            def __len__(self):
                return 8

            def __getitem__(self, i):
                return np.array([i, lib.initial_seed() - data.get_worker_info().id])

        dl = data.DataLoader(Seeds(), batch_size=8, shuffle=True, num_workers=2,
                             worker_init_fn=lambda w: lib.manual_seed(42 + w))
        batches = [next(iter(dl)).numpy() for _ in range(4)]
        return (len({tuple(b[:, 0]) for b in batches}), sorted({int(s) for b in batches
                                                                for s in b[:, 1]}),
                lib.initial_seed())

    assert _both(passes) == (4, [42], 0)  # 4 orders; every sample saw its worker's 42 + id
