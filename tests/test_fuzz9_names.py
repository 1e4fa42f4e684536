"""Ninth fuzz wave, the names added by the eighth census: index_reduce_/index_put_/index_add_/
index_copy_/index_fill_/cumsum_/renorm_ on a recorded tensor, gradient (spacing as a number,
numbers or coordinate tensors, edge_order, dim) and the *_copy functions, under random shapes and
options, against PyTorch in float64: values, gradients, and refusals where PyTorch refuses.
(binomial/poisson with NaN are not drawn: PyTorch's binomial does not return on a NaN count;
chainrule's refuses it.)"""

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]
_ERRORS = (RuntimeError, ValueError, TypeError, IndexError)


def _val(v):
    if isinstance(v, (list, tuple)):
        return [_val(x) for x in v]
    if hasattr(v, "detach"):
        return (np.asarray(v.detach().numpy()).round(10) + 0.0).tolist()
    return v


def _index_op(lib, rng, y, shape):
    nd, kind = len(shape), str(rng.choice(["reduce", "put", "cumsum", "renorm", "add", "copy",
                                            "fill"]))
    dim = int(rng.integers(-nd, nd))
    if kind == "cumsum":
        return y.cumsum_(dim), []
    if kind == "renorm":
        p = float(rng.choice([1.0, 2.0, 3.0, np.inf]))
        return y.renorm_(p, dim, float(rng.choice([0.1, 1.0, 5.0]))), []
    if kind == "put":
        k, n = int(rng.integers(1, nd + 1)), int(rng.integers(1, 4))
        cols = [rng.permutation(shape[i])[:1].repeat(n) + 0 for i in range(k)]
        cols[0] = rng.permutation(max(shape[0], n))[:n] % shape[0]
        idx = tuple(lib.tensor(c) for c in cols)
        accumulate = bool(rng.random() < 0.5)
        if not accumulate and len(set(cols[0].tolist())) < n:  # duplicates: order unspecified
            accumulate = True
        v = lib.tensor(rng.standard_normal((n,) + shape[k:] if rng.random() < 0.7 else shape[k:]),
                       requires_grad=True)
        return y.index_put_(idx, v, accumulate=accumulate), [v]
    n = int(rng.integers(0, 5))
    idx = rng.integers(0, shape[dim], n)
    if kind == "copy":
        idx = rng.permutation(shape[dim])[:n]
    sizes = list(shape)
    sizes[dim] = len(idx)
    src = lib.tensor(rng.standard_normal(sizes), requires_grad=True)
    idx = lib.tensor(idx, dtype=lib.int64)
    if kind == "reduce":
        how = str(rng.choice(["prod", "mean", "amax", "amin"]))
        return y.index_reduce_(dim, idx, src, how, include_self=bool(rng.random() < 0.5)), [src]
    if kind == "add":
        return y.index_add_(dim, idx, src, alpha=float(rng.choice([1.0, 2.0]))), [src]
    if kind == "copy":
        return y.index_copy_(dim, idx, src), [src]
    return y.index_fill_(dim, idx, 2.5), []


def _index_run(lib, seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in rng.integers(1, 4, int(rng.integers(1, 4))))
    x = lib.tensor(rng.standard_normal(shape), requires_grad=True)
    y = x * 1.0
    try:
        result, others = _index_op(lib, rng, y, shape)
        w = lib.tensor(rng.standard_normal(shape))
        grads = lib.autograd.grad((y * w).sum(), [x, *others], allow_unused=True)
    except _ERRORS:
        return "refused"
    return result is y, _val(y), [None if g is None else _val(g) for g in grads]


def _gradient_run(lib, seed):
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 4))
    shape = tuple(int(s) for s in rng.integers(1, 5, nd))
    x = lib.tensor(rng.standard_normal(shape), requires_grad=True)
    kw, r = {}, rng.random()
    if rng.random() < 0.5:
        kw["edge_order"] = int(rng.choice([1, 2, 3]))
    if r < 0.25:
        kw["spacing"] = float(rng.choice([0.5, 2.0]))
    elif r < 0.5:
        kw["spacing"] = [float(s) for s in rng.uniform(0.5, 2, nd)]
    elif r < 0.7:
        kw["spacing"] = [lib.tensor(np.sort(rng.uniform(0, 5, s)) + np.arange(s)) for s in shape]
    if rng.random() < 0.4:
        kw["dim"] = int(rng.integers(-nd, nd))
        if isinstance(kw.get("spacing"), list):
            kw["spacing"] = [kw["spacing"][kw["dim"]]]
    try:
        outs = lib.gradient(x, **kw)
        w = [lib.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
        (g,) = lib.autograd.grad(sum((o * v).sum() for o, v in zip(outs, w)), x)
    except _ERRORS:
        return "refused"
    return _val(outs), _val(g)


_COPIES = {"transpose_copy": (0, 2), "permute_copy": ((2, 0, 1),), "view_copy": ((6, 4),),
           "expand_copy": ((2, 2, 3, 4),), "unsqueeze_copy": (1,), "squeeze_copy": (),
           "diagonal_copy": (), "select_copy": (1, 2), "slice_copy": (2, 1, 3),
           "unbind_copy": (1,), "split_copy": (2, 2), "narrow_copy": (1, 0, 2),
           "alias_copy": (), "unfold_copy": (2, 2, 1)}  # detach_copy: PyTorch has no derivative


@pytest.mark.parametrize("block", range(3))
def test_index_writers_as_pytorchs(block):
    for seed in range(block * 150, block * 150 + 150):
        want, got = _index_run(torch, seed), _index_run(cr, seed)
        if want != "refused":
            assert str(got) == str(want), seed


def test_gradient_as_pytorchs():
    for seed in range(200):
        want, got = _gradient_run(torch, seed), _gradient_run(cr, seed)
        assert (want == "refused") == (got == "refused"), seed
        assert str(got) == str(want), seed


def _copy_functions_as_pytorchs_case(name):
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    results = []
    for lib in (torch, cr):
        x = lib.tensor(data, requires_grad=True)
        out = getattr(lib, name)(x, *_COPIES[name])
        outs = out if isinstance(out, (list, tuple)) else [out]
        grad = None
        if all(t.requires_grad for t in outs):
            (grad,) = lib.autograd.grad(sum((t * t * 1.5).sum() for t in outs), x)
        results.append((_val(outs), _val(grad)))
    assert str(results[1]) == str(results[0])


def test_copy_functions_as_pytorchs():
    each_case(_copy_functions_as_pytorchs_case, grid(("name", sorted(_COPIES))))


def test_binomial_and_poisson_arguments_as_pytorchs():
    """Refused in both: mixed dtypes, integer counts or rates, negative rates. Refused by
    chainrule only (docs/pytorch.md; PyTorch draws garbage): p outside [0, 1], a fractional
    count, an infinite rate."""
    for lib in (torch, cr):
        for fn in (lambda: lib.binomial(lib.tensor([3.0], dtype=lib.float32),
                                        lib.tensor([0.5], dtype=lib.float64)),
                   lambda: lib.binomial(lib.tensor([3]), lib.tensor([0.5])),
                   lambda: lib.poisson(lib.tensor([1, 2])),
                   lambda: lib.poisson(lib.tensor([-1.0, 2.0]))):
            with pytest.raises((RuntimeError, ValueError, TypeError, NotImplementedError)):
                fn()
        draws = lib.binomial(lib.tensor([4.0, 4.0]), lib.tensor([0.0, 1.0]))
        assert draws.tolist() == [0.0, 4.0]
    for fn, args in ((lambda lib: lib.binomial(lib.tensor([3.0]), lib.tensor([1.5])), ()),
                     (lambda lib: lib.binomial(lib.tensor([2.5]), lib.tensor([0.5])), ()),
                     (lambda lib: lib.poisson(lib.tensor([float("inf")])), ())):
        fn(torch, *args)
        with pytest.raises(ValueError):
            fn(cr, *args)
