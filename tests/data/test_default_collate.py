"""chainrule.utils.data.default_collate / default_convert against PyTorch's on nested samples:
the same containers, dtypes and values, and errors where PyTorch raises."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, collate
from chainrule.utils.data import default_collate, default_convert

from .._case_loop import each_case, grid

Point = collections.namedtuple("Point", "x y")


def _same(ours, theirs, torch):
    """Equal structure (container types), Tensor dtypes and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor), (type(ours), theirs)
        assert ours.dtype == theirs.numpy().dtype, (ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        return
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k], torch)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            _same(o, t, torch)
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs


BATCHES = {
    "python floats": [1.5, 2.5, -3.0],
    "python ints": [1, 2, 3],
    "bools": [True, False],
    "ints then a float": [1, 2.5],
    "floats then a bool": [1.5, True],
    "bool then a float": [True, 2.5],
    "numpy float32 scalars": [np.float32(1), np.float32(2.5)],
    "numpy int8 scalars": [np.int8(1), np.int8(-2)],
    "numpy uint8 scalars": [np.uint8(1), np.uint8(200)],
    "numpy bools": [np.bool_(True), np.bool_(False)],
    "numpy float64 with a float": [np.float64(1), 2.0],
    "numpy int64 with float32": [np.int64(1), np.float32(2)],
    "int with numpy float32": [1, np.float32(2.5)],
    "int with numpy float64": [1, np.float64(2.5)],
    "float32 arrays": [np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)],
    "uint8 images": [np.full((2, 2), 7, np.uint8), np.full((2, 2), 9, np.uint8)],
    "0-d arrays": [np.array(1.0), np.array(2.0)],
    "int32 and float64 arrays": [np.array([1, 2], np.int32), np.array([1.5, 2.0])],
    "float16 arrays": [np.zeros(2, np.float16), np.ones(2, np.float16)],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "tuples": [(np.zeros(2), 1, "a"), (np.ones(2), 2, "b")],
    "lists": [[1, 2.5], [3, 4.5]],
    "dicts": [{"x": 1, "y": "a", "z": [1.0, 2]}, {"x": 2, "y": "b", "z": [3.0, 4]}],
    "ordered dicts": [collections.OrderedDict(b=1, a=2.0), collections.OrderedDict(b=3, a=4.0)],
    "dicts with more keys later": [{"a": 1}, {"a": 2, "b": 3}],
    "namedtuples": [Point(1, "p"), Point(2, "q")],
    "namedtuples of arrays": [Point(np.zeros(2), 1.5), Point(np.ones(2), 2.5)],
    "nested": [{"img": (np.full(3, i, np.float32), {"id": i, "tags": ["t", i * 0.5]}),
                "meta": Point(i, [i, i])} for i in range(3)],
    "ranges": [range(2), range(2)],
    "tuple batch": ((1, 2.0), (3, 4.0)),
}


def _default_collate_matches_pytorch_case(name):
    torch = pytest.importorskip("torch")
    batch = BATCHES[name]
    _same(default_collate(batch), torch.utils.data.default_collate(batch), torch)


@pytest.mark.torch
def test_default_collate_matches_pytorch():
    each_case(_default_collate_matches_pytorch_case, grid(("name", list(BATCHES))))


@pytest.mark.torch
def test_tensors_are_stacked_as_pytorch_stacks_them():
    torch = pytest.importorskip("torch")
    for arrays in ([np.zeros(3), np.ones(3)], [np.arange(4, dtype=np.int64).reshape(2, 2)] * 2,
                   [np.array(1), np.array(2.0, np.float32)]):
        ours = default_collate([cr.tensor(a) for a in arrays])
        theirs = torch.utils.data.default_collate([torch.tensor(a) for a in arrays])
        _same(ours, theirs, torch)
    pairs = [(cr.tensor([1.0, 2.0]), 3), (cr.tensor([4.0, 5.0]), 6)]
    theirs = torch.utils.data.default_collate([(torch.tensor(x.numpy()), y) for x, y in pairs])
    _same(default_collate(pairs), theirs, torch)


REFUSED = {
    "None": [None, None],
    "a set": [{1}, {2}],
    "string arrays": [np.array(["a"]), np.array(["b"])],
    "object arrays": [np.array([1], dtype=object), np.array([2], dtype=object)],
    "bytes arrays": [np.array([b"a"]), np.array([b"b"])],
    "a string among ints": [1, "a"],
    "None among floats": [1.5, None],
    "datetimes": [np.datetime64("2020-01-01"), np.datetime64("2020-01-02")],
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(REFUSED))
def test_what_pytorch_refuses_is_refused(name):
    torch = pytest.importorskip("torch")
    batch = REFUSED[name]
    with pytest.raises((TypeError, RuntimeError, ValueError)):
        torch.utils.data.default_collate(batch)
    with pytest.raises(TypeError):
        default_collate(batch)


@pytest.mark.torch
def test_unequal_sizes_raise_as_in_pytorch():
    torch = pytest.importorskip("torch")
    for batch in ([[1, 2], [3]], [(1, 2), (3, 4, 5)]):
        with pytest.raises(RuntimeError, match="each element in list of batch should be of "
                                               "equal size"):
            torch.utils.data.default_collate(batch)
        with pytest.raises(RuntimeError, match="each element in list of batch should be of "
                                               "equal size"):
            default_collate(batch)
    for make in (np.zeros, lambda n: cr.zeros(n)):
        with pytest.raises(RuntimeError, match=r"equal size, but got \[2\] at entry 0 and \[3\] "
                                               r"at entry 1"):
            default_collate([make(2), make(3)])
    with pytest.raises(KeyError, match="sample 1 lacks the key 'x'"):
        default_collate([{"x": 1}, {"y": 2}])
    with pytest.raises(ValueError, match="does not fit int64"):
        default_collate([2**70, 1])


def test_bad_batches_are_refused_and_tensors_that_require_grad_keep_it():
    with pytest.raises(TypeError, match="batch must be a list of samples, got int"):
        default_collate(3)
    with pytest.raises(ValueError, match="batch is empty"):
        default_collate([])
    w = cr.ones(2, requires_grad=True)
    batch = default_collate([w, w * 3])  # a recorded stack, as PyTorch's (tests/test_fuzz16_data)
    batch.sum().backward()
    assert batch.requires_grad and w.grad.tolist() == [4.0, 4.0]


def _default_convert_matches_pytorch_case(data):
    torch = pytest.importorskip("torch")
    _same(default_convert(data), torch.utils.data.default_convert(data), torch)


@pytest.mark.torch
def test_default_convert_matches_pytorch():
    each_case(_default_convert_matches_pytorch_case, grid(
        ("data", [
    [1, 2], np.zeros(2), np.float32(3), np.bool_(True), np.array(1.5), "s", b"x",
    {"a": np.ones(1), "b": [np.zeros(1), 1.5]}, collections.OrderedDict(a=np.zeros(1)),
    Point(np.zeros(1), 2), (np.zeros(1), "a"), np.array(["a"]), range(2), [1, np.zeros(1)],
], repr),
    ))


def test_default_convert_leaves_tensors_and_objects_alone():
    t = cr.ones(2)
    assert default_convert(t) is t
    marker = object()
    assert default_convert(marker) is marker
    objects = np.array([marker])
    assert default_convert(objects) is objects


class _Records:
    """A map-style dataset of dict samples, so the loader collates them."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "label": i, "name": f"n{i}",
                "pair": (i * 0.5, [i, i])}


def test_the_dataloader_collates_with_the_same_rule():
    batches = list(DataLoader(_Records(), batch_size=2))
    assert len(batches) == 3
    _last = batches[-1]
    for batch, expected in zip(batches, (default_collate([_Records()[i] for i in idx])
                                         for idx in ([0, 1], [2, 3], [4])), strict=True):
        assert list(batch) == list(expected)
        assert batch["name"] == expected["name"]
        for key in ("x", "label"):
            assert batch[key].dtype == expected[key].dtype
            np.testing.assert_array_equal(batch[key].numpy(), expected[key].numpy())
        np.testing.assert_array_equal(batch["pair"][1][0].numpy(), expected["pair"][1][0].numpy())
    assert _last["label"].tolist() == [4] and _last["pair"][0].dtype == np.float64
    # at the top, a tuple sample gives a tuple of fields (PyTorch: a list; documented) and a bare
    # sample the batch itself, as PyTorch's
    assert isinstance(collate([(1, 2.0), (3, 4.0)]), tuple)
    only = collate([np.zeros(2), np.ones(2)])
    assert isinstance(only, np.ndarray) and only.shape == (2, 2)


def test_numpy_samples_and_tensors_mix_in_one_batch():
    """chainrule's datasets give NumPy scalars and arrays where PyTorch's give Tensors (a
    ConcatDataset of a TensorDataset and a list of Tensors): they collate as Tensors would."""
    (ids,) = collate([(np.int64(0),), (cr.tensor(10),)])
    assert ids.dtype == np.int64 and ids.tolist() == [0, 10]
    images = default_collate([np.zeros(2, np.float32), cr.ones(2)])
    assert images.dtype == np.float32 and images.tolist() == [[0, 0], [1, 1]]
    with pytest.raises(TypeError, match="found NoneType|found <class 'NoneType'>"):
        default_collate([cr.ones(2), None])
