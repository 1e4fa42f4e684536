"""Fuzz wave 25: the sum of two coalesced sparse tensors is flagged coalesced, as PyTorch's.

Before this wave ``a + b``, ``a - b`` and ``a.add_(b)`` of coalesced tensors came back flagged
uncoalesced, so ``(a + b).indices()`` and ``.values()`` raised "Cannot get indices on an
uncoalesced tensor" where PyTorch's work (the merged entries are sorted and unique).
"""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")


def _pair(t, coalesce_b=True):
    a = t.sparse_coo_tensor([[0, 1, 1], [2, 0, 1]], [1.0, 2.0, 3.0], (2, 3)).coalesce()
    b = t.sparse_coo_tensor([[1, 0, 1], [0, 0, 0]], [5.0, 7.0, 1.0], (2, 3))
    return a, (b.coalesce() if coalesce_b else b)


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: b + a,
                                lambda a, b: a.clone().add_(b)])
def test_sum_of_coalesced_tensors_is_coalesced(op):
    ours, theirs = op(*_pair(cr)), op(*_pair(torch))
    assert ours.is_coalesced() and theirs.is_coalesced()
    assert ours.indices().tolist() == theirs.indices().tolist()
    assert ours.values().tolist() == theirs.values().tolist()


def test_an_uncoalesced_operand_stays_uncoalesced():
    ours, theirs = (lambda p: p[0] + p[1])(_pair(cr, False)), (lambda p: p[0] + p[1])(
        _pair(torch, False))
    assert ours.is_coalesced() is theirs.is_coalesced() is False
    assert ours.to_dense().tolist() == theirs.to_dense().tolist()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        ours.values()
