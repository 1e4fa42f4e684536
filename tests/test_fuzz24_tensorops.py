"""Fuzz wave 24: tensor indexing and data movement against PyTorch 2.13 where the earlier waves
did not look (legacy empty tensors in ``cat``, non-tuple index sequences, index dtypes)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402

from ._fuzz12_check import check  # noqa: E402


@pytest.mark.parametrize("dtypes", [("int64", "float32"), ("float64", "float64"), ("bool", "int8")])
def test_cat_skips_a_one_d_empty_tensor_as_pytorch(dtypes):
    # out = torch.tensor([]); out = torch.cat([out, x]): the empty 1-D tensor is skipped, after
    # taking part in the dtype promotion
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtypes[0])
    empty = np.zeros(0, dtypes[1])
    for dim in (0, 1, -1):
        check(torch, lambda L, a, e: L.cat([e, a, e], dim), x, empty, label=f"{dtypes} {dim}")
    check(torch, lambda L, e: L.cat([e, e]), empty, label="only empties")
    check(torch, lambda L, a, e: L.cat([e, a], 2), x, empty, label="dim out of range")
    check(torch, lambda L, a, e: L.cat([e, a]), np.array(1.0), empty, label="0-d")


def test_cat_grows_from_an_empty_tensor_with_gradients():
    check(
        torch,
        lambda L, a, e: L.cat([L.cat([e, a]), a * 2], 1),
        np.ones((2, 3)),
        np.zeros(0),
        grad=(0,),
        label="grown",
    )
    got = cr.tensor([])
    for k in range(3):
        got = cr.cat([got, cr.full((1, 2), k, dtype=cr.int64)])
    assert got.dtype == cr.float32 and got.tolist() == [[0, 0], [1, 1], [2, 2]]


_LIST_INDICES = {
    "lists": lambda L: [[0, 2], [1, 3]],
    "int and list": lambda L: [1, [0, 3]],
    "slice and int": lambda L: [slice(None), 2],
    "None and int": lambda L: [None, 1],
    "Ellipsis and int": lambda L: [Ellipsis, 1],
    "ranges": lambda L: [range(2), [3, 1]],
    "tensors": lambda L: [L.tensor([2, 0]), L.tensor(1)],
}


@pytest.mark.parametrize("name", sorted(_LIST_INDICES))
def test_a_list_of_sequences_indexes_as_a_tuple_as_pytorch(name):
    # PyTorch 2.13 reads x[[rows, cols]] as x[rows, cols] (deprecated, with a warning), where
    # NumPy stacks the lists into one index array: a silently different shape before
    x = np.arange(60.0).reshape(3, 4, 5)
    make = _LIST_INDICES[name]
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        check(torch, lambda L, t: t[make(L)], x, grad=(0,), label=f"read {name}")

    def write(L, t, v):
        out = t * 1
        out[make(L)] = v
        return out

    with pytest.warns(UserWarning, match="non-tuple sequence"):
        check(torch, write, x, np.array(-1.0), grad=(0, 1), label=f"write {name}")


def test_a_list_of_ints_stays_one_index_array():
    x = np.arange(12.0).reshape(3, 4)
    check(torch, lambda L, t: t[[2, 0, 2]], x, grad=(0,), label="ints")
    check(torch, lambda L, t: t[np.array([[0, 1], [1, 2]])], x, grad=(0,), label="2-D array")


def test_take_along_dim_without_dim_refuses_a_negative_index_as_pytorch():
    # with a dim, PyTorch counts a negative index from the end; without one it refuses it
    x = np.arange(12.0).reshape(3, 4)
    check(torch, lambda L, t, i: L.take_along_dim(t, i), x, np.array([11, 0, -1]), label="neg")
    check(torch, lambda L, t, i: L.take_along_dim(t, i), x, np.array([[11], [0]]), grad=(0,))
    check(torch, lambda L, t, i: L.take_along_dim(t, i, 1), x, np.array([[-1, 2]]), grad=(0,))


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_repeat_interleave_of_counts_keeps_their_dtype(dtype):
    counts = np.array([1, 0, 3], dtype)
    check(torch, lambda L, c: L.repeat_interleave(c), counts, label=dtype)
    check(torch, lambda L, c: L.repeat_interleave(c, output_size=4), counts, label=dtype)


def test_masked_fill_takes_a_zero_d_value_tensor_only():
    x, mask = np.arange(12.0).reshape(3, 4), np.arange(12).reshape(3, 4) % 3 == 0
    for value in (np.array([1.0]), np.arange(4.0)):  # where would broadcast it
        check(torch, lambda L, t, m, v: L.masked_fill(t, m, v), x, mask, value, label="1-D")
        check(torch, lambda L, t, m, v: t.clone().masked_fill_(m, v), x, mask, value, label="_")
    check(torch, lambda L, t, m, v: L.masked_fill(t, m, v), x, mask, np.array(2.0), grad=(0, 2))


def test_split_by_zero_only_on_an_empty_axis():
    for shape in ((2, 0), (2, 3)):
        check(torch, lambda L, t: L.split(t, 0, 1), np.zeros(shape), label=f"{shape}")
        check(torch, lambda L, t: t.split(0, 1), np.zeros(shape), label=f"method {shape}")
    check(torch, lambda L, t: L.split(t, -1, 1), np.zeros((2, 0)), label="negative")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64", "float16", "bool"])
def test_a_number_written_by_setitem_is_cast_as_pytorch(dtype):
    # -1 into uint8 is 255, 300 or NaN into int8 refused (not NumPy's OverflowError), 1 + 0j is 1,
    # 1e10 into float16 inf
    x = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    for value in (-1, 300, 1e10, float("nan"), -2.7, 1 + 0j, 1 + 1j):
        for index in (0, (slice(None), [1, 2])):

            def write(L, t, index=index, value=value):
                out = t.clone()
                out[index] = value
                return out

            check(torch, write, x, label=f"{dtype} {value} {index}")


_HALF_ADDS = {
    "scatter_add": lambda L, a, s, i: L.scatter_add(a, 0, i, s),
    "scatter_add_": lambda L, a, s, i: a.clone().scatter_add_(0, i, s),
    "index_add": lambda L, a, s, i: L.index_add(a, 0, i[:, 0], s),
    "scatter_reduce sum": lambda L, a, s, i: L.scatter_reduce(a, 0, i, s, "sum"),
    "scatter_reduce sum without self": lambda L, a, s, i: L.scatter_reduce(
        a, 0, i, s, "sum", include_self=False
    ),
}


@pytest.mark.parametrize("name", sorted(_HALF_ADDS))
def test_float16_index_sums_round_once_as_pytorch(name):
    # PyTorch adds float16 values in float32 and rounds the total once; chainrule added them in
    # float16, a unit in the last place off where several values meet
    fn = _HALF_ADDS[name]
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x = (rng.standard_normal((4, 3)) * 100).astype(np.float16)
        src = (rng.standard_normal((8, 3)) * 100).astype(np.float16)
        index = rng.integers(0, 4, (8, 3))
        want = fn(torch, torch.tensor(x), torch.tensor(src), torch.tensor(index)).numpy()
        a, s = cr.tensor(x, requires_grad=True), cr.tensor(src, requires_grad=True)
        got = fn(cr, a, s, cr.tensor(index))
        np.testing.assert_array_equal(got.numpy(), want, err_msg=f"{name} {seed}")
        got.sum().backward()
        assert a.grad.dtype == cr.float16 and s.grad.dtype == cr.float16
