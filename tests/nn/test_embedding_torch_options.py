"""nn.Embedding and nn.EmbeddingBag take PyTorch's max_norm/norm_type/scale_grad_by_freq/sparse
(the text-classification tutorial writes ``EmbeddingBag(vocab, dim, sparse=False)``): the
defaults accepted, ``sparse=True`` with PyTorch's gradient values (a sparse gradient: its
entries in tests/sparse/test_embedding_bag_sparse.py), the option
chainrule's EmbeddingBag does not offer (scale_grad_by_freq) refused; max_norm is tested in
tests/compat/test_names8_embedding.py, Embedding's scale_grad_by_freq in
tests/nn/test_embedding_max_norm.py."""

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.torch
@pytest.mark.parametrize("sparse", [False, True])
def test_sparse_flag_gives_pytorchs_values_and_gradients(sparse):
    torch = pytest.importorskip("torch")
    table = np.random.default_rng(0).standard_normal((7, 3))
    ids, offsets = [1, 4, 4, 6, 0], [0, 2]
    out = {}
    for L in (cr, torch):
        emb = L.nn.Embedding(7, 3, None, None, 2.0, False, sparse, dtype=L.float64)
        bag = L.nn.EmbeddingBag(7, 3, mode="sum", sparse=sparse, dtype=L.float64)
        with L.no_grad():
            emb.weight.copy_(L.tensor(table))
            bag.weight.copy_(L.tensor(table))
        y = emb(L.tensor([[1, 4], [4, 6]])).pow(2).sum() + bag(L.tensor(ids),
                                                               L.tensor(offsets)).sin().sum()
        y.backward()
        grads = [g.to_dense() if getattr(g, "is_sparse", False) else g
                 for g in (emb.weight.grad, bag.weight.grad)]
        out[L.__name__] = [y.item()] + [g.numpy() for g in grads]
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.kernel_free
def test_options_chainrule_does_not_offer_are_refused():
    for make in (cr.nn.Embedding, cr.nn.EmbeddingBag):
        with pytest.raises(ValueError, match="max_norm must be a positive number or None, got 0"):
            make(5, 2, max_norm=0)
    with pytest.raises(NotImplementedError, match="scale_grad_by_freq=True"):
        cr.nn.EmbeddingBag(5, 2, scale_grad_by_freq=True)
    assert cr.nn.Embedding(5, 2, scale_grad_by_freq=True).scale_grad_by_freq is True
    assert cr.nn.EmbeddingBag(5, 2, sparse=True).sparse is True
