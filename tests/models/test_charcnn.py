"""The character-level ConvNet of Zhang, Zhao & LeCun (2015)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.text import quantize


def _count(features, dense, classes=4, alphabet=70, frame=34):
    convs = alphabet * features * 7 + features * features * 7 + 4 * features * features * 3
    return (convs + 6 * features + frame * features * dense + dense * dense + dense * classes
            + 2 * dense + classes)


# Building a model calls no kernel (initializers draw with NumPy), so reference mode would build
# the same 100-million-parameter model again: this test runs in the fast mode only.
@pytest.mark.kernel_free
@pytest.mark.parametrize("kernel_mode", ["fast"], indirect=True)
@pytest.mark.parametrize("size, features, dense, std", [("small", 256, 1024, 0.05),
                                                         ("large", 1024, 2048, 0.02)])
def test_the_papers_sizes_and_initialization(size, features, dense, std):
    model = cr.models.CharCNN(size, rng=np.random.default_rng(0))
    assert model.num_parameters() == _count(features, dense)
    w = model.classifier[1].weight.numpy()
    assert w.shape == (dense, features * 34)
    assert abs(w.std() - std) < 0.02 * std and abs(w.mean()) < 1e-3
    assert not model.features[0].bias.numpy().any()


def test_forward_on_quantized_text_gives_one_logit_row_per_text():
    model = cr.models.build("char_cnn", length=123, rng=np.random.default_rng(1)).eval()
    x = cr.tensor(quantize(["An example headline.", "Another, shorter one"], length=123))
    with cr.no_grad():
        out = model(x)
    assert out.shape == (2, 4) and np.isfinite(out.numpy()).all()


@pytest.mark.kernel_free
def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="size must be 'small' or 'large', got 'medium'"):
        cr.models.CharCNN("medium")
    with pytest.raises(ValueError, match="at least 123 characters, got 122"):
        cr.models.CharCNN(length=122)
