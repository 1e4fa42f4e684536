"""Fuzz wave 17: sparse COO tensors against PyTorch's, beyond wave 11 (tests/test_fuzz11_sparse.py):
sparse.sum over named axes and its gradients to the values and to a sparse leaf, addmm's
gradients with beta and alpha, to_dense's gradients, size inference, invariant checks, and the
regressions this wave found."""

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


def _coo(lib, idx, vals, shape, **kw):
    return lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals), shape, **kw)


@pytest.mark.parametrize("dim", [2, -3, (0, 2), (0, 0), (1, -1)])
def test_sparse_sum_refuses_an_axis_out_of_range_or_repeated(dim):
    # was: the axis taken modulo ndim (sum over axis 2 of a 2-D tensor summed axis 0), and a
    # repeated axis counted once; PyTorch raises IndexError / RuntimeError
    idx, vals = np.array([[0, 1], [1, 2]]), np.array([1.0, 2.0])
    with pytest.raises((IndexError, RuntimeError)):
        torch.sparse.sum(_coo(torch, idx, vals, (2, 3)), dim)
    with pytest.raises(ValueError, match="sparse.sum: (axis|repeated)"):
        cr.sparse.sum(_coo(cr, idx, vals, (2, 3)), dim)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [2, -3])
def test_sparse_softmax_refuses_an_axis_out_of_range(name, dim):
    # was: the axis taken modulo ndim (softmax over axis 2 of a 2-D tensor was over axis 0)
    idx, vals = np.array([[0, 1], [1, 2]]), np.array([1.0, 2.0])
    with pytest.raises(IndexError):
        getattr(torch.sparse, name)(_coo(torch, idx, vals, (2, 3)), dim)
    with pytest.raises(ValueError, match=f"sparse.{name}: axis {dim} is out of range"):
        getattr(cr.sparse, name)(_coo(cr, idx, vals, (2, 3)), dim)


def _dense(x):
    x = x.to_dense() if getattr(x, "is_sparse", False) else x
    return np.asarray(x.detach().numpy())


def _pattern(rng, n, m):
    nnz = int(rng.integers(0, 7))
    return np.stack([rng.integers(0, n, nnz), rng.integers(0, m, nnz)]).astype(np.int64)


def _same(c, t, what):
    assert str(c.dtype) == str(t.dtype).replace("torch.", ""), what
    assert tuple(c.shape) == tuple(t.shape), what
    assert getattr(c, "is_sparse", False) == t.is_sparse, what
    np.testing.assert_allclose(_dense(c), _dense(t), rtol=1e-12, atol=1e-12, equal_nan=True,
                               err_msg=what)


OPS = {  # name: (op on a sparse tensor s and dense operands, whether it differentiates)
    "abs": lambda L, s, d, s2: s.abs(), "sqrt": lambda L, s, d, s2: s.abs().sqrt(),
    "square": lambda L, s, d, s2: s.square(), "sin": lambda L, s, d, s2: s.sin(),
    "tanh": lambda L, s, d, s2: s.tanh(), "relu": lambda L, s, d, s2: s.relu(),
    "expm1": lambda L, s, d, s2: s.expm1(), "sign": lambda L, s, d, s2: s.sign(),
    "floor": lambda L, s, d, s2: s.floor(), "pow2": lambda L, s, d, s2: s ** 2,
    "pow3": lambda L, s, d, s2: s.pow(3), "pow-1": lambda L, s, d, s2: s.pow(-1.0),
    "pow_half": lambda L, s, d, s2: s.abs().pow(0.5), "isnan": lambda L, s, d, s2: s.isnan(),
    "mul_dense": lambda L, s, d, s2: s * d, "mul_row": lambda L, s, d, s2: s * d[0],
    "mul_col": lambda L, s, d, s2: s * d[:, :1], "mul_sparse": lambda L, s, d, s2: s * s2,
    "mul_self": lambda L, s, d, s2: s * s, "transpose": lambda L, s, d, s2: s.transpose(0, 1),
    "transpose_neg": lambda L, s, d, s2: s.transpose(-1, 0).coalesce(),
    "mm_sparse": lambda L, s, d, s2: L.sparse.mm(s, s2.t()),
    "matmul_sparse": lambda L, s, d, s2: s2.t() @ s,
    "mm_after_mul": lambda L, s, d, s2: L.sparse.mm(s * d, d.t()),
}


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("name", sorted(OPS))
def test_elementwise_and_sparse_products_match_pytorch(name, seed):
    rng = np.random.default_rng(seed)
    n, m = (int(v) for v in rng.integers(1, 5, 2))
    idx, idx2 = _pattern(rng, n, m), _pattern(rng, n, m)
    if seed % 3 == 0:
        idx2 = np.concatenate([idx2, idx[:, :2]], 1)  # some positions in both patterns
    vals, vals2 = rng.standard_normal(idx.shape[1]), rng.standard_normal(idx2.shape[1])
    dense = rng.standard_normal((n, m))
    out = {}
    for lib in (torch, cr):
        v = lib.tensor(vals, requires_grad=True)
        v2 = lib.tensor(vals2, requires_grad=True)
        d = lib.tensor(dense, requires_grad=True)
        s = lib.sparse_coo_tensor(lib.tensor(idx), v, (n, m))
        s2 = lib.sparse_coo_tensor(lib.tensor(idx2), v2, (n, m))
        y = OPS[name](lib, s, d, s2)
        grads = None
        if y.dtype == lib.float64 and name not in ("sign", "floor"):
            w = np.arange(1.0, 1 + np.prod(tuple(y.shape))).reshape(tuple(y.shape))
            try:
                (y.to_dense() * lib.tensor(w)).sum().backward()
                grads = [np.zeros(t.shape) if t.grad is None else t.grad.to_dense().numpy()
                         for t in (v, v2, d)]
            except RuntimeError:  # some of PyTorch's sparse backwards fail ("add(sparse,
                if lib is cr:     # dense) is not supported"): nothing to compare then
                    raise
        out[lib] = y, grads
    (c, cg), (t, tg) = out[cr], out[torch]
    _same(c, t, name)
    if tg is not None and cg is not None:
        for k, (a, b) in enumerate(zip(cg, tg)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"{name} grad {k}")


@pytest.mark.parametrize("name", sorted(OPS))
def test_elementwise_and_sparse_products_gradcheck(name):
    # float64 finite differences for every op (PyTorch's own backward fails for some: sin, tanh,
    # sqrt, expm1, a broadcast dense factor)
    if name in ("sign", "floor", "isnan"):
        return
    idx = np.array([[0, 1, 1, 2, 0], [1, 2, 2, 0, 1]])  # (1, 2) and (0, 1) twice
    idx2 = np.array([[1, 2, 0], [2, 2, 0]])
    rng = np.random.default_rng(0)
    vals = cr.tensor(rng.uniform(0.3, 1.5, 5) * np.array([1, -1, 1, 1, -1]), requires_grad=True)
    vals2 = cr.tensor(rng.standard_normal(3), requires_grad=True)
    dense = cr.tensor(rng.standard_normal((3, 3)), requires_grad=True)

    def fn(v, v2, d):
        s, s2 = (cr.sparse_coo_tensor(i, w, (3, 3)) for i, w in ((idx, v), (idx2, v2)))
        return OPS[name](cr, s, d, s2).to_dense()

    assert cr.gradcheck(fn, [vals, vals2, dense])


def test_sparse_elementwise_refusals():
    s = cr.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2))
    with pytest.raises(ValueError, match="zeroth power"):
        s ** 0  # PyTorch: "cannot raise to zeroth power on sparse tensor"
    with pytest.raises(TypeError, match="exponent must be a number"):
        s.pow(cr.tensor(2.0))
    with pytest.raises(ValueError, match=r"must broadcast to the sparse shape \(2, 2\)"):
        s * cr.ones(3, 2, 2)
    with pytest.raises(ValueError, match="shapes"):
        s * cr.sparse_coo_tensor([[0], [0]], [1.0], (2, 3))
    hybrid = cr.sparse_coo_tensor([[0, 1]], cr.ones(2, 3), (2, 3))
    with pytest.raises(ValueError, match="both axes must be sparse"):
        hybrid.transpose(0, 1)  # PyTorch: "transposed dimensions must be sparse"
    with pytest.raises(ValueError, match="mat1 must be a 2-D sparse matrix"):
        cr.sparse.mm(hybrid, s)
    with pytest.raises(ValueError, match="cannot be multiplied"):
        cr.sparse.mm(s, cr.sparse_coo_tensor([[0], [0]], [1.0], (3, 2)))


def _facts(lib, idx, vals, dense, bias, weights, shape, beta, alpha):
    """What wave 17 compares of one random pattern: creation (inferred size, dtype=, integer
    values), sparse.sum over each axis choice with the gradients to the values and to a sparse
    leaf, addmm's gradients with beta and alpha, to_dense's gradients."""
    n, m = shape
    r = {"inferred": lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals)),
         "as_f32": lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals), shape,
                                         dtype=lib.float32),
         "ints": lib.sparse_coo_tensor(idx.tolist(), np.round(vals * 3).astype(int).tolist(),
                                       shape)}
    for dim in (0, 1, -1, (0, 1), (1, 0)):
        v = lib.tensor(vals, requires_grad=True)
        y = lib.sparse.sum(lib.sparse_coo_tensor(lib.tensor(idx), v, shape), dim)
        y = y.to_dense() if getattr(y, "is_sparse", False) else y
        (y * (lib.tensor(np.arange(y.numel()).reshape(tuple(y.shape))) + 1.0)).sum().backward()
        leaf = lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals), shape, requires_grad=True)
        z = lib.sparse.sum(leaf, dim)
        (z.to_dense() if getattr(z, "is_sparse", False) else z).pow(2).sum().backward()
        r.update({f"sum{dim}": y, f"sum{dim}_grad": v.grad, f"sum{dim}_leaf": leaf.grad})
    v, d, b = (lib.tensor(a, requires_grad=True) for a in (vals, dense, bias))
    y = lib.sparse.addmm(b, lib.sparse_coo_tensor(lib.tensor(idx), v, shape), d, beta=beta,
                         alpha=alpha)
    (y * lib.tensor(np.arange(y.numel()).reshape(tuple(y.shape)) * 1.0)).sum().backward()
    r.update(addmm=y, addmm_v=v.grad, addmm_d=d.grad, addmm_b=b.grad)
    leaf = lib.sparse_coo_tensor(lib.tensor(idx), lib.tensor(vals), shape, requires_grad=True)
    (leaf.to_dense() * lib.tensor(weights)).sum().backward()
    v = lib.tensor(vals, requires_grad=True)
    y = lib.sparse_coo_tensor(lib.tensor(idx), v, shape).to_dense()
    (y ** 3).sum().backward()
    r.update(dense_leaf=leaf.grad, dense=y, dense_v=v.grad)
    return r


@pytest.mark.parametrize("seed", range(30))
def test_random_pattern_sums_addmm_and_to_dense(seed):
    rng = np.random.default_rng(seed)
    n, m, k = (int(v) for v in rng.integers(1, 5, 3))
    idx = _pattern(rng, n, m)
    args = (idx, rng.standard_normal(idx.shape[1]), rng.standard_normal((m, k)),
            rng.standard_normal((n, k)), rng.standard_normal((n, m)), (n, m),
            float(rng.choice([1.0, 0.5, 0.0])), float(rng.choice([1.0, 2.0, -0.5])))
    c, t = _facts(cr, *args), _facts(torch, *args)
    assert c.keys() == t.keys()
    for key in t:
        if t[key] is None:  # PyTorch leaves some gradients unset (nothing flowed)
            assert c[key] is None or not _dense(c[key]).any(), key
            continue
        _same(c[key], t[key], key)


def _train(lib, seed):
    rng = np.random.default_rng(seed)
    V, D = int(rng.integers(3, 9)), int(rng.integers(1, 5))
    pad = None if rng.random() < 0.5 else int(rng.integers(0, V))
    emb = lib.nn.Embedding(V, D, padding_idx=pad, sparse=True, dtype=lib.float64)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(rng.standard_normal((V, D))))
    lr = float(rng.choice([0.1, 0.01, 0.5]))
    kind = seed % 5
    opt = [lambda p: lib.optim.SGD(p, lr=lr), lambda p: lib.optim.SGD(p, lr=lr, momentum=0.9),
           lambda p: lib.optim.SGD(p, lr=lr, momentum=0.7, dampening=0.3, nesterov=False),
           lambda p: lib.optim.SparseAdam(p, lr=lr, betas=(0.8, 0.95)),
           lambda p: lib.optim.Adagrad(p, lr=lr)][kind](emb.parameters())
    for _ in range(4):
        ids = rng.integers(0, V, size=tuple(rng.integers(1, 4, 2)))
        target = rng.standard_normal((*ids.shape, D))
        opt.zero_grad()
        y = emb(lib.tensor(ids))
        (((y - lib.tensor(target)) ** 2).sum() + y.tanh().sum()).backward()
        opt.step()
    return emb.weight.detach().numpy().copy(), emb.weight.grad.to_dense().numpy()


@pytest.mark.parametrize("seed", range(15))
def test_sparse_embedding_steps_match_pytorch(seed):
    # SGD (plain, momentum, dampening), SparseAdam and Adagrad on sparse gradients with
    # repeated ids and padding_idx: the weights after four steps and the last gradient
    (cw, cg), (tw, tg) = _train(cr, seed), _train(torch, seed)
    np.testing.assert_allclose(cw, tw, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cg, tg, rtol=1e-12, atol=1e-13)


def test_sparse_add_promotes_two_value_dtypes():
    # was: a + b in a's dtype, so int64 + float64 values truncated b's to integers
    ints = (np.array([[0, 1], [1, 0]]), np.array([1, 2]))
    floats = (np.array([[0, 1], [1, 1]]), np.array([0.5, 0.25]))
    for first, second in ((ints, floats), (floats, ints)):
        for op in (lambda x, y: x + y, lambda x, y: x - y):
            c = op(_coo(cr, *first, (2, 3)), _coo(cr, *second, (2, 3)))
            t = op(_coo(torch, *first, (2, 3)), _coo(torch, *second, (2, 3)))
            _same(c, t, "int and float")
    f32 = _coo(cr, floats[0], floats[1].astype(np.float32), (2, 3))
    assert (f32 + _coo(cr, *floats, (2, 3))).dtype == cr.float64


def test_sparse_sum_of_bool_values_counts_a_position_once():
    # was: two True entries at one position counted 2; to_dense() (and PyTorch) hold one True
    idx, vals = np.array([[0, 1, 1], [1, 0, 0]]), np.array([True, True, True])
    for dim in (None, 0, 1):
        c = cr.sparse.sum(_coo(cr, idx, vals, (2, 3)), *(() if dim is None else (dim,)))
        t = torch.sparse.sum(_coo(torch, idx, vals, (2, 3)), *(() if dim is None else (dim,)))
        _same(c, t, f"bool sum over {dim}")
