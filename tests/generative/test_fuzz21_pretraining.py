"""Wave 21: pretrain_layerwise checks its inputs: values in [0, 1], N >= 1, mlp.sizes[0] each.

The first autoencoder reconstructs through a sigmoid, so 0..255 pixels gave a reconstruction loss
of tens of thousands and useless weights, silently; lists failed with AttributeError and an empty
batch inside reshape.
"""

import numpy as np
import pytest

from chainrule.generative import pretrain_layerwise
from chainrule.models import MLP


def _mlp():
    return MLP((6, 4, 2), activation="sigmoid", rng=np.random.default_rng(0))


@pytest.fixture
def x():
    return np.random.default_rng(1).random((8, 1, 2, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda x: x * 255, r"x must have values in \[0, 1\].*got values in \[\d"),
        (lambda x: np.where(x > 0.5, np.nan, x), r"x must have values in \[0, 1\]"),
        (lambda x: x[:0], r"N >= 1 and 6 values each \(mlp.sizes\[0\]\), got shape \(0, 1, 2, 3\)"),
        (lambda x: x[:, :, :1], r"6 values each .* got shape \(8, 1, 1, 3\)"),
        (lambda x: x + 0j, r"got shape \(8, 1, 2, 3\) dtype complex"),
    ],
)
def test_bad_inputs_raise_before_training(x, make, match):
    mlp = _mlp()
    before = mlp.layers[1].weight._data.copy()
    with pytest.raises(ValueError, match=match):
        pretrain_layerwise(mlp, make(x), epochs=1, batch_size=4, rng=0)
    np.testing.assert_array_equal(mlp.layers[1].weight._data, before)


def test_lists_are_the_same_inputs_as_arrays(x):
    a, b = _mlp(), _mlp()
    la = pretrain_layerwise(a, x, epochs=1, batch_size=4, rng=3)
    lb = pretrain_layerwise(b, x.tolist(), epochs=1, batch_size=4, rng=3)
    assert la == lb
    np.testing.assert_array_equal(a.layers[1].weight._data, b.layers[1].weight._data)
