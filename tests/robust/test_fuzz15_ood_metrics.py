"""AUROC and FPR at a TPR against scikit-learn's roc_auc_score and roc_curve (seeded scores with
many ties), and NaN scores refused instead of ranked."""

import numpy as np
import pytest

from chainrule import robust


def _case(seed):
    rng = np.random.default_rng(seed)
    levels = int(rng.integers(2, 8))  # few distinct values: ties inside and across the sets
    a = rng.integers(0, levels, size=int(rng.integers(1, 30))) / levels
    b = rng.integers(0, levels, size=int(rng.integers(1, 30))) / levels
    return a + rng.choice([0.0, 0.25]), b


@pytest.mark.parametrize("seed", range(40))
def test_auroc_and_fpr_match_scikit_learn_with_ties(seed):
    metrics = pytest.importorskip("sklearn.metrics")
    a, b = _case(seed)
    labels, scores = np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b]
    assert robust.auroc(a, b) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = metrics.roc_curve(labels, scores, drop_intermediate=False)
    for target in (0.95, 0.8, 0.5, 0.3, 1.0):
        # the highest threshold whose TPR reaches the target: the first such point of the curve
        expected = fpr[np.searchsorted(tpr, target - 1e-12, side="left")]
        assert robust.fpr_at_tpr(a, b, target) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("fn", [robust.auroc, robust.fpr_at_tpr])
@pytest.mark.parametrize("where", ["scores_in", "scores_out"])
def test_nan_scores_are_refused_not_ranked_highest(fn, where):
    # Before, a NaN sorted last and counted as the highest score: the scores of a diverged model
    # gave AUROC 1.0 (NaN in scores_in) or 0.0 (in scores_out) without a word.
    good, bad = [0.2, 0.9, 0.5], [0.1, np.nan, 0.3]
    args = (bad, good) if where == "scores_in" else (good, bad)
    with pytest.raises(ValueError, match=f"{fn.__name__}: {where} holds NaN scores \\(1 of 3\\)"):
        fn(*args)


def test_infinite_scores_keep_their_order():
    assert robust.auroc([np.inf, 1.0], [-np.inf, 1.0]) == 0.875
    assert robust.fpr_at_tpr([np.inf, 1.0], [-np.inf, 2.0], tpr=0.5) == 0.0


def test_ood_scores_refuse_nan_logits():
    logits = np.array([[1.0, 2.0], [np.nan, 0.0]])
    with pytest.raises(ValueError, match="auroc: scores_in holds NaN scores"):
        robust.ood_scores(logits, np.zeros((2, 2)))


def test_a_bool_tpr_is_refused():
    with pytest.raises(ValueError, match=r"fpr_at_tpr: tpr must be a number in \(0, 1\], got True"):
        robust.fpr_at_tpr([1.0, 2.0], [0.0], tpr=True)
