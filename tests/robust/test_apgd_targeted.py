"""APGD-T: the targeted DLR loss against PyTorch, its target classes, that it fools at least as
many examples as APGD-DLR, the budget and the box held exactly, and seeded repeatability."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from chainrule import Tensor, robust  # noqa: E402
from chainrule.robust.apgd_targeted import target_classes  # noqa: E402
from chainrule.robust.dlr import dlr_targeted_gradient  # noqa: E402


def test_targeted_dlr_loss_and_gradient_match_torch(make_linear, rng):
    w, b = rng.normal(size=(6, 5)), rng.normal(size=6)
    x = rng.uniform(size=(8, 5))
    y, t = rng.integers(0, 6, 8), rng.integers(0, 6, 8)
    loss, g, z = dlr_targeted_gradient(make_linear(w, b), x, y, t)
    xt = torch.tensor(x, requires_grad=True)
    zt = xt @ torch.tensor(w).T + torch.tensor(b)
    s = zt.sort(dim=1, descending=True).values
    rows = torch.arange(8)
    ref = -(zt[rows, y] - zt[rows, t]) / (s[:, 0] - 0.5 * (s[:, 2] + s[:, 3]) + 1e-12)
    (gt,) = torch.autograd.grad(ref.sum(), xt)
    np.testing.assert_allclose(loss, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g, gt.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(z, zt.detach().numpy(), rtol=1e-12)


def test_target_classes_are_the_best_other_classes_even_for_a_wrong_prediction():
    logits = np.array([[5.0, 1.0, 3.0, 4.0, 2.0], [0.0, 9.0, 1.0, 8.0, 2.0]])
    got = target_classes(logits, np.array([0, 3]), 3)
    np.testing.assert_array_equal(got, [[3, 2, 4], [1, 4, 2]])  # never the label itself


@pytest.mark.parametrize("eps", [0.03, 0.05])
def test_apgd_t_fools_at_least_as_many_as_apgd_dlr(digits_mlp, eps):
    model, x, y = digits_mlp
    dlr = robust.apgd(model, x, y, eps=eps, steps=20, loss="dlr", rng=0)
    t = robust.apgd_targeted(model, x, y, eps=eps, steps=20, n_target_classes=4, rng=0)
    assert t.success.sum() >= dlr.success.sum() > 0
    np.testing.assert_array_equal(t.success, t.predictions != y)  # success is untargeted
    np.testing.assert_array_equal(t.predictions, model(Tensor(t.adversarial))._data.argmax(1))


@pytest.mark.parametrize("eps", [0.1, 1 / 30])
def test_budget_and_box_hold_exactly(digits_mlp, eps):
    model, x, y = digits_mlp
    res = robust.apgd_targeted(model, x, y, eps=eps, steps=8, n_target_classes=2, rng=1)
    assert res.adversarial.dtype == np.float32
    assert (res.norms.astype(np.float64) <= eps).all()
    assert (np.abs(res.adversarial.astype(np.float64) - x) <= eps).all()
    assert res.adversarial.min() >= 0.0 and res.adversarial.max() <= 1.0
    assert res.norms.max() > 0.9 * eps  # the budget is used, not left idle


def test_seeded_runs_repeat_and_do_not_depend_on_the_batch_size(digits_mlp):
    model, x, y = digits_mlp
    kwargs = dict(eps=0.04, steps=6, n_target_classes=2, restarts=2)
    one = robust.apgd_targeted(model, x, y, rng=3, **kwargs)
    two = robust.apgd_targeted(model, x, y, rng=3, **kwargs)
    np.testing.assert_array_equal(one.adversarial, two.adversarial)
    small, large = (
        robust.robust_accuracy(model, (x, y), "apgd-t", batch_size=n, verbose=0, rng=3, **kwargs)
        for n in (16, 64)
    )
    assert small == large and small["robust_accuracy"] < small["clean_accuracy"]


def test_what_apgd_t_cannot_do_is_refused(make_linear, rng):
    x = rng.uniform(size=(4, 5))
    three = make_linear(rng.normal(size=(3, 5)), np.zeros(3))
    with pytest.raises(ValueError, match="needs at least 4 classes, the model has 3"):
        robust.apgd_targeted(three, x, np.zeros(4, int), eps=0.1)
    six = make_linear(rng.normal(size=(6, 5)), np.zeros(6))
    with pytest.raises(ValueError, match=r"n_target_classes must be at most .* \(5\), got 6"):
        robust.apgd_targeted(six, x, np.zeros(4, int), eps=0.1, n_target_classes=6)
    with pytest.raises(ValueError, match="restarts=2 needs random_start=True"):
        robust.apgd_targeted(six, x, np.zeros(4, int), eps=0.1, restarts=2, random_start=False)
    with pytest.raises(ValueError, match="n_target_classes must be an int >= 1, got 0"):
        robust.apgd_targeted(six, x, np.zeros(4, int), eps=0.1, n_target_classes=0)
