import numpy as np
import pytest

from chainrule import nn
from chainrule.data.datasets import digits
from chainrule.generative import compare_pretraining, pretrain_layerwise
from chainrule.models import MLP


@pytest.fixture(scope="module")
def data():
    (x, y), (xt, yt) = digits()
    return x[:, None].astype(np.float32), y, xt[:, None].astype(np.float32), yt


def _linears(mlp):
    return [m for m in mlp.layers if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("corruption", [0.0, 0.25])
def test_pretraining_sets_hidden_layers_only(data, corruption):
    x = data[0][:300]
    mlp = MLP((64, 32, 16, 10), activation="sigmoid", rng=np.random.default_rng(0))
    before = [lin.weight._data.copy() for lin in _linears(mlp)]
    losses = pretrain_layerwise(mlp, x, epochs=3, batch_size=32, lr=3e-3,
                                corruption=corruption, rng=0)
    assert len(losses) == 2 and all(np.isfinite(losses))
    after = [lin.weight._data for lin in _linears(mlp)]
    assert not np.array_equal(before[0], after[0]) and not np.array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[2], after[2])  # the output layer is left alone
    assert pretrain_layerwise(MLP((64, 10), rng=np.random.default_rng(0)), x) == []


def test_first_layer_autoencoder_learns(data):
    x = data[0][:300]
    short = pretrain_layerwise(MLP((64, 32, 10), activation="sigmoid",
                                   rng=np.random.default_rng(0)), x, epochs=1, rng=0)
    longer = pretrain_layerwise(MLP((64, 32, 10), activation="sigmoid",
                                    rng=np.random.default_rng(0)), x, epochs=8, rng=0)
    assert longer[0] < short[0]


def test_compare_pretraining_reports_both_accuracies(data):
    x, y, xt, yt = data
    result = compare_pretraining(x, x[:100], y[:100], xt, yt, sizes=(64, 32, 10),
                                 pretrain_epochs=2, finetune_epochs=3, seed=0)
    for key in ("random_init_accuracy", "pretrained_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    assert result["n_labelled"] == 100 and result["n_unlabelled"] == len(x)
    assert set(result["seconds"]) == {"random_init", "pretrain", "finetune"}


def test_bad_arguments(data):
    with pytest.raises(TypeError, match="models.MLP"):
        pretrain_layerwise(nn.Linear(2, 2), data[0])
    with pytest.raises(ValueError, match="corruption"):
        pretrain_layerwise(MLP((64, 8, 10)), data[0], corruption=1.0)
