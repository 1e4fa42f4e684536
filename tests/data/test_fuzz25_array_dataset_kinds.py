"""Fuzz wave 25: an ArrayDataset holding strings, dates or records is batched sample by sample
through the default collate, as PyTorch's loader batches the same samples (strings as a tuple of
them, a string array, a date or a record refused by name); its one-gather path gave Tensors of
strings (failing only when printed, inside NumPy) and of dates."""

import numpy as np
import pytest

from chainrule.data import ArrayDataset, DataLoader


def test_a_string_column_comes_as_the_strings():
    names, labels = np.array(["cat.png", "dog.png", "emu.png"]), np.arange(3)
    first, second = list(DataLoader(ArrayDataset(names, labels), batch_size=2))
    assert type(first[0]) is tuple and first[0] == ("cat.png", "dog.png")
    assert first[1].tolist() == [0, 1]
    assert second[0] == ("emu.png",) and second[1].dtype == np.int64


@pytest.mark.parametrize("array", [
    np.array([["a"], ["b"]]), np.array([b"a", b"b"])[:, None],
    np.array(["2020-01-01"] * 2, dtype="datetime64[D]"), np.zeros(2, dtype=[("a", "f4")])])
def test_other_kinds_are_the_collates_type_error(array):
    with pytest.raises(TypeError, match="default_collate|can't convert NumPy values"):
        next(iter(DataLoader(ArrayDataset(array), batch_size=2)))


def test_pytorch_batches_the_same_samples_alike():
    torch = pytest.importorskip("torch")

    class Rows(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.array(["x", "y", "z"])[i], i

    theirs = next(iter(torch.utils.data.DataLoader(Rows(), batch_size=3)))
    ours = next(iter(DataLoader(ArrayDataset(np.array(["x", "y", "z"]), np.arange(3)),
                                batch_size=3)))
    assert ours[0] == theirs[0] and ours[1].tolist() == theirs[1].tolist()
