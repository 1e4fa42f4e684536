"""chainrule.fft against torch.fft: values, dtypes and gradients (real and complex inputs, every
norm, odd and even lengths, n smaller and larger than the input), gradcheck and gradgradcheck
in float64/complex128, and the argument errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.kernel_free

NORMS = ["backward", "ortho", "forward"]  # None is "backward" (test_norm_none_is_backward)


def _real(rng, shape):
    return rng.standard_normal(shape)


def _cplx(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


# name: (call on a library's fft module `M` with input and norm, input maker, shape)
CASES = {
    "fft": (lambda M, x, nm: M.fft(x, norm=nm), _cplx, (3, 5)),
    "fft_real": (lambda M, x, nm: M.fft(x, norm=nm), _real, (4,)),
    "fft_n_pad": (lambda M, x, nm: M.fft(x, n=7, dim=0, norm=nm), _cplx, (4, 2)),
    "fft_n_trunc": (lambda M, x, nm: M.fft(x, n=3, norm=nm), _real, (2, 6)),
    "ifft": (lambda M, x, nm: M.ifft(x, norm=nm), _cplx, (6,)),
    "ifft_n": (lambda M, x, nm: M.ifft(x, n=4, norm=nm), _cplx, (2, 5)),
    "fft2": (lambda M, x, nm: M.fft2(x, norm=nm), _cplx, (2, 3, 4)),
    "ifft2_s": (lambda M, x, nm: M.ifft2(x, s=(4, 3), norm=nm), _real, (3, 5)),
    "fftn": (lambda M, x, nm: M.fftn(x, norm=nm), _cplx, (2, 3, 3)),
    "fftn_s": (lambda M, x, nm: M.fftn(x, s=(2, -1), norm=nm), _cplx, (3, 4, 3)),
    "ifftn_dim": (lambda M, x, nm: M.ifftn(x, dim=(0, 2), norm=nm), _cplx, (3, 2, 4)),
    "rfft_even": (lambda M, x, nm: M.rfft(x, norm=nm), _real, (2, 6)),
    "rfft_odd": (lambda M, x, nm: M.rfft(x, norm=nm), _real, (7,)),
    "rfft_n_pad": (lambda M, x, nm: M.rfft(x, n=9, dim=0, norm=nm), _real, (5, 2)),
    "rfft_n_trunc": (lambda M, x, nm: M.rfft(x, n=4, norm=nm), _real, (7,)),
    "irfft_default": (lambda M, x, nm: M.irfft(x, norm=nm), _cplx, (2, 4)),
    "irfft_odd": (lambda M, x, nm: M.irfft(x, n=7, norm=nm), _cplx, (4,)),
    "irfft_n_small": (lambda M, x, nm: M.irfft(x, n=4, norm=nm), _cplx, (6,)),
    "irfft_n_large": (lambda M, x, nm: M.irfft(x, n=11, dim=0, norm=nm), _cplx, (3, 2)),
    "irfft_real_input": (lambda M, x, nm: M.irfft(x, n=5, norm=nm), _real, (3,)),
    "rfft2": (lambda M, x, nm: M.rfft2(x, norm=nm), _real, (3, 5)),
    "irfft2": (lambda M, x, nm: M.irfft2(x, norm=nm), _cplx, (3, 3)),
    "irfft2_s": (lambda M, x, nm: M.irfft2(x, s=(2, 5), norm=nm), _cplx, (3, 4)),
    "rfftn": (lambda M, x, nm: M.rfftn(x, norm=nm), _real, (2, 3, 4)),
    "rfftn_dim_order": (lambda M, x, nm: M.rfftn(x, dim=(1, 0), norm=nm), _real, (4, 5)),
    "irfftn": (lambda M, x, nm: M.irfftn(x, s=(3, 4, 5), norm=nm), _cplx, (2, 3, 3)),
    "irfftn_dim_order": (lambda M, x, nm: M.irfftn(x, dim=(1, 0), norm=nm), _cplx, (4, 3)),
    "hfft": (lambda M, x, nm: M.hfft(x, norm=nm), _cplx, (5,)),
    "hfft_odd": (lambda M, x, nm: M.hfft(x, n=5, norm=nm), _cplx, (2, 4)),
    "ihfft": (lambda M, x, nm: M.ihfft(x, norm=nm), _real, (6,)),
    "ihfft_n": (lambda M, x, nm: M.ihfft(x, n=5, norm=nm), _real, (2, 3)),
    "hfft2": (lambda M, x, nm: M.hfft2(x, norm=nm), _cplx, (3, 3)),
    "ihfft2": (lambda M, x, nm: M.ihfft2(x, norm=nm), _real, (3, 4)),
    "hfftn": (lambda M, x, nm: M.hfftn(x, s=(2, 5), norm=nm), _cplx, (3, 4)),
    "ihfftn": (lambda M, x, nm: M.ihfftn(x, norm=nm), _real, (2, 3, 3)),
    "fftshift": (lambda M, x, nm: M.fftshift(M.fft(x, norm=nm)), _real, (5, 4)),
    "ifftshift_dim": (lambda M, x, nm: M.ifftshift(x, dim=1) * 2, _cplx, (2, 5)),
}


def _leaf(module, a):
    if module is cr:
        return cr.tensor(a, requires_grad=True)
    return torch.tensor(a, requires_grad=True)


def _values_and_gradients_match_pytorch_case(name, norm):
    fn, make, shape = CASES[name]
    rng = np.random.default_rng(len(name))
    a = make(rng, shape)
    x, t = _leaf(cr, a), _leaf(torch, a)
    y, ty = fn(cr.fft, x, norm), fn(torch.fft, t, norm)
    assert str(y.dtype) == str(ty.dtype).replace("torch.", "")
    assert tuple(y.shape) == tuple(ty.shape)
    want = ty.detach().resolve_conj().numpy()
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    u = rng.standard_normal(ty.shape)
    if ty.is_complex():
        u = u + 1j * rng.standard_normal(ty.shape)
    y.backward(cr.tensor(u))
    ty.backward(torch.tensor(u))
    assert x.grad.dtype == x.dtype
    want = t.grad.resolve_conj().numpy()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-10, atol=1e-12)


def test_values_and_gradients_match_pytorch():
    each_case(_values_and_gradients_match_pytorch_case, grid(
        ("name", sorted(CASES)),
        ("norm", NORMS),
    ))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, make, shape = CASES[name]
    rng = np.random.default_rng(len(name) + 7)
    x = _leaf(cr, make(rng, shape))
    for norm in ("backward", "ortho"):
        assert gradcheck(lambda v, nm=norm: fn(cr.fft, v, nm), (x,))
    assert gradgradcheck(lambda v: fn(cr.fft, v, "forward").abs(), (x,))


def test_norm_none_is_backward():
    x = cr.tensor(np.arange(5.0))
    for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn", "irfftn"):
        ours = getattr(cr.fft, name)
        np.testing.assert_array_equal(ours(x).numpy(), ours(x, norm="backward").numpy())
        theirs = getattr(torch.fft, name)(torch.tensor(np.arange(5.0))).resolve_conj()
        np.testing.assert_allclose(ours(x).numpy(), theirs.numpy(), atol=1e-12)


def test_float32_stays_in_single_precision():
    x = cr.tensor(np.arange(6, dtype=np.float32), requires_grad=True)
    spectrum = cr.fft.rfft(x)
    assert spectrum.dtype == cr.complex64
    assert cr.fft.irfft(spectrum).dtype == cr.float32
    assert cr.fft.fft(x).dtype == cr.complex64
    assert cr.fft.hfft(spectrum).dtype == cr.float32
    cr.fft.irfft(spectrum * 2).sum().backward()
    assert x.grad.dtype == cr.float32
    assert cr.fft.fft(cr.tensor([1, 2, 3])).dtype == cr.complex64  # ints: the default dtype


def test_inverse_round_trips():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((3, 8)))
    np.testing.assert_allclose(cr.fft.irfft(cr.fft.rfft(x), n=8).numpy(), x.numpy(), atol=1e-12)
    np.testing.assert_allclose(cr.fft.ifftn(cr.fft.fftn(x)).numpy().real, x.numpy(), atol=1e-12)
    np.testing.assert_allclose(cr.fft.hfft(cr.fft.ihfft(x), n=8).numpy(), x.numpy(), atol=1e-12)


@pytest.mark.parametrize("n, d", [(1, 1.0), (5, 1.0), (6, 0.5), (7, 3)])
def test_frequencies_match_pytorch(n, d):
    np.testing.assert_allclose(cr.fft.fftfreq(n, d).numpy(), torch.fft.fftfreq(n, d).numpy())
    np.testing.assert_allclose(cr.fft.rfftfreq(n, d).numpy(), torch.fft.rfftfreq(n, d).numpy())
    assert cr.fft.fftfreq(n, d).dtype == cr.float32
    assert cr.fft.rfftfreq(n, d, dtype=cr.float64).dtype == cr.float64


@pytest.mark.parametrize("shape, dim", [((6,), None), ((5,), None), ((2, 5), None),
                                        ((3, 4), 0), ((3, 5), (1,)), ((3, 4, 5), (0, 2))])
def test_shifts_match_pytorch(shape, dim):
    a = np.arange(np.prod(shape)).reshape(shape).astype(float)
    for ours, theirs in ((cr.fft.fftshift, torch.fft.fftshift),
                         (cr.fft.ifftshift, torch.fft.ifftshift)):
        np.testing.assert_array_equal(ours(cr.tensor(a), dim).numpy(),
                                      theirs(torch.tensor(a), dim).numpy())


def test_module_path_and_names():
    import chainrule.fft as fft_module

    assert fft_module is cr.fft
    for name in cr.fft.__all__:
        assert hasattr(torch.fft, name), name
    kinds = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
    wanted = [k + suffix for k in kinds for suffix in ("", "2", "n")]
    assert set(cr.fft.__all__) == set(wanted) | {"fftfreq", "rfftfreq", "fftshift", "ifftshift"}


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda x: cr.fft.fft(x, n=0), ValueError, r"fft: invalid number of data points \(0\)"),
    (lambda x: cr.fft.fft(x, dim=2), IndexError, r"fft: dim 2 is out of range"),
    (lambda x: cr.fft.fft(x, norm="bad"), ValueError, r"fft: norm must be .* got 'bad'"),
    (lambda x: cr.fft.rfft(x.astype(cr.complex128)), TypeError, "rfft: expects a real input"),
    (lambda x: cr.fft.ihfft(x.astype(cr.complex64)), TypeError, "ihfft: expects a real input"),
    (lambda x: cr.fft.irfft(x[:, :1]), ValueError, r"irfft: invalid number of data points \(0\)"),
    (lambda x: cr.fft.fftn(x, s=(2, 2), dim=(0,)), ValueError, "s and dim must have the same"),
    (lambda x: cr.fft.fftn(x, dim=(0, -2)), ValueError, "dims must be unique"),
    (lambda x: cr.fft.fftn(x, s=(2, 2, 2)), ValueError, "s .* has 3 entries"),
    (lambda x: cr.fft.fft(x.astype(cr.float16)), TypeError, "fft: unsupported dtype float16"),
    (lambda x: cr.fft.fft(x.numpy()), TypeError, "fft: input must be a Tensor"),
    (lambda x: cr.fft.fft(x, n=2.5), TypeError, "fft: n must be an int"),
    (lambda x: cr.fft.fft(x, out=x), RuntimeError, "fft.fft: result type Complex.* can't be cast"),
    (lambda x: cr.fft.fftfreq(0), ValueError, "fftfreq: n must be a positive int"),
    (lambda x: cr.fft.rfftfreq(4, "a"), TypeError, "rfftfreq: d must be a number"),
    (lambda x: cr.fft.fftshift(x, dim=3), ValueError, "fftshift: axis 3 is out of range"),
]


def _bad_arguments_are_named_case(call, error, match):
    with pytest.raises(error, match=match):
        call(cr.tensor(np.ones((3, 4))))


def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid(("call, error, match", _BAD_ARGUMENTS_ARE_NAMED)))
