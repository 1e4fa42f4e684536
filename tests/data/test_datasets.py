import os

import numpy as np
import pytest

from chainrule.data.datasets.digits import digits
from chainrule.data.datasets.mnist import mnist
from chainrule.data.datasets.text import ag_news, read_labelled_csv, sms_spam

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data not present")


def test_digits_offline_split_is_stratified_and_fixed():
    (xtr, ytr), (xte, yte) = digits()
    assert xtr.shape[1:] == (8, 8) and len(xtr) + len(xte) == 1797
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0 and xtr.dtype == np.float32
    counts = np.bincount(yte, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    (_, ytr2), _ = digits()
    np.testing.assert_array_equal(ytr, ytr2)


@needs_shared
def test_mnist_from_shared_folder():
    (xtr, ytr), (xte, yte) = mnist(SHARED, download=False)
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28)
    assert xtr.dtype == np.uint8 and ytr[:5].tolist() == [5, 0, 4, 1, 9]


def test_mnist_missing_offline_names_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        mnist(tmp_path, download=False)


@needs_shared
def test_text_corpora():
    texts, y = ag_news(SHARED, download=False, splits=("test",))["test"]
    assert len(texts) == 7600 and np.bincount(y).tolist() == [1900] * 4
    texts, y = sms_spam(SHARED)
    assert len(texts) == 5574 and int(y.sum()) == 747


def test_labelled_csv_errors(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('"1","a","b"\n"x","c","d"\n')
    with pytest.raises(ValueError, match=r"t\.csv:2: unknown label 'x'"):
        read_labelled_csv(p, label_offset=1)
