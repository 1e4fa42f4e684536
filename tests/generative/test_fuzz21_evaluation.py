"""Wave 21: judging samples with a classifier checks its inputs instead of failing obscurely or
reporting a silent 0.

No images failed with an IndexError, ``batch_size=0`` inside range(), nested lists with an
AttributeError, a model without parameters (an identity autoencoder) with StopIteration, and
``evaluate_samples`` took float labels (1.5) or classes the classifier lacks and reported a
label accuracy of 0.
"""

import numpy as np
import pytest

from chainrule import nn
from chainrule.generative import (
    classify,
    evaluate_samples,
    penultimate_features,
    reconstruct,
    reconstruction_report,
)
from chainrule.models import MLP


@pytest.fixture
def setup():
    model = MLP((4, 5, 3), rng=np.random.default_rng(0))
    x = np.random.default_rng(1).random((6, 1, 2, 2)).astype(np.float32)
    return model, x


@pytest.mark.parametrize("fn", [classify, penultimate_features, reconstruct])
def test_empty_images_and_bad_batch_sizes_raise_clearly(setup, fn):
    model, x = setup
    with pytest.raises(ValueError, match=rf"{fn.__name__}: images must hold at least one image"):
        fn(model, x[:0])
    for bad in (0, -1, 2.0):
        with pytest.raises(ValueError, match=rf"{fn.__name__}: batch_size must be an int >= 1"):
            fn(model, x, batch_size=bad)
    with pytest.raises(TypeError, match="images must be real numbers, got dtype complex"):
        fn(model, x + 1j)
    np.testing.assert_array_equal(fn(model, x.tolist(), batch_size=4), fn(model, x))


def test_a_model_without_parameters_is_evaluated_in_float32(setup):
    _, x = setup
    out = reconstruct(nn.Identity(), x.astype(np.float64))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
    report = reconstruction_report(nn.Identity(), x, noise_levels=("none", "mask:0.5"))
    assert report["none"]["mse"] == 0.0 and report["mask:0.5"]["mse"] > 0


@pytest.mark.parametrize("labels", [np.full(6, 1.5), np.full(6, 3), np.full(6, -1), 2.0])
def test_evaluate_samples_rejects_labels_that_can_never_match(setup, labels):
    model, x = setup
    with pytest.raises(ValueError, match=r"labels must be ints in \[0, 3\)"):
        evaluate_samples(model, x, x, labels=labels)
    good = evaluate_samples(model, x, x, labels=np.zeros(6, dtype=np.int64))
    want = (classify(model, x).argmax(1) == 0).mean()
    assert good["label_accuracy"] == want
