"""copy.deepcopy and pickle of a tensor an op made (autograd/tensor_copy.py)."""

import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import prune


def test_deepcopy_of_a_non_leaf_is_refused_as_pytorch_refuses_it():
    # it copied the graph, leaves included: a backward from the copy filled the copied leaf's
    # .grad and left x.grad None, silently
    x = cr.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only leaf tensors .* can be deep-copied"):
        copy.deepcopy(y)
    leaf = copy.deepcopy(x)
    assert leaf is not x and leaf.is_leaf and leaf.requires_grad and x.grad is None


def test_pickle_of_a_non_leaf_gives_a_leaf_with_its_values_as_pytorch():
    x = cr.ones(2, requires_grad=True)
    z = pickle.loads(pickle.dumps(x * 3))  # failed: "cannot pickle 'weakref' object"
    assert z.is_leaf and z.requires_grad and z.grad_fn is None
    np.testing.assert_array_equal(z.numpy(force=True), [3.0, 3.0])


def test_a_pruned_model_still_deep_copies_its_weight_made_from_the_copied_parameters():
    model = nn.Linear(3, 2, dtype=cr.float64)
    prune.l1_unstructured(model, "weight", 0.5)
    twin = copy.deepcopy(model)  # PyTorch refuses this one; chainrule copies the graph with it
    twin.weight.sum().backward()
    assert twin.weight_orig.grad is not None and model.weight_orig.grad is None
