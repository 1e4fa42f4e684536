"""More top-level names of the census: the ``*_copy`` functions, ``norm_except_dim``, the in-place
dropouts (``dropout_``...), ``addmv_``, ``vmap`` and ``is_autocast_enabled``. Against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck

RNG = np.random.default_rng(80808)
X = RNG.normal(size=(2, 3, 4))

COPIES = [
    ("alias_copy", ()), ("diagonal_copy", ()), ("diagonal_copy", (1, 1, 2)),
    ("expand_copy", ([2, 2, 3, 4],)), ("permute_copy", ([2, 0, 1],)), ("select_copy", (1, -1)),
    ("slice_copy", ()), ("slice_copy", (2, 1, 4, 2)), ("slice_copy", (-1, None, -1)),
    ("split_copy", (2, 2)), ("split_with_sizes_copy", ([1, 2], 1)), ("squeeze_copy", ()),
    ("transpose_copy", (0, 2)), ("unbind_copy", (1,)), ("unfold_copy", (2, 2, 1)),
    ("unsqueeze_copy", (1,)), ("view_copy", ([4, 6],)),
]


def _numpy(out):
    return [t.detach().numpy() for t in out] if isinstance(out, (tuple, list)) else [
        out.detach().numpy()]


@pytest.mark.torch
@pytest.mark.parametrize(("name", "args"), COPIES, ids=lambda v: str(v))
def test_copies_match_torch_and_share_no_memory(name, args):
    torch = pytest.importorskip("torch")
    x = cr.tensor(X, requires_grad=True)
    ours = getattr(cr, name)(x, *args)
    theirs = getattr(torch, name)(torch.tensor(X), *args)
    for a, b in zip(_numpy(ours), _numpy(theirs), strict=True):
        np.testing.assert_array_equal(a, b)
    first = ours[0] if isinstance(ours, tuple) else ours
    assert not np.shares_memory(first.detach().numpy(), x.detach().numpy())

    def fn(t):
        out = getattr(cr, name)(t, *args)
        return cr.cat([o.reshape(-1) for o in out]) if isinstance(out, tuple) else out

    assert gradcheck(fn, (x,))


@pytest.mark.torch
def test_two_dimensional_copies_and_errors():
    torch = pytest.importorskip("torch")
    m = RNG.normal(size=(3, 2))
    np.testing.assert_array_equal(cr.t_copy(cr.tensor(m)).numpy(),
                                  torch.t_copy(torch.tensor(m)).numpy())
    np.testing.assert_array_equal(
        cr.squeeze_copy(cr.ones(1, 3, 1), [0, 2]).numpy(),
        torch.squeeze_copy(torch.ones(1, 3, 1), [0, 2]).numpy())
    d = cr.detach_copy(cr.tensor(m, requires_grad=True) * 2)
    assert not d.requires_grad and d.grad_fn is None
    with pytest.raises(TypeError, match="transpose_copy: input must be a Tensor, got list"):
        cr.transpose_copy([[1.0]], 0, 1)
    with pytest.raises(TypeError, match="view_copy: out= is not supported"):
        cr.view_copy(cr.ones(4), [2, 2], out=cr.ones(2, 2))
    with pytest.raises(ValueError, match="slice_copy: step must be a positive int, got 0"):
        cr.slice_copy(cr.ones(4), 0, 0, 4, 0)
    with pytest.raises(IndexError, match="slice_copy: dim 3 is out of range for a 1-D tensor"):
        cr.slice_copy(cr.ones(4), 3)


@pytest.mark.torch
@pytest.mark.parametrize(("p", "dim"), [(2, 0), (2, 1), (2, -1), (1, 2), (3, 0)])
def test_norm_except_dim_matches_torch(p, dim):
    torch = pytest.importorskip("torch")
    ours = cr.norm_except_dim(cr.tensor(X), p, dim)
    theirs = torch.norm_except_dim(torch.tensor(X), p, dim)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-13)
    assert gradcheck(lambda v: cr.norm_except_dim(v, p, dim), (cr.tensor(X, requires_grad=True),))
    with pytest.raises(IndexError, match=r"dim must be -1 or in \[0, 2\], got 3"):
        cr.norm_except_dim(cr.tensor(X), 2, 3)


@pytest.mark.parametrize("name", ["dropout_", "alpha_dropout_", "feature_dropout_",
                                  "feature_alpha_dropout_"])
def test_in_place_dropouts(name):
    cr.manual_seed(3)
    x = cr.tensor(RNG.normal(size=(4, 5, 6)))
    before = x.numpy().copy()
    assert getattr(cr, name)(x, 0.0, True) is x
    np.testing.assert_array_equal(x.numpy(), before)  # p = 0 keeps every value
    assert getattr(cr, name)(x, 0.5, False) is x
    np.testing.assert_array_equal(x.numpy(), before)  # not training: unchanged
    getattr(cr, name)(x, 0.5, True)
    assert not np.array_equal(x.numpy(), before)
    w = cr.tensor(RNG.normal(size=(4, 5, 6)), requires_grad=True)
    y = w * 1.0
    getattr(cr, name)(y, 0.5, True)
    y.sum().backward()
    kept = w.grad.numpy() != 0
    if name == "dropout_":  # the kept ones scaled by 1 / (1 - p), the dropped ones 0
        np.testing.assert_allclose(w.grad.numpy()[kept], 2.0)
        np.testing.assert_allclose(y.detach().numpy()[kept], 2.0 * w.detach().numpy()[kept])
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(cr, name)(w, 0.5, True)
    with pytest.raises(TypeError, match=f"{name}: input must be a Tensor"):
        getattr(cr, name)([1.0], 0.5, True)


@pytest.mark.torch
def test_addmv_vmap_and_is_autocast_enabled():
    torch = pytest.importorskip("torch")
    y, m, v = RNG.normal(size=3), RNG.normal(size=(3, 4)), RNG.normal(size=4)
    a, ta = cr.tensor(y), torch.tensor(y)
    cr.addmv_(a, cr.tensor(m), cr.tensor(v), beta=0.5, alpha=2.0)
    torch.addmv_(ta, torch.tensor(m), torch.tensor(v), beta=0.5, alpha=2.0)
    np.testing.assert_allclose(a.numpy(), ta.numpy(), rtol=1e-14)
    assert cr.vmap is cr.func.vmap
    np.testing.assert_allclose(cr.vmap(lambda r: r.sum())(cr.tensor(m)).numpy(), m.sum(1))
    assert cr.is_autocast_enabled() is False and cr.is_autocast_enabled("cpu") is False
    assert torch.is_autocast_enabled() is False
    with pytest.raises(TypeError, match="device_type must be a str or None, got int"):
        cr.is_autocast_enabled(1)


@pytest.mark.torch
@pytest.mark.parametrize("pad", [0, 2])
def test_conv_tbc_matches_torch(pad):
    torch = pytest.importorskip("torch")
    x, w, b = RNG.normal(size=(6, 2, 3)), RNG.normal(size=(3, 3, 4)), RNG.normal(size=4)
    ours = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = cr.nn.functional.conv_tbc(*ours, pad)
    ty = torch.nn.functional.conv_tbc(*theirs, pad)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cr.conv_tbc(*ours, pad).detach().numpy(), y.detach().numpy())
    scale = RNG.normal(size=tuple(y.shape))
    (y * cr.tensor(scale)).sum().backward()
    (ty * torch.tensor(scale)).sum().backward()
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-11, atol=1e-12)
    assert gradcheck(lambda *a: cr.nn.functional.conv_tbc(*a, pad),
                     tuple(cr.tensor(a, requires_grad=True) for a in (x, w, b)))
    with pytest.raises(ValueError, match="conv_tbc: input .* do not agree"):
        cr.nn.functional.conv_tbc(ours[0], ours[1][:, :2], ours[2])
    with pytest.raises(ValueError, match="conv_tbc: bias must be a 1-D Tensor, got NoneType"):
        cr.nn.functional.conv_tbc(ours[0], ours[1], None)
