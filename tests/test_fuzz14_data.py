"""Fuzz wave 14, the data pipeline against PyTorch's ``torch.utils.data``: the DataLoader's
options, attributes and errors, the samplers, the datasets' arithmetic (ConcatDataset, Subset,
random_split, TensorDataset, StackDataset) and streams. The same program runs on both libraries
(``lib`` is ``torch`` or ``chainrule``); what a random generator decides is compared only where
PyTorch defines it (the multiset of indices, lengths, batch sizes), and chainrule's seeded runs
must repeat bit for bit. Earlier waves: tests/test_fuzz6_data.py, tests/test_fuzz11_collate.py.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")

ERRORS = (RuntimeError, TypeError, ValueError, IndexError, KeyError, AssertionError)


def _norm(b):
    """A batch or sample as plain data: Tensors by dtype, shape and values."""
    if isinstance(b, (torch.Tensor, cr.Tensor)):
        values = b.detach().numpy().tolist()
        return ("T", str(b.dtype).replace("torch.", ""), tuple(b.shape), values)
    if isinstance(b, dict):
        return {k: _norm(v) for k, v in b.items()}
    if isinstance(b, tuple) and hasattr(b, "_fields"):
        return ("NT", type(b).__name__, [_norm(v) for v in b])
    if isinstance(b, (list, tuple)):
        return (type(b).__name__, [_norm(v) for v in b])
    if isinstance(b, np.ndarray):
        return ("A", str(b.dtype), b.tolist())
    return ("V", type(b).__name__, b)


def _run(lib, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn(lib))
        except ERRORS as e:
            return ("raised", type(e).__name__ if not isinstance(e, AssertionError) else "any")


def _both(fn, errors_alike=False):
    """``fn(lib)`` gives the same plain result in both libraries, or both raise (the same
    exception type with ``errors_alike``)."""
    theirs, ours = _run(torch, fn), _run(cr, fn)
    if theirs[0] == "raised" or ours[0] == "raised":
        assert theirs[0] == ours[0], f"torch {theirs}, chainrule {ours}"
        if errors_alike and "any" not in (theirs[1], ours[1]):
            assert theirs[1] == ours[1], f"torch {theirs}, chainrule {ours}"
        return None
    assert ours[1] == theirs[1]
    return ours[1]


def _tensor(lib, values, dtype=None):
    return lib.tensor(np.asarray(values, dtype=dtype))


# --- TensorDataset -------------------------------------------------------------------------------


def _tensor_dataset_samples_are_tensors_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 6))
    arrays = [rng.standard_normal((n, 2)).astype("float32"), rng.integers(0, 5, n),
              rng.standard_normal(n)]
    index = [int(rng.integers(-n, n)), slice(0, int(rng.integers(0, n + 1))), n, -n - 1][seed % 4]

    def sample(lib):
        ds = lib.utils.data.TensorDataset(*[_tensor(lib, a) for a in arrays])
        # numpy rows before: x.unsqueeze(0) of a sample failed and ds.tensors was missing
        return _norm(ds[index]), len(ds), _norm(list(ds.tensors))

    _both(sample, errors_alike=True)


def test_tensor_dataset_samples_are_tensors():
    each_case(_tensor_dataset_samples_are_tensors_case, grid(("seed", range(12))))


def test_tensor_dataset_keeps_the_given_tensors():
    x = cr.arange(6.0).reshape(3, 2)
    ds = cr.utils.data.TensorDataset(x, np.arange(3))
    assert ds.tensors[0] is x and isinstance(ds.tensors[1], cr.Tensor)
    first, label = ds[0]
    assert tuple(first.unsqueeze(0).shape) == (1, 2) and label.dtype == cr.int64


def test_a_subclass_that_changes_each_sample_is_read_sample_by_sample():
    # the loader gathered a TensorDataset's batches from its arrays, also for a subclass with its
    # own __getitem__: its change of each sample (an augmentation, a scaled input) was skipped
    def batches(lib):
        class Doubled(lib.utils.data.TensorDataset):
            def __getitem__(self, i):
                x, y = super().__getitem__(i)
                return x * 2, y + 1

        ds = Doubled(_tensor(lib, np.arange(5.0)), _tensor(lib, np.arange(5)))
        return [_norm(b) for b in lib.utils.data.DataLoader(ds, batch_size=2)]

    assert _both(batches)[0][1][0][3] == [0.0, 2.0]


# --- DataLoader options, their errors and attributes ---------------------------------------------

_OPTIONS = [dict(persistent_workers=True), dict(prefetch_factor=2), dict(timeout=-1),
            dict(num_workers=-1), dict(pin_memory=True), dict(pin_memory_device=""),
            dict(in_order=True), dict(multiprocessing_context="fork"),
            dict(batch_size=None, drop_last=True), dict(batch_size=0),
            dict(batch_size=2.0), dict(batch_size=True), dict(shuffle=True, sampler=[0, 1]),
            dict(batch_sampler=[[0, 1]], batch_size=2),
            dict(batch_sampler=[[0, 1]], drop_last=True),
            dict(batch_sampler=[[0, 1]], shuffle=True), dict(batch_sampler=[[0, 1]], sampler=[0]),
            dict(batch_sampler=[[0, 1]], batch_size=None), dict(shuffle=None), dict(shuffle=0),
            dict(prefetch_factor=None), dict(prefetch_factor=-1, num_workers=1),
            dict(batch_size=3, drop_last=True), dict(batch_size=None), dict(sampler=[4, 0, 4]),
            dict(sampler=[4, 0, 4], batch_size=2, drop_last=True),
            dict(batch_sampler=[[3], [1, 0]])]


def _loader_options_errors_and_attributes_case(options):
    # persistent_workers or prefetch_factor without workers and a negative timeout were accepted
    # and ignored; PyTorch refuses them. The attributes a program reads (loader.sampler,
    # loader.batch_sampler, loader.generator, loader.pin_memory...) were missing or None.
    def loader(lib):
        dl = lib.utils.data.DataLoader(list(range(7)), **options)
        batches = [_norm(b) for b in dl]
        attrs = [getattr(dl, a) for a in ("batch_size", "drop_last", "num_workers", "pin_memory",
                                          "timeout", "prefetch_factor", "persistent_workers",
                                          "generator", "multiprocessing_context",
                                          "pin_memory_device", "in_order", "worker_init_fn")]
        samplers = [type(dl.sampler).__name__, type(dl.batch_sampler).__name__,
                    dl.collate_fn.__name__]
        return batches, len(dl), attrs, samplers, len(dl.sampler)

    _both(loader)


def test_loader_options_errors_and_attributes():
    each_case(_loader_options_errors_and_attributes_case, grid(
        ("options", _OPTIONS, [str(o) for o in _OPTIONS]),
    ))


def test_prefetch_factor_is_two_with_workers_and_the_default_samplers_follow_the_loader():
    def loader(lib):
        dl = lib.utils.data.DataLoader(list(range(5)), batch_size=2, num_workers=1)
        return (dl.prefetch_factor, list(dl.sampler), list(dl.batch_sampler),
                dl.batch_sampler.sampler is dl.sampler, dl.sampler is dl.sampler)

    assert _both(loader) == (2, [0, 1, 2, 3, 4], [[0, 1], [2, 3], [4]], True, True)
    # with shuffle the sampler is a RandomSampler on the loader's generator: iterating it draws
    # the permutation that the next pass would have drawn
    g = cr.Generator().manual_seed(3)
    dl = cr.utils.data.DataLoader(list(range(9)), batch_size=9, shuffle=True, generator=g)
    assert isinstance(dl.sampler, cr.utils.data.RandomSampler) and dl.generator is g
    state = g.get_state()
    drawn = list(dl.sampler)
    g.set_state(state)
    assert next(iter(dl)).tolist() == drawn and sorted(drawn) == list(range(9))


def test_a_sampler_without_a_length_is_iterated_and_len_is_refused():
    # a generator or iterator as sampler was a TypeError at construction; PyTorch takes any
    # iterable of indices (only len(loader) needs its length)
    def loader(lib):
        dl = lib.utils.data.DataLoader(list(range(10, 17)), sampler=iter([6, 0, 3]), batch_size=2)
        first = [b.tolist() for b in dl]
        with pytest.raises(TypeError):
            len(dl)
        return first, [b.tolist() for b in dl]  # a one-shot iterator: the second pass is empty

    assert _both(loader) == ([[16, 10], [13]], [])


def test_shuffling_an_empty_dataset_is_refused_as_in_pytorch():
    # it yielded no batch at all, so a training loop ran silently without a step
    _both(lambda lib: lib.utils.data.DataLoader([], batch_size=2, shuffle=True), errors_alike=True)
    assert _both(lambda lib: len(lib.utils.data.DataLoader([], batch_size=2))) == 0


# --- random_split, Subset, ConcatDataset, StackDataset -------------------------------------------

_SPLITS = [[0.5, 0.5], [0.3, 0.7], [0.1, 0.2, 0.7], [1 / 3] * 3, [0.25] * 4, [1.0], [0.0, 1.0],
           [0.6, 0.6], [-0.5, 1.5], [0.2, 0.8000000000001], [0.2, 0.7999999999], [0.3, 0.7, 0.0],
           (0.9, 0.1), [1], [1, 0], [True, False], [0.5, 0.5000001], "n", "n-1", "n+1"]


def _random_split_lengths_and_rounding_case(n, lengths):
    # lengths summing to a little over 1 were taken as fractions (PyTorch: an error), and lengths
    # whose sum is 1 but not all floats ([1], [1, 0]) were refused (PyTorch: fractions)
    if isinstance(lengths, str):
        lengths = {"n": [n, 0], "n-1": [n - 1, 1], "n+1": [n + 1, 0]}[lengths]

    def split(lib):
        parts = lib.utils.data.random_split(list(range(n)), lengths)
        return [len(p) for p in parts], sorted(i for p in parts for i in p)

    if min(lengths) < 0 and all(isinstance(v, int) for v in lengths):
        return  # PyTorch slices with a negative length; chainrule refuses it (below)
    _both(split)


def test_random_split_lengths_and_rounding():
    each_case(_random_split_lengths_and_rounding_case, grid(
        ("lengths", _SPLITS, [str(s) for s in _SPLITS]),
        ("n", [0, 1, 5, 7, 10, 11]),
    ))


def test_random_split_takes_tensor_lengths_refuses_negative_ones_and_repeats():
    def split(lib):
        parts = lib.utils.data.random_split(range(5), _tensor(lib, [2, 3]))
        return [len(p) for p in parts]

    assert _both(split) == [2, 3]
    with pytest.raises(ValueError, match=r"non-negative ints .* got \[6, -1\]"):
        cr.utils.data.random_split(range(5), [6, -1])
    with pytest.warns(UserWarning, match="length of split at index 1 is 0"):
        cr.utils.data.random_split(range(3), [1.0, 0.0])
    runs = [[list(p) for p in cr.utils.data.random_split(
        range(20), [0.3, 0.3, 0.4], generator=cr.Generator().manual_seed(9))] for _ in range(2)]
    assert runs[0] == runs[1] and sorted(sum(runs[0], [])) == list(range(20))


def _subset_of_random_indices_and_positions_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    indices = rng.integers(-n, n, int(rng.integers(0, 5))).tolist()
    k = max(len(indices), 1)
    where = [int(rng.integers(-k, k)), rng.integers(0, max(len(indices), 1), 2).tolist(), k][
        seed % 3]
    values = rng.standard_normal(n)

    def read(lib):
        base = lib.utils.data.TensorDataset(_tensor(lib, values))
        sub = lib.utils.data.Subset(base, indices)
        # a list of positions reads the dataset at once (it was a TypeError)
        return len(sub), _norm(sub[where]), _norm(sub.__getitems__(indices and [0, -1]))

    _both(read, errors_alike=True)


def test_subset_of_random_indices_and_positions():
    each_case(_subset_of_random_indices_and_positions_case, grid(("seed", range(20))))


def test_subset_getitems_reads_the_dataset_in_one_call():
    class Batched(cr.utils.data.Dataset):
        calls = []

        def __len__(self):
            return 6

        def __getitem__(self, i):
            return i * 10

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [i * 10 for i in indices]

    sub = cr.utils.data.Subset(Batched(), [5, 3, 1])
    assert sub.__getitems__([2, 0]) == [10, 50] and Batched.calls == [[1, 5]]


def _concat_dataset_indices_lengths_and_nesting_case(seed):
    rng = np.random.default_rng(seed)
    parts = [list(range(10 * p, 10 * p + int(rng.integers(0, 4)))) for p in
             range(int(rng.integers(1, 4)))]
    total = sum(map(len, parts))
    probes = list(range(-total - 1, total + 1))

    def read(lib):
        data = lib.utils.data
        flat = data.ConcatDataset(parts)
        nested = data.ConcatDataset([data.ConcatDataset(parts[:1]), *parts[1:]])
        got = []
        for i in probes:  # an index past either end raises (ValueError in PyTorch when negative)
            try:
                got.append((flat[i], nested[i]))
            except (IndexError, ValueError):
                got.append("out of range")
        return len(flat), flat.cumulative_sizes, got

    _both(read)


def test_concat_dataset_indices_lengths_and_nesting():
    each_case(_concat_dataset_indices_lengths_and_nesting_case, grid(("seed", range(20))))


def test_stack_dataset_tuples_dicts_and_batches():
    def read(lib):
        data = lib.utils.data
        pos = data.StackDataset(data.TensorDataset(_tensor(lib, [1.0, 2.0, 3.0])), "abc")
        kw = data.StackDataset(x=[1, 2, 3], y=data.Subset("abcd", [3, 2, 1]))
        loader = data.DataLoader(kw, batch_size=2)
        return (_norm(pos[-1]), _norm(kw[0]), _norm(pos.__getitems__([2, 0])),
                [_norm(b) for b in loader], len(pos))

    _both(read)
    _both(lambda lib: lib.utils.data.StackDataset([1, 2], "abc"), errors_alike=True)


# --- collation of dates --------------------------------------------------------------------------

_DATES = [np.array(["2020-01-01"], dtype="datetime64[D]"), np.datetime64("2021-03"),
          np.timedelta64(3, "h"), np.array([1, 2], dtype="timedelta64[s]")]


@pytest.mark.parametrize("value", _DATES, ids=[str(v.dtype) for v in _DATES])
def test_dates_and_durations_are_refused_as_in_pytorch(value):
    # they became Tensors of dtype datetime64/timedelta64 (NumPy's timedelta64 is an integer
    # type), which no operation understands; PyTorch raises a TypeError
    _both(lambda lib: _norm(lib.utils.data.default_convert({"t": value})), errors_alike=True)
    _both(lambda lib: _norm(lib.utils.data.default_collate([value, value])), errors_alike=True)
    _both(lambda lib: _norm(lib.utils.data.default_collate([(1.5, value)] * 2)), errors_alike=True)
    _both(lambda lib: [_norm(b) for b in lib.utils.data.DataLoader([value] * 3, batch_size=2)],
          errors_alike=True)


# --- samplers ------------------------------------------------------------------------------------


def _gen(lib, seed):
    return lib.Generator().manual_seed(seed)


def _random_samplers_draw_what_pytorch_defines_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    replacement = bool(seed % 2)
    num = [None, int(rng.integers(1, 3 * n + 1))][seed // 2 % 2]
    weights = rng.random(n) * (rng.random(n) > 0.3)
    weights[int(rng.integers(0, n))] += 0.5  # at least one non-zero weight
    subset = rng.integers(0, 50, int(rng.integers(0, 6))).tolist()
    m = int(rng.integers(1, 2 * n + 1)) if replacement else int((weights > 0).sum())

    def draw(lib):
        data = lib.utils.data
        rs = data.RandomSampler(range(n), replacement=replacement, num_samples=num,
                                generator=_gen(lib, seed))
        drawn = list(rs)
        counts = np.bincount(drawn, minlength=n)
        k = len(drawn)
        if not replacement:  # whole permutations, then part of one: counts differ by <= 1
            assert counts.max() - counts.min() <= 1 and counts.sum() == k
            assert sorted(drawn[:k - k % n]) == sorted(list(range(n)) * (k // n))
        assert len(set(drawn)) == len(drawn) or k > n or replacement
        srs = data.SubsetRandomSampler(subset, generator=_gen(lib, seed))
        assert sorted(srs) == sorted(subset)
        ws = data.WeightedRandomSampler(_tensor(lib, weights), m, replacement=replacement,
                                        generator=_gen(lib, seed))
        picks = list(ws)
        assert all(weights[i] > 0 for i in picks) and len(picks) == m
        assert replacement or len(set(picks)) == m
        return len(rs), k, len(srs), len(ws)

    _both(draw)
    # a seeded chainrule sampler repeats itself bit for bit
    again = [list(cr.utils.data.RandomSampler(range(n), replacement=replacement,
                                              num_samples=num, generator=_gen(cr, seed)))
             for _ in range(2)]
    assert again[0] == again[1]


def test_random_samplers_draw_what_pytorch_defines():
    each_case(_random_samplers_draw_what_pytorch_defines_case, grid(("seed", range(24))))


def _distributed_sampler_shares_padding_and_shuffle_case(n, replicas, drop_last):
    def shares(lib, shuffle, epoch=0):
        out = []
        for rank in range(replicas):
            s = lib.utils.data.DistributedSampler(range(n), num_replicas=replicas, rank=rank,
                                                  shuffle=shuffle, seed=4, drop_last=drop_last)
            s.set_epoch(epoch)
            out.append((len(s), list(s)))
        return out

    _both(lambda lib: shares(lib, False))  # in order: the shares themselves are defined
    # shuffled: the lengths and the multiset of all shares are PyTorch's; every epoch is a
    # permutation shared by the ranks (so the shares are disjoint but for the padding)
    ours = shares(cr, True)
    theirs = shares(torch, True)
    assert [k for k, _ in ours] == [k for k, _ in theirs]
    every = sorted(i for _, share in ours for i in share)
    counts = np.bincount(every, minlength=n) if every else np.zeros(n, int)
    expected = np.bincount(sorted(i for _, share in theirs for i in share), minlength=n) \
        if n and theirs[0][0] else np.zeros(n, int)
    assert sorted(counts.tolist()) == sorted(expected.tolist())
    assert shares(cr, True) == ours  # seeded: repeats; another epoch, another permutation
    assert min(n, len(every)) < 5 or shares(cr, True, epoch=1) != ours


def test_distributed_sampler_shares_padding_and_shuffle():
    each_case(_distributed_sampler_shares_padding_and_shuffle_case, grid(
        ("drop_last", [False, True]),
        ("replicas", [1, 2, 3, 4, 11]),
        ("n", [0, 1, 5, 7, 8, 10]),
    ))


def test_batch_sampler_over_samplers_and_lengths():
    def batches(lib):
        data = lib.utils.data
        out = []
        for sampler in ([5, 1, 9, 2, 2], data.SequentialSampler(range(7)), range(0), "abc"):
            for size in (1, 2, 3, 8):
                for drop in (False, True):
                    b = data.BatchSampler(sampler, size, drop)
                    out.append((len(b), list(b)))
        return out

    _both(batches)
    for bad in (0, -1, 2.0, True, None):
        _both(lambda lib, bad=bad: lib.utils.data.BatchSampler(range(3), bad, False),
              errors_alike=True)
    _both(lambda lib: lib.utils.data.BatchSampler(range(3), 2, None), errors_alike=True)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("size", [1, 3, 4])
def test_a_sampler_of_batches_with_batch_size_none(workers, size):
    # PyTorch's fast batching of a TensorDataset: BatchSampler as the sampler and
    # batch_size=None, so that dataset[[i, j, k]] reads a batch at once; the loader turned each
    # index into an int and raised a TypeError on the lists
    def loader(lib):
        data = lib.utils.data
        ds = data.TensorDataset(_tensor(lib, np.arange(14.0).reshape(7, 2)),
                                _tensor(lib, np.arange(7)))
        sampler = data.BatchSampler(data.SequentialSampler(ds), size, drop_last=False)
        dl = data.DataLoader(ds, sampler=sampler, batch_size=None, num_workers=workers)
        keyed = data.DataLoader({"a": 1, "b": 2}, sampler=["b", "a", "b"], batch_size=2)
        return [_norm(b) for b in dl], len(dl), [_norm(b) for b in keyed]

    _both(loader)


def test_a_sampler_subclass_without_len_is_iterated_and_has_no_len():
    # the base Sampler defined __len__ raising NotImplementedError: len(loader) raised that
    # instead of PyTorch's TypeError (tqdm(loader) catches only TypeError), and list(sampler)
    # asked for it
    def loader(lib):
        class Picks(lib.utils.data.Sampler):
            def __init__(self):
                pass

            def __iter__(self):
                return iter([2, 0, 2])

        class Batches(lib.utils.data.Sampler):
            def __init__(self):
                pass

            def __iter__(self):
                return iter([[2, 0], [1]])

        out = []
        for kw in (dict(sampler=Picks(), batch_size=2), dict(batch_sampler=Batches())):
            dl = lib.utils.data.DataLoader(list(range(10, 13)), **kw)
            with pytest.raises(TypeError):
                len(dl)
            out.append([b.tolist() for b in dl])
        return out

    assert _both(loader) == [[[12, 10], [12]], [[12, 10], [11]]]


def test_a_dataset_without_len_is_read_through_a_sampler_or_a_subset():
    # the base Dataset defined __len__ raising NotImplementedError (PyTorch's has none):
    # len() of such a dataset was not a TypeError and list() of it failed
    def read(lib):
        class Squares(lib.utils.data.Dataset):
            def __getitem__(self, i):
                if i >= 4:
                    raise IndexError(i)
                return i * i

        ds = Squares()
        with pytest.raises(TypeError):
            len(ds)
        loader = lib.utils.data.DataLoader(ds, sampler=[3, 1], batch_size=2)
        sub = lib.utils.data.Subset(ds, [2, 3])
        return list(ds), [b.tolist() for b in loader], [sub[0], sub[1]], len(sub)

    assert _both(read) == ([0, 1, 4, 9], [[9, 1]], [4, 9], 2)
    _both(lambda lib: lib.utils.data.DataLoader(lib.utils.data.Dataset(), batch_size=2).__len__())


# --- the loader end to end on random datasets ----------------------------------------------------


def _random_dataset(lib, rng, n):
    data = lib.utils.data
    x = rng.standard_normal((n, 2)).astype(str(rng.choice(["float32", "float64"])))
    y = rng.integers(0, 4, n)
    kind = int(rng.integers(0, 5))
    if kind == 0:
        return data.TensorDataset(lib.tensor(x), lib.tensor(y))
    if kind == 1:
        return [(x[i], int(y[i])) for i in range(n)]
    if kind == 2:
        base = data.TensorDataset(lib.tensor(np.concatenate([x, x])), lib.tensor(
            np.concatenate([y, y])))
        return data.Subset(base, rng.permutation(2 * n)[:n].tolist())
    if kind == 3:
        k = int(rng.integers(0, n + 1))
        return data.ConcatDataset([data.TensorDataset(lib.tensor(x[:k]), lib.tensor(y[:k])),
                                   [(lib.tensor(x[i]), lib.tensor(y[i])) for i in range(k, n)]])
    return data.StackDataset(x=data.TensorDataset(lib.tensor(x)), y=list(y))


def _random_pipelines_batch_as_pytorch_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    batch_size = [None, 1, 2, 3, 5][seed % 5]
    drop_last = bool(rng.integers(0, 2)) and batch_size is not None
    order = rng.integers(0, n, int(rng.integers(0, 2 * n))).tolist()
    mode = int(rng.integers(0, 4))  # in order, a sampler, a batch sampler, a collate_fn
    workers = int(rng.integers(0, 3))
    draws = rng.integers(0, 2**31, 8)

    def loader(lib, threads):
        ds = _random_dataset(lib, np.random.default_rng(draws), n)
        kw = dict(batch_size=batch_size, drop_last=drop_last)
        if mode == 1:
            kw["sampler"] = order
        if mode == 2:
            kw = dict(batch_sampler=[order[i:i + 2] for i in range(0, len(order), 2)])
        if mode == 3:
            kw["collate_fn"] = lambda samples: ("custom", samples)
        dl = lib.utils.data.DataLoader(ds, num_workers=threads, **kw)
        return [_norm(b) for b in dl], len(dl)

    theirs = _run(torch, lambda lib: loader(lib, 0))
    assert _run(cr, lambda lib: loader(lib, 0)) == theirs
    if workers:  # chainrule's worker threads give the same batches
        assert _run(cr, lambda lib: loader(lib, workers)) == theirs


def test_random_pipelines_batch_as_pytorch():
    each_case(_random_pipelines_batch_as_pytorch_case, grid(("seed", range(40))))


@pytest.mark.parametrize("seed", range(12))
def test_shuffled_passes_hold_pytorch_counts_and_repeat_when_seeded(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    batch_size = [None, 1, 3, 4][seed % 4]
    drop_last = bool(seed % 3 == 0) and batch_size is not None

    def passes(lib, seed_of_pass, workers=0):
        ds = lib.utils.data.TensorDataset(lib.tensor(np.arange(n)))
        dl = lib.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True,
                                       drop_last=drop_last, num_workers=workers,
                                       generator=lib.Generator().manual_seed(seed_of_pass))
        return [[b[0].tolist() for b in dl] for _ in range(2)], len(dl)

    (t_passes, t_len), (c_passes, c_len) = passes(torch, seed), passes(cr, seed)
    assert c_len == t_len
    for ours, theirs in zip(c_passes, t_passes, strict=True):
        sizes = [np.size(b) for b in ours]
        assert sizes == [np.size(b) for b in theirs] and len(ours) == t_len
        seen = np.ravel(np.concatenate([np.ravel(b) for b in ours])) if ours else []
        assert len(set(seen.tolist() if len(seen) else [])) == len(seen)  # no repeats
    assert passes(cr, seed) == (c_passes, c_len)  # bit for bit, pass after pass
    assert passes(cr, seed, workers=2) == (c_passes, c_len)
    assert n < 6 or c_passes[0] != c_passes[1]  # every pass draws a new order


def test_streams_lengths_and_chains():
    def stream(lib, n, length=None):
        class Count(lib.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(n))

        if length is not None:
            Count.__len__ = lambda self: length
        return Count()

    def read(lib):
        data, out = lib.utils.data, []
        for n, length in ((0, None), (5, None), (5, 5), (6, 6)):
            for batch_size in (None, 1, 2, 4):
                for drop_last in (False, True) if batch_size else (False,):
                    dl = data.DataLoader(stream(lib, n, length), batch_size=batch_size,
                                         drop_last=drop_last)
                    try:
                        size = len(dl)
                    except TypeError:
                        size = "no len"
                    out.append((size, [_norm(b) for b in dl]))
        chain = data.ChainDataset([stream(lib, 2, 2), stream(lib, 3, 3)])
        out.append((len(chain), list(chain), list(stream(lib, 2) + stream(lib, 1))))
        with pytest.raises(TypeError):
            len(data.ChainDataset([stream(lib, 2, 2), stream(lib, 3)]))
        return out

    _both(read)


@pytest.mark.parametrize("workers", [0, 2])
def test_the_loader_reads_a_batch_by_getitems_as_pytorch(workers):
    # PyTorch's loader reads a batch with dataset.__getitems__(indices) when the dataset has one
    # (a batched read from disk, or batch-level work); the loader called __getitem__ per sample
    def read(lib):
        data = lib.utils.data

        class Bulk(data.Dataset):
            def __len__(self):
                return 5

            def __getitem__(self, i):
                return i

            def __getitems__(self, indices):
                return [100 + i for i in indices]

        out = []
        class BulkRows(data.TensorDataset):
            def __getitems__(self, indices):
                return [(self.tensors[0][i] * 10,) for i in indices]

        rows = BulkRows(_tensor(lib, np.arange(5.0)))
        sets = (Bulk(), data.Subset(Bulk(), [4, 2, 0]), data.StackDataset(Bulk(), list("abcde")),
                rows)
        for ds in sets:
            for kw in (dict(batch_size=2), dict(batch_size=None),
                       dict(batch_size=2, collate_fn=list)):
                out.append([_norm(b) for b in data.DataLoader(ds, num_workers=workers, **kw)])
        return out

    got = _both(read)
    assert got[0][0] == ("T", "int64", (2,), [100, 101]) and got[1][0] == ("V", "int", 0)
