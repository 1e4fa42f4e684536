"""The in-place methods of ops/inplace_more.py (cumsum_, bitwise_*_, gcd_, ldexp_, igamma_,
renorm_, index_put_, index_reduce_ ...), the methods hardshrink/prelu and the
top-level gcd_/lcm_/ldexp_/index_put_/detach_: values and recorded gradients against PyTorch,
float64 gradchecks, and the refusals."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(8)
U = RNG.uniform(0.5, 1.5, size=(3, 4))
V = RNG.uniform(0.5, 1.5, size=(3, 4))
I1 = np.array([[12, 7, -9, 0], [5, 3, 8, 21]])
I2 = np.array([[18, 3, 6, 4], [10, 1, 2, 14]])


def _idx(lib):
    return (lib.tensor([0, 2, 2]), lib.tensor([1, 3, 3]))


# name -> (args builder taking the library and the tensor library's second operand)
FLOAT = {
    "cumsum_": lambda lib, w: (1,),
    # PyTorch 2.13's gradient of ldexp is 0 where the exponent is negative (2 ** -2 taken in
    # integers); chainrule's is 2 ** other there too (test_ldexp_negative_exponent_gradient)
    "ldexp_": lambda lib, w: (lib.tensor([[1, 2, 0, 3]] * 3),),
    "igammac_": lambda lib, w: (w,),
    "renorm_": lambda lib, w: (2, 0, 1.5),
    "index_put_": lambda lib, w: (_idx(lib), w[0, :3], True),
    "index_reduce_": lambda lib, w: (1, lib.tensor([0, 3, 0]), w[:, :3], "prod"),
}


def _apply(lib, name, x, w):
    y = x * 1.5
    out = getattr(y, name)(*FLOAT[name](lib, w))
    assert out is y
    return y


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")
@pytest.mark.parametrize("name", sorted(FLOAT))
def test_float_methods_values_and_gradients_match_torch(name):
    torch = pytest.importorskip("torch")
    x, tx = cr.tensor(U, requires_grad=True), torch.tensor(U, requires_grad=True)
    w, tw = cr.tensor(V, requires_grad=True), torch.tensor(V, requires_grad=True)
    if name == "igammac_":  # PyTorch has no derivative for igamma's first argument
        x, tx = cr.tensor(U), torch.tensor(U)
    y, ty = _apply(cr, name, x, w), _apply(torch, name, tx, tw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    scale = RNG.normal(size=y.shape)
    (y * cr.tensor(scale)).sum().backward()
    (ty * torch.from_numpy(scale)).sum().backward()
    for ours, theirs in ((x, tx), (w, tw)):
        want = np.zeros(U.shape) if theirs.grad is None else theirs.grad.numpy()
        got = np.zeros(U.shape) if ours.grad is None else ours.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_ldexp_negative_exponent_gradient():
    x = cr.tensor([1.0, 1.0, 1.0], dtype=cr.float64, requires_grad=True)
    y = x * 1
    y.ldexp_(cr.tensor([-2, 0, 1]))
    y.sum().backward()
    assert x.grad.tolist() == [0.25, 1.0, 2.0]


@pytest.mark.parametrize("name", sorted(set(FLOAT) - {"ldexp_"}))
def test_float_methods_pass_gradcheck(name):
    def fn(x, w):
        return _apply(cr, name, x, w)

    x = cr.tensor(U, requires_grad=name != "igammac_")
    w = cr.tensor(V, requires_grad=True)
    assert gradcheck(fn, (x, w))


def test_ldexp_and_cumsum_pass_second_order_checks():
    e = cr.tensor([[1, -2, 0, 3]] * 3)

    def fn(x):
        y = x * x
        return y.ldexp_(e).cumsum_(0)

    assert gradgradcheck(fn, (cr.tensor(U, requires_grad=True),))


@pytest.mark.torch
@pytest.mark.parametrize("name", ["bitwise_and_", "bitwise_or_", "bitwise_xor_",
                                  "bitwise_left_shift_", "bitwise_right_shift_", "gcd_", "lcm_"])
def test_integer_methods_match_torch(name):
    torch = pytest.importorskip("torch")
    other = np.abs(I2) % 5 if "shift" in name else I2
    a, ta = cr.tensor(I1), torch.tensor(I1)
    assert getattr(a, name)(cr.tensor(other)) is a
    getattr(ta, name)(torch.tensor(other))
    np.testing.assert_array_equal(a.numpy(), ta.numpy())
    b, tb = cr.tensor(I1), torch.tensor(I1)
    b.bitwise_not_()
    tb.bitwise_not_()
    np.testing.assert_array_equal(b.numpy(), tb.numpy())


@pytest.mark.torch
def test_nextafter_igamma_and_bool_bitwise_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("nextafter_", "igamma_", "igammac_"):
        a, ta = cr.tensor(U), torch.tensor(U)
        getattr(a, name)(cr.tensor(V))
        getattr(ta, name)(torch.tensor(V))
        np.testing.assert_allclose(a.numpy(), ta.numpy(), rtol=1e-13, atol=0)
    m, tm = cr.tensor([True, False, True]), torch.tensor([True, False, True])
    m.bitwise_xor_(cr.tensor([True, True, False]))
    tm.bitwise_xor_(torch.tensor([True, True, False]))
    assert m.tolist() == tm.tolist() and m.dtype == np.bool_


@pytest.mark.torch
def test_top_level_in_place_functions_match_torch():
    torch = pytest.importorskip("torch")
    a, ta = cr.tensor(I1), torch.tensor(I1)
    cr.gcd_(a, cr.tensor(I2))
    torch.gcd_(ta, torch.tensor(I2))
    np.testing.assert_array_equal(a.numpy(), ta.numpy())
    cr.lcm_(a, cr.tensor(I2))
    torch.lcm_(ta, torch.tensor(I2))
    np.testing.assert_array_equal(a.numpy(), ta.numpy())
    f, tf = cr.tensor(U), torch.tensor(U)
    cr.ldexp_(f, cr.tensor([2, 0, -1, 1]))
    torch.ldexp_(tf, torch.tensor([2, 0, -1, 1]))
    np.testing.assert_allclose(f.numpy(), tf.numpy(), rtol=1e-15)
    cr.index_put_(f, (cr.tensor([0, 0]), cr.tensor([1, 1])), cr.tensor(2.0, dtype=cr.float64),
                 accumulate=True)
    torch.index_put_(tf, (torch.tensor([0, 0]), torch.tensor([1, 1])),
                     torch.tensor(2.0, dtype=torch.float64),
                     accumulate=True)
    np.testing.assert_allclose(f.numpy(), tf.numpy(), rtol=1e-15)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert cr.detach_(y) is y and not y.requires_grad and y.grad_fn is None
    z = x * 2  # never read: cut before backward, as PyTorch allows
    assert cr.detach_(z) is z and not z.requires_grad and z.grad_fn is None
    with pytest.raises(TypeError, match=r"gcd_: input must be a Tensor .*got list"):
        cr.gcd_([1, 2], cr.tensor([1, 2]))


@pytest.mark.torch
def test_hardshrink_and_prelu_methods_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(2, 3, 4))
    w = np.array([0.25, -0.5, 1.5])
    np.testing.assert_allclose(cr.tensor(x).hardshrink(0.7).numpy(),
                               torch.tensor(x).hardshrink(0.7).numpy())
    np.testing.assert_allclose(cr.tensor(x).hardshrink().numpy(),
                               torch.tensor(x).hardshrink().numpy())
    np.testing.assert_allclose(cr.tensor(x).prelu(cr.tensor(w)).numpy(),
                               torch.tensor(x).prelu(torch.tensor(w)).numpy())
    assert gradcheck(lambda a, b: a.prelu(b), (cr.tensor(x, requires_grad=True),
                                                cr.tensor(w, requires_grad=True)))
    assert not hasattr(cr.Tensor, "is_inference")  # no inference tensors (docs/pytorch.md)


def test_refusals():
    leaf = cr.tensor(U, requires_grad=True)
    for name in ("cumsum_", "renorm_", "index_put_", "index_reduce_", "ldexp_"):
        with pytest.raises(RuntimeError, match="leaf"):
            getattr(leaf, name)(*FLOAT[name](cr, cr.tensor(V)))
    with pytest.raises(RuntimeError, match="ldexp_: .*float32.* int64"):  # PyTorch's type
        cr.tensor(I1).ldexp_(cr.tensor(I2))
    with pytest.raises(ValueError, match="index_reduce: reduce must be"):
        cr.tensor(U).index_reduce_(0, cr.tensor([0]), cr.tensor(V[:1]), "sum")
    with pytest.raises(TypeError, match="index_put: indices must be a tuple of Tensors"):
        cr.tensor(U).index_put_(cr.tensor([0]), cr.tensor(1.0))
    # values computed under no_grad on a leaf are fine, as in PyTorch
    with cr.no_grad():
        leaf.cumsum_(0)
    np.testing.assert_allclose(leaf.detach().numpy(), np.cumsum(U, 0))
    # a graph that read the old values reaches them through the change's stand-in, a copy
    # (PyTorch refuses here: its MulBackward saved y, which renorm_ then changed)
    x = cr.tensor(U, requires_grad=True)
    y = x * 1.0
    z = y * y
    y.renorm_(2, 0, 1.0)
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * U, rtol=1e-12)
