"""Embedding: lookup, gradient scatter, padding_idx, initialization, PyTorch parity, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.embedding import Embedding


def test_lookup_returns_rows_and_scatters_gradient(rng):
    emb = Embedding(6, 3, rng=rng, dtype="float64")
    ids = np.array([[1, 4, 1], [0, 5, 1]])
    out = emb(cr.tensor(ids))
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out._data, emb.weight._data[ids])
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros((6, 3))
    np.add.at(expected, ids, g)
    np.testing.assert_allclose(emb.weight.grad._data, expected, rtol=1e-12)


@pytest.mark.kernel_free
def test_ids_may_be_arrays_lists_or_scalars(rng):
    emb = Embedding(5, 2, rng=rng)
    np.testing.assert_array_equal(emb([3, 0])._data, emb.weight._data[[3, 0]])
    np.testing.assert_array_equal(emb(np.array(2))._data, emb.weight._data[2])
    assert emb(np.zeros((0,), dtype=np.int32)).shape == (0, 2)


@pytest.mark.kernel_free
def test_init_is_standard_normal_and_seeded(rng):
    a = Embedding(400, 50, rng=np.random.default_rng(3))
    b = Embedding(400, 50, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    assert a.weight.dtype == np.float32
    assert abs(a.weight._data.mean()) < 0.02 and abs(a.weight._data.std() - 1) < 0.02
    assert repr(a) == "Embedding(400, 50)"
    assert list(a.state_dict()) == ["weight"]


@pytest.mark.parametrize("padding_idx", [2, -4])
def test_padding_row_is_zero_and_gets_no_gradient(rng, padding_idx):
    emb = Embedding(6, 3, padding_idx=padding_idx, rng=rng, dtype="float64")
    assert emb.padding_idx == 2
    assert repr(emb) == "Embedding(6, 3, padding_idx=2)"
    np.testing.assert_array_equal(emb.weight._data[2], 0)
    with cr.no_grad():
        emb.weight[2] = 7.0  # a changed padding row is still looked up, as in PyTorch
    ids = np.array([[2, 1, 2], [3, 2, 1]])
    out = emb(ids)
    np.testing.assert_array_equal(out._data, emb.weight._data[ids])
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(emb.weight.grad._data[2], 0)
    np.testing.assert_array_equal(emb.weight.grad._data[1], 2)
    np.testing.assert_array_equal(emb.weight.grad._data[3], 1)


def test_gradcheck_through_embedding(rng):
    emb = Embedding(5, 2, padding_idx=0, rng=rng, dtype="float64")
    ids = np.array([[0, 1, 4], [4, 4, 0]])
    assert cr.gradcheck(lambda w: (emb(ids) ** 2).sum(axis=-1), [emb.weight])


@pytest.mark.kernel_free
def test_from_pretrained(rng):
    table = rng.standard_normal((4, 3))
    emb = Embedding.from_pretrained(table)
    np.testing.assert_array_equal(emb.weight._data, table)
    assert emb.weight.dtype == np.float64 and not emb.weight.requires_grad
    assert Embedding.from_pretrained(cr.tensor(table), freeze=False).weight.requires_grad
    with pytest.raises(ValueError, match=r"from_pretrained: embeddings must be 2-D.*\(4,\)"):
        Embedding.from_pretrained(np.ones(4))


@pytest.mark.torch
def test_matches_torch_including_padding(rng):
    torch = pytest.importorskip("torch")
    ours = Embedding(7, 4, padding_idx=3, rng=rng, dtype="float64")
    theirs = torch.nn.Embedding(7, 4, padding_idx=3, dtype=torch.float64)
    theirs.load_state_dict({k: torch.tensor(v._data) for k, v in ours.state_dict().items()})
    ids = rng.integers(0, 7, size=(5, 6))
    ids[0, :2] = 3
    g = rng.standard_normal((5, 6, 4))
    out, tout = ours(ids), theirs(torch.tensor(ids))
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(out._data, tout.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad._data, theirs.weight.grad.numpy(), rtol=1e-12)


@pytest.mark.kernel_free
def test_errors(rng):
    emb = Embedding(5, 2, rng=rng)
    with pytest.raises(IndexError, match=r"^Embedding: id 5 is out of range for 5 embeddings "
                                         r"\(valid ids are 0 to 4\)"):
        emb(np.array([[0, 5]]))
    with pytest.raises(IndexError, match="^Embedding: id -1 is out of range"):
        emb(np.array([-1, 2]))
    with pytest.raises(TypeError, match="Embedding: ids must be integers .* got float32"):
        emb(cr.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"padding_idx must be within \[-5, 4\].*got 5"):
        Embedding(5, 2, padding_idx=5)
    with pytest.raises(TypeError, match="padding_idx must be an int or None, got 1.5"):
        Embedding(5, 2, padding_idx=1.5)
    with pytest.raises(ValueError, match="Embedding: num_embeddings must be at least 1, got 0"):
        Embedding(0, 2)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        Embedding(3, 2, rng=0)
