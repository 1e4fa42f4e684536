"""PyTorch's refusals, now chainrule's: ``rand()``/``randn()``/``zeros()``/``ones()``/``empty()``
with no size at all (PyTorch: TypeError; chainrule gave a 0-d tensor, hiding a forgotten size),
and ``bernoulli`` of an integer or bool tensor without ``p`` (PyTorch: NotImplementedError;
chainrule drew from the integers as probabilities, 0 and 1 only, in silence)."""

from __future__ import annotations

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.kernel_free]

NAMES = ["zeros", "ones", "empty", "rand", "randn"]


@pytest.mark.parametrize("name", NAMES)
def test_no_size_is_a_type_error_as_in_pytorch(name):
    with pytest.raises(TypeError):
        getattr(torch, name)()
    with pytest.raises(TypeError, match=rf"{name}: missing the size: give ints \({name}\(2, 3\)\)"):
        getattr(cr, name)()
    with pytest.raises(TypeError, match="missing the size"):
        getattr(cr, name)(dtype=cr.float64, requires_grad=True)


@pytest.mark.parametrize("name", NAMES)
def test_an_empty_tuple_or_size_keyword_still_makes_a_0d_tensor(name):
    for args, kw in (((),), {}), ((), {"size": ()}), (([],), {}):
        ours, theirs = getattr(cr, name)(*args, **kw), getattr(torch, name)(*args, **kw)
        assert ours.shape == theirs.shape == () and str(ours.dtype) == "float32"


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_bernoulli_of_an_integer_tensor_is_refused_as_in_pytorch(dtype):
    values = [0, 1, 1]
    with pytest.raises(NotImplementedError, match="bernoulli"):
        torch.bernoulli(torch.tensor(values, dtype=getattr(torch, dtype)))
    x = cr.tensor(values, dtype=getattr(cr, dtype))
    with pytest.raises(NotImplementedError, match=rf"bernoulli: input holds the probabilities "
                                                  rf"and must be floating-point, got dtype "
                                                  rf"{dtype}; bernoulli\(input, p\)"):
        cr.bernoulli(x)
    with pytest.raises(NotImplementedError, match="must be floating-point"):
        x.bernoulli()


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_bernoulli_with_p_still_draws_in_an_integer_tensors_shape_and_dtype(dtype):
    theirs = torch.bernoulli(torch.tensor([0, 1, 1], dtype=getattr(torch, dtype)), 1.0)
    ours = cr.bernoulli(cr.tensor([0, 1, 1], dtype=getattr(cr, dtype)), 1.0)
    assert str(ours.dtype) == str(theirs.dtype).split(".")[1] and ours.tolist() == theirs.tolist()
    x = cr.tensor([0, 1], dtype=getattr(cr, dtype))
    assert x.bernoulli_(0.0).tolist() == [0, 0]


def test_bernoulli_of_floating_tensors_is_unchanged():
    for dtype in (cr.float16, cr.float32, cr.float64):
        p = cr.tensor([0.0, 1.0, 1.0, 0.0], dtype=dtype)
        out = cr.bernoulli(p, generator=cr.Generator().manual_seed(0))
        assert out.dtype == dtype and out.tolist() == [0.0, 1.0, 1.0, 0.0]
