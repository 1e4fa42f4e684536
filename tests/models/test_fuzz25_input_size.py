"""MadryCNN, WongCNN and SmallCNN given a float input_size (28.0, read from a config): it passed
their check and failed inside Linear ("in_features must be an int, got 3136.0"), naming no
argument of theirs; it is refused by name now, and NumPy ints still build the same model."""

import numpy as np
import pytest

from chainrule.models import MadryCNN, SmallCNN, WongCNN


@pytest.mark.parametrize("cls, size", [(MadryCNN, 28.0), (WongCNN, 28.0), (SmallCNN, 8.0)])
def test_float_input_size_refused_by_name(cls, size):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: input_size must be a positive "
                                         rf"multiple of 4, got {size}"):
        cls(input_size=size)


def test_numpy_int_input_size_builds_the_same_model():
    a = SmallCNN(input_size=np.int64(8), rng=np.random.default_rng(0))
    b = SmallCNN(input_size=8, rng=np.random.default_rng(0))
    assert [tuple(p.shape) for p in a.parameters()] == [tuple(p.shape) for p in b.parameters()]
    assert sum(p.numel() for p in a.parameters()) == 13706  # 160 + 4640 + 8256 + 650
