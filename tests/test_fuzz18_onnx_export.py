"""Wave 18 of chainrule.onnx.export: ops that computed their result from the input's values
outside the recorder (unique, bincount, histc, histogram, isclose, nonzero) were frozen into the
exported graph (and into chainrule.trace) as the example's values; the export's second
recording (the example's values moved around) cannot see it where these results do not depend
on where the values are. They are now recorded steps: a trace computes them again, the export
refuses them by name."""

import io

import numpy as np
import pytest

import chainrule as cr

onnx = pytest.importorskip("onnx")
from chainrule.onnx import UnsupportedOperatorError, export  # noqa: E402

from ._case_loop import each_case, grid  # noqa: E402

R = np.random.default_rng(18)
FLOATS = np.round(R.standard_normal((4, 6)) * 2).astype(np.float32)
IDS = R.integers(0, 5, 12)

CASES = {
    "unique": (lambda x: cr.unique(x), FLOATS, "unique_of"),
    "unique_counts": (lambda x: cr.unique(x, return_counts=True)[1], FLOATS, "unique_of"),
    "unique_inverse": (lambda x: cr.unique(x, return_inverse=True)[1], FLOATS, "unique_of"),
    "bincount": (lambda x: cr.bincount(x), IDS, "bincount_of"),
    "histc": (lambda x: cr.histc(x, 5), FLOATS, "histc_of"),
    "histogram": (lambda x: cr.histogram(x, 4).hist, FLOATS, "histogram_of"),
    "histogram_edges": (lambda x: cr.histogram(x, 4).bin_edges, FLOATS, "histogram_of"),
    "isclose": (lambda x: x * cr.isclose(x, cr.tensor(np.float32(1.0))), FLOATS, "isclose_of"),
    "isclose_number": (lambda x: cr.isclose(x, 2.0), FLOATS, "isclose_of"),
    "nonzero": (lambda x: cr.nonzero(x > 0.5), FLOATS, "nonzero_of"),
    "nonzero_tuple": (lambda x: cr.nonzero(x > 0.5, as_tuple=True)[1], FLOATS, "nonzero_of"),
    "where_alone": (lambda x: cr.where(x > 0.5)[0], FLOATS, "nonzero_of"),
}


def _export_refuses_what_it_cannot_compute_again_case(case):
    fn, example, name = CASES[case]
    with pytest.raises(UnsupportedOperatorError, match=f"non-differentiable op .*{name}"):
        export(fn, (cr.tensor(example),), io.BytesIO())


def test_export_refuses_what_it_cannot_compute_again():
    each_case(_export_refuses_what_it_cannot_compute_again_case, grid(("case", CASES)))


def _trace_computes_them_again_case(case):
    fn, example, _ = CASES[case]
    other = example + 3 if case != "bincount" else R.integers(0, 9, 20)
    traced = cr.trace(fn, cr.tensor(example))
    got, want = traced(cr.tensor(other)), fn(cr.tensor(other))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_trace_computes_them_again():
    each_case(_trace_computes_them_again_case, grid(("case", CASES)))


def test_bincount_weights_follow_the_trace():
    ids, w = cr.tensor(IDS), cr.tensor(R.random(12).astype(np.float32))

    def fn(i, weights):
        return cr.bincount(i, weights)

    traced = cr.trace(fn, ids, w)
    w2 = cr.tensor(R.random(12).astype(np.float32))
    np.testing.assert_array_equal(traced(ids, w2).numpy(), fn(ids, w2).numpy())
