"""``torch.nn.modules.utils`` and ``nn.modules.loss._WeightedLoss``, against PyTorch."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.modules import utils

from .._case_loop import each_case, grid

pytestmark = pytest.mark.kernel_free


def _ntuple_helpers_as_pytorch_case(name, value):
    pytest.importorskip("torch")
    import torch.nn.modules.utils as theirs

    assert getattr(utils, name)(value) == getattr(theirs, name)(value)
    assert getattr(cr.nn.modules.utils, name) is getattr(utils, name)


def test_ntuple_helpers_as_pytorch():
    each_case(_ntuple_helpers_as_pytorch_case, grid(
        ("value", [3, (1, 2), [4, 5, 6], "ab", 2.5]),
        ("name", ["_single", "_pair", "_triple", "_quadruple"]),
    ))


def test_reverse_repeat_and_list_with_default_as_pytorch():
    pytest.importorskip("torch")
    import torch.nn.modules.utils as theirs

    assert utils._reverse_repeat_tuple((1, 2, 3), 2) == theirs._reverse_repeat_tuple((1, 2, 3), 2)
    assert utils._list_with_default([None, 3], [8, 4, 5, 6]) == \
        theirs._list_with_default([None, 3], [8, 4, 5, 6])
    assert utils._list_with_default(7, [1, 2]) == 7


def test_consume_prefix_strips_a_dataparallel_checkpoint_as_pytorch():
    torch = pytest.importorskip("torch")
    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present as theirs

    dicts = []
    for lib, consume in ((cr, utils.consume_prefix_in_state_dict_if_present), (torch, theirs)):
        model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
        state = OrderedDict(("module." + k, v) for k, v in model.state_dict().items())
        state["other.key"] = lib.zeros(1)
        state._metadata = OrderedDict([("", {}), ("module", {"v": 1}), ("module.0", {"v": 1})])
        consume(state, "module.")
        dicts.append((list(state), list(state._metadata)))
    assert dicts[0] == dicts[1]
    model = cr.nn.Sequential(cr.nn.Linear(2, 3))
    state = {"module." + k: v for k, v in model.state_dict().items()}
    utils.consume_prefix_in_state_dict_if_present(state, "module.")
    cr.nn.Sequential(cr.nn.Linear(2, 3)).load_state_dict(state)  # loads into the plain model


def test_a_weighted_loss_subclass_as_programs_write_it():
    """Label smoothing written on PyTorch's _WeightedLoss (a common Kaggle pattern)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z, y, w = rng.standard_normal((5, 4)), rng.integers(0, 4, 5), rng.random(4) + 0.5
    values = []
    for lib in (cr, torch):
        base = lib.nn.modules.loss._WeightedLoss
        F = lib.nn.functional

        class LabelSmoothing(base):
            def __init__(self, weight=None, reduction="mean", smoothing=0.1):
                super().__init__(weight=weight, reduction=reduction)
                self.smoothing = smoothing

            def forward(self, inputs, targets):
                n = inputs.size(-1)
                soft = F.one_hot(targets, n).to(inputs.dtype) * (1 - self.smoothing) \
                    + self.smoothing / n
                logp = F.log_softmax(inputs, -1)
                if self.weight is not None:
                    logp = logp * self.weight.unsqueeze(0)
                return -(soft * logp).sum(-1).mean()

        loss_fn = LabelSmoothing(weight=lib.tensor(w))
        assert list(loss_fn.state_dict()) == ["weight"]
        x = lib.tensor(z, requires_grad=True)
        loss = loss_fn(x, lib.tensor(y))
        loss.backward()
        values.append((loss.item(), x.grad.numpy()))
    assert values[0][0] == pytest.approx(values[1][0], rel=1e-12)
    np.testing.assert_allclose(values[0][1], values[1][1], rtol=1e-12)
