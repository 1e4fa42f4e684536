"""Fuzz wave 11: sparse COO tensors against PyTorch's (docs/sparse.md).

Random patterns with repeated positions (and none): coalesce's indices and values, to_dense,
sparse.sum over all and each axis, s + s, s * 2, to_sparse of the dense form, the nnz and
coalesced flags, sparse.mm with gradients to the values and the dense operand, a sparse leaf's
gradient, embedding(sparse=True) gradients with padding_idx and repeated ids, hybrid coalesce,
sums of two patterns and their transpose. No mismatch was found in this wave.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's sparse-invariant note
        yield


def _np(x):
    return np.asarray((x.detach() if hasattr(x, "detach") else x).numpy())


def _check(ours, theirs):
    assert ours.keys() == theirs.keys()
    for key, t in theirs.items():
        c = ours[key]
        if isinstance(t, np.ndarray):
            assert c.shape == t.shape, key
            np.testing.assert_allclose(c.astype(float), t.astype(float), rtol=1e-6, atol=1e-9,
                                       err_msg=key)
        else:
            assert c == t, key


def _coo(lib, idx, vals, shape, **kw):
    make = torch.sparse_coo_tensor if lib is torch else cr.sparse_coo_tensor
    return make(lib.tensor(idx), vals if not isinstance(vals, np.ndarray) else lib.tensor(vals),
                shape, **kw)


def _pattern_facts(lib, idx, vals, shape, dense):
    s = _coo(lib, idx, vals, shape)
    c = s.coalesce()
    r = {"cidx": _np(c.indices()), "cval": _np(c.values()),
         "dtype": str(c.dtype).replace("torch.", ""), "dense": _np(s.to_dense()),
         "sum": _np(lib.sparse.sum(s)), "sum0": _np(lib.sparse.sum(s, 0).to_dense()),
         "sum1": _np(lib.sparse.sum(s, 1).to_dense()), "add": _np((s + s).to_dense()),
         "mul": _np((s * 2).to_dense()), "nnz": s._nnz(), "c_nnz": c._nnz(),
         "coalesced": s.is_coalesced(),
         "resparse": _np(lib.tensor(_np(s.to_dense())).to_sparse().coalesce().indices())}
    if vals.dtype.kind == "f":
        v = lib.tensor(vals.astype("float64"), requires_grad=True)
        d = lib.tensor(dense, requires_grad=True)
        y = lib.sparse.mm(_coo(lib, idx, v, shape), d)
        weights = np.arange(np.prod(tuple(y.shape)), dtype=float).reshape(tuple(y.shape))
        (y * lib.tensor(weights)).sum().backward()
        r.update(mm=_np(y), grad_values=_np(v.grad), grad_dense=_np(d.grad))
        leaf = _coo(lib, idx, vals.astype("float64"), shape, requires_grad=True)
        (lib.sparse.mm(leaf, lib.tensor(dense)) ** 2).sum().backward()
        g = leaf.grad.coalesce()
        r.update(leaf_idx=_np(g.indices()), leaf_val=_np(g.values()))
    return r


@pytest.mark.parametrize("seed", range(60))
def test_random_pattern(seed):
    rng = np.random.default_rng(seed)
    n, m, k = (int(v) for v in rng.integers(1, 5, 3))
    nnz = int(rng.integers(0, 7))
    idx = np.stack([rng.integers(0, n, nnz), rng.integers(0, m, nnz)]).astype(np.int64)
    vals = (rng.standard_normal(nnz) * 3).astype(str(rng.choice(["float32", "float64",
                                                                   "int64"])))
    dense = rng.standard_normal((m, k))
    _check(_pattern_facts(cr, idx, vals, (n, m), dense),
           _pattern_facts(torch, idx, vals, (n, m), dense))


def _embedding_facts(lib, W, ids, pad, ids2, hybrid, two):
    w = lib.tensor(W, requires_grad=True)
    F = lib.nn.functional
    y = F.embedding(lib.tensor(ids), w, padding_idx=pad, sparse=True)
    y2 = F.embedding(lib.tensor(ids2), w, sparse=True)
    weights = np.arange(np.prod(tuple(y.shape)), dtype=float).reshape(tuple(y.shape))
    ((y * lib.tensor(weights)).sum() + y2.sin().sum()).backward()
    g = w.grad.coalesce()
    h = _coo(lib, *hybrid, (3, 2)).coalesce()
    s = _coo(lib, two[0], two[1], (3, 3)) + _coo(lib, two[2], two[3], (3, 3))
    return {"gi": _np(g.indices()), "gv": _np(g.values()), "gdense": _np(w.grad.to_dense()),
            "layout": str(w.grad.layout).rsplit(".", 1)[-1], "hi": _np(h.indices()),
            "hv": _np(h.values()), "hsum0": _np(lib.sparse.sum(h, 0)),
            "hdense": _np(h.to_dense()), "sum2": _np(s.to_dense()), "sum2_nnz": s._nnz(),
            "sum2_coalesced": s.is_coalesced(), "sum2_t": _np(s.t().to_dense())}


@pytest.mark.parametrize("seed", range(40))
def test_random_embedding_and_hybrid(seed):
    rng = np.random.default_rng(seed)
    V, D = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    W = rng.standard_normal((V, D))
    ids = rng.integers(0, V, size=tuple(rng.integers(1, 4, rng.integers(1, 3))))
    pad = None if rng.random() < 0.5 else int(rng.integers(0, V))
    ids2 = rng.integers(0, V, size=3)
    hybrid = (rng.integers(0, 3, (1, 5)), rng.standard_normal((5, 2)))
    two = (rng.integers(0, 3, (2, 4)), rng.standard_normal(4), rng.integers(0, 3, (2, 3)),
           rng.standard_normal(3))
    args = (W, ids, pad, ids2, hybrid, two)
    _check(_embedding_facts(cr, *args), _embedding_facts(torch, *args))
