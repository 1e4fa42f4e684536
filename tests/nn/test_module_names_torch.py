"""Small PyTorch-parity details of module signatures: AdaptiveLogSoftmaxWithLoss.forward's
parameter names and Upsample's refusal of a list scale_factor."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


@pytest.mark.kernel_free
def test_adaptive_log_softmax_forward_names_match_torch():
    torch = pytest.importorskip("torch")
    ours = list(inspect.signature(nn.AdaptiveLogSoftmaxWithLoss.forward).parameters)
    theirs = list(inspect.signature(torch.nn.AdaptiveLogSoftmaxWithLoss.forward).parameters)
    assert ours == theirs == ["self", "input_", "target_"]


def test_adaptive_log_softmax_keyword_call():
    asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4], rng=np.random.default_rng(0))
    x = cr.tensor(np.random.default_rng(1).standard_normal((5, 8)).astype("float32"))
    t = cr.tensor(np.array([0, 3, 4, 9, 6]))
    by_keyword = asm(input_=x, target_=t)
    by_position = asm(x, t)
    np.testing.assert_array_equal(by_keyword.output.numpy(), by_position.output.numpy())
    assert float(by_keyword.loss) == float(by_position.loss)


@pytest.mark.kernel_free
def test_upsample_refuses_list_scale_factor_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.nn.Upsample(scale_factor=[2, 2])(torch.zeros(1, 1, 2, 2))
    with pytest.raises(TypeError, match=r"Upsample: scale_factor must be a number or a tuple .*"
                                        r"got the list \[2, 2\]"):
        nn.Upsample(scale_factor=[2, 2])
    up = nn.Upsample(scale_factor=(2, 2))
    assert up.scale_factor == (2.0, 2.0)
    assert up(cr.zeros(1, 1, 2, 2)).shape == (1, 1, 4, 4)
