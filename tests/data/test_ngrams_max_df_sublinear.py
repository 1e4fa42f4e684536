"""TfidfFeatures' ``max_df`` and ``sublinear_tf``, equal to scikit-learn's TfidfVectorizer (both
were missing: corpus stop words could not be left out, and tf was always the raw count)."""

import numpy as np
import pytest

from chainrule.data.ngrams import TfidfFeatures, tokenize

sk = pytest.importorskip("sklearn.feature_extraction.text")

CORPUS = [
    "The cat sat on the mat and the cat slept.",
    "The dog sat on the log; the dog barked at the dog!",
    "Cats and dogs: don't they fight? The cats do.",
    "A mat, a log, a cat and a dog.",
    "The the the end.",
    "Nothing here matches",
]


def _theirs(n, max_size=None, **kw):
    return sk.TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None,
                              ngram_range=(1, n), smooth_idf=True, norm="l2",
                              max_features=max_size, **kw).fit(CORPUS[:5])


def _same(ours, theirs):
    names = list(theirs.get_feature_names_out())
    assert sorted(ours.vocabulary.tokens[1:]) == sorted(names)
    cols = ours.vocabulary.lookup(names)
    np.testing.assert_allclose(ours.idf[cols], theirs.idf_, rtol=1e-12)
    dense = ours.transform(CORPUS).to_dense(ours.n_features)
    np.testing.assert_allclose(dense[:, cols], theirs.transform(CORPUS).toarray(), rtol=1e-6,
                               atol=1e-7)


@pytest.mark.parametrize("max_df", [1.0, 0.9, 0.6, 0.41, 0.4, 4, 3, 2, 1])
@pytest.mark.parametrize("n", [1, 2])
def test_max_df_equals_scikit_learn(max_df, n):
    ours = TfidfFeatures(n, max_df=max_df).fit(CORPUS[:5])
    _same(ours, _theirs(n, max_df=max_df))
    if max_df in (0.6, 2) and n == 1:
        assert "the" not in ours.vocabulary and "cat" in ours.vocabulary


@pytest.mark.parametrize("n", [1, 3])
def test_sublinear_tf_equals_scikit_learn(n):
    _same(TfidfFeatures(n, sublinear_tf=True).fit(CORPUS[:5]), _theirs(n, sublinear_tf=True))


def test_max_df_applies_before_max_size_as_in_scikit_learn():
    # scikit-learn drops the too-common n-grams first, then keeps the max_features most frequent
    # of the rest ("the", the most frequent, must not take one of the places)
    ours = TfidfFeatures(1, max_df=0.5, max_size=3).fit(CORPUS[:5])
    theirs = _theirs(1, max_size=3, max_df=0.5)
    assert sorted(ours.vocabulary.tokens[1:]) == sorted(theirs.get_feature_names_out())
    _same(TfidfFeatures(2, max_df=0.7, sublinear_tf=True).fit(CORPUS[:5]),
          _theirs(2, max_df=0.7, sublinear_tf=True))


def test_settings_round_trip_and_older_files_read_with_the_defaults(tmp_path):
    f = TfidfFeatures(2, max_df=0.6, sublinear_tf=True).fit(CORPUS)
    f.save(tmp_path / "f.json")
    g = TfidfFeatures.load(tmp_path / "f.json")
    assert (g.max_df, g.sublinear_tf) == (0.6, True)
    np.testing.assert_array_equal(g.transform(CORPUS).weights, f.transform(CORPUS).weights)
    d = TfidfFeatures(2).fit(CORPUS).to_dict()
    del d["max_df"], d["sublinear_tf"]  # saved before these options
    h = TfidfFeatures.from_dict(d)
    assert (h.max_df, h.sublinear_tf) == (1.0, False)


def test_bad_settings_are_refused_naming_them():
    for bad in (1.5, -0.1, 0, "0.5", True):
        with pytest.raises(ValueError, match=rf"max_df must be a float in \[0, 1\].*got "
                                             rf"{bad!r}".replace("(", r"\(")):
            TfidfFeatures(2, max_df=bad)
    with pytest.raises(ValueError, match="sublinear_tf must be True or False, and True only "
                                         "with weighting='tfidf'; got True with 'mean'"):
        TfidfFeatures(2, weighting="mean", sublinear_tf=True)
    with pytest.raises(ValueError, match="sublinear_tf must be True or False"):
        TfidfFeatures(2, sublinear_tf=1)
    with pytest.raises(ValueError, match=r"no n-grams remain after max_df=0.1 left out those in "
                                         r"more than 0.5 of the 5 texts; raise max_df"):
        TfidfFeatures(1, max_df=0.1).fit(CORPUS[:5])
    with pytest.raises(ValueError):  # scikit-learn refuses it too
        _theirs(1, max_df=0.1)
