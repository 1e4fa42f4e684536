"""chainrule.dtype and chainrule.layout, PyTorch's torch.dtype and torch.layout: the types of
the dtypes and layouts, so library code's ``isinstance(d, torch.dtype)`` and
``isinstance(x.layout, torch.layout)`` answer as PyTorch's."""

import pytest

import chainrule as cr


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")
def test_isinstance_of_dtypes_and_layouts_answers_as_pytorchs():
    # chainrule.dtype and chainrule.layout were AttributeErrors
    torch = pytest.importorskip("torch")
    out = {}
    for L in (cr, torch):
        x = L.ones(2)
        s = L.sparse_coo_tensor(L.tensor([[0], [1]]), L.tensor([1.0]), (2, 2))
        out[L.__name__] = [isinstance(v, L.dtype) for v in (L.float32, L.float64, L.int64,
                                                           L.bool, L.complex64, x.dtype, "f4",
                                                           L.strided)] + [
            isinstance(v, L.layout) for v in (L.strided, L.sparse_coo, x.layout, s.layout,
                                              L.float32)] + [x.layout == L.strided,
                                                             s.layout == L.sparse_coo]
    assert out["chainrule"] == out["torch"]
    assert repr(cr.strided) == "chainrule.strided" and repr(cr.sparse_coo) == "chainrule.sparse_coo"
