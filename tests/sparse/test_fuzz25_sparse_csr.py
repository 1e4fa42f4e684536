"""Fuzz wave 25: ``sum()`` and ``t()`` of a CSR or CSC matrix, as PyTorch's (both were an
AttributeError: 'SparseCompressedTensor' object has no attribute 'sum' / 't'), and
``sparse.check_sparse_tensor_invariants`` (missing)."""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")]


def _csr(t, values):
    return t.sparse_csr_tensor(t.tensor([0, 2, 3]), t.tensor([0, 2, 1]), values, (2, 3))


def test_csr_sum_and_its_gradient():
    results = []
    for t in (cr, torch):
        v = t.tensor([1.0, 2.0, 3.0], dtype=t.float64, requires_grad=True)
        c = _csr(t, v)
        (g,) = t.autograd.grad(c.sum() * 2, v)
        keep = c.sum(1, keepdim=True)
        results.append((c.sum().item(), str(c.sum().dtype).removeprefix("torch."), g.tolist(),
                        str(c.sum(dtype=t.float32).dtype).removeprefix("torch."),
                        keep.to_dense().tolist(), str(keep.layout).split(".")[-1]))
        with pytest.raises(RuntimeError, match="keepdim=False is unsupported"):
            c.sum(0)
    assert results[0] == results[1]


@pytest.mark.parametrize("compressed", ["csr", "csc"])
def test_transpose_swaps_the_layout(compressed):
    results = []
    for t in (cr, torch):
        c = _csr(t, t.tensor([1.0, 2.0, 3.0]))
        c = c if compressed == "csr" else c.to_sparse_csc()
        ct = c.t()
        results.append((str(ct.layout).split(".")[-1], tuple(ct.shape), ct.to_dense().tolist(),
                        (ct @ t.ones(2)).tolist(), ct.t().to_dense().tolist()))
    assert results[0] == results[1]


def test_check_sparse_tensor_invariants_switch_as_torch():
    # was missing (AttributeError); PyTorch's own sparse warning tells programs to use it
    def states(t):
        c = t.sparse.check_sparse_tensor_invariants
        out = [c.is_enabled()]
        with c():
            out.append(c.is_enabled())
            with c(enable=False):
                out.append(c.is_enabled())
            out.append(c.is_enabled())
        c.enable()
        out.append(c.is_enabled())
        c.disable()
        out.append(c.is_enabled())
        out.append(c()(lambda: c.is_enabled())())
        return out + [c.is_enabled()]

    assert states(cr) == states(torch) == [False, True, False, True, True, False, True, False]
    with cr.sparse.check_sparse_tensor_invariants(), pytest.raises(ValueError, match="out of"):
        cr.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,))
