"""logspace, randint_like, histc, histogram, is_floating_point, is_complex, result_type,
can_cast, promote_types (ops/creation_extra.py) and set_printoptions/get_printoptions
(backend/printing.py): against PyTorch where the rules agree, NumPy's where chainrule's
arithmetic follows it, and clear errors."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


@pytest.mark.torch
def test_logspace_and_histograms_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = cr.logspace(0, 2, 3), torch.logspace(0, 2, 3)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_allclose(cr.logspace(-1, 1.5, 6, base=2, dtype=cr.float64).numpy(),
                               torch.logspace(-1, 1.5, 6, base=2, dtype=torch.float64).numpy(),
                               rtol=1e-15)
    a = np.array([0.0, 1.0, 1.0, 2.0, 5.0, -1.0, 3.5])
    for args in [(4, 0, 3), (5,), (3, 1, 1), (2, -2, 7), (4, 2, 2)]:
        np.testing.assert_array_equal(cr.histc(cr.tensor(a), *args).numpy(),
                                      torch.histc(torch.tensor(a), *args).numpy())
    np.testing.assert_array_equal(cr.histc(cr.tensor([2.0, 2.0]), 4).numpy(),
                                  torch.histc(torch.tensor([2.0, 2.0]), 4).numpy())
    for kwargs in ({}, {"range": (0.0, 3.0)}, {"density": True},
                   {"weight": a * 2, "range": (-1.0, 4.0), "density": True}):
        ours = cr.histogram(cr.tensor(a), 3, **{k: cr.tensor(v) if k == "weight" else v
                                                for k, v in kwargs.items()})
        theirs = torch.histogram(torch.tensor(a), 3, **{
            k: torch.tensor(v) if k == "weight" else v for k, v in kwargs.items()})
        np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-15)
        np.testing.assert_allclose(ours.bin_edges.numpy(), theirs.bin_edges.numpy(), rtol=1e-15)
    edges = np.array([-1.0, 0.5, 2.0, 6.0])
    np.testing.assert_array_equal(
        cr.histogram(cr.tensor(a), cr.tensor(edges)).hist.numpy(),
        torch.histogram(torch.tensor(a), torch.tensor(edges)).hist.numpy())


@pytest.mark.torch
def test_histc_puts_entries_on_bin_edges_where_pytorch_does():
    # NumPy's edges put -0.2 of [-0.4, 0.8] / 6 bins in bin 0; PyTorch's formula in bin 1
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        for _ in range(40):
            bins = int(rng.integers(1, 12))
            lo, hi = sorted(rng.standard_normal(2).round(1))
            a = np.concatenate([rng.standard_normal(8).round(1), np.linspace(lo, hi, bins + 1),
                                lo + np.arange(bins + 1) * (hi - lo) / max(bins, 1)])
            a = a.astype(dtype)
            np.testing.assert_array_equal(cr.histc(cr.tensor(a), bins, lo, hi).numpy(),
                                          torch.histc(torch.tensor(a), bins, lo, hi).numpy())


@pytest.mark.torch
def test_dtype_questions():
    torch = pytest.importorskip("torch")
    for a in DTYPES:
        for b in DTYPES:
            assert cr.can_cast(getattr(cr, a), getattr(cr, b)) == torch.can_cast(
                getattr(torch, a), getattr(torch, b)), (a, b)
            ours = np.dtype(cr.promote_types(getattr(cr, a), getattr(cr, b)))
            theirs = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert ours == torch.empty(0, dtype=theirs).numpy().dtype  # PyTorch's rule
            sum_dtype = (cr.zeros(1, dtype=getattr(cr, a)) + cr.zeros(1, dtype=getattr(cr, b)))
            assert sum_dtype.dtype == ours, (a, b)
    assert cr.promote_types(cr.int64, cr.float32) == np.float32  # NumPy: float64
    x = cr.tensor([1, 2])
    assert cr.result_type(x, 1.5) == (x + 1.5).dtype
    assert cr.result_type(x, cr.tensor([1.0], dtype=cr.float64)) == np.float64
    assert cr.is_floating_point(cr.ones(1)) and not cr.is_floating_point(x)
    assert not cr.is_complex(cr.ones(1)) and not cr.ones(1).is_complex()


def test_randint_like_follows_the_input_and_the_seed():
    x = cr.ones(50, 3, dtype=cr.float64)
    cr.manual_seed(1)
    r = cr.randint_like(x, 5)
    cr.manual_seed(1)
    assert r.shape == (50, 3) and r.dtype == np.float64
    np.testing.assert_array_equal(r.numpy(), cr.randint_like(x, 5).numpy())
    assert set(np.unique(r.numpy())) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    s = cr.randint_like(cr.ones(200, dtype=cr.int64), 3, 5)
    assert s.dtype == np.int64 and set(np.unique(s.numpy())) == {3, 4}


def test_printoptions_change_the_repr_and_reset():
    x = cr.tensor([1.123456789, 2e-9, 300.0])
    before = repr(x)
    try:
        cr.set_printoptions(precision=2)
        assert cr.get_printoptions()["precision"] == 2
        assert "1.12e+00" in repr(x)
        cr.set_printoptions(sci_mode=False)
        assert repr(x) == "tensor([  1.12,   0.00, 300.00])"  # as PyTorch's
        cr.set_printoptions(threshold=5, edgeitems=1)
        assert repr(cr.arange(10)) == "tensor([0,  ..., 9])"
        cr.set_printoptions(profile="full")
        assert "..." not in repr(cr.arange(2000))
    finally:
        cr.set_printoptions(profile="default")
    assert repr(x) == before


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="logspace: steps must be a non-negative int, got -1"):
        cr.logspace(0, 1, -1)
    with pytest.raises(ValueError, match="histc: bins must be a positive int, got 0"):
        cr.histc(cr.ones(3), 0)
    with pytest.raises(ValueError, match="histc: max must be larger than min"):
        cr.histc(cr.ones(3), 4, 2, 1)
    with pytest.raises(TypeError, match="histogram: input must be a floating-point tensor"):
        cr.histogram(cr.tensor([1, 2]), 3)
    with pytest.raises(ValueError, match=r"histogram: weight must be a Tensor of the input's"):
        cr.histogram(cr.ones(3), 2, weight=cr.ones(2))
    with pytest.raises(TypeError, match="result_type: expected Tensors or Python numbers"):
        cr.result_type(cr.ones(1), "a")
    with pytest.raises(ValueError, match="set_printoptions: profile must be 'default'"):
        cr.set_printoptions(profile="long")
    with pytest.raises(TypeError, match="randint_like: input must be a Tensor, got list"):
        cr.randint_like([1], 3)
