"""Bag-of-n-grams text classifiers over sparse inputs: TF-IDF logistic regression and fastText.

Both read a text as a bag of feature ids with a weight each (``data.ngrams.Bags``: flat ids,
offsets, weights) through ``nn.EmbeddingBag``, so hundreds of thousands of n-gram features cost
only the rows a batch uses. ``forward`` takes that bag (any object with ``indices``, ``offsets``
and ``weights``) or the three arrays.
"""

from __future__ import annotations

from .. import nn
from ..backend import get_array_module
from ..nn import init
from ..nn._checks import _is_int as is_int
from .registry import register

__all__ = ["FastText", "NGramLogistic"]


def _unpack(bags, offsets, weights):
    if offsets is None and hasattr(bags, "offsets"):
        return bags.indices, bags.offsets, bags.weights
    return bags, offsets, weights


def _check_sizes(who, num_features, num_classes):
    for name, value in (("num_features", num_features), ("num_classes", num_classes)):
        if not is_int(value) or value < 1:
            raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")


@register("ngram", summary="TF-IDF bag-of-n-grams multinomial logistic regression (sparse input)",
          source="Zhang, Zhao & LeCun, NIPS 2015, 'n-grams TFIDF' baseline (AG News: 7.64% error)")
class NGramLogistic(nn.Module):
    """Multinomial logistic regression on TF-IDF n-gram features: ``logits = X W + b``.

    ``X W`` is an ``EmbeddingBag(mode="sum")`` of the text's n-gram ids weighted by their TF-IDF
    values (the sparse row of X times W); ``W`` is (num_features, num_classes) and starts at zero,
    as the convex problem allows. Train it with cross-entropy plus an L2 penalty on ``W``
    (``penalized()``), not on the bias, as scikit-learn's ``LogisticRegression``.

    Args:
        num_features: the feature ids' range (``TfidfFeatures.n_features``).
        num_classes: outputs.
        dtype: the parameters' float dtype.
    """

    def __init__(self, num_features: int, num_classes: int, *, dtype="float32", rng=None):
        super().__init__()
        _check_sizes("NGramLogistic", num_features, num_classes)
        self.bag = nn.EmbeddingBag(num_features, num_classes, mode="sum", dtype=dtype, rng=rng)
        init.zeros_(self.bag.weight)
        self.bias = nn.Parameter(get_array_module().zeros(num_classes, dtype=self.bag.weight.dtype))

    def forward(self, bags, offsets=None, weights=None):
        ids, offsets, weights = _unpack(bags, offsets, weights)
        return self.bag(ids, offsets, weights) + self.bias

    def penalized(self) -> list:
        """The parameters an L2 penalty applies to: the weights, not the bias."""
        return [self.bag.weight]


@register("fasttext", summary="fastText-style classifier: averaged n-gram embeddings, linear",
          source="Joulin, Grave, Bojanowski & Mikolov, 'Bag of Tricks for Efficient Text "
                 "Classification', 2016 (bigrams, 10 hidden units)")
class FastText(nn.Module):
    """The average of a text's n-gram embeddings, then a linear layer (Joulin et al. 2016).

    The bag's weights should be each n-gram's share of the text's n-grams (``TfidfFeatures(
    weighting="mean")``), so that the summed bag is the average, repeats included; with no weights
    the bag is a plain mean over its ids. As in fastText's code, the embeddings start uniform in
    ``+-1/embedding_dim`` and the output layer at zero.

    Args:
        num_features: the feature ids' range.
        num_classes: outputs.
        embedding_dim: the hidden size (the paper's 10).
        rng: numpy Generator for the embeddings.
    """

    def __init__(self, num_features: int, num_classes: int, embedding_dim: int = 10, *,
                 rng=None, dtype="float32"):
        super().__init__()
        _check_sizes("FastText", num_features, num_classes)
        self.embedding_dim = embedding_dim
        self.bag = nn.EmbeddingBag(num_features, embedding_dim, mode="sum", dtype=dtype, rng=rng)
        self.fc = nn.Linear(embedding_dim, num_classes, dtype=dtype, rng=rng)
        bound = 1.0 / embedding_dim
        init.uniform_(self.bag.weight, -bound, bound, rng=rng)
        init.zeros_(self.fc.weight)
        init.zeros_(self.fc.bias)

    def forward(self, bags, offsets=None, weights=None):
        ids, offsets, weights = _unpack(bags, offsets, weights)
        if weights is None:
            h = nn.functional.embedding_bag(ids, self.bag.weight, offsets, mode="mean")
        else:
            h = self.bag(ids, offsets, weights)
        return self.fc(h)

    def penalized(self) -> list:
        return [self.bag.weight, self.fc.weight]
