"""Every new top-level name called with PyTorch's keyword names, as PyTorch accepts them at run
time (where a docstring says otherwise, the run-time name wins: ``broadcast_to(size=)``,
``lu_solve(input=)``, ``unsafe_split(split_size=)``), with the same results."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid, with_rng

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

CALLS = {
    "broadcast_to": lambda m, x, v, i: m.broadcast_to(input=v, size=(2, 4)),
    "moveaxis": lambda m, x, v, i: m.moveaxis(input=x, source=0, destination=1),
    "select": lambda m, x, v, i: m.select(input=x, dim=0, index=1),
    "concatenate": lambda m, x, v, i: m.concatenate(tensors=[x, x], axis=1),
    "concatenate-dim": lambda m, x, v, i: m.concatenate([x, x], dim=0),
    "addcmul": lambda m, x, v, i: m.addcmul(input=x, tensor1=x, tensor2=x, value=2),
    "addcdiv": lambda m, x, v, i: m.addcdiv(input=x, tensor1=x, tensor2=x + 3, value=2),
    "trapezoid": lambda m, x, v, i: m.trapezoid(y=x, x=x * x),
    "trapz": lambda m, x, v, i: m.trapz(y=x, dx=2.0),
    "cumulative_trapezoid": lambda m, x, v, i: m.cumulative_trapezoid(y=x, dx=2.0, dim=0),
    "isin": lambda m, x, v, i: m.isin(elements=x, test_elements=v, invert=True),
    "vander": lambda m, x, v, i: m.vander(x=v, N=2, increasing=True),
    "renorm": lambda m, x, v, i: m.renorm(input=x, p=2, dim=0, maxnorm=1.0),
    "select_scatter": lambda m, x, v, i: m.select_scatter(input=x, src=v, dim=0, index=1),
    "slice_scatter": lambda m, x, v, i: m.slice_scatter(input=x, src=x[:2], dim=0, start=1,
                                                        end=None, step=1),
    "diagonal_scatter": lambda m, x, v, i: m.diagonal_scatter(input=x, src=v[:3], offset=0,
                                                              dim1=0, dim2=1),
    "index_reduce": lambda m, x, v, i: m.index_reduce(input=x, dim=0, index=i, source=x[:2],
                                                      reduce="amax", include_self=True),
    "index_copy": lambda m, x, v, i: m.index_copy(input=x, dim=0, index=i, source=x[:2] * 2),
    "index_fill": lambda m, x, v, i: m.index_fill(input=x, dim=0, index=i, value=1.0),
    "index_put": lambda m, x, v, i: m.index_put(input=x, indices=(i,), values=x[0, 0],
                                                accumulate=True),
    "unravel_index": lambda m, x, v, i: m.unravel_index(indices=i, shape=(3, 4)),
    "histogramdd": lambda m, x, v, i: m.histogramdd(input=x[:, :2], bins=2, density=True),
    "ldexp": lambda m, x, v, i: m.ldexp(input=x, other=i[:1]),
    "logaddexp2": lambda m, x, v, i: m.logaddexp2(input=x, other=v),
    "divide": lambda m, x, v, i: m.divide(input=x, other=v + 3, rounding_mode="trunc"),
    "div": lambda m, x, v, i: m.div(input=x, other=v + 3, rounding_mode="floor"),
    "rsub": lambda m, x, v, i: m.rsub(input=x, other=v, alpha=2),
    "subtract": lambda m, x, v, i: m.subtract(input=x, other=v, alpha=2),
    "multiply": lambda m, x, v, i: m.multiply(input=x, other=v),
    "cov": lambda m, x, v, i: m.cov(input=x, correction=0, aweights=v[:4].abs()),
    "corrcoef": lambda m, x, v, i: m.corrcoef(input=x),
    "lu_solve": lambda m, x, v, i: m.lu_solve(input=x[:3, :3], LU_data=m.eye(3, dtype=x.dtype),
                                              LU_pivots=m.tensor([1, 2, 3], dtype=m.int32)),
    "lu": lambda m, x, v, i: m.lu(A=x[:3, :3], pivot=True, get_infos=True),
    "ger": lambda m, x, v, i: m.ger(input=v, vec2=v),
    "split_with_sizes": lambda m, x, v, i: m.split_with_sizes(input=x, split_sizes=[1, 2], dim=0),
    "unsafe_split": lambda m, x, v, i: m.unsafe_split(x, split_size=2, dim=1),
    "unsafe_chunk": lambda m, x, v, i: m.unsafe_chunk(input=x, chunks=2, dim=0),
    "narrow_copy": lambda m, x, v, i: m.narrow_copy(input=x, dim=0, start=1, length=2),
    "nonzero_static": lambda m, x, v, i: m.nonzero_static(input=x > 0, size=2, fill_value=0),
    "hann_window": lambda m, x, v, i: m.hann_window(window_length=5, periodic=False),
    "kaiser_window": lambda m, x, v, i: m.kaiser_window(window_length=5, periodic=False, beta=3.0),
    "hamming_window": lambda m, x, v, i: m.hamming_window(window_length=5, periodic=False,
                                                          alpha=0.5, beta=0.5),
    "scalar_tensor": lambda m, x, v, i: m.scalar_tensor(s=3),
    "fill": lambda m, x, v, i: m.fill(input=x, value=2.0),
    "positive": lambda m, x, v, i: m.positive(input=x),
    "logical_not": lambda m, x, v, i: m.logical_not(input=x),
    "all": lambda m, x, v, i: m.all(input=x, dim=0, keepdim=True),
    "any": lambda m, x, v, i: m.any(input=x > 1, dim=1),
    "range": lambda m, x, v, i: m.range(start=0, end=2, step=0.5),
    "frobenius_norm": lambda m, x, v, i: m.frobenius_norm(input=x, dim=(0, 1), keepdim=False),
    "nuclear_norm": lambda m, x, v, i: m.nuclear_norm(input=x, keepdim=True),
    "igamma": lambda m, x, v, i: m.igamma(input=x.abs() + 0.5, other=x.abs()),
    "frexp": lambda m, x, v, i: m.frexp(input=x),
    "angle": lambda m, x, v, i: m.angle(input=x),
    "isposinf": lambda m, x, v, i: m.isposinf(input=x),
    "gcd": lambda m, x, v, i: m.gcd(input=i, other=i + 4),
    "bitwise_left_shift": lambda m, x, v, i: m.bitwise_left_shift(input=i, other=2),
    "eq": lambda m, x, v, i: m.eq(input=x, other=v),
    "greater_equal": lambda m, x, v, i: m.greater_equal(input=x, other=0.0),
    "arctan2": lambda m, x, v, i: m.arctan2(input=x, other=v) + m.arcsin(input=v / 9),
    "as_tensor": lambda m, x, v, i: m.as_tensor(data=[1.0, 2.0], dtype=m.float64),
    "asarray": lambda m, x, v, i: m.asarray(obj=[1, 2], dtype=m.int32),
    "frombuffer": lambda m, x, v, i: m.frombuffer(buffer=bytearray(range(8)), dtype=m.int32,
                                                  count=1, offset=4),
}


def _arrays(result):
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _arrays(r)]
    return [result.detach().numpy() if hasattr(result, "detach") else np.asarray(result)]


def _pytorch_keywords_give_pytorchs_results_case(rng, name):
    a = rng.standard_normal((3, 4))
    v, i = rng.standard_normal(4), np.array([2, 0])
    results = []
    for m in (cr, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the deprecation warnings of range, lu...
            results.append(_arrays(CALLS[name](m, m.tensor(a), m.tensor(v), m.tensor(i))))
    ours, theirs = results
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs, strict=True):
        assert o.shape == t.shape, name
        assert o.dtype == t.dtype or (o.dtype == np.float32 and t.dtype == np.float32), name
        tol = 2e-6 if o.dtype == np.float32 else 1e-12  # PyTorch computes float32 in float32
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol / 100)


def test_pytorch_keywords_give_pytorchs_results():
    each_case(with_rng(_pytorch_keywords_give_pytorchs_results_case), grid(
        ("name", list(CALLS)),
    ))
