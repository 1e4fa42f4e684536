"""docs/pytorch.md ("What differs on purpose"): a layer's forward names its input ``x`` (the
lecture's name) where PyTorch's name it ``input``; keyword calls with PyTorch's name are a clear
TypeError naming the argument, never a silent misuse; the recurrent layers take ``input``/``hx``
as PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("layer", [cr.nn.Linear(2, 3), cr.nn.ReLU(), cr.nn.Flatten()],
                         ids=["Linear", "ReLU", "Flatten"])
def test_the_input_is_passed_positionally_or_by_the_name_x(layer):
    x = cr.ones(4, 2)
    np.testing.assert_array_equal(layer(x=x).numpy(), layer(x).numpy())
    with pytest.raises(TypeError, match="forward\\(\\) got an unexpected keyword argument 'input'"):
        layer(input=x)


def test_recurrent_layers_take_pytorchs_names():
    rnn = cr.nn.GRU(2, 3, batch_first=True)
    x, h = cr.ones(1, 4, 2), cr.zeros(1, 1, 3)
    out, _ = rnn(input=x, hx=h)
    np.testing.assert_array_equal(out.numpy(), rnn(x, h)[0].numpy())
