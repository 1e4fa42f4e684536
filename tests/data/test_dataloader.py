import numpy as np
import pytest

import chainrule as cr
from chainrule.data import ArrayDataset, DataLoader, Dataset, as_generator, collate


class Squares(Dataset):
    """A map-style dataset that is not an ArrayDataset, so the loader must collate samples."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i % 3


def test_array_dataset_holds_arrays_and_indexes_samples():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ds = ArrayDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, [8.0, 9.0])
    assert yi == 4
    assert ds.arrays[0] is x  # no copy of the data


def test_array_dataset_validates_lengths_and_input():
    with pytest.raises(ValueError, match=r"equal first dimensions.*\(3, 2\), \(4,\)"):
        ArrayDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one array"):
        ArrayDataset()
    with pytest.raises(ValueError, match="at least one dimension"):
        ArrayDataset(np.float32(3.0))
    with pytest.raises(TypeError, match="dtype object"):
        ArrayDataset([object(), object()])


@pytest.mark.parametrize("n,batch,drop_last,sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (10, 10, False, [10]),
    (10, 32, False, [10]),
    (10, 32, True, []),
    (4, 1, False, [1, 1, 1, 1]),
])
def test_batch_sizes_and_drop_last(n, batch, drop_last, sizes):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    loader = DataLoader(ArrayDataset(x, y), batch, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(b[1]) for b in batches] == sizes
    for xb, yb in batches:
        assert isinstance(xb, cr.Tensor) and xb.shape == (len(yb), 2) and xb.dtype == np.float32
    if not drop_last:
        np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)


def test_shuffle_is_a_permutation_and_reproducible_from_a_seed():
    x = np.arange(50, dtype=np.float32)[:, None]
    y = np.arange(50)

    def epoch_orders(seed):
        loader = DataLoader(ArrayDataset(x, y), 8, shuffle=True, rng=seed)
        return [np.concatenate([yb for _, yb in loader]) for _ in range(3)]

    first, again, other = epoch_orders(7), epoch_orders(7), epoch_orders(8)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert not np.array_equal(first[0], first[1])  # a new order every epoch
    for order in first:
        np.testing.assert_array_equal(np.sort(order), y)
    # inputs stay paired with their targets
    loader = DataLoader(ArrayDataset(x, y), 8, shuffle=True, rng=3)
    for xb, yb in loader:
        np.testing.assert_array_equal(xb[:, 0], yb)


def test_shuffle_with_a_generator_uses_and_advances_it():
    g = np.random.default_rng(5)
    loader = DataLoader(ArrayDataset(np.arange(20)), 20, shuffle=True, rng=g)
    assert loader.rng is g
    (batch,) = next(iter(loader))
    np.testing.assert_array_equal(batch, np.random.default_rng(5).permutation(20))


def test_shuffle_without_rng_draws_from_the_default_generator():
    ds = ArrayDataset(np.arange(20))
    cr.manual_seed(3)
    first = [b.tolist() for (b,) in DataLoader(ds, 5, shuffle=True)]
    cr.manual_seed(3)
    again = [b.tolist() for (b,) in DataLoader(ds, 5, shuffle=True)]
    assert first == again and sorted(sum(first, [])) == list(range(20))
    assert sum(first, []) != list(range(20))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])  # None: no batching (test_loader_unbatched)
def test_batch_size_is_validated(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(ArrayDataset(np.zeros(3)), bad)


def test_dataset_type_is_validated():
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(42)


def test_generic_dataset_is_collated():
    loader = DataLoader(Squares(7), 3)
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(3, 2), (3, 2), (1, 2)]
    np.testing.assert_array_equal(batches[1][0], [[3, 9], [4, 16], [5, 25]])
    np.testing.assert_array_equal(batches[1][1], [0, 1, 2])
    shuffled = np.concatenate([b[0][:, 0] for b in DataLoader(Squares(7), 3, shuffle=True, rng=1)])
    np.testing.assert_array_equal(np.sort(shuffled), np.arange(7))
    assert not np.array_equal(shuffled, np.arange(7))


def test_collate_single_field_and_mismatch():
    batch = collate([np.zeros(2), np.ones(2)])
    assert batch.shape == (2, 2)
    with pytest.raises(RuntimeError, match="equal size .*sample 1 has 1"):
        collate([(1, 2), (3,)])


def test_as_generator():
    g = np.random.default_rng(0)
    assert as_generator(g) is g
    assert as_generator(3).integers(100) == np.random.default_rng(3).integers(100)
    assert isinstance(as_generator(None), np.random.Generator)
    with pytest.raises(TypeError, match="rng must be"):
        as_generator("seed")


def test_batches_are_copies_so_in_place_changes_leave_the_data_alone():
    # Found by the fuzz: unshuffled ArrayDataset batches were views of the dataset's arrays, so
    # xb.mul_(0) in a training loop (or an in-place transform) rewrote the data of later epochs.
    x = np.arange(6.0)
    for (xb,) in DataLoader(ArrayDataset(x), 4):
        xb.mul_(0)
    np.testing.assert_array_equal(x, np.arange(6.0))

    def double(batch, rng):
        batch[0][...] *= 2
        return batch

    for _ in range(2):
        got = np.concatenate([b[0].numpy() for b in DataLoader(ArrayDataset(x), 4,
                                                                 transform=double, rng=0)])
        np.testing.assert_array_equal(got, 2 * np.arange(6.0))


class _Sampler:
    def __init__(self, indices, length):
        self.indices, self.length = indices, length

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return self.length


def _field(batch):
    """The one field of a batch: an ArrayDataset's is a list of one field (PyTorch's list of
    fields), a list dataset's the batch itself."""
    return batch[0] if isinstance(batch, list) else batch


@pytest.mark.parametrize("dataset", [ArrayDataset(np.arange(10)), list(range(10))])
def test_a_pass_takes_every_index_the_sampler_yields(dataset):
    # As PyTorch: the batches follow the sampler's iteration, its __len__ only sizes len(loader)
    # (a sampler yielding more than its length lost samples; fewer gave an obscure IndexError).
    for indices, length in (([1, 3, 5, 7, 9], 3), ([1, 3], 5), ([], 2)):
        got = [_field(b).numpy().tolist() for b in DataLoader(dataset, 2,
                                                              sampler=_Sampler(indices, length))]
        assert got == [indices[i:i + 2] for i in range(0, len(indices), 2)]
    got = [_field(b).numpy().tolist() for b in DataLoader(dataset, 2, drop_last=True,
                                                          sampler=_Sampler([1, 3, 5], 9))]
    assert got == [[1, 3]]


def test_collate_keeps_dicts_nested_fields_and_strings_as_pytorch():
    torch = pytest.importorskip("torch")
    samples = [{"a": i, "b": float(i), "s": f"s{i}", "n": (np.ones(2) * i, [i, 0.5 * i])}
               for i in range(3)]
    ours = collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    assert set(ours) == set(theirs) and ours["s"] == list(theirs["s"])
    for key in ("a", "b"):
        assert ours[key].dtype == theirs[key].numpy().dtype
        np.testing.assert_array_equal(ours[key], theirs[key].numpy())
    assert isinstance(ours["n"], list) and isinstance(ours["n"][1], list)
    np.testing.assert_array_equal(ours["n"][0], theirs["n"][0].numpy())
    for o, t in zip(ours["n"][1], theirs["n"][1], strict=True):
        assert o.dtype == t.numpy().dtype  # int64 and float64 apart, not one float array
        np.testing.assert_array_equal(o, t.numpy())
    (batch,) = list(DataLoader(samples, 3, num_workers=2))
    assert isinstance(batch["a"], cr.Tensor) and batch["s"] == ["s0", "s1", "s2"]
    assert isinstance(batch["n"][1][0], cr.Tensor)
    with pytest.raises(KeyError, match="keys of the first"):  # PyTorch: a KeyError
        collate([{"a": 1}, {"b": 2}])
    text, ids = next(iter(DataLoader([("x", 1), ("y", 2)], 2)))
    assert text == ("x", "y") and ids.numpy().tolist() == [1, 2]  # PyTorch's tuple of a field


class _Plain:
    """A dataset whose samples are single arrays (an autoencoder's), or numbers."""

    def __init__(self, number=False):
        self.number = number

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return float(i) if self.number else np.full(3, i, np.float32)


@pytest.mark.parametrize("options", [{}, {"num_workers": 2},
                                     {"num_workers": 2, "multiprocessing_context": "fork"}])
def test_plain_samples_batch_as_pytorchs_the_batch_itself(options):
    for number in (False, True):
        batches = list(DataLoader(_Plain(number), 2, **options))
        assert [type(b) for b in batches] == [cr.Tensor] * 3
        np.testing.assert_array_equal(batches[2].numpy(), [4.0] if number else [[4.0] * 3])
    arrays = list(DataLoader(_Plain(), 2, tensors=False, **options))
    assert isinstance(arrays[0], np.ndarray) and arrays[0].shape == (2, 3)


def test_plain_samples_match_pytorchs_dataloader():
    torch = pytest.importorskip("torch")
    ours = [b.numpy() for b in DataLoader(_Plain(), 2)]
    theirs = [b.numpy() for b in torch.utils.data.DataLoader(_Plain(), 2)]
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    ours = [b.numpy() for b in DataLoader(list(range(5)), 2)]
    theirs = [b.numpy() for b in torch.utils.data.DataLoader(list(range(5)), 2)]
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_a_trainer_reads_plain_batches_as_one_field():
    model = cr.nn.Linear(3, 3)
    trainer = cr.train.Trainer(model, "mse_loss", cr.optim.SGD(model.parameters(), lr=0.1))
    assert trainer.predict(DataLoader(_Plain(), 2)).shape == (5, 3)
    with pytest.raises(ValueError, match="a batch must hold the inputs and a target, got 1"):
        trainer.fit(DataLoader(_Plain(), 2), epochs=1, verbose=0)
