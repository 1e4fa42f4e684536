"""After an explanation, pruning saliency or the command line's model check, every module is back
in its own mode. They restored the model with ``model.train(was)``, which also switched a
BatchNorm the user froze in eval (fine-tuning with frozen statistics) back to training, so the
next training step silently moved its running statistics (chainrule.nn.modes)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule import explain, nn
from chainrule.experiments.checks import check_outputs
from chainrule.nn.modes import eval_mode, modes_kept


def _model():
    cr.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5),
                      nn.Linear(6, 3))
    m.train()
    m[1].eval()  # frozen statistics
    return m


def _modes(m):
    return [mod.training for mod in m.modules()]


X = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
Y = np.array([0, 1, 2, 0, 1])


@pytest.mark.parametrize("run", [
    lambda m: explain.saliency(m, X, target=0),
    lambda m: explain.integrated_gradients(m, X, target=1, steps=4),
    lambda m: explain.obd_saliency(m, F.cross_entropy, X, Y, method="hutchinson", n_samples=2),
    lambda m: explain.obd_saliency(m, F.cross_entropy, X, Y, method="fisher"),
    lambda m: check_outputs(m, X, (3,), "mlp", "rows"),
], ids=["saliency", "integrated_gradients", "obd_hutchinson", "obd_fisher", "check_outputs"])
def test_a_frozen_batchnorm_stays_frozen(run):
    m = _model()
    before = _modes(m)
    assert before == [True, True, False, True, True, True]
    run(m)
    assert _modes(m) == before
    mean = m[1].running_mean.numpy().copy()
    m(cr.tensor(X))  # a training step's forward: a frozen BatchNorm keeps its statistics
    np.testing.assert_array_equal(m[1].running_mean.numpy(), mean)


def test_the_context_managers_restore_after_an_error():
    m = _model()
    with pytest.raises(RuntimeError, match="stop"), eval_mode(m):
        assert not any(_modes(m))
        raise RuntimeError("stop")
    assert _modes(m) == [True, True, False, True, True, True]
    with modes_kept(m):
        m.train()
        m[3].eval()
    assert _modes(m) == [True, True, False, True, True, True]
