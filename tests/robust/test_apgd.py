"""APGD-CE: its checkpoints, the optimum of a linear model, and that it really raises the loss."""

import numpy as np
import pytest

from chainrule import Tensor, robust
from chainrule.ops import cross_entropy


def test_checkpoints_follow_the_papers_schedule():
    assert robust.apgd_checkpoints(100) == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert robust.apgd_checkpoints(1) == [0, 1]


def test_apgd_reaches_the_maximal_loss_of_a_linear_binary_classifier(binary_linear):
    model, x, y = binary_linear
    w = model.weight._data
    eps = 0.01  # too small to fool any of them: APGD must return the point of highest loss
    optimum = x + eps * np.sign(w[1 - y] - w[y])
    res = robust.apgd(model, x, y, eps=eps, steps=30, rng=0)
    assert not res.success.any()
    np.testing.assert_allclose(res.adversarial, optimum, atol=1e-15)


def _losses(model, x, y):
    return cross_entropy(model(Tensor(x)), Tensor(y), reduction="none")._data


def test_apgd_raises_the_loss_at_least_as_much_as_fgsm(digits_mlp):
    model, x, y = digits_mlp
    base = _losses(model, x, y)
    a = robust.apgd(model, x, y, eps=0.1, steps=40, rng=0)
    f = robust.fgsm(model, x, y, eps=0.1)
    # examples it did not fool end at its highest loss: never below the start
    held = ~a.success
    assert (_losses(model, a.adversarial, y)[held] >= base[held] - 1e-6).all()
    assert a.success.sum() >= f.success.sum()
    assert a.success.mean() > 0.3


def test_more_restarts_never_lose_an_example(digits_mlp):
    model, x, y = digits_mlp
    one = robust.apgd(model, x, y, eps=0.04, steps=10, rng=2)
    three = robust.apgd(model, x, y, eps=0.04, steps=10, restarts=3, rng=2)
    assert (three.success | ~one.success).all()


def test_restarts_without_a_random_start_are_refused(binary_linear):
    model, x, y = binary_linear
    with pytest.raises(ValueError, match="apgd: restarts=2 needs random_start=True"):
        robust.apgd(model, x, y, eps=0.1, restarts=2, random_start=False)
