"""Thirteenth fuzz wave, view semantics: a base tensor of some layout (row-major, transposed,
sliced with steps, a convolution or pooling output, complex), a chain of one to three view ops,
one in-place change through the base or a view, then every tensor compared with PyTorch's
(values, dtype, shape, ``_version``), and, with a base computed from a leaf that requires grad,
the gradients after backward (float64). Where PyTorch leaves view-or-copy open (``reshape``,
``flatten``) only the tensors on one side of it are compared; chainrule may refuse a write with a
RuntimeError (a copy where PyTorch views, a recorded write it cannot follow), never differ
silently. The scenarios are built in tests/_fuzz13_views.py."""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import outcome
from ._fuzz13_views import LAYOUTS, NEW_GROUP, VIEWS, WRITES, apply_view, apply_write, make_base

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _numpy(lib, t):
    t = t.detach()
    if lib is torch:
        t = t.resolve_conj().resolve_neg()
    return np.array(t.numpy())


def _run(lib, seed, grad):
    """The tensors of one scenario after the write (label, comparable, dtype, shape, values,
    version) and the leaf's and value's gradients; or where it stopped with an error."""
    rng = np.random.default_rng(seed)
    layout = LAYOUTS[rng.integers(len(LAYOUTS))]
    with (lib.enable_grad() if grad else lib.no_grad()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        leaf, base = make_base(lib, rng, layout, grad)
        pool, groups = [("base", base, 0)], 1
        for _ in range(int(rng.integers(1, 4))):
            op = VIEWS[rng.integers(len(VIEWS))]
            i = len(pool) - 1 if rng.random() < 0.6 else int(rng.integers(len(pool)))
            label, src, group = pool[i]
            try:
                outs = apply_view(lib, rng, op, src)
            except (RuntimeError, ValueError, TypeError, IndexError) as e:
                return "view refused", op, e
            # documented: reshape may copy (chainrule's view copies where NumPy cannot view, and
            # so do its conjugate transposes; both follow the viewed tensor's changes)
            if op in NEW_GROUP:
                group, groups = groups, groups + 1
            pool += [(f"{op}({label})", o, group) for o in outs]
        op = WRITES[rng.integers(len(WRITES))]
        label, target, group = pool[int(rng.integers(len(pool)))]
        w = None
        if grad and rng.random() < 0.5:
            w = lib.tensor(float(rng.standard_normal()), dtype=lib.float64, requires_grad=True)
        try:
            apply_write(lib, rng, op, target, w)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            return "write refused", f"{op} on {label}", e
        got = [(label, g == group, str(t.dtype).replace("torch.", ""), tuple(t.shape),
                _numpy(lib, t), t._version) for label, t, g in pool]
        if not grad:
            return "done", got, None
        weights = np.random.default_rng(seed + 1)
        try:
            total = 0
            for _, t, _ in pool:
                if t.requires_grad:
                    r = lib.view_as_real(t) if t.is_complex() else t
                    total = total + (r * lib.tensor(weights.standard_normal(tuple(r.shape)))).sum()
            total.backward()
        except RuntimeError as e:
            return "done", got, e
        return "done", got, [None if v is None or v.grad is None else _numpy(lib, v.grad)
                             for v in (leaf, w)]


# PyTorch refuses a recorded write into one output of split/chunk/unbind, or the use of one after
# a write (its autograd cannot rebase a view among several); chainrule follows it through the
# view's root like any other.
_MULTIPLE = "function that returns multiple views"


def _compare(seed, grad):
    want, got = _run(torch, seed, grad), _run(cr, seed, grad)
    if want[0] == "view refused":
        assert got[0] != "done" or want[1] in ("view", "view_as"), (seed, want)  # documented
        return "both refused"
    if got[0] == "view refused":  # a layout PyTorch views as complex and NumPy cannot
        assert got[1] == "view_as_complex" and "contiguous" in str(got[2]), (seed, got)
        return "refused here"
    if want[0] == "write refused":
        if got[0] == "done":
            assert _MULTIPLE in str(want[2]) or "Index put requires" in str(want[2]), (seed,
                                                                                       want)
            return "computed here"  # PyTorch's own limits: see _MULTIPLE
        return "both refused"
    if got[0] != "done":
        assert got[0] == "write refused" and isinstance(got[2], RuntimeError), (seed, got)
        return "refused here"
    one_group = len({g for _, g, *_ in got[1]}) == 1
    for (label, same_t, *meta_t, v_t, ver_t), (_, same_c, *meta_c, v_c, ver_c) in zip(want[1],
                                                                                      got[1]):
        assert meta_c == meta_t, (seed, label)
        if same_t and same_c:
            np.testing.assert_allclose(v_c, v_t, rtol=1e-12, atol=1e-12, err_msg=f"{seed} {label}")
            assert ver_c == ver_t, (seed, label, "_version")
    if grad and one_group:  # gradients are defined where every tensor is the base's view
        if isinstance(want[2], Exception) and not isinstance(got[2], Exception):
            # PyTorch's own limits (its check of a complex gradient's dtype; a view among several
            # read after a write): chainrule's gradients there are checked numerically below
            assert "isFloatingType" in str(want[2]) or _MULTIPLE in str(want[2]), (seed, want)
            return "computed here"
        if isinstance(got[2], Exception):
            assert isinstance(got[2], RuntimeError), (seed, want[2], got[2])
            return "backward refused"
        for a, b in zip(want[2], got[2]):
            assert (a is None) == (b is None), seed
            if a is not None:
                np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12, err_msg=str(seed))
    return "same"


@pytest.mark.parametrize("grad", [False, True], ids=["values", "gradients"])
@pytest.mark.parametrize("block", range(3))
def test_views_after_in_place_changes_as_pytorchs(block, grad):
    seen = [_compare(seed, grad) for seed in range(block * 150, block * 150 + 150)]
    assert seen.count("same") > (55 if grad else 90)


def test_view_as_real_of_a_strided_complex_tensor_is_a_view():
    a = np.arange(6.0).reshape(3, 2) + 1j
    x = cr.tensor(a)
    r = cr.view_as_real(x[:, 0])          # was a stacked copy: the write missed x
    r.mul_(2.0)
    np.testing.assert_array_equal(x.numpy()[:, 0], 2 * a[:, 0])
    t = cr.view_as_real(x.t())
    x.add_(1.0)                           # and a change of x showed nowhere
    np.testing.assert_array_equal(t.numpy()[..., 0], x.numpy().real.T)
    assert r._version == t._version == x._version == 2
    g = cr.tensor(a, requires_grad=True)
    (cr.view_as_real(g[:, 1]) * cr.tensor([[1.0, 2.0]] * 3)).sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), [[0, 1 + 2j]] * 3)


@pytest.mark.parametrize("take", [lambda x: x.conj(), lambda x: x.mH, lambda x: x.H,
                                  lambda x: x.adjoint(), lambda x: cr.conj(x).imag])
def test_conjugate_copies_refuse_in_place_changes(take):
    # PyTorch's conj()/mH/H/adjoint() are lazy views: writing them changes x. NumPy has no
    # conjugate view, so chainrule's copies refuse writes (they silently missed x before)
    x = cr.tensor([[1 + 2j, 3j], [1.0, 2.0]])
    with pytest.raises(RuntimeError, match="conjugated copy.*conj_physical"):
        take(x).mul_(2)
    assert x.tolist() == [[1 + 2j, 3j], [1.0, 2.0]]
    c = x.conj().resolve_conj()           # a copy asked for, as PyTorch's resolve_conj gives
    c.mul_(2)
    p = cr.conj_physical(x)
    p.zero_()
    assert c.tolist() == [[2 - 4j, -6j], [2.0, 4.0]] and x.tolist()[0] == [1 + 2j, 3j]
    h = take(x)
    x.mul_(2)                             # a change of x shows in them, as in PyTorch's views
    np.testing.assert_array_equal(h.numpy(), take(x).numpy())
    r = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    r.mH.zero_()                          # a real tensor's is a plain transposed view
    assert r.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def _loss_by_pytorch(seed, delta):
    """The fuzzed scenario's loss computed by PyTorch without autograd, with ``delta`` added to
    the leaf (the first tensor made)."""
    made, plain = [0], torch.tensor

    def tensor(data, *args, **kwargs):
        made[0] += 1
        return plain(np.asarray(data) + delta if made[0] == 1 else data, *args, **kwargs)

    torch.tensor = tensor
    try:
        with torch.no_grad():
            got = _run(torch, seed, True)[1]
    finally:
        torch.tensor = plain
    weights, total = np.random.default_rng(seed + 1), 0.0
    for *_, v, _ in got:
        v = np.stack([v.real, v.imag], -1) if np.iscomplexobj(v) else v
        total += float((v * weights.standard_normal(v.shape)).sum())
    return total


@pytest.mark.parametrize("seed", [71, 89, 117, 185, 215])
def test_gradients_where_pytorch_refuses_a_view_among_several_are_right(seed):
    # a chunk/split/unbind piece read after a write: PyTorch's backward refuses, chainrule's
    # gradient is checked against central differences of PyTorch's forward values
    assert _MULTIPLE in str(_run(torch, seed, True)[2])
    grad = _run(cr, seed, True)[2][0]
    assert np.abs(grad).sum() > 0
    numeric = np.zeros_like(grad)
    for i in np.ndindex(grad.shape):
        for unit in ((1.0, 1j) if np.iscomplexobj(grad) else (1.0,)):
            d = np.zeros_like(grad)
            d[i] = 1e-6 * unit
            numeric[i] += unit * (_loss_by_pytorch(seed, d) - _loss_by_pytorch(seed, -d)) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_views_made_before_a_recorded_write_follow_it_as_pytorchs():
    got = []
    for lib in (torch, cr):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=lib.float64, requires_grad=True)
        y = x * 1
        a, col = y[:, :2], y[:, 2]
        before = (a * 2).sum()            # read before: its gradient reaches the earlier values
        y[:, 2:].mul_(3)                  # a write beside a, through another view
        y.exp_()                          # and one of the whole tensor
        (before + (a * a).sum() + col.sum() + y.sum()).backward()
        got.append(x.grad.numpy())
    np.testing.assert_allclose(got[1], got[0], rtol=1e-13)


@pytest.mark.parametrize("take", [lambda x: x[:, :2], lambda x: x[:, 1:3], lambda x: x[::2, 2:],
                                  lambda x: x[:1, :2].expand(3, 2), lambda x: x.t()[:2].t(),
                                  lambda x: x[:, :3].unflatten(1, (1, 3))[..., :2]])
def test_view_as_complex_views_the_layouts_pytorch_views(take):
    # it required a C-contiguous input; PyTorch's rule: a last stride of 1, even other strides
    # and an even storage offset
    values = np.arange(12.0).reshape(3, 4)
    want = outcome(torch, lambda m, x: m.view_as_complex(take(x)).mul_(1j) and x, [values])
    got = outcome(cr, lambda m, x: m.view_as_complex(take(x)).mul_(1j) and x, [values])
    if isinstance(want, Exception):
        assert isinstance(got, Exception), want
    else:
        np.testing.assert_array_equal(got.numpy(), want.numpy())
