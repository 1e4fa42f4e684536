"""t, adjoint, swapdims, rot90, fliplr, flipud, tensor_split, hsplit/vsplit/dsplit, row_stack,
masked_scatter, put and the in-place triu_/tril_/masked_scatter_/put_ (ops/shape_extra.py):
forward and backward against PyTorch (float64), gradcheck, in-place checks and clear errors."""

import numpy as np
import pytest

import chainrule as cr

from .._case_loop import each_case, grid

MASK = np.array([[True, False, True, True], [False, True, False, False],
                 [True, True, True, True]])


def _pieces(L, x, split):
    return L.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(split)])


# name: (call on a library module `L` and its inputs, the inputs' shapes)
CASES = {
    "t": (lambda L, x: L.t(x), [(3, 4)]),
    "adjoint": (lambda L, x: L.adjoint(x), [(2, 3, 4)]),
    "swapdims": (lambda L, x: L.swapdims(x, 0, 2), [(2, 3, 4)]),
    "rot90": (lambda L, x: L.rot90(x, 1, (1, 2)), [(2, 3, 4)]),
    "rot90_k3": (lambda L, x: x.rot90(-1, [0, 2]), [(2, 3, 4)]),
    "rot90_k2": (lambda L, x: L.rot90(x, 2), [(3, 4)]),
    "fliplr": (lambda L, x: L.fliplr(x) + L.flipud(x), [(3, 3)]),
    "tensor_split": (lambda L, x: _pieces(L, x, L.tensor_split(x, 3, dim=1)), [(2, 7)]),
    "tensor_split_idx": (lambda L, x: _pieces(L, x, x.tensor_split([1, 4], 0)), [(6, 2)]),
    "hsplit": (lambda L, x: _pieces(L, x, L.hsplit(x, 2)), [(3, 4)]),
    "vsplit": (lambda L, x: _pieces(L, x, L.vsplit(x, [1])), [(3, 4)]),
    "dsplit": (lambda L, x: _pieces(L, x, L.dsplit(x, 2)), [(2, 2, 4)]),
    "row_stack": (lambda L, a, b: L.row_stack([a, b]), [(4,), (2, 4)]),
    "masked_scatter": (lambda L, x, s: L.masked_scatter(x, L.tensor(MASK), s), [(3, 4), (10,)]),
    "masked_scatter_bcast": (lambda L, x, s: x.masked_scatter(L.tensor(MASK[0]), s),
                             [(3, 4), (3, 3)]),
    "put": (lambda L, x, s: L.put(x, L.tensor([0, -1, 5, 7]), s), [(3, 4), (4,)]),
    "put_acc": (lambda L, x, s: x.put(L.tensor([[0, 11], [5, 5]]), s, accumulate=True),
                [(3, 4), (2, 2)]),
}


def _matches_pytorch_forward_and_backward_case(name):
    torch = pytest.importorskip("torch")
    fn, shapes = CASES[name]
    rng = np.random.default_rng(len(name))
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, u = fn(cr, *ours), fn(torch, *theirs)
    assert y.shape == tuple(u.shape)
    np.testing.assert_allclose(y.numpy(), u.detach().numpy(), rtol=1e-15, atol=1e-15)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (u * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.torch
def test_matches_pytorch_forward_and_backward():
    each_case(_matches_pytorch_forward_and_backward_case, grid(("name", sorted(CASES))))


@pytest.mark.parametrize("name", ["rot90", "tensor_split", "masked_scatter", "put", "put_acc"])
def test_gradcheck(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(4)
    xs = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert cr.gradcheck(lambda *t: fn(cr, *t), xs)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_splits_match_pytorch_in_every_form():
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(2, 3, 4)
    for spec in (1, 3, 4, 5, [1, 2], [2, 1, 5], (0,), [], [-1], [-2, 10], [-7, 2], [3, 1],
                 torch.tensor(2), torch.tensor([1, 3])):
        for dim in (0, 2, -1):
            ours_spec = cr.tensor(spec.numpy()) if isinstance(spec, torch.Tensor) else spec
            ours = cr.tensor_split(cr.tensor(a), ours_spec, dim)
            theirs = torch.tensor_split(torch.tensor(a), spec, dim)
            assert len(ours) == len(theirs)
            for o, t in zip(ours, theirs):
                np.testing.assert_array_equal(o.numpy(), t.numpy())
    for k in range(-5, 6):
        for dims in ((0, 1), (1, 2), (2, 0), (-1, -2)):
            np.testing.assert_array_equal(cr.rot90(cr.tensor(a), k, dims).numpy(),
                                          torch.rot90(torch.tensor(a), k, dims).numpy())
    v = np.arange(6.0)
    for o, t in zip(cr.hsplit(cr.tensor(v), 3), torch.hsplit(torch.tensor(v), 3)):
        np.testing.assert_array_equal(o.numpy(), t.numpy())


@pytest.mark.kernel_free
@pytest.mark.torch
def test_tensor_split_takes_pytorchs_keywords():
    # sections= and indices= (PyTorch's overloads' names) were a TypeError
    torch = pytest.importorskip("torch")
    a = np.arange(12.0).reshape(2, 6)
    for kw in ({"sections": 4}, {"indices": [1, -2]}, {"indices": (2,)}):
        for ours, theirs in ((cr.tensor_split(cr.tensor(a), dim=1, **kw),
                              torch.tensor_split(torch.tensor(a), dim=1, **kw)),
                             (cr.tensor(a).tensor_split(**kw, dim=-1),
                              torch.tensor(a).tensor_split(**kw, dim=-1))):
            assert len(ours) == len(theirs)
            for o, t in zip(ours, theirs):
                np.testing.assert_array_equal(o.numpy(), t.numpy())
    ours = cr.tensor_split(cr.tensor(a), tensor_indices_or_sections=cr.tensor([2]), dim=1)
    theirs = torch.tensor_split(torch.tensor(a), tensor_indices_or_sections=torch.tensor([2]),
                                dim=1)
    assert [o.shape for o in ours] == [tuple(t.shape) for t in theirs]
    with pytest.raises(TypeError, match="tensor_split: give exactly one of .* got none"):
        cr.tensor_split(cr.tensor(a))
    with pytest.raises(TypeError, match=r"got \['indices', 'sections'\]"):
        cr.tensor_split(cr.tensor(a), sections=2, indices=[1])


@pytest.mark.kernel_free
@pytest.mark.torch
def test_in_place_writers_match_pytorch_and_are_guarded():
    torch = pytest.importorskip("torch")
    a = np.arange(12.0).reshape(3, 4)
    calls = [lambda x, L: x.triu_(1), lambda x, L: x.tril_(-1), lambda x, L: x.tril_(),
             lambda x, L: x.masked_scatter_(L.tensor(MASK), L.tensor(np.arange(9.0) + 50)),
             lambda x, L: x.put_(L.tensor([1, 2]), L.tensor([-1.0, -2.0], dtype=L.float64)),
             lambda x, L: x.put_(L.tensor([1, 1]), L.tensor([-1.0, -2.0], dtype=L.float64),
                                 accumulate=True)]
    for call in calls:
        x, t = cr.tensor(a), torch.tensor(a)
        assert call(x, cr) is x
        call(t, torch)
        np.testing.assert_array_equal(x.numpy(), t.numpy())
    w = cr.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="triu_: a leaf tensor that requires grad"):
        w.triu_()
    y = cr.ones(3, 3, requires_grad=True)
    z = y * 2
    s = (z * z).sum()
    z.detach().tril_()  # changes the values z * z saved
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.backward()


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("name", ["flip", "fliplr", "flipud", "rot90", "rot90_2", "rot90_3"])
def test_flips_and_rotations_are_copies_as_pytorchs(name):
    # flip was NumPy's view: a write into x.flip(0) changed x (found by the fifth fuzz wave).
    torch = pytest.importorskip("torch")
    call = {"flip": lambda x: x.flip(0), "fliplr": lambda x: x.fliplr(),
            "flipud": lambda x: x.flipud(), "rot90": lambda x: x.rot90(1, (0, 1)),
            "rot90_2": lambda x: x.rot90(2, (0, 1)), "rot90_3": lambda x: x.rot90(3, (1, 0))}[name]
    x, t = cr.tensor(np.arange(12.0).reshape(3, 4)), torch.tensor(np.arange(12.0).reshape(3, 4))
    call(x).mul_(-1.0)
    call(t).mul_(-1.0)
    np.testing.assert_array_equal(x.numpy(), t.numpy())


def test_put_gives_an_overwritten_source_entry_no_gradient():
    # the last write to a position wins; the entry it overwrote has no effect on the result, so
    # its gradient is 0 (PyTorch's backward gives it the position's gradient all the same)
    x = cr.zeros(4, dtype=cr.float64, requires_grad=True)
    s = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    y = cr.put(x, cr.tensor([1, 1, 3]), s)
    assert y.tolist() == [0.0, 2.0, 0.0, 3.0]
    (y * cr.tensor([1.0, 10.0, 100.0, 1000.0], dtype=cr.float64)).sum().backward()
    assert s.grad.tolist() == [0.0, 10.0, 1000.0]
    assert x.grad.tolist() == [1.0, 0.0, 100.0, 0.0]


@pytest.mark.kernel_free
def test_t_and_swapdims_are_the_known_transposes():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(cr.t(x).numpy(), x.numpy().T)
    v = cr.tensor([1.0, 2.0])
    assert cr.t(v).tolist() == [1.0, 2.0]
    assert cr.row_stack is cr.vstack
    np.testing.assert_array_equal(cr.swapdims(x, dim0=0, dim1=1).numpy(), x.numpy().T)
    np.testing.assert_array_equal(cr.swapdims(x, 1, 0).numpy(),
                                  cr.swapaxes(x, axis0=1, axis1=0).numpy())


@pytest.mark.kernel_free
def test_bad_arguments_are_refused_clearly():
    x = cr.ones(3, 4)
    with pytest.raises(ValueError, match=r"rot90: dims must be two different dimensions"):
        cr.rot90(x, 1, (1, 1))
    with pytest.raises(ValueError, match=r"rot90: input must have at least 2 dimensions"):
        cr.rot90(cr.ones(3))
    with pytest.raises(ValueError, match=r"fliplr: input must be at least 2-D, got shape \(3,\)"):
        cr.fliplr(cr.ones(3))
    with pytest.raises(ValueError, match=r"adjoint: input must have at least 2 dimensions"):
        cr.adjoint(cr.ones(3))
    with pytest.raises(ValueError, match="tensor_split: sections must be at least 1, got 0"):
        cr.tensor_split(x, 0)
    with pytest.raises(ValueError, match="hsplit: dim 1 of size 4 is not divisible into 3"):
        cr.hsplit(x, 3)
    with pytest.raises(ValueError, match=r"dsplit: input must have at least 3 dimensions"):
        cr.dsplit(x, 2)
    with pytest.raises(ValueError, match="masked_scatter: source has 2 elements, fewer than the 3"):
        cr.masked_scatter(cr.ones(3), cr.tensor([True, True, True]), cr.ones(2))
    with pytest.raises(TypeError, match="masked_scatter: mask must be boolean"):
        cr.masked_scatter(x, x, x)
    with pytest.raises(ValueError, match=r"masked_scatter: mask of shape \(2,\) cannot be"):
        cr.masked_scatter(x, cr.tensor([True, False]), x)
    with pytest.raises(IndexError, match="put: index out of range for a tensor of 12 elements"):
        cr.put(x, cr.tensor([12]), cr.ones(1))
    with pytest.raises(ValueError, match="put: index has 2 elements and source 1"):
        cr.put(x, cr.tensor([0, 1]), cr.ones(1))
    with pytest.raises(TypeError, match="put: source must have the input's dtype float32"):
        cr.put(x, cr.tensor([0]), cr.ones(1, dtype=cr.float64))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_flip_method_takes_dims_as_a_keyword_as_pytorchs():
    # x.flip(dims=[1]) was a TypeError (the method took positional dims only); allRank's
    # ListMLE writes torch.logcumsumexp(x.flip(dims=[1]), dim=1).flip(dims=[1])
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(3).standard_normal((3, 4))
    w = np.cos(np.arange(12.0)).reshape(3, 4)
    out = {}
    for L in (cr, torch):
        x = L.tensor(x0, requires_grad=True)
        ys = [x.flip(dims=[1]), x.flip(dims=(0, 1)), x.flip(1), x.flip([0]), x.flip(0, 1)]
        sum((y * L.tensor(w) * (k + 1)).sum() for k, y in enumerate(ys)).backward()
        out[L.__name__] = [y.detach().numpy() for y in ys] + [x.grad.numpy()]
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    x = cr.tensor(x0, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: t.flip(dims=[0, 1]) * t, (x,))
    with pytest.raises(TypeError, match=r"flip: takes the dims .* got \(1,\) and keywords "
                                        r"\['dims'\]"):
        x.flip(1, dims=[0])


@pytest.mark.kernel_free
@pytest.mark.torch
def test_split_method_names_its_size_split_size_as_pytorchs():
    # x.split(split_size=[...], dim=-1) was a TypeError (the method was the function, whose
    # argument is split_size_or_sections); mamba-minimal splits its projections that way
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(4).standard_normal((3, 5))
    out = {}
    for L in (cr, torch):
        x = L.tensor(x0, requires_grad=True)
        parts = (x.split(split_size=[1, 4], dim=-1) + x.split(split_size=2) + x.split(2, 1)
                 + L.split(x, split_size_or_sections=[2, 1], dim=0))
        sum((p * (k + 1)).pow(2).sum() for k, p in enumerate(parts)).backward()
        out[L.__name__] = [p.detach().numpy() for p in parts] + [x.grad.numpy()]
    assert len(out["chainrule"]) == len(out["torch"])
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    x = cr.tensor(x0, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: t.split(split_size=[2, 3], dim=1)[1] * 2, (x,))
    with pytest.raises(ValueError, match=r"split: sections \[2, 2\] must be non-negative and add "
                                         r"up to 5"):
        x.split(split_size=[2, 2], dim=1)


@pytest.mark.torch
def test_tensor_methods_take_pytorchs_keyword_names():
    # each was a TypeError: new_zeros/new_ones/new_empty(size=), expand(size=), view(size=),
    # view(dtype) (a bit reinterpretation), sum_to_size(size=), mm/bmm(mat2=), min/max(other=)
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(5).standard_normal((3, 4))
    out = {}
    for L in (cr, torch):
        x = L.tensor(x0, requires_grad=True)
        ys = [x[:1].expand(size=(3, 4)), x.view(size=(4, 3)), x.view(12),
              x.sum_to_size(size=(1, 4)), x.mm(mat2=x.t()), x[None].bmm(mat2=x.t()[None]),
              x.min(other=x * 0.5), x.max(other=x.flip(0))]
        sum((y * (k + 1)).sum() for k, y in enumerate(ys)).backward()
        bits = x.detach().float().view(L.int32)
        out[L.__name__] = [y.detach().numpy() for y in ys] + [
            x.grad.numpy(), bits.numpy(), x.view(dtype=L.int16).shape[-1],
            x.view(L.float64).requires_grad, x.new_zeros(size=(2, 3)).numpy(),
            x.new_ones(size=[2]).numpy(), tuple(x.new_empty(size=(1, 2)).shape)]
    for a, b in zip(out["chainrule"], out["torch"]):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12)
    x = cr.tensor(x0, requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: t.min(other=t.t().t() * 0.3 + 0.1), (x,))
    with pytest.raises(TypeError, match="new_zeros: give the sizes positionally or as size="):
        x.new_zeros(2, size=(2,))
    with pytest.raises(TypeError, match="min: other= is the elementwise form"):
        x.min(1, other=x)
    with pytest.raises(TypeError, match="view: give a shape or a dtype, not both"):
        x.view(3, 4, dtype=cr.float32)
