"""Twenty-first fuzz wave, robust: every attack's output inside the box for any bounds, float32 too.

Before, Carlini & Wagner's change of variables ``low + (high - low) (tanh(w) + 1) / 2`` rounded
one unit in the last place past ``high`` in float32 where ``tanh(w)`` reached 1 (bounds (0.1,
0.7): 0.70000005), and the attack returned those points as they were. AUROC and FPR at a TPR
raveled scores of two axes (logits passed for scores) and ranked them as N * C scores. DeepFool
stepped 1e-4 / ||w|| past each boundary, far past it for a model of small gradients.
"""

import numpy as np
import pytest

from chainrule import Tensor, nn, robust


def _setup(dtype, bounds, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Linear(12, 3, rng=rng).to(dtype=dtype)
    model.load_state_dict(
        {"weight": (rng.normal(size=(3, 12)) * 5).astype(dtype), "bias": np.zeros(3, dtype)}
    )
    x = rng.uniform(bounds[0], bounds[1], size=(8, 12)).astype(dtype)
    x[:, :4], x[:, 4:8] = bounds[1], bounds[0]  # pixels on the box's edges
    x = np.clip(x, bounds[0], bounds[1])
    return model, x, model(Tensor(x))._data.argmax(axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bounds", [(0.1, 0.7), (-0.4242, 2.8215)])
def test_cw_l2_stays_inside_the_box(dtype, bounds):
    model, x, y = _setup(dtype, bounds)
    res = robust.cw_l2(model, x, y, c=10.0, steps=20, lr=0.5, binary_steps=1, bounds=bounds)
    adv = res.adversarial
    assert adv.dtype == dtype and res.success.all()
    assert (adv >= bounds[0]).all() and (adv <= bounds[1]).all()


@pytest.mark.parametrize("fn", [robust.auroc, robust.fpr_at_tpr])
def test_ood_metrics_refuse_scores_of_more_than_one_axis(fn):
    """Before, logits (N, C) passed for scores were raveled and ranked as N * C scores."""
    rng = np.random.default_rng(0)
    logits_in, logits_out = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    with pytest.raises(ValueError, match=r"one score per input \(N,\), got shape \(6, 3\)"):
        fn(logits_in, robust.msp_score(logits_out))
    with pytest.raises(ValueError, match=r"scores_out must be one score per input"):
        fn(robust.msp_score(logits_in), logits_out[:, :1])
    assert fn([0.9, 0.8], np.float64(0.5)) == fn([0.9, 0.8], [0.5])  # a 0-d score is one score


@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_deepfool_finds_the_distance_whatever_the_logits_scale(scale):
    """Before, each step went ``1e-4 / ||w||`` past the boundary (1e-4 added to ``|f|``, not to
    the distance): 0.1 too far for a linear model whose ``||w||`` is 1e-3."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 10))
    w *= scale / np.linalg.norm(w[1] - w[0])
    model = nn.Linear(10, 2).to(dtype=np.float64)
    model.load_state_dict({"weight": w, "bias": np.zeros(2)})
    x = rng.uniform(0.3, 0.7, size=(4, 10))
    z = x @ w.T
    distance = np.abs(z[:, 1] - z[:, 0]) / np.linalg.norm(w[1] - w[0])
    res = robust.deepfool(model, x, z.argmax(axis=1), overshoot=0.0, bounds=(-9.0, 9.0))
    assert res.success.all()
    np.testing.assert_allclose(res.norms, distance + 1e-4, rtol=1e-7)  # ||w|| + 1e-12 in it


@pytest.mark.parametrize(
    "tpr, key",
    [
        (0.95, "fpr_at_95tpr"),
        (0.999, "fpr_at_99.9tpr"),
        (0.57, "fpr_at_57tpr"),
        (1.0, "fpr_at_100tpr"),
    ],
)
def test_ood_scores_name_the_tpr_it_measured_at(tpr, key):
    """Before, the key was round(tpr * 100): FPR at 99.9% TPR was reported as fpr_at_100tpr."""
    rng = np.random.default_rng(0)
    logits_in, logits_out = rng.normal(size=(9, 3)) * 3, rng.normal(size=(7, 3))
    res = robust.ood_scores(logits_in, logits_out, tpr=tpr)
    for name, score in robust.SCORES.items():
        assert set(res[name]) == {"auroc", key}
        assert res[name][key] == robust.fpr_at_tpr(score(logits_in), score(logits_out), tpr)


def test_project_checks_its_arguments_and_keeps_x_dtype():
    """Before, robust.project took eps NaN (returning NaN), bounds (1, 0), and an x outside the
    box (returning points outside it too), and returned float64 for a float64 x_adv around a
    float32 x."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.8, size=(3, 5)).astype(np.float32)
    far = x + rng.normal(size=x.shape)
    adv = robust.project(far, x, 0.1, "linf", (0.2, 0.8))
    assert adv.dtype == np.float32 and (adv >= np.float32(0.2)).all() and (adv <= 0.8).all()
    assert np.abs(adv.astype(np.float64) - x).max() <= 0.1
    for eps, bounds, inputs, message in [
        (float("nan"), (0, 1), x, "eps must be a finite number >= 0, got nan"),
        (-0.1, (0, 1), x, "eps must be a finite number >= 0, got -0.1"),
        (0.1, (1, 0), x, "bounds must be finite with low < high"),
        (0.1, (0.3, 0.8), x, r"x must lie inside bounds \(0.3, 0.8\)"),
    ]:
        with pytest.raises(ValueError, match=f"project: {message}"):
            robust.project(far, inputs, eps, "l2", bounds)


def test_float16_models_give_finite_attacks():
    """Before, in float16 PGD-L2's step divided a zero gradient by 0 + 1e-12 (which is 0 there)
    and returned NaN points, and Carlini & Wagner's constants (1 - 1e-6, Adam's 1e-8, the 1e9
    mask) rounded to 1, 0 and inf: w went NaN and no example was ever fooled (reported robust)."""
    rng = np.random.default_rng(0)
    flat = nn.Linear(6, 3).to(dtype=np.float16)
    flat.load_state_dict(
        {"weight": np.zeros((3, 6), np.float16), "bias": np.array([5, 0, 0], np.float16)}
    )
    x = rng.uniform(size=(2, 6)).astype(np.float16)
    res = robust.pgd(flat, x, np.zeros(2, int), eps=0.5, norm="l2", steps=2, random_start=False)
    np.testing.assert_array_equal(res.adversarial, x)  # no gradient, no step
    model = nn.Linear(16, 4, rng=rng).to(dtype=np.float16)
    x = rng.uniform(size=(3, 16)).astype(np.float16)
    x[:, :2] = 0, 1  # on the box's edges, where atanh is infinite
    y = model(Tensor(x))._data.argmax(axis=1)
    res = robust.cw_l2(model, x, y, steps=20, binary_steps=2)
    assert res.adversarial.dtype == np.float16 and np.isfinite(res.adversarial).all()
    assert res.success.all() and (res.norms > 0).all()
