"""Complex nn.Parameters: creation, gradients, Module.to/double/float/half (PyTorch's rules),
state dicts, gradient clipping and parameters_to_vector, against PyTorch."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

RNG = np.random.default_rng(1)
W = (RNG.normal(size=(2, 3, 4)) + 1j * RNG.normal(size=(2, 3, 4))) * 0.5
X = RNG.normal(size=(5, 2, 4)) + 1j * RNG.normal(size=(5, 2, 4))


def Holder(lib_nn, w):  # noqa: N802 - a module of either library, as a class would build
    m = lib_nn.Module()
    m.lin = lib_nn.Linear(3, 2)
    m.w = lib_nn.Parameter(w)
    return m


def test_parameter_accepts_complex_and_refuses_integers():
    for dtype in (np.complex64, np.complex128):
        p = nn.Parameter(cr.tensor(W.astype(dtype)))
        assert p.dtype == dtype and p.requires_grad and p.is_leaf
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(cr.tensor(W)))
    assert [name for name, _ in m.named_parameters()] == ["w"]
    with pytest.raises(TypeError, match="floating-point or complex, got dtype int64"):
        nn.Parameter(cr.tensor([1, 2]))
    p = nn.Parameter(cr.tensor(W), requires_grad=False)
    assert p.requires_grad_().requires_grad


def test_einsum_gradient_accumulates_and_equals_torch():
    p, t = nn.Parameter(cr.tensor(W)), torch.nn.Parameter(torch.tensor(W))
    for _ in range(2):  # the second backward accumulates
        (cr.einsum("bix,iox->box", cr.tensor(X), p).abs() ** 2).sum().backward()
        (torch.einsum("bix,iox->box", torch.tensor(X), t).abs() ** 2).sum().backward()
    assert p.grad.dtype == np.complex128
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_gradcheck_through_a_complex_parameter():
    p = nn.Parameter(cr.tensor(W))
    x = cr.tensor(X)

    def f(w):
        y = cr.einsum("bix,iox->box", x, w)
        return (y * y.conj()).real.sum() + (y.real ** 3).sum()

    assert cr.autograd.gradcheck(f, (p,))


def test_double_float_half_keep_complex_and_to_casts_it():
    ours = Holder(nn, cr.tensor(W.astype(np.complex64)))
    theirs = Holder(torch.nn, torch.tensor(W.astype(np.complex64)))
    for method in ("double", "half", "float"):
        getattr(ours, method)()
        getattr(theirs, method)()
        assert str(ours.w.dtype) == str(theirs.w.dtype).removeprefix("torch.") == "complex64"
        assert str(ours.lin.weight.dtype) == str(theirs.lin.weight.dtype).removeprefix("torch.")
    ours.to(cr.complex128)
    with pytest.warns(UserWarning, match="Complex modules are a new feature"):
        theirs.to(torch.complex128)
    assert ours.w.dtype == ours.lin.weight.dtype == np.complex128
    assert theirs.lin.weight.dtype == torch.complex128
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        ours.to(dtype=cr.float32)
    assert ours.w.dtype == np.float32
    np.testing.assert_array_equal(ours.w.numpy(), W.real.astype(np.float32))
    with pytest.raises(TypeError, match="floating-point or complex, got int64"):
        ours.to(cr.int64)


def test_state_dict_round_trip_and_torch_state_dict_loads():
    ours = Holder(nn, cr.tensor(np.zeros_like(W)))
    theirs = Holder(torch.nn, torch.tensor(W))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours.w.numpy(), W)
    again = Holder(nn, cr.tensor(np.zeros_like(W)))
    again.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(again.w.numpy(), W)
    real = Holder(nn, cr.tensor(W.real.copy()))
    with pytest.raises(ValueError, match="w: value has complex dtype complex128 but the entry"):
        real.load_state_dict(ours.state_dict())


def test_clip_grad_norm_uses_the_modulus():
    g = [W * 3, RNG.normal(size=4)]
    ours = [nn.Parameter(cr.tensor(np.zeros_like(a))) for a in g]
    theirs = [torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.tensor(a).dtype)) for a in g]
    for p, t, a in zip(ours, theirs, g, strict=True):
        p.grad, t.grad = cr.tensor(a), torch.tensor(a)
    for norm_type in (2.0, 1.0, 3.0, float("inf")):
        total = nn.utils.clip_grad_norm_(ours, 1.0, norm_type)
        ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
        np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
        for p, t in zip(ours, theirs, strict=True):
            assert p.grad.dtype == t.grad.numpy().dtype
            np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_refuses_complex_as_torch():
    p = nn.Parameter(cr.tensor(W))
    p.grad = cr.tensor(W)
    with pytest.raises(TypeError, match=r"shape \(2, 3, 4\) has a complex gradient"):
        nn.utils.clip_grad_value_([p], 0.1)
    t = torch.nn.Parameter(torch.tensor(W))
    t.grad = torch.tensor(W)
    with pytest.raises(NotImplementedError):
        torch.nn.utils.clip_grad_value_([t], 0.1)


def test_parameters_to_vector_round_trip():
    ps = [nn.Parameter(cr.tensor(W)), nn.Parameter(cr.tensor(W[0, 0]))]
    vec = nn.utils.parameters_to_vector(ps)
    tvec = torch.nn.utils.parameters_to_vector([torch.tensor(W), torch.tensor(W[0, 0])])
    np.testing.assert_array_equal(vec.numpy(), tvec.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.utils.vector_to_parameters(vec * 2, ps)
    np.testing.assert_array_equal(ps[0].numpy(), W * 2)


def test_init_fills_complex_tensors_as_pytorch():
    """PyTorch's initializers fill a complex tensor's real view: uniform parts in [a, b), normal
    parts of variance std^2 / 2, constants c + 0j; the fan-based ones through these."""
    rng = np.random.default_rng(3)
    t = torch.zeros(300, 200, dtype=torch.complex128)
    for dtype in (np.complex64, np.complex128):
        p = nn.Parameter(cr.zeros(300, 200, dtype=dtype))
        nn.init.uniform_(p, -1.0, 3.0, rng=rng)
        parts = np.stack([p.numpy().real, p.numpy().imag])
        assert p.dtype == dtype and parts.min() >= -1 and parts.max() < 3
        assert abs(parts.mean(axis=(1, 2)) - 1).max() < 0.03
        nn.init.normal_(p, 1.0, 2.0, rng=rng)
        torch.nn.init.normal_(t, 1.0, 2.0)
        for ours, theirs in ((p.numpy().real, t.real), (p.numpy().imag, t.imag)):
            assert abs(ours.std() - 2 / np.sqrt(2)) < 0.02 and abs(ours.mean() - 1) < 0.02
            assert abs(ours.std() - theirs.std().item()) < 0.03
        nn.init.constant_(p, 2.5)
        torch.nn.init.constant_(t, 2.5)
        np.testing.assert_array_equal(p.numpy(), t.numpy().astype(dtype))
        nn.init.xavier_uniform_(p, rng=rng)
        bound = np.sqrt(6 / 500)
        assert np.abs(p.numpy().real).max() <= bound and np.abs(p.numpy().imag).max() <= bound
        nn.init.kaiming_normal_(p, rng=rng)
        torch.nn.init.kaiming_normal_(t)
        assert abs(p.numpy().imag.std() - t.imag.std().item()) < 0.005
        nn.init.eye_(p)
        torch.nn.init.eye_(t)
        np.testing.assert_array_equal(p.numpy(), t.numpy().astype(dtype))
    with pytest.raises(TypeError, match="trunc_normal_: tensor must be floating-point, got dtype"):
        nn.init.trunc_normal_(p, rng=rng)  # PyTorch's refuses complex too
