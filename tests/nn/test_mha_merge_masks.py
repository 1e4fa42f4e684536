"""MultiheadAttention.merge_masks (PyTorch's helper of its fast path) against torch 2.13's."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free


def _merge_masks_is_torchs_case(attn, padding, as_bool):
    rng = np.random.default_rng(0)
    n, h, length, e = 2, 2, 3, 4
    shapes = {"2d": (length, length), "3d": (n * h, length, length)}
    a0 = None if attn is None else rng.random(shapes[attn]) < 0.4
    p0 = None if padding is None else rng.random((n, length)) < 0.4
    if not as_bool:
        a0 = None if a0 is None else np.where(a0, -np.inf, rng.standard_normal(a0.shape))
        p0 = None if p0 is None else np.where(p0, -np.inf, 0.0)
    q0 = rng.standard_normal((n, length, e))
    results = []
    for lib in (cr, torch):
        mha = lib.nn.MultiheadAttention(e, h, batch_first=True)
        mask, kind = mha.merge_masks(None if a0 is None else lib.tensor(a0),
                                     None if p0 is None else lib.tensor(p0), lib.tensor(q0))
        results.append((None if mask is None else mask.numpy(), kind))
    (got, got_kind), (want, want_kind) = results
    assert got_kind == want_kind
    if want is None:
        assert got is None
    else:
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_merge_masks_is_torchs():
    each_case(_merge_masks_is_torchs_case, grid(
        ("as_bool", [True, False]),
        ("padding", [None, "given"]),
        ("attn", [None, "2d", "3d"]),
    ))
