"""Wave 23: ``default_collate`` of NumPy array subclasses and records, as PyTorch's (2.13).

A batch of ``np.matrix`` samples of shape (1, 2) stacked to (2, 2) where PyTorch's is (2, 1, 2)
(a matrix stays 2-D under ``np.stack``): the batch axis was lost in silence. Structured
(record) arrays became Tensors of a void dtype that no operation takes; PyTorch refuses them.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("wrap", [list, lambda ms: [{"m": m} for m in ms]], ids=["bare", "dict"])
def test_a_batch_of_matrices_keeps_its_batch_axis(wrap):
    matrices = [np.matrix([[1.0, 2.0]]), np.matrix([[3.0, 4.0]])]
    ours = cr.data.default_collate(wrap(matrices))
    theirs = torch.utils.data.default_collate(wrap(matrices))
    if isinstance(ours, dict):
        ours, theirs = ours["m"], theirs["m"]
    assert ours.shape == tuple(theirs.shape) == (2, 1, 2)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    loaded = next(iter(cr.data.DataLoader(matrices, batch_size=2)))
    assert loaded.shape == (2, 1, 2) and type(loaded._data) is np.ndarray
    converted = cr.data.default_convert(matrices[0])
    assert type(converted._data) is np.ndarray and converted.shape == (1, 2)


@pytest.mark.parametrize("convert", ["default_collate", "default_convert"])
def test_records_are_refused_as_pytorch(convert):
    records = np.zeros(2, dtype=[("a", "f4"), ("b", "i8")])
    arg = [records, records] if convert == "default_collate" else records
    with pytest.raises(TypeError):
        getattr(torch.utils.data, convert)(arg)
    with pytest.raises(
        TypeError, match=rf"{convert}: can't convert NumPy values of dtype .*records"
    ):
        getattr(cr.data, convert)(arg)
