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


def test_accuracy_ignoring_padding_is_exact_over_an_epoch():
    # A tagger trained with cross_entropy(ignore_index=-100) had no accuracy that left the
    # padding out; with ignore_index the epoch value counts the kept positions of the epoch,
    # not a mean of batch accuracies weighted by sequences (which gave a different number).
    import functools

    import chainrule as cr
    from chainrule import nn
    from chainrule.train import Trainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 6, 3)).astype("float32")
    y = rng.integers(0, 4, (23, 6))
    y[rng.random((23, 6)) < np.linspace(0, 0.9, 23)[:, None]] = -100  # later rows padded more
    model = nn.Linear(3, 4, rng=rng)

    def loss(out, t):
        return cr.ops.cross_entropy(out.reshape(-1, 4), t.reshape(-1), ignore_index=-100)

    acc = ("acc", functools.partial(accuracy, ignore_index=-100))
    logs = Trainer(model, loss, None, metrics=[acc]).evaluate(x, y, batch_size=5)
    pred, kept = model(x).numpy().argmax(-1), y != -100
    assert logs["acc"] == pytest.approx(np.mean(pred[kept] == y[kept]), abs=1e-15)
    batches = [
        np.mean(pred[i : i + 5][kept[i : i + 5]] == y[i : i + 5][kept[i : i + 5]])
        for i in range(0, 23, 5)
    ]
    assert abs(np.average(batches, weights=[5, 5, 5, 5, 3]) - logs["acc"]) > 1e-3
    with pytest.raises(ValueError, match="every label is ignore_index=-100"):
        accuracy(np.full(3, -100), np.zeros((3, 4)), ignore_index=-100)
    with pytest.raises(ValueError, match="ignore_index applies to label targets"):
        accuracy(np.eye(3), np.eye(3), ignore_index=0)
