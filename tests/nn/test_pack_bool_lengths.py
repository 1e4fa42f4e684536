"""pack_padded_sequence takes bool lengths (True is 1), as PyTorch's as_tensor(lengths,
dtype=int64) takes them."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.utils.rnn import pack_padded_sequence

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free


@pytest.mark.parametrize("as_tensor", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_bool_lengths_pack_as_torchs(as_tensor, enforce_sorted):
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    lengths = [True, True]
    got = pack_padded_sequence(cr.tensor(x), cr.tensor(lengths) if as_tensor else lengths,
                               enforce_sorted=enforce_sorted)
    want = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(x), torch.tensor(lengths) if as_tensor else lengths,
        enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(got.data.numpy(), want.data.numpy())
    np.testing.assert_array_equal(got.batch_sizes.numpy(), want.batch_sizes.numpy())


def test_a_false_length_is_a_zero_length_and_refused():
    with pytest.raises(ValueError, match="every length must be from 1"):
        pack_padded_sequence(cr.zeros(3, 2, 4), [True, False], enforce_sorted=False)
