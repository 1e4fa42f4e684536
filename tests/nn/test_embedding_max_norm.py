"""Embedding's and F.embedding's max_norm/norm_type (the rows looked up renormed in place, as
PyTorch's) over sequences of lookups in one graph, and scale_grad_by_freq (each row's gradient
divided by its id's count), checked against PyTorch (eighth fuzz wave)."""

import math

import numpy as np
import pytest

import chainrule as cr


def _run(L, w, calls, *, functional, **kw):
    """Look up each ids array of ``calls`` in turn (each call may renorm the table) and
    backpropagate a fixed weighting; the outputs, the table after the calls and its gradient."""
    if functional:
        W = L.tensor(w.copy(), requires_grad=True)

        def look(ids):
            return L.nn.functional.embedding(ids, W, **kw)
    else:
        m = L.nn.Embedding(*w.shape, **kw).double()
        with L.no_grad():
            m.weight.copy_(L.tensor(w))
        W, look = m.weight, m
    outs, loss = [], 0
    for k, ids in enumerate(calls):
        y = look(L.tensor(ids))
        outs.append(y.detach().numpy().copy())
        g = np.cos(np.arange(y.numel()) + k).reshape(tuple(y.shape))
        loss = loss + (y * L.tensor(g)).sum()
    loss.backward()
    return outs + [W.detach().numpy(), W.grad.numpy()]


@pytest.mark.torch
@pytest.mark.parametrize("functional", [False, True])
def test_max_norm_and_scale_grad_by_freq_match_pytorch(functional):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for _ in range(60):
        n, d = int(rng.integers(1, 7)), int(rng.integers(1, 4))
        w = rng.standard_normal((n, d)) * 2
        calls = [rng.integers(0, n, tuple(rng.integers(1, 4, 2))) for _ in range(2)]
        kw = {}
        if rng.random() < 0.8:
            kw.update(max_norm=float(rng.choice([0.5, 1.0, 2.0])),
                      norm_type=float(rng.choice([1.0, 2.0, 3.0, 0.5, math.inf])))
        if rng.random() < 0.5:
            kw["scale_grad_by_freq"] = True
        if rng.random() < 0.4:
            kw["padding_idx"] = int(rng.integers(-n, n))
        theirs = _run(torch, w, calls, functional=functional, **kw)
        ours = _run(cr, w, calls, functional=functional, **kw)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13, err_msg=str(kw))


@pytest.mark.kernel_free
def test_max_norm_scales_the_rows_looked_up_in_place():
    w = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    emb = cr.nn.Embedding.from_pretrained(cr.tensor(w), max_norm=1.0)
    y = emb(cr.tensor([0, 1, 0]))
    scale = 1.0 / (5.0 + 1e-7)
    np.testing.assert_allclose(y.numpy(), [[3 * scale, 4 * scale], [0.3, 0.4],
                                           [3 * scale, 4 * scale]], rtol=1e-15)
    # row 2 was not looked up: it keeps its norm of 10
    np.testing.assert_allclose(emb.weight.numpy(), [[3 * scale, 4 * scale], [0.3, 0.4],
                                                    [6.0, 8.0]], rtol=1e-15)
    assert repr(emb) == "Embedding(3, 2, max_norm=1.0)"
    assert repr(cr.nn.Embedding(4, 2, scale_grad_by_freq=True)) == ("Embedding(4, 2, "
                                                                    "scale_grad_by_freq=True)")


def test_scale_grad_by_freq_divides_each_rows_gradient_by_its_count():
    w = cr.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    y = cr.nn.functional.embedding(cr.tensor([[2, 0, 2], [2, 3, 0]]), w, scale_grad_by_freq=True)
    np.testing.assert_array_equal(y.numpy()[0, 0], [4.0, 5.0])  # the values are the rows
    y.sum().backward()
    # id 2 occurs 3 times, 0 twice, 3 once, 1 never: each row's summed gradient is 1 per column
    np.testing.assert_allclose(w.grad.numpy(), [[1, 1], [0, 0], [1, 1], [1, 1]], rtol=1e-15)


@pytest.mark.kernel_free
def test_out_of_range_ids_renorm_nothing():
    w = cr.tensor([[3.0, 4.0]])
    with pytest.raises(IndexError, match="embedding"):
        cr.nn.functional.embedding(cr.tensor([0, 1]), w, max_norm=1.0)
    np.testing.assert_array_equal(w.numpy(), [[3.0, 4.0]])


@pytest.mark.torch
def test_a_lookup_keeps_its_gradient_when_the_table_changes_afterwards():
    # indexing's backward only routes the gradient by position (PyTorch's embedding saves no
    # weight), so a later in-place change of the table, max_norm's renorm of the rows a second
    # lookup reads among them, leaves the first lookup's gradient valid; an op that read the
    # table's values (a weight penalty's square) still refuses, in both libraries
    torch = pytest.importorskip("torch")
    w = np.array([[3.0, 4.0], [0.6, 0.8], [6.0, 8.0]])
    grads = {}
    for L in (torch, cr):
        W = L.tensor(w.copy(), requires_grad=True)
        y = W[L.tensor([0, 2])] * L.tensor([[1.0, 2.0], [3.0, 4.0]])
        with L.no_grad():
            W.mul_(0.5)
        y.sum().backward()
        grads[L.__name__] = W.grad.numpy()
        emb = L.nn.Embedding.from_pretrained(L.tensor(w.copy()), freeze=False, max_norm=1.0)
        tied = emb.weight.pow(2)
        emb(L.tensor([2]))
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            tied.sum().backward()
    np.testing.assert_array_equal(grads["chainrule"], grads["torch"])
