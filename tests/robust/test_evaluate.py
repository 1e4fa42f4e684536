"""robust_accuracy: the counts of a direct attack, the progress it prints, curves over eps."""

import io

import numpy as np
import pytest

from chainrule import Tensor, robust
from chainrule.data import ArrayDataset, DataLoader


def test_robust_accuracy_counts_what_the_attack_does(digits_mlp):
    model, x, y = digits_mlp
    direct = robust.fgsm(model, x, y, eps=0.1)
    right = model(Tensor(x))._data.argmax(1) == y
    holds = right & ~direct.success
    out = io.StringIO()
    res = robust.robust_accuracy(model, DataLoader(ArrayDataset(x, y), 10), "fgsm", eps=0.1,
                                 out=out)
    assert res["n"] == len(x)
    assert res["clean_accuracy"] == pytest.approx(right.mean())
    assert res["robust_accuracy"] == pytest.approx(holds.mean())
    assert res["success_rate"] == pytest.approx((right & direct.success).sum() / right.sum())
    assert res["mean_norm"] == pytest.approx(0.1, rel=1e-6)
    text = out.getvalue()
    assert text.startswith("attack fgsm - ") and "robust_accuracy: " in text


def test_limit_and_a_pair_of_arrays(digits_mlp):
    model, x, y = digits_mlp
    res = robust.robust_accuracy(model, (x, y), "pgd", eps=0.05, steps=3, rng=0, batch_size=16,
                                 limit=20, verbose=0)
    assert res["n"] == 20


def test_accuracy_falls_as_eps_grows_and_reaches_zero(digits_mlp):
    model, x, y = digits_mlp
    curve = robust.accuracy_curve(model, (x, y), [0.0, 0.05, 0.1, 0.3], "pgd", steps=10, rng=0)
    acc = [c["robust_accuracy"] for c in curve]
    assert acc[0] == pytest.approx(curve[0]["clean_accuracy"])
    assert all(a >= b for a, b in zip(acc, acc[1:])) and acc[0] > acc[-1]
    assert acc[-1] == 0.0


def test_bad_data_is_named(digits_mlp):
    model, x, _ = digits_mlp
    with pytest.raises(TypeError, match="robust_accuracy: data must be a DataLoader"):
        robust.robust_accuracy(model, x, "fgsm", eps=0.1)
    with pytest.raises(ValueError, match="unknown attack 'nope'"):
        robust.robust_accuracy(model, (x, np.zeros(len(x), int)), "nope")
