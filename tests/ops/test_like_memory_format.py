"""The ``*_like`` factories take PyTorch's ``memory_format=`` (schedule_free's optimizer state is
``torch.zeros_like(p, memory_format=torch.preserve_format)``): accepted, checked, and the result
is ``input``'s shape, dtype and values as without it (chainrule's tensors are always dense
row-major, see ``ops/memory_format.py``)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

FORMATS = ["preserve_format", "contiguous_format", "channels_last"]


_LIKE_FACTORIES_TAKE_MEMORY_FORMAT_AS_PYTORCH_NAME_EXTRA = [("zeros_like", ()), ("ones_like", ()),
                                         ("empty_like", ()), ("full_like", (2.5,)),
                                         ("rand_like", ()), ("randn_like", ()),
                                         ("randint_like", (7,))]


def _like_factories_take_memory_format_as_pytorch_case(name, extra, fmt):
    x = np.arange(24, dtype=np.float64).reshape(1, 2, 3, 4)
    ours = getattr(chainrule, name)(chainrule.tensor(x), *extra,
                                    memory_format=getattr(chainrule, fmt))
    theirs = getattr(torch, name)(torch.tensor(x), *extra, memory_format=getattr(torch, fmt))
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    if name in ("zeros_like", "ones_like", "full_like"):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_like_factories_take_memory_format_as_pytorch():
    each_case(_like_factories_take_memory_format_as_pytorch_case, grid(
        ("name, extra", _LIKE_FACTORIES_TAKE_MEMORY_FORMAT_AS_PYTORCH_NAME_EXTRA),
        ("fmt", FORMATS),
    ))


def test_like_factories_refuse_what_is_not_a_memory_format():
    x = chainrule.ones(2, 3)
    with pytest.raises(TypeError, match="zeros_like: memory_format must be one of .*got 'cl'"):
        chainrule.zeros_like(x, memory_format="cl")
    with pytest.raises(TypeError, match="randint_like: memory_format"):
        chainrule.randint_like(x, 3, memory_format=1)
