"""Fuzz wave 17, PyTorch's tensor API surface: the discrepancies a random sweep of the less used
Tensor functions (unflatten, addcmul_, bincount, ...) found against PyTorch, each pinned here."""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check

UNFLATTEN = [((3, 0, 3), 1, (2, -1)), ((3, 0, 3), 0, (1, -1)), ((1, 0, 1), 2, (1, -1)),
             ((0, 4), 1, (2, -1)), ((3, 0), 1, (-1,)), ((3, 4), -1, (2, -1)),
             ((3, 0, 3), 1, (0, -1)), ((3, 4), 1, (3, -1)), ((3, 4), 1, (-1, -1)),
             ((3, 4), 1, (3, 2)), ((2, 6), 1, (3, 2))]


def _unflatten_infers_minus_one_from_the_axis_alone_case(shape, dim, sizes):
    # chainrule worked -1 out of the whole shape, so a tensor with another empty axis refused it
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    check(torch, lambda L, t: t.unflatten(dim, sizes), x, grad=(0,), label=f"{shape} {sizes}")


@pytest.mark.torch
def test_unflatten_infers_minus_one_from_the_axis_alone():
    each_case(_unflatten_infers_minus_one_from_the_axis_alone_case, grid(
        ("shape,dim,sizes", UNFLATTEN),
    ))


def test_unflatten_errors_name_the_sizes():
    with pytest.raises(ValueError, match=r"sizes \(3, -1\) do not multiply up to the size of "
                                         r"the axis \(4\)"):
        cr.zeros(3, 4).unflatten(1, (3, -1))
    with pytest.raises(ValueError, match="at most one -1"):
        cr.zeros(3, 4).unflatten(1, (-1, -1))


@pytest.mark.torch
@pytest.mark.parametrize("value", [0.5, -2.0, 2.7, -2.7, 3])
def test_integer_addcmul_takes_a_float_value_as_an_integer(value):
    # chainrule's in-place addcmul_ raised (float result into an int tensor) where PyTorch casts
    # value to the tensor's integer dtype, as addcmul already did
    torch = pytest.importorskip("torch")
    a, b, c = (np.array([1, -4, 7]), np.array([3, 2, -1]), np.array([1, 5, 2]))
    check(torch, lambda L, x, y, z: x.clone().addcmul_(y, z, value=value), a, b, c)
    check(torch, lambda L, x, y, z: L.addcmul(x, y, z, value=value), a, b, c)


@pytest.mark.torch
@pytest.mark.parametrize("wdtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("minlength", [0, 3])
def test_bincount_of_an_empty_input_with_weights_is_int64(wdtype, minlength):
    # chainrule gave float32/float64 zeros; PyTorch counts an empty input in int64 whatever
    # the weights
    torch = pytest.importorskip("torch")
    for n in (0, 4):
        x = np.arange(n) % 3
        w = np.ones(n, dtype=wdtype)
        check(torch, lambda L, t, u: L.bincount(t, weights=u, minlength=minlength), x, w)


@pytest.mark.torch
@pytest.mark.parametrize("da,db", [("bool", "float64"), ("int64", "float32"), ("float32", "int32"),
                                   ("float32", "float64"), ("int64", "int64"), ("bool", "bool")])
def test_logaddexp2_promotes_an_integer_tensor_to_the_float_one(da, db):
    # chainrule refused an integer or bool tensor beside a float one; PyTorch promotes first
    # (two integer tensors are refused by both)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((2, 3)) * 3).astype(da)
    b = (rng.standard_normal((3,)) * 3).astype(db)
    grad = tuple(i for i, d in enumerate((da, db)) if d == "float64")
    check(torch, lambda L, x, y: L.logaddexp2(x, y), a, b, grad=grad, rtol=1e-6)


def _in_place_add_refuses_a_float_alpha_for_an_integer_result_case(op, dself, dother, alpha):
    # chainrule truncated: int_tensor.add_(x, alpha=0.5) added 0 where PyTorch raises, as
    # chainrule's out-of-place add already did
    torch = pytest.importorskip("torch")
    a, b = np.array([1, 0, 3]).astype(dself), np.array([2, 1, 0]).astype(dother)
    check(torch, lambda L, x, y: getattr(x.clone(), op)(y, alpha=alpha), a, b)
    check(torch, lambda L, x: getattr(x.clone(), op)(2, alpha=alpha), a)


@pytest.mark.torch
def test_in_place_add_refuses_a_float_alpha_for_an_integer_result():
    each_case(_in_place_add_refuses_a_float_alpha_for_an_integer_result_case, grid(
        ("dself,dother,alpha", [("int64", "int64", 0.5), ("int32", "bool", 1.5),
                                ("bool", "bool", 0.5), ("int64", "int64", 1.0),
                                ("float32", "int64", 0.5), ("int64", "int64", 2),
                                ("float64", "float64", -1.5)]),
        ("op", ["add_", "sub_"]),
    ))


@pytest.mark.torch
@pytest.mark.parametrize("shape,chunks,dim", [((0,), 2, 0), ((3, 0), 3, 1), ((0, 2), 3, 0),
                                              ((2, 0, 3), 2, -2), ((0,), 1, 0), ((5,), 4, 0)])
def test_chunk_of_an_empty_axis_gives_chunks_pieces(shape, chunks, dim):
    # chainrule gave one empty piece, so `a, b = empty_batch.chunk(2)` failed to unpack
    torch = pytest.importorskip("torch")
    x = np.zeros(shape)
    check(torch, lambda L, t: t.chunk(chunks, dim), x, grad=(0,))
    check(torch, lambda L, t: L.chunk(t, chunks, dim), x)
