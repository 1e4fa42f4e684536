"""Ninth fuzz wave, streams: random IterableDataset/ChainDataset configurations (sharded or not
through get_worker_info, with a right, short or long __len__ or none) read by a DataLoader with
0-3 workers, batch_size None or k, drop_last, a custom collate_fn, and the options PyTorch refuses
for streams; StackDataset (tuple and dict samples, __getitems__) and DistributedSampler under
random sizes, ranks and options. Batches, their order, len() and errors must be PyTorch's, up to
the documented 1-tuple/tuple batches and the length warning (docs/pytorch.md)."""

import warnings

import numpy as np
import pytest

import chainrule.data as cd

torch = pytest.importorskip("torch")
td = pytest.importorskip("torch.utils.data")
pytestmark = pytest.mark.torch


def _norm(b):
    if hasattr(b, "numpy") and hasattr(b, "shape"):
        a = b.numpy()
        return ("T", a.dtype.kind, a.shape, a.tolist())
    if isinstance(b, np.ndarray):
        return ("A", b.dtype.kind, b.shape, b.tolist())
    if isinstance(b, dict):
        return ("D", tuple(sorted((k, _norm(v)) for k, v in b.items())))
    if isinstance(b, (list, tuple)):
        return (type(b).__name__, tuple(_norm(v) for v in b))
    return ("P", type(b).__name__, b.item() if isinstance(b, np.generic) else b)


def _top(b):  # docs/pytorch.md: a plain sample's batch is a 1-tuple, a sample's fields a tuple
    if b[0] == "tuple":
        return b[1][0] if len(b[1]) == 1 else ("list", b[1])
    return b


def _item(kind, i, vals):
    return {"int": lambda: i, "float": lambda: float(vals[i]),
            "arr": lambda: np.array([vals[i], i]), "arr32": lambda: np.float32(vals[i:i + 1]),
            "tuple": lambda: (i, np.array([vals[i]])),
            "dict": lambda: {"x": np.array([vals[i], 1.0]), "y": i}}[kind]()


def _streams(lib):
    class Stream(lib.IterableDataset):
        def __init__(self, n, kind, shard, length, vals, offset):
            self.n, self.kind, self.shard, self.vals, self.offset = n, kind, shard, vals, offset
            self.length = length

        def __iter__(self):
            ids = range(self.offset, self.offset + self.n)
            info = lib.get_worker_info() if self.shard else None
            if info is not None:
                ids = ids[info.id::info.num_workers]
            return (_item(self.kind, i, self.vals) for i in ids)

    class Sized(Stream):
        def __len__(self):
            return self.length

    return Stream, Sized


def _draw(seed):
    rng = np.random.default_rng(seed)
    kind = str(rng.choice(["int", "float", "arr", "arr32", "tuple", "dict"]))
    parts, offset = [], 0
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.integers(0, 9))
        length = None if rng.random() < 0.5 else max(0, int(n + rng.choice([0, 0, 0, -1, 1])))
        parts.append((n, kind, bool(rng.random() < 0.7), length, offset))
        offset += n
    nw = int(rng.choice([0, 0, 1, 2, 3]))
    return {"parts": parts, "chain": bool(rng.random() < 0.5), "vals": rng.standard_normal(64),
            "bs": None if rng.random() < 0.25 else int(rng.integers(1, 5)),
            "drop_last": bool(rng.random() < 0.4), "nw": nw,
            "collate": "default" if nw else str(rng.choice(["default", "default", "list", "n"])),
            "bad": str(rng.choice(["none"] * 12 + ["shuffle", "sampler"]))}


def _read(lib, cfg):
    Stream, Sized = _streams(lib)
    parts = [(Sized if p[3] is not None else Stream)(*p[:4], cfg["vals"], p[4])
             for p in cfg["parts"]]
    ds = parts[0] if len(parts) == 1 and not cfg["chain"] else lib.ChainDataset(parts)
    kw = {"batch_size": cfg["bs"], "drop_last": cfg["drop_last"], "num_workers": cfg["nw"]}
    kw.update({"list": {"collate_fn": list}, "n": {"collate_fn": len}}.get(cfg["collate"], {}))
    kw.update({"shuffle": {"shuffle": True}, "sampler": {"sampler": [0, 1]}}.get(cfg["bad"], {}))
    try:
        loader = lib.DataLoader(ds, **kw)
    except (ValueError, TypeError) as e:
        return {"build": type(e).__name__}
    out = {}
    for name, obj in (("ds", ds), ("loader", loader)):
        try:
            out[name] = len(obj)
        except TypeError as e:
            out[name] = type(e).__name__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["batches"] = [_norm(b) for b in loader]
    if cfg["bs"] in (1, None):  # PyTorch compares batches with len(dataset) samples
        out["warned"] = any("fetched" in str(w.message) for w in caught)
    return out


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("block", range(4))
def test_random_streams_batch_as_pytorch(block):
    for seed in range(block * 50, block * 50 + 50):
        cfg = _draw(seed)
        want, got = _read(td, cfg), _read(cd, cfg)
        if "batches" in got and cfg["collate"] == "default":
            got["batches"] = [_top(b) for b in got["batches"]]
        assert got == want, (seed, {k: v for k, v in cfg.items() if k != "vals"})


def _maps(lib, seed):
    rng = np.random.default_rng(seed)
    out = []

    def record(label, fn):
        try:
            out.append((label, fn()))
        except (ValueError, TypeError, IndexError, KeyError) as e:
            out.append((label, type(e).__name__))

    lens = [int(rng.integers(2, 5))] * int(rng.integers(0, 4))
    if lens and rng.random() < 0.2:
        lens[-1] += 1
    parts = [[(i * 10 + j, float(j)) if rng.random() < 0.5 else i * 10 + j for j in range(n)]
             for i, n in enumerate(lens)]
    by_name = rng.random() < 0.4

    def stack():
        if by_name:
            return lib.StackDataset(**{f"k{i}": p for i, p in enumerate(parts)})
        return lib.StackDataset(*parts)

    record("len", lambda: len(stack()))
    record("items", lambda: [_norm(stack()[i]) for i in range(len(stack()))])
    record("last", lambda: _norm(stack()[-1]))
    record("getitems", lambda: _norm(stack().__getitems__([1, 0])))
    n, reps = int(rng.integers(0, 12)), int(rng.integers(1, 5))
    rank, drop, shuffle = int(rng.integers(-1, reps + 1)), bool(rng.random() < 0.5), False
    seed_, bs = int(rng.integers(0, 5)), int(rng.integers(1, 4))

    def sampler(r=rank, shuffle=shuffle):
        return lib.DistributedSampler(list(range(n)), num_replicas=reps, rank=r,
                                      shuffle=shuffle, seed=seed_, drop_last=drop)

    record("sampler", lambda: (len(sampler()), sampler().total_size, list(sampler())))
    record("loader", lambda: [_top(_norm(b)) for b in lib.DataLoader(
        list(range(n)), batch_size=bs, sampler=sampler())])

    def cover():  # shuffled: the shares of all ranks (docs: NumPy's permutation, not torch's)
        shares = []
        for r in range(reps):
            s = sampler(r, True)
            s.set_epoch(3)
            shares += list(s)
        return sorted(shares) if n % reps == 0 else len(shares)

    record("cover", cover)
    return out


def test_stack_dataset_and_distributed_sampler_as_pytorch():
    for seed in range(300):
        assert _maps(cd, seed) == _maps(td, seed), seed


def test_stack_dataset_getitems_reads_a_dataset_with_its_own_getitems():
    class Batched(list):
        def __getitems__(self, indices):
            return [("batched", self[i]) for i in indices]

    for lib in (td, cd):
        got = lib.StackDataset(Batched([1, 2, 3]), [4, 5, 6]).__getitems__([2, 0])
        assert got == [(("batched", 3), 6), (("batched", 1), 4)]
        got = lib.StackDataset(a=Batched([1, 2]), b="xy").__getitems__([1])
        assert got == [{"a": ("batched", 2), "b": "y"}]
