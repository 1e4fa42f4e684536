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
