"""A program's own attributes on tensors (``x.g = ...``, fastai's backprop-from-scratch lessons;
``param.is_embedding = True`` style tags): set, read, kept by copies and pickles, as PyTorch
(``cr.save``'s torch-format file keeps the values only)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.torch
def test_attributes_on_tensors_parameters_and_outputs_as_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y.g = lib.full((3,), 0.5)  # an op's output, as fastai's out.g
        x.g = y.g * 2
        p = lib.nn.Parameter(lib.zeros(2))
        p.is_embedding = True
        assert x.g.tolist() == [1.0, 1.0, 1.0] and y.g.tolist() == [0.5, 0.5, 0.5]
        assert p.is_embedding is True and vars(p) == {"is_embedding": True}
        assert not hasattr(lib.ones(1), "g")
        del x.g
        assert not hasattr(x, "g")
        y.sum().backward()  # the attributes take no part in the graph
        assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_attributes_survive_deepcopy_and_pickle_but_not_new_tensors():
    p = cr.nn.Parameter(cr.tensor([1.0, 2.0]))
    p.tag = {"lr_scale": 0.1}
    q = copy.deepcopy(p)
    assert type(q) is cr.nn.Parameter and q.tag == {"lr_scale": 0.1} and q.tag is not p.tag
    r = pickle.loads(pickle.dumps(p))
    assert r.tag == {"lr_scale": 0.1}
    np.testing.assert_array_equal(r.detach().numpy(), [1.0, 2.0])
    assert not hasattr(p.detach(), "tag") and not hasattr(p * 1, "tag")
    assert vars(cr.ones(2)) == {}
