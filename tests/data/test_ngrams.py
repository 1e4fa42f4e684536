"""Word n-grams and TF-IDF (chainrule.data.ngrams) and the fixed text splits (data.text)."""

import json
import os

import numpy as np
import pytest

from chainrule.data.ngrams import Bags, TfidfFeatures, Vocabulary, ngrams, tokenize
from chainrule.data.text import load_text_splits, split_indices, training_subset

CORPUS = [
    "The cat sat on the mat.",
    "The dog sat on the log; the dog barked!",
    "Cats and dogs: don't they fight?",
    "A mat, a log, a cat.",
    "Nothing here matches",
]


def test_tokenize_lower_cases_and_keeps_inner_apostrophes():
    assert tokenize("Don't PANIC -- it's 42!") == ["don't", "panic", "it's", "42"]
    assert tokenize("") == []
    with pytest.raises(TypeError, match="tokenize: text must be a str, got int"):
        tokenize(3)


def test_ngrams_hand_worked():
    assert ngrams(["a", "b", "c"], 3) == ["a", "b", "c", "a b", "b c", "a b c"]
    assert ngrams(["a"], 2) == ["a"]
    # Found by the CLI fuzz (`train ngram --ngram 99999999999999999999` hung): a huge n loops no
    # further than the tokens allow.
    assert ngrams(["a", "b"], 10**20) == ["a", "b", "a b"]
    with pytest.raises(ValueError, match="ngrams: n must be a positive int, got 0"):
        ngrams(["a"], 0)


def test_vocabulary_counts_cuts_and_round_trips(tmp_path):
    docs = [["b", "a", "b"], ["c", "b", "a"], ["d"]]
    v = Vocabulary.build(docs, min_count=2)
    assert v.tokens == ["<unk>", "b", "a"]  # most frequent first; c and d seen once
    assert Vocabulary.build(docs, max_size=3).tokens == ["<unk>", "b", "a", "c"]  # c < d
    assert v.lookup(["a", "zzz", "b"]).tolist() == [2, 0, 1]
    assert v.lookup(["a", "zzz"], drop_unknown=True).tolist() == [2]
    v.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json").tokens == v.tokens
    with pytest.raises(ValueError, match="token 'a' is given twice"):
        Vocabulary(["a", "a"])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tfidf_equals_scikit_learn(n):
    sk = pytest.importorskip("sklearn.feature_extraction.text")
    ours = TfidfFeatures(n).fit(CORPUS[:4])
    theirs = sk.TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None,
                                ngram_range=(1, n), smooth_idf=True, sublinear_tf=False,
                                norm="l2").fit(CORPUS[:4])
    names = list(theirs.get_feature_names_out())
    assert sorted(ours.vocabulary.tokens[1:]) == sorted(names)
    cols = ours.vocabulary.lookup(names)
    np.testing.assert_allclose(ours.idf[cols], theirs.idf_, rtol=1e-12)
    dense = ours.transform(CORPUS).to_dense(ours.n_features)
    np.testing.assert_allclose(dense[:, cols], theirs.transform(CORPUS).toarray(), rtol=1e-6,
                               atol=1e-7)
    assert (dense[:, 0] == 0).all() and (dense[4] == 0).all()  # unknown n-grams are dropped


def test_features_read_texts_from_an_iterator():
    # An iterator used to be consumed by the str check, leaving an empty vocabulary and empty bags.
    want = TfidfFeatures(2).fit(CORPUS)
    got = TfidfFeatures(2).fit(iter(CORPUS))
    assert got.vocabulary.tokens == want.vocabulary.tokens
    np.testing.assert_array_equal(got.idf, want.idf)
    bags, want_bags = got.transform(t for t in CORPUS), want.transform(CORPUS)
    assert len(bags) == len(CORPUS)
    np.testing.assert_array_equal(bags.indices, want_bags.indices)
    np.testing.assert_array_equal(bags.weights, want_bags.weights)


def test_mean_weighting_averages_occurrences():
    f = TfidfFeatures(1, weighting="mean").fit(["a b a c"])
    bags = f.transform(["a a b zzz"])
    got = dict(zip((f.vocabulary.tokens[i] for i in bags.indices), bags.weights.tolist()))
    assert got == pytest.approx({"a": 2 / 3, "b": 1 / 3})


def test_features_save_and_load_reproduce_the_transform(tmp_path):
    f = TfidfFeatures(2, min_count=1, max_size=20).fit(CORPUS)
    f.save(tmp_path / "f.json")
    g = TfidfFeatures.load(tmp_path / "f.json")
    a, b = f.transform(CORPUS), g.transform(CORPUS)
    for x, y in zip((a.indices, a.offsets, a.weights), (b.indices, b.offsets, b.weights)):
        np.testing.assert_array_equal(x, y)
    bad = json.loads((tmp_path / "f.json").read_text())
    bad["idf"] = bad["idf"][:-1]
    with pytest.raises(ValueError, match="idf must be 21 finite numbers"):
        TfidfFeatures.from_dict(bad)
    del bad["weighting"]
    with pytest.raises(ValueError, match="a saved entry is missing"):
        TfidfFeatures.from_dict(bad)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: "):
        TfidfFeatures.load(tmp_path / "broken.json")
    with pytest.raises(ValueError, match="not fitted"):
        TfidfFeatures().transform(["a"])
    with pytest.raises(TypeError, match="single str"):
        f.transform("a text")


def test_bags_take_selects_documents():
    f = TfidfFeatures(1).fit(CORPUS)
    bags = f.transform(CORPUS)
    dense = bags.to_dense(f.n_features)
    sub = bags.take([3, 0, 4])
    assert isinstance(sub, Bags) and len(sub) == 3
    np.testing.assert_array_equal(sub.to_dense(f.n_features), dense[[3, 0, 4]])


def test_split_is_stratified_seeded_and_disjoint():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    a, b = split_indices(y), split_indices(y)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    everything = np.sort(np.concatenate(list(a.values())))
    np.testing.assert_array_equal(everything, np.arange(1000))
    assert np.bincount(y[a["test"]]).tolist() == [100, 60, 40]
    assert np.bincount(y[a["val"]]).tolist() == [50, 30, 20]
    assert not np.array_equal(split_indices(y, seed=1)["test"], a["test"])


def test_training_subsets_are_stratified_and_nested():
    y = np.repeat([0, 1], [90, 10])
    small, large = training_subset(y, 0.1), training_subset(y, 0.5)
    assert np.bincount(y[small]).tolist() == [9, 1] and np.bincount(y[large]).tolist() == [45, 5]
    assert set(small) <= set(large)
    np.testing.assert_array_equal(training_subset(y, 1.0), np.arange(100))
    with pytest.raises(ValueError, match="fraction must be in"):
        training_subset(y, 0)


SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data not present")
def test_local_corpora_split_sizes():
    ag, classes = load_text_splits("ag_news", SHARED)
    assert classes == ("World", "Sports", "Business", "Sci/Tech")
    assert {k: len(v[1]) for k, v in ag.items()} == {"train": 5320, "val": 760, "test": 1520}
    with pytest.raises(ValueError, match="unknown text dataset 'imdb'"):
        load_text_splits("imdb", SHARED)
