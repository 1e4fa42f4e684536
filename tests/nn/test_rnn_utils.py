"""``nn.utils.rnn.pad_sequence`` against PyTorch's, and its gradient."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.utils.rnn import pad_sequence

pytestmark = pytest.mark.kernel_free


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(rng, batch_first, side):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal((n, 3)) for n in (4, 1, 3)]
    ours = pad_sequence([cr.tensor(a) for a in arrays], batch_first=batch_first,
                        padding_value=-1.5, padding_side=side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays],
                                             batch_first=batch_first, padding_value=-1.5,
                                             padding_side=side)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ids = [cr.tensor([3, 1]), cr.tensor([2])]
    assert cr.nn.utils.rnn.pad_sequence(ids, batch_first=True).tolist() == [[3, 1], [2, 0]]


def test_pad_sequence_gradient(rng):
    a = cr.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = cr.tensor(rng.standard_normal((1, 2)), requires_grad=True)
    assert cr.gradcheck(lambda x, y: pad_sequence([x, y], batch_first=True) ** 2, (a, b))
    with pytest.raises(ValueError, match=r"sequence 1 has shape \(2, 3\)"):
        pad_sequence([a, cr.zeros(2, 3)])
    with pytest.raises(TypeError, match="non-empty list of Tensors"):
        pad_sequence([])
