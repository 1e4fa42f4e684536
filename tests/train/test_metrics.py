import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.train.metrics import (
    Mean,
    MeanTracker,
    accuracy,
    confusion_matrix,
    get_metric,
    mae,
    mse,
    top_k_accuracy,
)


def test_accuracy_from_labels_scores_and_binary_scores(rng):
    y = rng.integers(0, 4, size=50)
    scores = rng.normal(size=(50, 4))
    expected = np.mean(scores.argmax(1) == y)
    assert accuracy(y, scores) == pytest.approx(expected)
    assert accuracy(y, scores.argmax(1)) == pytest.approx(expected)
    assert accuracy(cr.tensor(y), cr.tensor(scores)) == pytest.approx(expected)
    t = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.7, 0.4, 0.6])
    assert accuracy(t, p) == 0.5
    assert accuracy(t, p[:, None]) == 0.5  # (N, 1) outputs of a binary classifier
    assert accuracy(t, np.array([-1.0, 2.0, 0.5, -0.1]), threshold=0.0) == 1.0  # logits


def test_accuracy_shape_errors():
    with pytest.raises(ValueError, match=r"shaped like y_true \(3,\).*got shape \(3, 2, 2\)"):
        accuracy(np.zeros(3), np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="empty"):
        accuracy(np.zeros(0), np.zeros(0))


def test_top_k_accuracy_matches_a_loop(rng):
    y = rng.integers(0, 6, size=40)
    scores = rng.normal(size=(40, 6))
    for k in (1, 2, 3, 6):
        expected = np.mean([y[i] in np.argsort(-scores[i])[:k] for i in range(40)])
        assert top_k_accuracy(y, scores, k) == pytest.approx(expected)
    assert top_k_accuracy(y, scores, 1) == pytest.approx(accuracy(y, scores))
    assert top_k_accuracy(y, scores, 6) == 1.0
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 6\]"):
        top_k_accuracy(y, scores, 7)
    with pytest.raises(ValueError, match="plus a class axis"):
        top_k_accuracy(y, scores[:, 0])


def test_confusion_matrix_counts_pairs(rng):
    y = rng.integers(0, 3, size=60)
    p = rng.integers(0, 3, size=60)
    cm = confusion_matrix(y, p, 3)
    expected = np.zeros((3, 3), dtype=np.int64)
    for t, q in zip(y, p):
        expected[t, q] += 1
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64 and cm.sum() == 60
    np.testing.assert_array_equal(confusion_matrix(y, np.eye(3)[p] * 5.0, 3), expected)  # scores
    assert np.trace(cm) / 60 == pytest.approx(accuracy(y, p))


def test_confusion_matrix_validates_labels():
    with pytest.raises(ValueError, match=r"y_true must hold integer labels in \[0, 2\)"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        confusion_matrix(np.array([0]), np.array([0]), 0)


def test_mse_and_mae(rng):
    a, b = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    assert mse(a, b) == pytest.approx(np.mean((a - b) ** 2))
    assert mae(a, b) == pytest.approx(np.mean(np.abs(a - b)))
    with pytest.raises(ValueError, match=r"same shape, got \(10,\) and \(10, 1\)"):
        mse(a[:, 0], b[:, :1])


def test_streaming_means_weight_by_batch_size(rng):
    y = rng.integers(0, 3, size=23)
    scores = rng.normal(size=(23, 3))
    tracker = MeanTracker()
    for start in range(0, 23, 5):
        sl = slice(start, start + 5)
        tracker.update({"accuracy": accuracy(y[sl], scores[sl])}, weight=len(y[sl]))
    assert tracker.result()["accuracy"] == pytest.approx(accuracy(y, scores))
    assert math.isnan(Mean().result())


def test_get_metric_resolves_names_functions_and_pairs(rng):
    assert get_metric("accuracy") == ("accuracy", accuracy)
    name, fn = get_metric("top_2_accuracy")
    y, s = rng.integers(0, 4, size=20), rng.normal(size=(20, 4))
    assert name == "top_2_accuracy" and fn(y, s) == top_k_accuracy(y, s, 2)
    assert get_metric(mae) == ("mae", mae)
    assert get_metric(("half", lambda t, p: 0.5))[0] == "half"
    with pytest.raises(ValueError, match="unknown metric 'f2'"):
        get_metric("f2")
    with pytest.raises(ValueError, match=r"\(name, function\) pair"):
        get_metric(lambda t, p: 0.0)
    with pytest.raises(TypeError, match="expected a metric name or function"):
        get_metric(3)


def test_accuracy_with_one_hot_targets_compares_classes():
    import numpy as np

    from chainrule.train.metrics import accuracy

    y_true = np.eye(3, dtype=np.float32)[[0, 1, 2, 2]]
    scores = np.array([[2.0, 0.1, 0.3], [0.2, 0.1, 0.05], [0.0, 0.0, 1.0], [0.9, 0.2, 0.6]])
    assert accuracy(y_true, scores) == 0.5  # rows 0 and 2 right; elementwise thresholds: 0.83
