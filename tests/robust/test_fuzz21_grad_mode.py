"""Twenty-first fuzz wave, robust: attacks called under ``no_grad`` (an evaluation loop).

Before, every attack, ``robust_accuracy`` and ``train_patch`` failed inside ``with no_grad():``
with grad's "output ... does not require grad": they differentiate the model and recorded no
graph. They now record their own (as AutoAttack's code does with ``torch.enable_grad``), give
the results they give outside, and leave the caller's grad mode off.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor, nn, robust

CALLS = {
    "fgsm": lambda m, x, y: robust.fgsm(m, x, y, eps=0.1, random_start=True, rng=0),
    "pgd": lambda m, x, y: robust.pgd(m, x, y, eps=0.5, norm="l2", steps=2, rng=0),
    "apgd": lambda m, x, y: robust.apgd(m, x, y, eps=0.1, steps=3, rng=0, loss="dlr"),
    "apgd-t": lambda m, x, y: robust.apgd_targeted(
        m, x, y, eps=0.1, steps=3, n_target_classes=1, rng=0
    ),
    "cw": lambda m, x, y: robust.cw_l2(m, x, y, steps=3, binary_steps=1),
    "deepfool": lambda m, x, y: robust.deepfool(m, x, y, steps=3),
    "robust_accuracy": lambda m, x, y: robust.robust_accuracy(
        m, (x, y), eps=0.1, steps=2, rng=0, verbose=0
    ),
    "train_patch": lambda m, x, y: robust.train_patch(m, x, 1, area=0.2, rng=0),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_an_attack_under_no_grad_is_the_attack_outside(name):
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(16, 4, rng=rng), nn.Tanh(), nn.Linear(4, 4, rng=rng)
    )
    x = rng.uniform(size=(3, 1, 4, 4)).astype(np.float32)
    y = model(Tensor(x))._data.argmax(axis=1)
    outside = CALLS[name](model, x, y)
    with cr.no_grad():
        inside = CALLS[name](model, x, y)
        assert not cr.is_grad_enabled()
    if isinstance(outside, dict):
        np.testing.assert_equal(inside, outside)  # NaN norms where nothing was fooled
    else:
        out, got = getattr(outside, "adversarial", outside), getattr(inside, "adversarial", inside)
        np.testing.assert_array_equal(got, out)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("method", ["fgsm", "pgd", "n_fgsm"])
def test_the_adversarial_training_hook_under_no_grad(method):
    """Before, the hook failed in grad inside ``no_grad`` (a loop making adversarial data)."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4, rng=rng))
    x, y = Tensor(rng.uniform(size=(3, 1, 4, 4)).astype(np.float32)), Tensor(np.arange(3))
    outside = robust.AdversarialTraining(method, eps=0.1, steps=2, rng=0)(model, (x,), y)
    with cr.no_grad():
        inside = robust.AdversarialTraining(method, eps=0.1, steps=2, rng=0)(model, (x,), y)
        assert not cr.is_grad_enabled()
    np.testing.assert_array_equal(inside[0]._data, outside[0]._data)
