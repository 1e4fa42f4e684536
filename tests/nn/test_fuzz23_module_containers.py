"""Fuzz wave 23, nn.Module API: container indices as PyTorch's containers take them."""

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402


def _index_kinds(lib):
    return [np.int64(-1), np.int32(0), lib.tensor(1)]


@pytest.mark.parametrize("position", range(3))
def test_containers_take_numpy_ints_and_0d_int_tensors_as_pytorchs(position):
    # PyTorch's containers read an index with operator.index: model[np.argmax(scores)] works
    seen = []
    for lib in (torch, cr):
        index = _index_kinds(lib)[position]
        seq = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh(), lib.nn.Sigmoid())
        got = [type(seq[index]).__name__]
        seq[index] = lib.nn.Identity()
        if position < 2:  # PyTorch's Sequential.insert names the layer str(index): "tensor(1)"
            seq.insert(index, lib.nn.ELU())
        got.append(type(seq.pop(index)).__name__)
        del seq[index]
        got.append([type(m).__name__ for m in seq])
        mlist = lib.nn.ModuleList([lib.nn.ReLU(), lib.nn.Tanh()])
        del mlist[index]
        got.append([type(m).__name__ for m in mlist])
        plist = lib.nn.ParameterList([lib.zeros(1), lib.zeros(2), lib.zeros(3)])
        got.append(tuple(plist[index].shape))
        seen.append(got)
    assert seen[0] == seen[1]


@pytest.mark.parametrize("index", [True, 1.0, "1", cr.tensor(1.0)])
def test_a_bool_float_or_string_index_is_refused_with_its_type(index):
    seq = cr.nn.Sequential(cr.nn.ReLU(), cr.nn.Tanh())
    with pytest.raises(TypeError, match="Sequential: index must be an int or a slice, got"):
        seq[index]
    with pytest.raises(TypeError, match="ParameterList: index must be an int or a slice"):
        cr.nn.ParameterList([cr.zeros(1), cr.zeros(2)])[index]
    with pytest.raises(TypeError, match=r"Sequential.insert: index must be an int, got"):
        seq.insert(index, cr.nn.ReLU())
