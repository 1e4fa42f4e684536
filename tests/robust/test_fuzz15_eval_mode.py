"""Attacks on a model left in training mode: they run it in eval mode and give its mode back.

Before, they ran it as it was: batch norm normalized with each batch's statistics and updated its
running statistics at every attack step (the model changed under ``robust.pgd``), dropout made the
attack random, and a batch of one failed in batch norm.
"""

import numpy as np
import pytest

from chainrule import nn, robust


def _model(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 8, rng=rng), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(8, 4, rng=rng)).to(dtype=np.float64)


def _data(n=5):
    rng = np.random.default_rng(1)
    return rng.uniform(0, 1, (n, 1, 3, 4)), rng.integers(0, 4, n)


ATTACKS = {
    "fgsm": lambda m, x, y: robust.fgsm(m, x, y, eps=0.1),
    "pgd": lambda m, x, y: robust.pgd(m, x, y, eps=0.1, steps=3, rng=0),
    "apgd": lambda m, x, y: robust.apgd(m, x, y, eps=0.1, steps=4, rng=0),
    "cw": lambda m, x, y: robust.cw_l2(m, x, y, steps=3, binary_steps=1),
    "deepfool": lambda m, x, y: robust.deepfool(m, x, y, steps=3),
}


def _state(model):
    return {k: np.array(v._data) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("n", [1, 5])
def test_an_attack_on_a_training_model_is_the_eval_models_and_changes_nothing(name, n):
    x, y = _data(n)
    model = _model()
    model[2].running_mean._data[:] = np.linspace(-1, 1, 8)  # stats the attack must not move
    before = _state(model.train())
    got = ATTACKS[name](model, x, y)
    assert model.training and all(m.training for m in model.modules())
    assert all(np.array_equal(v, before[k]) for k, v in _state(model).items())
    expected = ATTACKS[name](model.eval(), x, y)
    np.testing.assert_array_equal(got.adversarial, expected.adversarial)
    np.testing.assert_array_equal(got.predictions, expected.predictions)


def test_robust_accuracy_and_the_patch_run_in_eval_mode():
    x, y = _data(6)
    model = _model().train()
    before = _state(model)
    res = robust.robust_accuracy(model, (x, y), "fgsm", eps=0.5, batch_size=4, verbose=0)
    expected = robust.robust_accuracy(model.eval(), (x, y), "fgsm", eps=0.5, batch_size=4,
                                      verbose=0)
    assert res == pytest.approx(expected, rel=0, abs=0, nan_ok=True)
    model.train()
    images = np.random.default_rng(2).uniform(0, 1, (4, 1, 8, 8))
    conv = nn.Sequential(nn.Conv2d(1, 2, 3, rng=np.random.default_rng(3)), nn.BatchNorm2d(2),
                         nn.Flatten(), nn.Linear(72, 3, rng=np.random.default_rng(4)))
    conv = conv.to(dtype=np.float64).train()
    conv_before = _state(conv)
    patch = robust.train_patch(conv, images, 1, epochs=1, batch_size=2, rng=0)
    robust.patch_success(conv, images, np.zeros(4, int), patch, 1, rng=0)
    assert model.training and conv.training
    assert all(np.array_equal(v, before[k]) for k, v in _state(model).items())
    assert all(np.array_equal(v, conv_before[k]) for k, v in _state(conv).items())


def test_the_mode_comes_back_when_an_attack_fails():
    model = _model().train()
    with pytest.raises(ValueError, match="fgsm: x must lie inside bounds"):
        robust.fgsm(model, np.full((2, 1, 3, 4), 2.0), [0, 1], eps=0.1)
    assert model.training


def test_each_modules_own_mode_comes_back():
    # A frozen batch norm (eval) inside a training model stays frozen after the attack, and a
    # model in eval with one submodule training gets the same treatment.
    x, y = _data(3)
    model = _model().train()
    model[2].eval()
    robust.pgd(model, x, y, eps=0.1, steps=2, rng=0)
    assert [m.training for m in model] == [True, True, False, True, True, True]
    model.eval()
    model[4].train()  # dropout on in an eval model: the attack still runs without it
    before = _state(model)
    got = robust.fgsm(model, x, y, eps=0.1)
    assert [m.training for m in model] == [False, False, False, False, True, False]
    model[4].eval()
    np.testing.assert_array_equal(got.adversarial, robust.fgsm(model, x, y, eps=0.1).adversarial)
    assert all(np.array_equal(v, before[k]) for k, v in _state(model).items())


def test_the_overfitting_check_keeps_each_modules_mode():
    x, y = _data(4)
    model = _model().train()
    model[2].eval()
    check = robust.OverfittingCheck(x, y, eps=0.1, steps=2)
    assert check.accuracy(model) == robust.robust_accuracy(
        model, (x, y), "pgd", eps=0.1, steps=2, rng=0, verbose=0)["robust_accuracy"]
    assert [m.training for m in model] == [True, True, False, True, True, True]
