"""``arange`` with 0-d tensor bounds and ``out=``, against PyTorch: ``arange(lengths.max())``
and Tacotron 2's ``torch.arange(0, max_len, out=torch.LongTensor(max_len))`` were TypeErrors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free


def _same(c, t):
    assert str(c.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_array_equal(c.numpy(), t.numpy())


@pytest.mark.parametrize("bounds", [(5,), (0, 4, 2), (2.5,), (1, 3.0), (6, 0, -2)])
def test_zero_d_tensor_bounds_are_their_values(bounds):
    for k in range(len(bounds)):
        def call(lib, bounds=bounds, k=k):
            args = [lib.tensor(b) if i == k else b for i, b in enumerate(bounds)]
            return lib.arange(*args)

        _same(call(cr), call(torch))
    with pytest.raises(TypeError, match="numbers or 0-d tensors"):
        cr.arange(cr.tensor([3]))  # PyTorch's TypeError too


def test_mask_from_lengths_with_out():
    lengths = np.array([3, 5, 1])
    masks = []
    for lib in (cr, torch):
        max_len = lib.max(lib.tensor(lengths)).item()
        out = lib.LongTensor(max_len)
        ids = lib.arange(0, max_len, out=out)
        assert ids is out
        masks.append(ids < lib.tensor(lengths).unsqueeze(1))
    np.testing.assert_array_equal(masks[0].numpy(), masks[1].numpy())


_OUT_SHAPE_ARGS = [((5,), (0, 2.5, 0.5)), ((2,), (0, 2.5, 0.5)),
                                             ((0,), (3,)), ((2, 2), (4,))]


def _out_is_written_in_its_dtype_and_resized_as_pytorch_case(out_shape, args, dtype):
    if dtype == "int64" and any(isinstance(a, float) for a in args):
        pytest.skip("PyTorch casts fractional bounds to the integer dtype first (test_fuzz12)")
    results = []
    for lib in (cr, torch):
        out = lib.zeros(out_shape, dtype=getattr(lib, dtype))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = lib.arange(*args, out=out)
        assert got is out
        results.append((out, [str(w.category.__name__) for w in caught]))
    _same(results[0][0], results[1][0])
    # as many entries: out keeps its shape; else resized, with a warning unless it was empty
    assert results[0][1] == results[1][1]


def test_out_is_written_in_its_dtype_and_resized_as_pytorch():
    each_case(_out_is_written_in_its_dtype_and_resized_as_pytorch_case, grid(
        ("dtype", ["float64", "int64", "float32"]),
        ("out_shape, args", _OUT_SHAPE_ARGS),
    ))


def test_out_errors_as_pytorch():
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="does not match"):
            lib.arange(3, out=lib.zeros(3), dtype=lib.int64)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.arange(3.0, out=lib.zeros(3, requires_grad=True))
    with pytest.raises(TypeError, match="out must be a Tensor"):
        cr.arange(3, out=[0, 0, 0])


def test_arange_end_keyword_as_pytorch():
    # TransE's evaluation builds its entity ids by torch.arange(end=n), a TypeError in chainrule
    # (start was a required positional argument).
    torch = pytest.importorskip("torch")
    for kw in ({"end": 5}, {"start": 1, "end": 4}, {"end": 5, "step": 2, "start": 0},
               {"end": 2.5}, {"end": 4, "dtype": "float64"}):
        ours = cr.arange(**{k: getattr(cr, v) if k == "dtype" else v for k, v in kw.items()})
        theirs = torch.arange(**{k: getattr(torch, v) if k == "dtype" else v
                                 for k, v in kw.items()})
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(cr.arange(1, end=5).numpy(), [1, 2, 3, 4])
    with pytest.raises(TypeError, match="arange: missing the end"):
        cr.arange()
