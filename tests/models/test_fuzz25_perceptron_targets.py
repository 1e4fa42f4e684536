"""Perceptron.fit with -1/+1 labels (Rosenblatt's formulation): the step unit gives 0/1, so every
-1 counted as a mistake at every epoch, the weights were pushed on each of them, and AND was
never learned (4 mistakes per epoch, all predictions 0), silently. Such targets are refused now;
0/1 targets (bool too) train as before."""

import numpy as np
import pytest

from chainrule.models import Perceptron

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")


def test_plus_minus_one_labels_refused():
    p = Perceptron(2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"0/1 targets .* got values \[-1, 1\].*\(t \+ 1\) / 2"):
        p.fit(X, np.array([-1, -1, -1, 1]))
    with pytest.raises(ValueError, match=r"1 target\(s\) for each of the 4 examples"):
        p.fit(X, np.array([0, 1]))


def test_zero_one_and_bool_targets_learn_and():
    for t in (np.array([0, 0, 0, 1]), np.array([False, False, False, True])):
        p = Perceptron(2, rng=np.random.default_rng(0))
        mistakes = p.fit(X, t, epochs=50)
        assert mistakes[-1] == 0
        np.testing.assert_array_equal(p.predict(X).ravel(), [0, 0, 0, 1])
