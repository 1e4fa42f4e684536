"""PyTorch's in-place method family (ops/inplace_methods.py): values against PyTorch, recorded
gradients on op outputs against PyTorch and finite differences, random fills by their moments,
shape methods, the top-level ``cr.X_`` and ``F.X_`` functions, and ``inplace=`` in reprs."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from ._kernel_cases import once_unless

RNG = np.random.default_rng(5)
U = RNG.uniform(0.2, 0.8, size=(3, 4))  # inside every domain below (asin, atanh, log, ...)
V = RNG.uniform(0.5, 1.5, size=(3, 4))

UNARY = ["negative_", "exp2_", "expm1_", "log2_", "log10_", "log1p_", "rsqrt_", "tan_", "sinh_",
         "cosh_", "asin_", "acos_", "atan_", "arcsin_", "arccos_", "arctan_", "erf_", "erfc_",
         "frac_", "sign_", "sgn_", "absolute_", "abs_", "neg_", "exp_", "log_", "sqrt_", "sin_",
         "cos_", "tanh_", "sigmoid_", "relu_", "erfinv_", "reciprocal_", "square_", "floor_",
         "ceil_", "round_", "trunc_", "fix_", "sinc_", "deg2rad_", "rad2deg_", "logit_", "i0_",
         "asinh_", "acosh_", "atanh_", "arcsinh_", "arccosh_", "arctanh_", "nan_to_num_",
         "logical_not_"]
BINARY = ["fmod_", "remainder_", "atan2_", "arctan2_", "hypot_", "floor_divide_", "multiply_",
          "subtract_", "divide_", "pow_", "xlogy_", "eq_", "ne_", "lt_", "le_", "gt_", "ge_",
          "greater_", "less_", "greater_equal_", "less_equal_", "not_equal_", "logical_and_",
          "logical_or_", "logical_xor_", "clamp_min_", "clamp_max_", "float_power_"]
# ops whose gradient is 0 almost everywhere (PyTorch gives zeros too), and those only valued
ZERO_GRAD = {"sign_", "sgn_", "floor_", "ceil_", "round_", "trunc_", "fix_",
             "logical_not_", "floor_divide_", "eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_",
             "less_", "greater_equal_", "less_equal_", "not_equal_", "logical_and_",
             "logical_or_", "logical_xor_"}


def _argument(lib, name, w):
    if name in ("clamp_min_", "clamp_max_"):
        return 0.5
    return w


def _run(lib, name, x, w, record):
    """y = x * 1.5 (an op's output) changed in place by ``name`` (for PyTorch with a graph: its
    out-of-place form, whose gradient is the same: it has no in-place derivative of asinh_...)."""
    y = x * 1.5 if record else x
    args = () if name in UNARY else (_argument(lib, name, w),)
    if lib is cr or not record:
        out = getattr(y, name)(*args)
        assert out is y
        return y
    out = getattr(y, name[:-1])(*args).double()
    return out.detach() if name in ZERO_GRAD else out  # (floor_divide has no derivative there)


def _pair(a, torch, grad):
    return (cr.tensor(a.copy(), requires_grad=grad),
            torch.tensor(a.copy(), requires_grad=grad))


def _grad(t):
    return np.zeros(t.shape) if t.grad is None else t.grad.detach().numpy(force=True)


# cases that call a kernel of chainrule.kernels.K: both kernel modes; the rest once
BOTH_MODES_METHODS = {"relu_"}


@pytest.mark.torch
@pytest.mark.parametrize("record", [False, True])
@pytest.mark.parametrize(("name", "kernel_mode"), once_unless(UNARY + BINARY, BOTH_MODES_METHODS),
                         indirect=["kernel_mode"])
def test_methods_match_torch(name, record):
    torch = pytest.importorskip("torch")
    base = U / 1.5 if record else U  # the same values after the 1.5 of _run
    if name in ("acosh_", "arccosh_"):
        base = base + 1.0
    x, tx = _pair(base, torch, record)
    w, tw = _pair(V, torch, record and name not in ZERO_GRAD)
    y, ty = _run(cr, name, x, w, record), _run(torch, name, tx, tw, record)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().double().numpy(), rtol=1e-12,
                               atol=1e-12)
    assert y.dtype == np.float64
    if not record:
        return
    scale = RNG.normal(size=y.shape)
    (y * cr.tensor(scale)).sum().backward()
    if ty.requires_grad:
        (ty * torch.from_numpy(scale)).sum().backward()
    for ours, theirs in ((x, tx), (w, tw)):
        np.testing.assert_allclose(_grad(ours), _grad(theirs), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
def test_recorded_chain_of_methods_passes_gradcheck():  # conftest: both kernel modes
    def fn(x, w):
        y = x * 1.0
        y.tan_().atan2_(w).hypot_(w)
        y.addcmul_(x, w, value=0.5).addcdiv_(w, x, value=-0.25)
        y.expm1_().log1p_().erf_()
        return y.clamp_min_(-2.0)

    x = cr.tensor(U, requires_grad=True)
    w = cr.tensor(V, requires_grad=True)
    assert gradcheck(fn, (x, w))
    assert gradgradcheck(fn, (x, w))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_addcmul_addcdiv_divide_and_fill_diagonal_match_torch():
    torch = pytest.importorskip("torch")
    (x, tx), (w, tw) = _pair(U, torch, True), _pair(V, torch, True)
    out, tout = [], []
    for lib, a, b, acc in ((cr, x, w, out), (torch, tx, tw, tout)):
        y = a * 2
        y.addcmul_(a, b, value=0.5).addcdiv_(b, a, value=-2.0)
        z = a * 3
        z.divide_(b, rounding_mode="floor")
        t = a * 5
        t.divide_(b, rounding_mode="trunc").subtract_(b, alpha=2)
        tall = lib.cat([a, b, a]) * 1.0  # (9, 4): a tall matrix
        tall.fill_diagonal_(-1.0, wrap=True)
        cube = (a[0, :3] * b[1, :3]).reshape(3, 1, 1) * lib.ones(3, 3, 3, dtype=lib.float64)
        cube.fill_diagonal_(7.0)
        acc += [y, z, t, tall, cube]
        (y.sum() + (t * t).sum() + (tall * tall).sum() + cube.sum()).backward()
    for a, b in zip(out, tout):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


@pytest.mark.kernel_free
def test_float_power_needs_float64_and_comparisons_keep_the_dtype():
    with pytest.raises(RuntimeError, match="float_power_: .*float32"):
        cr.ones(2).float_power_(2)
    i = cr.tensor([1, 2, 3])
    assert i.lt_(2).tolist() == [1, 0, 0] and i.dtype == np.int64
    with pytest.raises(ValueError, match="rounding_mode"):
        cr.ones(2).divide_(2, rounding_mode="round")
    with pytest.raises(ValueError, match=r"fill_diagonal_: .*shape \(2, 3, 2\)"):
        cr.zeros(2, 3, 2).fill_diagonal_(1.0)


def _sample(method, *args, seed=3, dtype="float64", n=40000):
    return getattr(cr.zeros(n, dtype=dtype), method)(
        *args, generator=cr.Generator().manual_seed(seed)).numpy()


@pytest.mark.kernel_free
def test_random_fills_have_their_distributions():
    for method, args in (("exponential_", (2.0,)), ("log_normal_", (0.5, 0.25)),
                         ("cauchy_", (1.0, 2.0)), ("geometric_", (0.3,)), ("random_", (3, 7))):
        a, b = _sample(method, *args), _sample(method, *args)
        np.testing.assert_array_equal(a, b)  # one seed, one draw
        assert not np.array_equal(a, _sample(method, *args, seed=4))
    e = _sample("exponential_", 2.0)
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.02 and abs(e.std() - 0.5) < 0.02
    logs = np.log(_sample("log_normal_", 0.5, 0.25))
    assert abs(logs.mean() - 0.5) < 0.01 and abs(logs.std() - 0.25) < 0.01
    c = _sample("cauchy_", 1.0, 2.0)  # quartiles at median -+ sigma
    np.testing.assert_allclose(np.percentile(c, [25, 50, 75]), [-1.0, 1.0, 3.0], atol=0.08)
    g = _sample("geometric_", 0.3)
    assert g.min() == 1 and np.all(g == np.round(g)) and abs(g.mean() - 1 / 0.3) < 0.06
    r = _sample("random_", 3, 7)
    assert set(np.unique(r)) == {3.0, 4.0, 5.0, 6.0}
    assert set(np.unique(_sample("random_", 4))) == {0.0, 1.0, 2.0, 3.0}
    top = _sample("random_", dtype="float32")
    assert top.min() >= 0 and top.max() <= 2 ** 24 and top.max() > 2 ** 23
    assert set(np.unique(cr.zeros(500, dtype="bool").random_().numpy())) == {False, True}
    big = cr.zeros(500, dtype="int64").random_().numpy()
    assert big.min() >= 0 and big.max() > 2 ** 60
    for bad in (lambda: cr.zeros(2).exponential_(0.0), lambda: cr.zeros(2).geometric_(1.5),
                lambda: cr.zeros(2).cauchy_(0.0, -1.0), lambda: cr.zeros(2).random_(5, 5)):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.kernel_free
def test_a_random_fill_of_an_op_output_gives_the_earlier_values_zero_gradient():
    x = cr.tensor(U, requires_grad=True)
    y = x * 2
    y.exponential_(generator=cr.Generator().manual_seed(0))
    assert y.requires_grad and (y.numpy() >= 0).all()
    (y * y).sum().backward()
    assert x.grad.tolist() == np.zeros(U.shape).tolist()


@pytest.mark.kernel_free
@pytest.mark.torch
def test_shape_methods_match_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    for call in (lambda t: t.unsqueeze_(1), lambda t: t.unsqueeze_(-1), lambda t: t.t_(),
                 lambda t: t.transpose_(0, 1), lambda t: t.swapaxes_(1, 0),
                 lambda t: t.swapdims_(0, -1), lambda t: t.unsqueeze_(0).squeeze_(),
                 lambda t: t.unsqueeze_(0).squeeze_(0), lambda t: t.squeeze_(1),
                 lambda t: t.resize_(3, 2), lambda t: t.resize_(4),
                 lambda t: t.resize_as_(torch.zeros(1, 6) if isinstance(t, torch.Tensor)
                                        else cr.zeros(1, 6))):
        ours, theirs = cr.tensor(a.copy()), torch.tensor(a.copy())
        assert call(ours) is ours
        call(theirs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    grown = cr.tensor(a.copy()).resize_(2, 4)  # PyTorch leaves the new elements uninitialized
    np.testing.assert_array_equal(grown.numpy(), [[0, 1, 2, 3], [4, 5, 0, 0]])


@pytest.mark.kernel_free
def test_shape_methods_refuse_leaves_and_resize_in_a_graph():
    w = cr.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="unsqueeze_: a leaf tensor of shape"):
        w.unsqueeze_(0)
    with pytest.raises(RuntimeError, match="t_: .*view of a leaf"):
        w[:1].t_()
    with pytest.raises(RuntimeError, match="resize_: cannot resize a tensor of shape"):
        (w * 2).resize_(3, 2)
    y = w * 2
    with cr.no_grad(), pytest.raises(RuntimeError, match="t_: .*not recorded"):
        y.t_()
    c = cr.ones(2, 3)
    loss = (w * c).sum()
    c.t_()  # read by Mul before: backward refuses rather than use the new shape
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    with pytest.raises(IndexError, match="unsqueeze_: dim 4"):
        cr.ones(2).unsqueeze_(4)
    viewed = cr.ones(6)
    _ = viewed[:2]
    with pytest.raises(RuntimeError, match="resize_: .*shares its memory"):
        viewed.resize_(7)


@pytest.mark.torch
def test_top_level_and_functional_forms_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    calls = {
        "relu_": (cr.relu_, torch.relu_, ()), "sigmoid_": (cr.sigmoid_, torch.sigmoid_, ()),
        "exp_": (cr.exp_, torch.exp_, ()), "tan_": (cr.tan_, torch.tan_, ()),
        "clamp_": (cr.clamp_, torch.clamp_, (-0.5, 0.5)), "fill_": (cr.fill_, torch.fill_, (2.0,)),
        "zero_": (cr.zero_, torch.zero_, ()), "selu_": (cr.selu_, torch.selu_, ()),
        "celu_": (cr.celu_, torch.celu_, (0.5,)), "logit_": (cr.logit_, torch.logit_, (0.1,)),
        "threshold_": (cr.threshold_, torch.threshold_, (0.1, -3.0)),
        "F.relu_": (F.relu_, tf.relu_, ()), "F.elu_": (F.elu_, tf.elu_, (0.5,)),
        "F.leaky_relu_": (F.leaky_relu_, tf.leaky_relu_, (0.2,)),
        "F.celu_": (F.celu_, tf.celu_, (2.0,)), "F.selu_": (F.selu_, tf.selu_, ()),
        "F.hardtanh_": (F.hardtanh_, tf.hardtanh_, (-0.3, 0.2)),
        "F.threshold_": (F.threshold_, tf.threshold_, (0.0, 9.0)),
    }
    a = RNG.normal(size=(3, 4))
    for name, (ours_fn, theirs_fn, args) in calls.items():
        (x, tx), (w, tw) = _pair(a, torch, True), _pair(a, torch, False)
        for fn, leaf, leaf_const in ((ours_fn, x, w), (theirs_fn, tx, tw)):
            y = leaf * 1.0
            assert fn(y, *args) is y
            (y * y).sum().backward()
            assert fn(leaf_const, *args) is leaf_const  # a constant: plain in place
        np.testing.assert_allclose(w.numpy(), tw.numpy(), rtol=1e-13, err_msg=name)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, err_msg=name)
    with pytest.raises(TypeError, match="relu_: input must be a Tensor"):
        cr.relu_(np.ones(2))


@pytest.mark.kernel_free
@pytest.mark.torch
def test_inplace_shows_in_reprs_as_in_torch():
    torch = pytest.importorskip("torch")
    for name in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "SiLU", "CELU", "Hardtanh",
                 "Hardsigmoid", "Hardswish", "Mish", "RReLU", "Dropout", "Dropout2d",
                 "AlphaDropout", "FeatureAlphaDropout"):
        for inplace in (False, True):
            assert repr(getattr(nn, name)(inplace=inplace)) == repr(
                getattr(torch.nn, name)(inplace=inplace))
    assert repr(nn.Threshold(0.1, 20.0, inplace=True)) == repr(
        torch.nn.Threshold(0.1, 20.0, inplace=True))
    x = cr.tensor(U, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):  # changed in place, as PyTorch's
        nn.ReLU(inplace=True)(x)
    assert np.array_equal(x.detach().numpy(), U)


# writers whose value requires grad: into a fresh buffer and into an op's output, recorded
WRITERS = {
    "scatter_": lambda lib, o, v: o.scatter_(0, _index(lib, [[0, 2, 1, 0]]), v[:1]),
    "scatter_add_": lambda lib, o, v: o.scatter_add_(1, _index(lib, [[0, 0, 3, 1]] * 3), v),
    "index_add_": lambda lib, o, v: o.index_add_(0, _index(lib, [2, 0]), v[:2], alpha=0.5),
    "index_copy_": lambda lib, o, v: o.index_copy_(0, _index(lib, [2, 0]), v[:2]),
    "index_fill_": lambda lib, o, v: o.index_fill_(1, _index(lib, [1, 3]), v[0, 1]),
    "masked_scatter_": lambda lib, o, v: o.masked_scatter_(_mask(lib), v),
    "masked_fill_": lambda lib, o, v: o.masked_fill_(_mask(lib), v[0, 0]),
    "put_": lambda lib, o, v: o.put_(_index(lib, [5, 0, 11]), v[0, :3]),
    "fill_": lambda lib, o, v: o.fill_(v[1, 1]),
    "clamp_": lambda lib, o, v: o.clamp_(min=v * 0.5),
    "lerp_": lambda lib, o, v: o.lerp_(v, 0.25),
    "copy_": lambda lib, o, v: o.copy_(v[1]),
    "mul_": lambda lib, o, v: o.mul_(v),
}


def _index(lib, rows):
    return cr.tensor(np.array(rows)) if lib is cr else __import__("torch").tensor(rows)


def _mask(lib):
    m = (np.arange(12).reshape(3, 4) % 3) == 0
    return cr.tensor(m) if lib is cr else __import__("torch").from_numpy(m)


@pytest.mark.torch
@pytest.mark.parametrize("fresh", [True, False])
@pytest.mark.parametrize("name", list(WRITERS))
def test_writers_record_a_value_that_requires_grad(name, fresh):
    torch = pytest.importorskip("torch")
    (x, tx), (v, tv) = _pair(U, torch, True), _pair(V, torch, True)
    outs = []
    for lib, a, b in ((cr, x, v), (torch, tx, tv)):
        o = lib.ones(3, 4, dtype=lib.float64) * 0.3 if fresh else a * 1.5
        assert WRITERS[name](lib, o, b) is o
        (o * o).sum().backward()
        outs.append(o.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)
    for ours, theirs in ((x, tx), (v, tv)):
        np.testing.assert_allclose(_grad(ours), _grad(theirs), rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
def test_a_negative_index_counts_from_the_end_in_values_and_gradients():
    # index_fill's backward once refused a negative index (PyTorch refuses it at once)
    grads = []
    for last in (3, -1):
        x = cr.tensor(U, requires_grad=True)
        v = cr.tensor(V, requires_grad=True)
        y = x * 2
        y.index_fill_(1, cr.tensor([last]), v[0, 0]).index_copy_(0, cr.tensor([2]), v[1:2] * 3)
        (y * y).sum().backward()
        grads.append((y.detach().numpy(), x.grad.numpy(), v.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


_SHAPE_CHANGES = (lambda t: t.unsqueeze_(1), lambda t: t.unsqueeze_(-1), lambda t: t.t_(),
                  lambda t: t.transpose_(0, 1), lambda t: t.swapdims_(1, 0),
                  lambda t: t.unsqueeze_(0).squeeze_(), lambda t: t.unsqueeze_(2).squeeze_(2))


def _shape_change_programs(lib, x, call):
    """Recorded shape changes of a computed tensor and of views of one, each ending in a loss."""
    y = x * 2
    s = y.sum(1)  # read before the change, by shape only
    call(y)
    yield (y * y).sum() + s.sum()
    b = x * 1
    b[0, 1] = x[1, 1] * 3  # the batch requires grad through a write, as in DeepAR
    w = b[1, 1:] * 5
    v = call(b[1:])
    yield (v.clone() * v).sum() + w.sum()
    b = x.sin()
    v = call(b[:, 1:])
    v.mul_(v.detach() + 1)  # a value change through the reshaped view reaches b
    yield (b * b).sum()


@pytest.mark.kernel_free
@pytest.mark.torch
def test_recorded_shape_changes_give_pytorchs_gradients():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).standard_normal((2, 3))
    for call in _SHAPE_CHANGES:
        for k in range(3):
            got = []
            for lib in (cr, torch):
                x = lib.tensor(a, requires_grad=True)
                loss = list(_shape_change_programs(lib, x, call))[k]
                loss.backward()
                got.append((loss.item(), x.grad.numpy()))
            np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-12)
            np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
def test_recorded_shape_changes_pass_gradcheck():
    def fn(x):
        y = x.exp()
        y.t_()
        b = y * 1
        v = b[1:]
        v.unsqueeze_(0)
        return (v * v).sum() + (b * y).sum()

    x = cr.tensor(np.random.default_rng(4).standard_normal((2, 3)), requires_grad=True)
    assert cr.autograd.gradcheck(fn, (x,))


@pytest.mark.kernel_free
def test_a_node_that_read_the_values_before_a_shape_change_refuses_or_gets_them():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x * 2
    z = y * y  # Mul read y's (2, 3) values: the stand-in keeps them
    y.t_()
    assert y.shape == (3, 2) and z.shape == (2, 3)
    (z.sum() + y.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), 8 * np.arange(6.0).reshape(2, 3) + 2)
