"""Wave 16, text: bags of n-grams against scikit-learn, Zhang's quantization against the paper.

1. ``TfidfFeatures`` against ``sklearn.feature_extraction.text.TfidfVectorizer`` given the same
   token pattern and n-gram range, on seeded random corpora with unicode words, inner apostrophes,
   empty and punctuation-only texts: the same n-grams, idf and TF-IDF matrix (also of texts the
   features were not fitted on, with words they never saw). ``max_size`` keeps what scikit-learn's
   ``max_features`` keeps wherever the cut does not fall between n-grams of equal count (there
   scikit-learn's order is that of an unstable argsort; chainrule's is alphabetical).
   ``min_count`` counts occurrences, not documents (scikit-learn's ``min_df``), so it is checked
   against a count, with scikit-learn given the vocabulary.
2. ``quantize`` against a plain re-implementation of the paper's definition.
"""

from collections import Counter

import numpy as np
import pytest

from chainrule.data.ngrams import TOKEN_PATTERN, TfidfFeatures
from chainrule.data.text import ALPHABET, quantize

from ._case_loop import each_case, grid

text_mod = pytest.importorskip("sklearn.feature_extraction.text")

WORDS = ["a", "b", "cat", "Dog", "don't", "ÉCOLE", "école", "naïve", "日本", "x_y", "42", "it's",
         "ß", "İstanbul", "ΣΑΣ", "'", "!!", "...", "_", "don''t", "o'", "'tis", "Ünïcode"]
SEPS = [" ", "  ", ", ", "!", ".\n", "\t", " - ", "\u00a0"]


def _corpus(rng, most=10):
    docs = []
    for _ in range(int(rng.integers(1, most))):
        k = int(rng.integers(0, 9))
        docs.append("".join(WORDS[rng.integers(len(WORDS))] + SEPS[rng.integers(len(SEPS))]
                            for _ in range(k)))
    docs.append(["", "?!. ...", "'"][int(rng.integers(3))])  # empty / punctuation-only
    return docs


def _dense(features, texts, vocab):
    cols = [features.vocabulary.index[t] for t in vocab]
    return features.transform(texts).to_dense(features.n_features)[:, cols]


@pytest.mark.parametrize("seed", range(40))
def test_tfidf_matches_sklearn_vocabulary_idf_and_matrix(seed):
    rng = np.random.default_rng(seed)
    docs, other = _corpus(rng), _corpus(rng)
    n = int(rng.integers(1, 4))
    ours = TfidfFeatures(n).fit(docs)
    sk = text_mod.TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=(1, n))
    if len(ours.vocabulary) == 1:  # nothing but punctuation: scikit-learn refuses
        with pytest.raises(ValueError, match="empty vocabulary"):
            sk.fit(docs)
        return
    x = sk.fit_transform(docs).toarray()
    vocab = sorted(sk.vocabulary_, key=sk.vocabulary_.get)
    assert sorted(ours.vocabulary.tokens[1:]) == sorted(vocab)
    assert ours.idf[0] == 0
    np.testing.assert_allclose(ours.idf[[ours.vocabulary.index[t] for t in vocab]], sk.idf_,
                               rtol=1e-15)
    for texts, want in ((docs, x), (other, sk.transform(other).toarray())):
        got = _dense(ours, texts, vocab)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    analyzer = sk.build_analyzer()
    for d in docs:
        assert Counter(ours.grams(d)) == Counter(analyzer(d))


def _max_size_keeps_what_max_features_keeps_when_no_tie_at_the_cut_case(seed):
    rng = np.random.default_rng(100 + seed)
    docs, n, size = _corpus(rng, 14), int(rng.integers(1, 4)), int(rng.integers(1, 25))
    counts = Counter(g for d in docs for g in TfidfFeatures(n).grams(d))
    order = sorted(counts, key=lambda t: (-counts[t], t))
    ours = TfidfFeatures(n, max_size=size).fit(docs)
    assert ours.vocabulary.tokens[1:] == order[:size]  # most frequent first, ties alphabetical
    if not order or (len(order) > size and counts[order[size - 1]] == counts[order[size]]):
        return  # scikit-learn breaks this tie in an unstable argsort's order
    sk = text_mod.TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=(1, n),
                                  max_features=size)
    x = sk.fit_transform(docs).toarray()
    vocab = sorted(sk.vocabulary_, key=sk.vocabulary_.get)
    assert sorted(vocab) == sorted(order[:size])
    np.testing.assert_allclose(_dense(ours, docs, vocab), x, rtol=1e-6, atol=1e-7)


def test_max_size_keeps_what_max_features_keeps_when_no_tie_at_the_cut():
    each_case(_max_size_keeps_what_max_features_keeps_when_no_tie_at_the_cut_case, grid(
        ("seed", range(40)),
    ))


@pytest.mark.parametrize("seed", range(30))
def test_min_count_counts_occurrences_and_weights_match_sklearn(seed):
    rng = np.random.default_rng(200 + seed)
    docs, other = _corpus(rng), _corpus(rng)
    n, least = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    ours = TfidfFeatures(n, min_count=least).fit(docs)
    counts = Counter(g for d in docs for g in ours.grams(d))
    assert set(ours.vocabulary.tokens[1:]) == {t for t, c in counts.items() if c >= least}
    vocab = ours.vocabulary.tokens[1:]
    if not vocab:
        return
    sk = text_mod.TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=(1, n),
                                  vocabulary=vocab).fit(docs)
    np.testing.assert_allclose(ours.idf[1:], sk.idf_, rtol=1e-15)
    np.testing.assert_allclose(_dense(ours, other, vocab), sk.transform(other).toarray(),
                               rtol=1e-6, atol=1e-7)
    again = TfidfFeatures.from_dict(ours.to_dict())
    np.testing.assert_array_equal(again.transform(other).to_dense(ours.n_features),
                                  ours.transform(other).to_dense(ours.n_features))


PAPER = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{}"


def _paper_quantize(text, length):
    # the paper: lower case, one-hot over its 70 characters ("-" listed twice: the first counts)
    # and the new line, unknown characters all zero, the first `length` characters read backward,
    # the rest of the frame zero
    frame = np.zeros((70, length), np.float32)
    chars = PAPER + "\n"
    for j, c in enumerate(reversed(text.lower()[:length])):
        if c in chars:
            frame[chars.index(c), j] = 1
    return frame


def _quantize_is_the_papers_definition_case(seed):
    assert ALPHABET == PAPER + "\n"
    rng = np.random.default_rng(300 + seed)
    pool = list(ALPHABET) + list(ALPHABET.upper()) + ["İ", "é", "\r", "\t", " ", "日", "ß", "Σ",
                                                      "\u0307", "ﬁ", "\u212a"]
    texts = ["".join(pool[i] for i in rng.integers(0, len(pool), int(rng.integers(0, 60))))
             for _ in range(int(rng.integers(1, 5)))]
    length = int(rng.integers(1, 70))
    got = quantize(texts, length=length)
    assert got.shape == (len(texts), 70, length) and got.dtype == np.float32
    np.testing.assert_array_equal(got, np.stack([_paper_quantize(t, length) for t in texts]))
    assert not got[:, PAPER.rindex("-")].any()  # the second "-" row is never set


def test_quantize_is_the_papers_definition():
    each_case(_quantize_is_the_papers_definition_case, grid(("seed", range(30))))


def test_quantize_paper_length_reads_the_first_1014_characters_backward():
    text = "a" * 1013 + "bc"
    frame = quantize([text])[0]
    assert frame.shape == (70, 1014)
    assert frame[:, 0].argmax() == 1 and frame[0, 1:].all()  # "b" (1014th) first, then the a's
    assert not frame[2].any()  # "c" is past the 1,014 characters read


@pytest.mark.parametrize("seed", range(5))
def test_training_encodings_are_quantize_and_the_character_ids(seed):
    # char_cnn trains on one_hot_frames(zhang_positions(...)), lstm_text on padded_characters
    from chainrule.data.sequences import one_hot_frames, padded_characters, zhang_positions

    rng = np.random.default_rng(400 + seed)
    pool = list(ALPHABET) + list(ALPHABET.upper()) + ["İ", "é", "\t", " ", "日"]
    texts = ["".join(pool[i] for i in rng.integers(0, len(pool), int(rng.integers(0, 50))))
             for _ in range(6)]
    length = int(rng.integers(1, 60))
    np.testing.assert_array_equal(one_hot_frames(zhang_positions(texts, length)),
                                  quantize(texts, length=length))
    ids = padded_characters(texts, length)
    for row, text in zip(ids, texts):
        head = text.lower()[:length]
        want = [2 + ALPHABET.index(c) if c in ALPHABET else 1 for c in head]
        assert row.tolist() == want + [0] * (ids.shape[1] - len(want))


def test_tfidf_settings_are_checked_at_construction_and_numpy_ints_save(tmp_path):
    # before: min_count / max_size were only checked at fit, and a NumPy int (a grid search's
    # np.arange) was kept as it was, so save() of the fitted features failed with a TypeError
    for bad in (dict(min_count=0), dict(max_size=0), dict(min_count=1.5), dict(max_size=True)):
        name = next(iter(bad))
        with pytest.raises(ValueError, match=f"TfidfFeatures: {name} must be a positive int"):
            TfidfFeatures(2, **bad)
    f = TfidfFeatures(np.int64(2), min_count=np.int64(1), max_size=np.int32(3))
    f.fit(["a b a", "b c"]).save(tmp_path / "f.json")
    g = TfidfFeatures.load(tmp_path / "f.json")
    assert (g.ngram_range, g.min_count, g.max_size) == (2, 1, 3)
    assert g.vocabulary.tokens == f.vocabulary.tokens


def test_char_cnn_matches_the_same_network_built_from_torch_layers():
    torch = pytest.importorskip("torch")
    from chainrule import tensor
    from chainrule.models import CharCNN

    length, tn, f = 129, torch.nn, 256
    net = CharCNN("small", 4, length=length, rng=np.random.default_rng(0)).double().eval()
    ref = tn.Module()
    ref.features = tn.Sequential(
        tn.Conv1d(70, f, 7), tn.ReLU(), tn.MaxPool1d(3), tn.Conv1d(f, f, 7), tn.ReLU(),
        tn.MaxPool1d(3), *[m for _ in range(3) for m in (tn.Conv1d(f, f, 3), tn.ReLU())],
        tn.Conv1d(f, f, 3), tn.ReLU(), tn.MaxPool1d(3))
    ref.classifier = tn.Sequential(  # the paper's frame: ((129 - 6) // 3 - 6) // 3 - 8 = 3 -> 1
        tn.Flatten(), tn.Linear(f, 1024), tn.ReLU(), tn.Dropout(0.5), tn.Linear(1024, 1024),
        tn.ReLU(), tn.Dropout(0.5), tn.Linear(1024, 4))
    ref.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in net.state_dict().items()})
    ref.double().eval()
    x = quantize(["Hello, World! The quick brown fox.", "char-cnn\n(2015)"], length=length,
                 dtype=np.float64)
    ours, xt = tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, yt = net(ours), ref.classifier(ref.features(xt))
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(net.features[0].weight.grad.numpy(),
                               ref.features[0].weight.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_mean_weighting_is_torch_embedding_bag_mean_over_the_repeated_ngrams(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(500 + seed)
    docs, other = _corpus(rng), _corpus(rng)
    f = TfidfFeatures(2, weighting="mean").fit(docs)
    table = torch.tensor(rng.standard_normal((f.n_features, 3)))
    bags = f.transform(other)
    got = torch.nn.functional.embedding_bag(
        torch.tensor(bags.indices), table, torch.tensor(bags.offsets), mode="sum",
        per_sample_weights=torch.tensor(bags.weights, dtype=torch.float64))
    for row, text in zip(got, other):
        ids = f.vocabulary.lookup(f.grams(text), drop_unknown=True)  # repeats kept
        want = table[torch.tensor(ids)].mean(0) if len(ids) else torch.zeros(3, dtype=table.dtype)
        np.testing.assert_allclose(row.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)
