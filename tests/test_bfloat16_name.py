"""``chainrule.bfloat16`` exists to be named (nanoGPT's ``{'float32': torch.float32,
'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]`` was an AttributeError on CPU
before anything ran) but not computed in: NumPy has no bfloat16 type."""

from __future__ import annotations

import copy
import pickle

import pytest

import chainrule as cr


def test_bfloat16_can_be_named_compared_and_copied():
    ptdtype = {"float32": cr.float32, "bfloat16": cr.bfloat16, "float16": cr.float16}["float32"]
    assert ptdtype is cr.float32 and "bfloat16" in cr.__all__
    assert repr(cr.bfloat16) == "chainrule.bfloat16" and cr.bfloat16.itemsize == 2
    assert cr.bfloat16.is_floating_point and cr.bfloat16 != cr.float16
    assert copy.deepcopy({"d": cr.bfloat16})["d"] is cr.bfloat16
    assert pickle.loads(pickle.dumps(cr.bfloat16)) is cr.bfloat16
    assert cr.cuda.is_bf16_supported() is False
    with cr.autocast(device_type="cpu", dtype=cr.bfloat16, enabled=False):
        assert (cr.ones(2) * 2).dtype == cr.float32


@pytest.mark.parametrize("make", [
    lambda: cr.zeros(2, dtype=cr.bfloat16), lambda: cr.tensor([1.0], dtype=cr.bfloat16),
    lambda: cr.ones(2).to(cr.bfloat16), lambda: cr.ones(2).to("cpu", cr.bfloat16),
    lambda: cr.ones(2).type(cr.bfloat16),
])
def test_computing_in_bfloat16_is_a_clear_type_error(make):
    with pytest.raises(TypeError, match="cannot compute in bfloat16: NumPy has no bfloat16"):
        make()


def test_pytorch_has_the_same_name():
    torch = pytest.importorskip("torch")
    assert str(torch.bfloat16).removeprefix("torch.") == cr.bfloat16.name
    assert torch.bfloat16.itemsize == cr.bfloat16.itemsize
