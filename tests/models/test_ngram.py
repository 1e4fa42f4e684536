"""The bag-of-n-grams models: the TF-IDF logistic regression at scikit-learn's optimum, fastText."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data.ngrams import TfidfFeatures
from chainrule.models import FastText, NGramLogistic, build
from chainrule.ops import cross_entropy

WORDS = {0: "goal match team score win coach league".split(),
         1: "market stock price bank profit trade shares".split(),
         2: "chip software phone internet data code robot".split()}
COMMON = "the a of in and to for new says".split()


def _corpus(rng, n=60):
    texts, y = [], []
    for i in range(n):
        c = i % 3
        own = rng.choice(WORDS[c], size=rng.integers(2, 6))
        other = rng.choice(WORDS[(c + 1) % 3], size=rng.integers(0, 3))
        words = list(own) + list(other) + list(rng.choice(COMMON, size=4))
        rng.shuffle(words)
        texts.append(" ".join(words))
        y.append(c)
    return texts, np.array(y)


def test_logistic_regression_reaches_scikit_learns_optimum(rng):
    """Cross-entropy (mean) + 1/(2 C n) ||W||^2 is scikit-learn's C * sum CE + ||W||^2 / 2,
    over the same TF-IDF features: minimized with L-BFGS, the optima agree."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    optimize = pytest.importorskip("scipy.optimize")
    texts, y = _corpus(rng)
    feats = TfidfFeatures(2).fit(texts)
    bags = feats.transform(texts)
    n, C = len(y), 2.0
    model = NGramLogistic(feats.n_features, 3, dtype="float64")
    params = [model.bag.weight, model.bias]
    shapes = [p.shape for p in params]
    sizes = [int(np.prod(s)) for s in shapes]

    def objective(flat):
        parts = np.split(flat, np.cumsum(sizes)[:-1])
        with cr.no_grad():
            for p, part, s in zip(params, parts, shapes):
                p.copy_(part.reshape(s))
        for p in params:
            p.grad = None
        loss = cross_entropy(model(bags), y) + (model.bag.weight ** 2).sum() / (2 * C * n)
        loss.backward()
        return float(loss._data), np.concatenate([p.grad._data.ravel() for p in params])

    res = optimize.minimize(objective, np.zeros(sum(sizes)), jac=True, method="L-BFGS-B",
                            options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 5000})
    assert res.success, res.message
    objective(res.x)
    sk = linear_model.LogisticRegression(C=C, tol=1e-12, max_iter=10_000)
    dense = bags.to_dense(feats.n_features).astype(np.float64)
    sk.fit(dense, y)
    # The weight of the unknown-token column (never used) stays 0 in both.
    assert np.abs(sk.coef_).max() > 0.5  # a problem whose weights are far from 0
    np.testing.assert_allclose(model.bag.weight._data.T, sk.coef_, atol=1e-6)
    # The intercept is defined up to a constant shift (softmax ignores it): compare centred.
    b = model.bias._data
    np.testing.assert_allclose(b - b.mean(), sk.intercept_ - sk.intercept_.mean(), atol=1e-6)
    with cr.no_grad():
        ours = cr.softmax(model(bags), axis=1)._data
    np.testing.assert_allclose(ours, sk.predict_proba(dense), atol=1e-7)


def test_models_are_registered_and_take_bags_or_arrays(rng):
    texts, y = _corpus(rng, 12)
    feats = TfidfFeatures(2, weighting="mean").fit(texts)
    bags = feats.transform(texts)
    for name in ("ngram", "fasttext"):
        net = build(name, num_features=feats.n_features, num_classes=3, rng=rng)
        out = net(bags)
        assert out.shape == (12, 3)
        again = net(bags.indices, bags.offsets, bags.weights)
        np.testing.assert_array_equal(out.numpy(), again.numpy())
        cross_entropy(out, y).backward()
        assert net.bag.weight.grad.shape == (feats.n_features, net.bag.weight.shape[1])
    ngram = NGramLogistic(5, 2)
    assert set(ngram.state_dict()) == {"bias", "bag.weight"}
    assert (ngram.bag.weight._data == 0).all()


def test_fasttext_is_the_mean_embedding_then_linear(rng):
    net = FastText(8, 3, embedding_dim=4, rng=rng, dtype="float64")
    assert np.abs(net.bag.weight._data).max() <= 0.25 and (net.fc.weight._data == 0).all()
    cr.nn.init.normal_(net.fc.weight, rng=rng)
    ids, offsets = np.array([1, 2, 2, 5]), np.array([0, 3])
    w = np.array([1 / 3, 1 / 3, 1 / 3, 1.0])
    expected = np.stack([net.bag.weight._data[[1, 2, 2]].mean(0), net.bag.weight._data[5]])
    expected = expected @ net.fc.weight._data.T + net.fc.bias._data
    np.testing.assert_allclose(net(ids, offsets, w)._data, expected, rtol=1e-12)
    np.testing.assert_allclose(net(ids, offsets)._data, expected, rtol=1e-12)  # plain mean
    assert cr.gradcheck(lambda e: net(ids, offsets, w), [net.bag.weight])


@pytest.mark.kernel_free
def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="NGramLogistic: num_features must be a positive int, "
                                         "got 0"):
        NGramLogistic(0, 2)
    with pytest.raises(ValueError, match="FastText: num_classes must be a positive int"):
        FastText(3, 1.5)
