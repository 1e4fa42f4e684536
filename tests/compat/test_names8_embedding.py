"""max_norm of nn.Embedding, nn.EmbeddingBag and F.embedding, and torch.embedding_renorm_ (the
rows looked up scaled down to max_norm in the weight before each lookup): weights, outputs and
gradients over training steps against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

TABLE = np.random.default_rng(880880).normal(size=(7, 3)) * 2.0
IDS = [[1, 4], [4, 6], [0, 1]]


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_embedding_max_norm_trains_as_torch(norm_type):
    torch = pytest.importorskip("torch")
    runs = {}
    for lib in (cr, torch):
        emb = lib.nn.Embedding(7, 3, max_norm=1.25, norm_type=norm_type, dtype=lib.float64)
        bag = lib.nn.EmbeddingBag(7, 3, mode="mean", max_norm=0.75, norm_type=norm_type,
                                  dtype=lib.float64)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(TABLE))
            bag.weight.copy_(lib.tensor(TABLE))
        opt = lib.optim.SGD([emb.weight, bag.weight], lr=0.3)
        trace = []
        for step in range(3):
            opt.zero_grad()
            ids = lib.tensor(IDS[step:] + IDS[:step])
            out = emb(ids)
            pooled = bag(ids.reshape(-1), lib.tensor([0, 2, 4]))
            loss = (out ** 3).sum() + pooled.sin().sum()
            loss.backward()
            trace += [out.detach().numpy().copy(), emb.weight.grad.numpy().copy(),
                      bag.weight.grad.numpy().copy()]
            opt.step()
            trace += [emb.weight.detach().numpy().copy(), bag.weight.detach().numpy().copy()]
        runs[lib.__name__] = (trace, repr(emb), repr(bag))
    ours, theirs = runs["chainrule"], runs["torch"]
    assert ours[1:] == theirs[1:]
    for a, b in zip(ours[0], theirs[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.torch
def test_functional_embedding_and_embedding_renorm_match_torch():
    torch = pytest.importorskip("torch")
    w, tw = cr.tensor(TABLE.copy(), requires_grad=True), torch.tensor(TABLE.copy(),
                                                                      requires_grad=True)
    y = F.embedding(cr.tensor(IDS), w, max_norm=1.0)
    ty = torch.nn.functional.embedding(torch.tensor(IDS), tw, max_norm=1.0)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-13)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())
    a, ta = cr.tensor(TABLE.copy()), torch.tensor(TABLE.copy())
    assert cr.embedding_renorm_(a, cr.tensor([5, 2, 5]), 0.5, 1.0) is a
    torch.embedding_renorm_(ta, torch.tensor([5, 2, 5]), 0.5, 1.0)
    np.testing.assert_allclose(a.numpy(), ta.numpy(), rtol=1e-13)
    untouched = [0, 1, 3, 4, 6]
    np.testing.assert_array_equal(a.numpy()[untouched], TABLE[untouched])


def test_embedding_renorm_errors_and_graph_rules():
    leaf = cr.tensor(TABLE.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        cr.embedding_renorm_(leaf, cr.tensor([1]), 1.0, 2.0)
    with pytest.raises(RuntimeError, match="embedding_renorm_ has no gradient"):
        cr.embedding_renorm_(leaf * 1.0, cr.tensor([1]), 1.0, 2.0)
    with pytest.raises(IndexError, match=r"indices must be integers in \[0, 6\].* from 0 to 7"):
        cr.embedding_renorm_(cr.tensor(TABLE.copy()), cr.tensor([0, 7]), 1.0, 2.0)
    with pytest.raises(TypeError, match="input must be a 2-D floating-point Tensor"):
        cr.embedding_renorm_(cr.ones(3), cr.tensor([0]), 1.0, 2.0)
    with pytest.raises(ValueError, match="max_norm must be a positive number or None"):
        cr.nn.Embedding(4, 2, max_norm="1")
    emb = cr.nn.Embedding(7, 3, max_norm=0.5, dtype=cr.float64)
    early = (emb.weight * emb.weight).sum()  # saved before the lookup renormalizes it in place
    emb(cr.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        early.backward()  # as in PyTorch
