"""Fuzz wave 18: samples that are sequences other than a list or a tuple (a list subclass, a
deque, a UserList, a user's ``collections.abc.Sequence``), collated by ``default_collate`` and by
the DataLoader, against PyTorch's.

PyTorch's batch is a container of the sample's type holding Tensors. chainrule's held NumPy
arrays (``tensors_of`` turned arrays into Tensors only inside dicts, lists and tuples), and a
list subclass came back as a plain list.
"""

import collections

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.utils.data as tdata  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.utils.data as cdata  # noqa: E402


class ListSub(list):
    pass


class UserL(collections.UserList):
    pass


class Seq(collections.abc.Sequence):
    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


KINDS = [ListSub, UserL, collections.deque, Seq]


class _Samples:
    def __init__(self, kind):
        self.kind = kind

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.kind([np.full(2, i, np.float32), i, [float(i), 1.5]])


def _plain(batch, torch_side: bool):
    """The batch as nested (type name, values, dtype) with every tensor checked to be one."""
    tensor_type = torch.Tensor if torch_side else cr.Tensor
    if isinstance(batch, tensor_type):
        return ("Tensor", str(batch.dtype).replace("torch.", ""), batch.tolist())
    assert not isinstance(batch, np.ndarray), "a NumPy array where PyTorch gives a Tensor"
    if isinstance(batch, (str, bytes, int, float)):
        return batch
    return (type(batch).__name__, [_plain(v, torch_side) for v in batch])


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_default_collate_keeps_the_sequence_type_and_gives_tensors(kind):
    samples = _Samples(kind)
    batch = [samples[0], samples[3]]
    want = tdata.default_collate(batch)
    got = cdata.default_collate(batch)
    assert type(got) is type(want)
    assert _plain(got, False) == _plain(want, True)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_loader_batches_of_sequence_samples_match_pytorch(kind):
    want = list(tdata.DataLoader(_Samples(kind), batch_size=3))
    got = list(cdata.DataLoader(_Samples(kind), batch_size=3))
    assert [_plain(b, False) for b in got] == [_plain(b, True) for b in want]
