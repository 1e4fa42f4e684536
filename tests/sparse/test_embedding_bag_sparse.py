"""``nn.EmbeddingBag(sparse=True)`` and ``F.embedding_bag(sparse=True)`` give ``weight.grad`` as
PyTorch's sparse COO tensor (one entry per id kept, in input order, with that lookup's row
gradient: the bag's, times the per-sample weight in mode "sum", over the bag's size in mode
"mean"); before, the gradient was dense. SparseAdam and SGD then train it as PyTorch's (float64,
against PyTorch 2.13)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")]

IDS, OFFSETS = [4, 2, 4, 1, 5, 0, 2], [0, 3, 3, 5]  # bag 1 is empty


def _bags(L, table, mode, **kwargs):
    bag = L.nn.EmbeddingBag(*table.shape, mode=mode, sparse=True, dtype=L.float64, **kwargs)
    with L.no_grad():
        bag.weight.copy_(L.tensor(table))
    return bag


def _same_sparse(g, h):
    assert g.is_sparse and h.is_sparse and g.shape == tuple(h.shape)
    assert g.is_coalesced() == h.is_coalesced() and g.sparse_dim() == h.sparse_dim() == 1
    np.testing.assert_array_equal(g._indices().numpy(), h._indices().numpy())
    np.testing.assert_allclose(g._values().numpy(), h._values().numpy(), rtol=1e-14, atol=1e-15)


CASES = [
    ("sum", {}, False), ("mean", {}, False), ("sum", {"padding_idx": 2}, False),
    ("mean", {"padding_idx": 2}, False), ("sum", {}, True), ("mean", {"include_last_offset": True},
                                                              False),
]


@pytest.mark.parametrize("mode, kwargs, weighted", CASES)
def test_sparse_gradient_entries_are_pytorchs(mode, kwargs, weighted, rng):
    table, out_w = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    psw = rng.uniform(-2, 2, len(IDS))
    offsets = OFFSETS + [len(IDS)] if kwargs.get("include_last_offset") else OFFSETS
    grads = []
    for L in (cr, torch):
        bag = _bags(L, table, mode, **kwargs)
        w = L.tensor(psw, requires_grad=True) if weighted else None
        out = bag(L.tensor(IDS), L.tensor(offsets), per_sample_weights=w)
        (out * L.tensor(out_w)).sum().backward()
        grads.append((bag.weight.grad, None if w is None else w.grad.numpy(),
                      out.detach().numpy()))
    (g, pg, y), (h, ph, z) = grads
    _same_sparse(g, h)
    np.testing.assert_allclose(y, z, rtol=1e-14, atol=1e-15)
    if weighted:
        np.testing.assert_allclose(pg, ph, rtol=1e-13)


def test_two_dimensional_input_and_the_functional_form(rng):
    table = rng.standard_normal((5, 2))
    ids = [[1, 2, 2], [3, 1, 0]]
    for mode in ("sum", "mean"):
        results = []
        for L in (cr, torch):
            w = L.tensor(table, requires_grad=True)
            L.nn.functional.embedding_bag(L.tensor(ids), w, mode=mode, sparse=True).sin().sum() \
                .backward()
            results.append(w.grad)
        _same_sparse(*results)
    w = cr.tensor(table, requires_grad=True)
    cr.nn.functional.embedding_bag(cr.tensor(ids), w, mode="sum").sum().backward()
    assert not w.grad.is_sparse  # sparse=False (the default) keeps the dense gradient


def test_gradcheck_with_a_sparse_table_gradient(rng):
    table = cr.tensor(rng.standard_normal((6, 3)), requires_grad=True)
    psw = cr.tensor(rng.uniform(-2, 2, len(IDS)), requires_grad=True)
    ids, offsets = cr.tensor(IDS), cr.tensor(OFFSETS)
    F = cr.nn.functional  # noqa: N806 - PyTorch's spelling
    assert cr.gradcheck(lambda t, p: F.embedding_bag(ids, t, offsets, mode="sum",
                                                     per_sample_weights=p, sparse=True).sin(),
                        [table, psw])
    assert cr.gradcheck(lambda t: F.embedding_bag(ids, t, offsets, mode="mean", padding_idx=4,
                                                  sparse=True).sin(), [table])


@pytest.mark.kernel_free
def test_max_mode_refuses_sparse_weights_as_pytorch(rng):
    for L in (cr, torch):
        bag = L.nn.EmbeddingBag(6, 3, mode="max", sparse=True)  # accepted until it runs
        with pytest.raises(ValueError, match="max mode does not support sparse weights"):
            bag(L.tensor([[1, 2]]))
    with cr.no_grad():  # a frozen or no-grad table: the forward pass alone, dense
        out = cr.nn.EmbeddingBag(6, 3, mode="sum", sparse=True)(cr.tensor([[1, 2]]))
    assert out.shape == (1, 3) and not out.requires_grad
    with pytest.raises(IndexError, match="id 9 is out of range for 6 embeddings"):
        cr.nn.EmbeddingBag(6, 3, mode="sum", sparse=True)(cr.tensor([[1, 9]]))


@pytest.mark.parametrize("name, kwargs, mode", [
    ("SparseAdam", {"lr": 0.05}, "mean"), ("SparseAdam", {"lr": 0.1, "betas": (0.8, 0.99)}, "sum"),
    ("SGD", {"lr": 0.3}, "mean"), ("SGD", {"lr": 0.2, "momentum": 0.9}, "sum")])
def test_optimizers_train_a_sparse_embedding_bag_as_pytorch(name, kwargs, mode, rng):
    """A bag-of-ids classifier (EmbeddingBag then Linear): SparseAdam or SGD on the table, the
    dense Adam on the head, five steps; the losses, the table and the head agree."""
    table, head = rng.standard_normal((12, 4)), rng.standard_normal((3, 4)) * 0.3
    batches = [(rng.integers(0, 12, 9), [0, 2, 5, 5], rng.integers(0, 3, 4),
                rng.uniform(0.5, 1.5, 9)) for _ in range(5)]
    runs = []
    for L in (cr, torch):
        bag = _bags(L, table, mode)
        lin = L.nn.Linear(4, 3, bias=False, dtype=L.float64)
        with L.no_grad():
            lin.weight.copy_(L.tensor(head))
        opt = getattr(L.optim, name)(bag.parameters(), **kwargs)
        opt_head = L.optim.Adam(lin.parameters(), lr=0.01)
        losses = []
        for ids, offsets, target, psw in batches:
            weights = L.tensor(psw) if mode == "sum" else None
            logits = lin(bag(L.tensor(ids), L.tensor(offsets), per_sample_weights=weights))
            loss = L.nn.functional.cross_entropy(logits, L.tensor(target))
            opt.zero_grad()
            opt_head.zero_grad()
            loss.backward()
            assert bag.weight.grad.is_sparse
            opt.step()
            opt_head.step()
            losses.append(loss.item())
        runs.append((losses, bag.weight.detach().numpy(), lin.weight.detach().numpy()))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
