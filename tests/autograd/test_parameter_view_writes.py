"""An op's view of a Parameter (``w[0]``, ``w.diagonal()``, ``w.t()[i]``, ``w.reshape(...)``)
changed in place under ``no_grad`` changes the Parameter, as in PyTorch: nn.Embedding's padding
row (``weight[padding_idx].fill_(0)``), a Hopfield net's ``W.diagonal().zero_()``. The change is
counted with the Parameter's, so a graph that read the old values refuses backward. Checked
against PyTorch where it is installed."""

import numpy as np
import pytest

import chainrule as cr


def _program(lib):
    """Seeded in-place changes through views of a Linear's and an Embedding's weights."""
    torch_like = lib.__name__ == "torch"
    rng = np.random.default_rng(0)
    layer = lib.nn.Linear(4, 3)
    emb = lib.nn.Embedding(5, 3, dtype=lib.float64) if torch_like else \
        lib.nn.Embedding(5, 3, dtype="float64")
    w0 = rng.standard_normal((3, 4))
    e0 = rng.standard_normal((5, 3))
    with lib.no_grad():
        layer.weight.copy_(lib.tensor(w0, dtype=layer.weight.dtype))
        emb.weight.copy_(lib.tensor(e0, dtype=emb.weight.dtype))
        layer.weight[0].zero_()
        layer.weight.diagonal().fill_(5.0)
        layer.weight.t()[3].mul_(-2.0)
        layer.weight.reshape(4, 3)[1:3].add_(1.5)
        layer.weight[:, ::2].sub_(0.25)
        emb.weight[2].zero_()
        emb.weight[[4]].fill_(7.0)  # advanced indexing copies: the copy changes only
    return layer.weight.detach().numpy().copy(), emb.weight.detach().numpy().copy()


def test_views_of_parameters_change_them_under_no_grad():
    w, e = _program(cr)
    expected = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    expected[0] = 0
    expected[[0, 1, 2], [0, 1, 2]] = 5
    expected[:, 3] *= -2
    flat = expected.reshape(4, 3)
    flat[1:3] += 1.5
    expected[:, ::2] -= 0.25
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    assert not e[2].any() and (e[4] != 7).all()


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_program(cr), _program(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_a_graph_that_read_the_old_values_refuses_backward():
    p = cr.nn.Parameter(cr.ones(2, 3))
    loss = (p * p).sum()
    with cr.no_grad():
        p[1].mul_(3.0)
    assert p._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_view_made_without_grad_changed_with_grad_is_refused_as_in_pytorch():
    p = cr.nn.Parameter(cr.ones(3))
    with cr.no_grad():
        view = p[1:]
    with pytest.raises(RuntimeError, match="made while gradients were not recorded"):
        view.add_(1.0)
    assert p.tolist() == [1.0, 1.0, 1.0]
    frozen = cr.nn.Parameter(cr.ones(3), requires_grad=False)
    frozen[1:].mul_(2.0)  # needs no grad: changed in grad mode too, as PyTorch's
    assert frozen.tolist() == [1.0, 2.0, 2.0]


def test_raw_numpy_writes_and_overlapping_views_stay_refused():
    p = cr.nn.Parameter(cr.ones(2, 3))
    with pytest.raises(ValueError, match="read-only"):
        p.numpy()[0, 0] = 2.0
    with cr.no_grad(), pytest.raises(RuntimeError, match="more than one element"):
        p[0].expand(4, 3).fill_(0.0)
    assert p.tolist() == [[1.0] * 3] * 2
