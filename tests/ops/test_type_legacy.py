"""x.type(torch.FloatTensor): the legacy constructors name a dtype, as in PyTorch."""

import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free


@pytest.mark.torch
def test_type_with_a_legacy_constructor_matches_pytorch():
    torch = pytest.importorskip("torch")
    for L in (cr, torch):
        x = L.tensor([[1, 2], [3, 4]])
        got = (x.type(L.FloatTensor).dtype, x.type(L.LongTensor).dtype,
               x.float().type(L.LongTensor).tolist())
        if L is cr:
            ours = got
    assert str(ours[0]) == "float32" and str(got[0]) == "torch.float32"
    assert str(ours[1]) == "int64" and str(got[1]) == "torch.int64" and ours[2] == got[2]
