"""FGSM and PGD against answers known in closed form, the box, the ball, targets and seeds."""

import numpy as np
import pytest

from chainrule import Tensor, robust
from chainrule.ops import cross_entropy, softmax


def _loss(model, x, y):
    return cross_entropy(model(Tensor(x)), Tensor(y), reduction="none")._data


def test_fgsm_on_a_linear_classifier_is_eps_times_the_sign_of_the_weight_difference(binary_linear):
    model, x, y = binary_linear
    w = model.weight._data
    res = robust.fgsm(model, x, y, eps=0.1)
    # d CE / dx = sum_k (p_k - t_k) w_k = p_other (w_other - w_y): its sign is sign(w_other - w_y)
    expected = x + 0.1 * np.sign(w[1 - y] - w[y])
    np.testing.assert_allclose(res.adversarial, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.norms, 0.1, rtol=1e-12)


def test_fgsm_on_a_multiclass_linear_model_follows_the_gradient_sign(rng, make_linear):
    model = make_linear(rng.normal(size=(5, 12)), rng.normal(size=5))
    x, y = rng.uniform(0.2, 0.8, size=(8, 12)), rng.integers(0, 5, size=8)
    w = model.weight._data
    p = softmax(model(Tensor(x)), axis=1)._data
    g = (p - np.eye(5)[y]) @ w          # the gradient of CE with respect to x, by hand
    np.testing.assert_allclose(robust.fgsm(model, x, y, eps=0.05).adversarial,
                               x + 0.05 * np.sign(g), atol=1e-15)
    t = (y + 1) % 5                     # targeted: descend the target's cross-entropy
    gt = (p - np.eye(5)[t]) @ w
    np.testing.assert_allclose(robust.fgsm(model, x, target=t, eps=0.05).adversarial,
                               x - 0.05 * np.sign(gt), atol=1e-15)


@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_linf_reaches_the_optimal_corner_of_a_linear_binary_classifier(binary_linear,
                                                                          random_start):
    model, x, y = binary_linear
    w = model.weight._data
    res = robust.pgd(model, x, y, eps=0.1, steps=20, alpha=0.025, random_start=random_start,
                     rng=0)
    optimum = x + 0.1 * np.sign(w[1 - y] - w[y])  # the loss rises with the margin's loss
    np.testing.assert_allclose(res.adversarial, optimum, atol=1e-15)
    assert (_loss(model, res.adversarial, y) > _loss(model, x, y)).all()


def test_pgd_l2_reaches_eps_along_the_weight_difference(binary_linear):
    model, x, y = binary_linear
    w = model.weight._data
    d = w[1 - y] - w[y]
    optimum = x + 0.5 * d / np.linalg.norm(d, axis=1, keepdims=True)
    exact = robust.pgd(model, x, y, eps=0.5, norm="l2", steps=5, alpha=0.2, random_start=False)
    np.testing.assert_allclose(exact.adversarial, optimum, atol=1e-14)
    np.testing.assert_allclose(exact.norms, 0.5, rtol=1e-12)
    # from a random start, each projection shrinks the part across d: it converges to the optimum
    started = robust.pgd(model, x, y, eps=0.5, norm="l2", steps=200, alpha=0.1, rng=3)
    np.testing.assert_allclose(started.adversarial, optimum, atol=1e-6)


@pytest.mark.parametrize("method, kwargs, norm", [
    ("fgsm", {"eps": 0.3}, "linf"),
    ("fgsm", {"eps": 0.3, "random_start": True, "rng": 1}, "linf"),
    ("pgd", {"eps": 0.2, "steps": 7, "restarts": 2, "rng": 1}, "linf"),
    ("pgd", {"eps": 1.5, "norm": "l2", "steps": 7, "rng": 1}, "l2"),
    ("apgd", {"eps": 0.2, "steps": 10, "rng": 1}, "linf"),
])
def test_attacks_stay_in_the_box_and_the_ball(digits_mlp, method, kwargs, norm):
    model, x, y = digits_mlp
    res = robust.get_attack(method)(model, x, y, **kwargs)
    eps = kwargs["eps"]
    assert res.adversarial.shape == x.shape and res.adversarial.dtype == np.float32
    assert res.adversarial.min() >= 0.0 and res.adversarial.max() <= 1.0
    delta = (res.adversarial - x).reshape(len(x), -1).astype(np.float64)
    size = np.abs(delta).max(1) if norm == "linf" else np.sqrt((delta ** 2).sum(1))
    assert size.max() <= eps * (1 + 1e-6)    # float32 rounding of x + delta - x
    np.testing.assert_allclose(res.norms, size, rtol=1e-5)
    assert res.norm == norm
    assert res.success.mean() > 0.5           # a real attack on an undefended model
    # success is what the model says about the returned inputs
    pred = model(Tensor(res.adversarial))._data.argmax(1)
    np.testing.assert_array_equal(res.predictions, pred)
    np.testing.assert_array_equal(res.success, pred != y)


def test_pgd_restarts_are_never_worse_than_one_run(digits_mlp):
    model, x, y = digits_mlp
    one = robust.pgd(model, x, y, eps=0.08, steps=5, rng=7)
    more = robust.pgd(model, x, y, eps=0.08, steps=5, restarts=4, rng=7)
    assert more.success.sum() >= one.success.sum()
    assert (more.success | ~one.success).all()   # the first restart is the one-run attack


@pytest.mark.parametrize("method", ["fgsm", "pgd", "apgd", "deepfool", "cw"])
def test_targeted_attacks_reach_their_target(digits_mlp, method):
    model, x, y = digits_mlp
    target = (y + 3) % 10
    kwargs = {"fgsm": {"eps": 0.5}, "pgd": {"eps": 0.5, "steps": 20, "rng": 0},
              "apgd": {"eps": 0.5, "steps": 20, "rng": 0}, "deepfool": {},
              "cw": {"steps": 60}}[method]
    res = robust.get_attack(method)(model, x, target=target, **kwargs)
    np.testing.assert_array_equal(res.success, res.predictions == target)
    assert res.success.mean() >= (0.5 if method == "fgsm" else 0.9)


@pytest.mark.parametrize("method", ["fgsm", "pgd", "apgd"])
def test_seeded_attacks_repeat_bit_for_bit(digits_mlp, method):
    model, x, y = digits_mlp
    kwargs = {"eps": 0.1, "rng": 5} | ({} if method == "fgsm" else {"steps": 4})
    if method == "fgsm":
        kwargs["random_start"] = True
    a = robust.get_attack(method)(model, x, y, **kwargs)
    b = robust.get_attack(method)(model, x, y, **kwargs)
    assert np.array_equal(a.adversarial, b.adversarial)
    c = robust.get_attack(method)(model, x, y, **{**kwargs, "rng": 6})
    assert not np.array_equal(a.adversarial, c.adversarial)


def test_custom_bounds_are_respected(binary_linear):
    model, x, y = binary_linear
    res = robust.pgd(model, x, y, eps=0.3, steps=10, bounds=(0.25, 0.75), rng=0)
    assert res.adversarial.min() >= 0.25 and res.adversarial.max() <= 0.75


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: robust.fgsm(m, x, y, eps=-0.1), "fgsm: eps must be a finite number >= 0, "
                                                     "got -0.1"),
    (lambda m, x, y: robust.pgd(m, x, y, eps=0.1, norm="l1"), "pgd: norm must be one of"),
    (lambda m, x, y: robust.pgd(m, x, y, eps=0.1, steps=0), "pgd: steps must be an int >= 1, "
                                                            "got 0"),
    (lambda m, x, y: robust.pgd(m, x, y, eps=0.1, restarts=3, random_start=False),
     "restarts=3 needs random_start=True"),
    (lambda m, x, y: robust.fgsm(m, x + 2, y, eps=0.1), "x must lie inside bounds"),
    (lambda m, x, y: robust.fgsm(m, x, y[:3], eps=0.1), "y must be 16 integer class labels"),
    (lambda m, x, y: robust.fgsm(m, x, None, eps=0.1), "pass the true labels y"),
    (lambda m, x, y: robust.fgsm(m, x, y, eps=0.1, bounds=(1, 0)), "low < high, got (1, 0)"),
    (lambda m, x, y: robust.fgsm("model", x, y, eps=0.1), "model must be a chainrule nn.Module"),
    (lambda m, x, y: robust.get_attack("bim"), "unknown attack 'bim'"),
    # labels no class can have: they counted as fooled, unperturbed (-100 is ignore_index, skipped
    # by the loss; deepfool and cw_l2 compared them with the predictions, or wrapped -1 round)
    (lambda m, x, y: robust.fgsm(m, x, np.where(y == 0, -100, y), eps=0.1),
     "fgsm: y holds negative class labels, e.g. -100"),
    (lambda m, x, y: robust.deepfool(m, x, y - 1), "deepfool: y holds negative class labels"),
    (lambda m, x, y: robust.deepfool(m, x, y * 0 + 5), "deepfool: y holds class 5 but the "
                                                       "model has 2 outputs"),
    (lambda m, x, y: robust.deepfool(m, x, target=2), "deepfool: target holds class 2"),
    (lambda m, x, y: robust.cw_l2(m, x, y - 1, steps=1), "cw_l2: y holds negative class"),
    (lambda m, x, y: robust.cw_l2(m, x, y * 0 + 5, steps=1), "cw_l2: y holds class 5"),
])
def test_bad_arguments_are_named(binary_linear, call, message):
    model, x, y = binary_linear
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(
            ")", r"\)").replace("[", r"\[")):
        call(model, x, y)
