"""Wave 19, the training loop's metrics: ties and labels a score array cannot predict."""

import numpy as np
import pytest

from chainrule.train import accuracy, confusion_matrix, top_k_accuracy


@pytest.mark.parametrize("classes", [17, 100, 1000])
def test_top_1_accuracy_is_accuracy_when_scores_tie(classes):
    # Rows of 0/1 scores tie everywhere; argsort(-scores) (not stable past 16 classes) broke
    # the ties its own way, so top_1_accuracy differed from accuracy (0.045 against 0.06).
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 2, (200, classes)).astype(np.float64)
    y = rng.integers(0, classes, 200)
    assert top_k_accuracy(y, scores, 1) == accuracy(y, scores) == np.mean(scores.argmax(1) == y)
    for k in (2, 5):  # a stable descending sort: ties to the lower class index
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        assert top_k_accuracy(y, scores, k) == np.mean((order == y[:, None]).any(1))


def test_top_k_accuracy_equals_scikit_learns_without_ties():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    scores, y = rng.normal(size=(300, 7)), rng.integers(0, 7, 300)
    for k in (1, 3, 6):
        assert top_k_accuracy(y, scores, k) == pytest.approx(
            metrics.top_k_accuracy_score(y, scores, k=k, labels=range(7)), abs=1e-15
        )
    assert accuracy(y, scores) == pytest.approx(metrics.accuracy_score(y, scores.argmax(1)))
    uint = rng.integers(0, 5, (40, 7)).astype(np.uint8)  # no wrap-around of -scores
    y = rng.integers(0, 7, 40)
    assert top_k_accuracy(y, uint, 1) == accuracy(y, uint)


@pytest.mark.parametrize("labels", [[0, -100, 1], [0, 2, 1], [0.0, 1.5, 1.0]])
@pytest.mark.parametrize(
    "metric",
    [accuracy, lambda t, p: top_k_accuracy(t, p, 1), lambda t, p: confusion_matrix(t, p, 2)],
)
def test_labels_class_scores_cannot_predict_are_refused(metric, labels):
    # An ignored position's -100 (cross_entropy's ignore_index) or a label past the scores was
    # counted as a miss: a plausible, wrong accuracy; top_k even read -100 as a class index.
    scores = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\).*1 other value"):
        metric(np.array(labels), scores)
