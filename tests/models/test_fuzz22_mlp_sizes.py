"""MLP's widths: ``int()`` made 3.7 a width of 3, True one of 1 and '3' one of 3, silently."""

import re

import numpy as np
import pytest

from chainrule.models import MLP


@pytest.mark.kernel_free
def test_mlp_widths_must_be_ints_of_at_least_one():
    for sizes, shown in (((3, 3.7, 2), "sizes[1] must be an int >= 1, got 3.7"),
                         ((True, 4, 2), "sizes[0] must be an int >= 1, got True"),
                         ((3, 4, "2"), "sizes[2] must be an int >= 1, got '2'"),
                         ((3, 0, 2), "sizes[1] must be an int >= 1, got 0"),
                         ((3, 4.0, 2), "sizes[1] must be an int >= 1, got 4.0")):
        with pytest.raises(ValueError, match=re.escape(f"MLP: {shown}")):
            MLP(sizes)
    with pytest.raises(ValueError, match="at least two positive widths"):
        MLP((3,))
    net = MLP((np.int64(3), 4, np.int32(2)))  # NumPy ints are ints
    assert net.sizes == (3, 4, 2) and all(type(s) is int for s in net.sizes)
    assert net.layers[1].weight.shape == (4, 3) and net.layers[-1].weight.shape == (2, 4)
