"""OOD scores and their AUROC / FPR@95TPR against scikit-learn; poses against exact rotations."""

import numpy as np
import pytest

from chainrule import Tensor, robust
from chainrule.robust.shift import warp


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_matches_sklearn(rng, ties):
    metrics = pytest.importorskip("sklearn.metrics")
    a, b = rng.normal(1, 1, 300), rng.normal(0, 1, 200)
    if ties:  # rounded scores tie often, within and across the two sets
        a, b = np.round(a, 1), np.round(b, 1)
    labels = np.r_[np.ones(len(a)), np.zeros(len(b))]
    assert robust.auroc(a, b) == pytest.approx(metrics.roc_auc_score(labels, np.r_[a, b]),
                                               abs=1e-12)


@pytest.mark.parametrize("tpr", [0.95, 0.8, 0.5])
def test_fpr_at_tpr_matches_the_roc_curve(rng, tpr):
    metrics = pytest.importorskip("sklearn.metrics")
    a, b = np.round(rng.normal(1.5, 1, 400), 2), np.round(rng.normal(0, 1, 300), 2)
    labels = np.r_[np.ones(len(a)), np.zeros(len(b))]
    fpr, tprs, _ = metrics.roc_curve(labels, np.r_[a, b], drop_intermediate=False)
    expected = fpr[np.argmax(tprs >= tpr)]  # the first (highest) threshold reaching tpr
    assert robust.fpr_at_tpr(a, b, tpr) == pytest.approx(expected, abs=1e-12)


def test_perfect_and_hopeless_detectors():
    assert robust.auroc([2, 3], [0, 1]) == 1.0 and robust.fpr_at_tpr([2, 3], [0, 1]) == 0.0
    assert robust.auroc([0, 1], [2, 3]) == 0.0 and robust.fpr_at_tpr([0, 1], [2, 3]) == 1.0
    assert robust.auroc([1, 1], [1, 1]) == 0.5


def test_scores_are_the_softmax_maximum_and_the_logsumexp(rng):
    z = rng.normal(size=(6, 4)) * 3
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(robust.msp_score(z), p.max(1), rtol=1e-12)
    np.testing.assert_allclose(robust.energy_score(z, 2.0),
                               2.0 * np.log(np.exp(z / 2.0).sum(1)), rtol=1e-12)
    res = robust.ood_scores(z * 3, z / 3)
    assert set(res["msp"]) == {"auroc", "fpr_at_95tpr"}
    assert res["mean_confidence_in"] > res["mean_confidence_out"]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="fpr_at_tpr: tpr must be a number in \\(0, 1\\], got 1.5"):
        robust.fpr_at_tpr([1.0], [0.0], 1.5)
    with pytest.raises(ValueError, match="auroc: scores_in must be non-empty, got no scores"):
        robust.auroc([], [0.0])
    with pytest.raises(ValueError, match="pose: kind must be one of rotation"):
        robust.transform_images(np.zeros((1, 1, 4, 4)), "shear", 1.0)


@pytest.mark.parametrize("size", [5, 8])
def test_quarter_and_half_turns_are_exact(rng, size):
    x = rng.uniform(0, 1, (2, 1, size, size)).astype(np.float32)
    np.testing.assert_allclose(warp(x, angle=90), np.rot90(x, 1, axes=(2, 3)), atol=1e-6)
    np.testing.assert_allclose(warp(x, angle=180), np.rot90(x, 2, axes=(2, 3)), atol=1e-6)
    np.testing.assert_array_equal(warp(x), x)
    shifted = warp(x, shift=(1, 0))   # down one row, the top row filled with background
    np.testing.assert_array_equal(shifted[:, :, 1:], x[:, :, :-1])
    assert (shifted[:, :, 0] == 0).all()


def test_pose_curves_and_confident_mistakes(digits_mlp):
    model, x, y = digits_mlp
    curves = robust.pose_curves(model, x, y, {"rotation": [0.0, 90.0, 180.0],
                                              "elastic": [0.0, 3.0]}, rng=0)
    clean = (model(Tensor(x))._data.argmax(1) == y).mean()
    rot = {r["value"]: r for r in curves["rotation"]}
    assert rot[0.0]["accuracy"] == pytest.approx(clean)
    assert rot[180.0]["accuracy"] < clean - 0.3
    assert curves["elastic"][0]["accuracy"] == pytest.approx(clean)
    mistakes = robust.confident_mistakes(model, x, y, [90.0, 180.0], k=5)
    confs = [m["confidence"] for m in mistakes]
    assert confs == sorted(confs, reverse=True) and len(mistakes) == 5
    for m in mistakes:
        assert m["predicted"] != m["label"]
        logits = model(Tensor(m["image"][None]))._data
        assert logits.argmax() == m["predicted"]
        assert robust.msp_score(logits)[0] == pytest.approx(m["confidence"], rel=1e-5)
