"""torch.LongTensor(2, 3), torch.FloatTensor([1, 2]), isinstance(x, torch.FloatTensor): the legacy
typed constructors that old programs (char-rnn, the WGAN-GP toy script) call, as in PyTorch."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
         "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_sizes_data_and_isinstance_match_pytorch(name):
    torch = pytest.importorskip("torch")
    results = {}
    for L in (cr, torch):
        make = getattr(L, name)
        sized, empty, from_size = make(2, 3), make(), make(L.Size([4]))
        data = make([[1, 0], [2, 3]])
        results[L.__name__] = (tuple(sized.shape), str(sized.dtype).split(".")[-1],
                               tuple(empty.shape), tuple(from_size.shape), data.tolist(),
                               str(data.dtype).split(".")[-1], isinstance(data, make),
                               isinstance(L.zeros(1, dtype=L.float64), make))
    assert results["chainrule"] == results["torch"]


def test_sized_tensor_is_zeros_and_fills_by_rows():
    inp = cr.LongTensor(2, 3)
    assert not inp.numpy().any()
    inp[1] = cr.tensor([4, 5, 6])
    assert inp.tolist() == [[0, 0, 0], [4, 5, 6]]


def test_a_tensor_of_the_same_dtype_passes_through_and_type_still_reads_the_class():
    x = cr.tensor([1.0, 2.0])
    assert cr.FloatTensor(x) is x
    assert cr.tensor([1, 2]).type(cr.DoubleTensor).dtype == cr.float64
    np.testing.assert_array_equal(cr.ByteTensor(np.array([1, 2])).numpy(), [1, 2])


@pytest.mark.parametrize("args, match", [
    ((2.5,), "must be a sequence, got float 2.5"),
    (([1, 2], 3), r"sizes \(ints\) or one sequence"),
    ((cr.tensor([1, 2]),), "expected a float32 tensor, got int64"),
])
def test_bad_arguments_are_named(args, match):
    with pytest.raises(TypeError, match=match):
        cr.FloatTensor(*args)
