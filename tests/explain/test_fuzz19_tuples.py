"""Nineteenth fuzz wave, explain: a tuple of inputs given to a method that takes one batch.

Captum passes several inputs as a tuple; saliency, integrated_gradients, deeplift and occlusion
take one here too (feature_ablation, the Shapley values, gradient_x_input... since
test_fuzz25_ablation.py). The other methods turned the tuple into one array (NumPy stacks a
tuple of equal arrays), so two (N, D) inputs became a batch of 2 samples of shape (N, D): a
model that flattens gave attributions of that shape without a word, others failed deep inside
with "the model must return (N, classes) scores". They now refuse the tuple, naming the
methods that take one.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.explain import (
    layer_integrated_gradients,
    saliency,
    smoothgrad,
)

METHODS = {
    "smoothgrad": lambda m, x: smoothgrad(m, x, 0, rng=0),
    "layer_integrated_gradients": lambda m, x: layer_integrated_gradients(m, "1", x, 0),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_a_tuple_of_inputs_is_refused_where_one_batch_is_taken(name):
    rng = np.random.default_rng(0)
    # flattening (3, 4) samples: the two stacked inputs (2, 3, 4) looked like a batch of two
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3, rng=rng))
    x = (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))
    with pytest.raises(TypeError, match=rf"{name}: x is a tuple of 2 inputs.*saliency"):
        METHODS[name](model, x)
    # a batch of samples, even one built from a list, is still one input
    batch = np.stack(x)
    np.testing.assert_array_equal(METHODS[name](model, list(x)), METHODS[name](model, batch))


def test_token_indices_in_a_tuple_are_refused_by_layer_integrated_gradients():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Embedding(5, 2, rng=rng), nn.Flatten(), nn.Linear(6, 2, rng=rng))
    ids = (np.array([[1, 2, 3]]), np.array([[4, 0, 1]]))
    with pytest.raises(TypeError, match="x is a tuple of 2 inputs"):
        layer_integrated_gradients(model, "0", ids, 0)
    # saliency takes a tuple of inputs, with a model taking two
    two = nn.Bilinear(4, 4, 3, rng=rng)
    x = (rng.standard_normal((2, 4)), rng.standard_normal((2, 4)))
    assert [a.shape for a in saliency(two, x, 0)] == [(2, 4), (2, 4)]
