"""Fuzz wave 24, spectral functions: stft's circular padding of a signal exactly n_fft // 2 long
(PyTorch wraps it once; chainrule refused it), and istft's complex window with
return_complex=False (PyTorch refuses it; chainrule gave a complex signal where a real one was
asked for)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402


def _stft(lib, x, mode, hop=2):
    leaf = lib.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's "no window given"
        return lib.stft(leaf, 8, hop_length=hop, pad_mode=mode, return_complex=True), leaf


@pytest.mark.parametrize("length, hop", [(4, 2), (5, 3)])
def test_circular_padding_may_wrap_the_signal_once(length, hop):
    x = np.random.default_rng(length).standard_normal((2, length))
    (t, tx), (c, cx) = _stft(torch, x, "circular", hop), _stft(cr, x, "circular", hop)
    np.testing.assert_allclose(c.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(0).standard_normal(tuple(t.shape)) * (1 + 2j)
    (t * torch.tensor(w)).real.sum().backward()
    (c * cr.tensor(w)).real.sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode, length", [("circular", 3), ("reflect", 4)])
def test_padding_past_the_signal_is_refused_as_pytorch(mode, length):
    x = np.random.default_rng(1).standard_normal(length)
    with pytest.raises(RuntimeError):
        _stft(torch, x, mode)
    with pytest.raises(
        ValueError,
        match=f"{mode} padding by n_fft // 2 = 4 needs a signal of at "
        f"least {length + 1} samples, got length {length}",
    ):
        _stft(cr, x, mode)


def test_replicate_padding_takes_any_length_as_pytorch():
    x = np.random.default_rng(2).standard_normal(3)
    np.testing.assert_allclose(
        _stft(cr, x, "replicate")[0].detach().numpy(),
        _stft(torch, x, "replicate")[0].detach().numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("onesided", [None, True, False])
def test_istft_refuses_a_complex_window_for_a_real_signal(onesided):
    rng = np.random.default_rng(3)
    window = rng.uniform(0.5, 1.5, 8) + 0.25j * rng.standard_normal(8)
    spec = rng.standard_normal((8 if onesided is False else 5, 5)) * (1 - 1j)
    with pytest.raises(RuntimeError, match="Complex windows are incompatible"):
        torch.istft(
            torch.tensor(spec), 8, hop_length=2, window=torch.tensor(window), onesided=onesided
        )
    with pytest.raises(ValueError, match=r"complex window \(complex128\).*return_complex=True"):
        cr.istft(cr.tensor(spec), 8, hop_length=2, window=cr.tensor(window), onesided=onesided)


def test_istft_of_a_complex_window_with_return_complex_matches_pytorch():
    rng = np.random.default_rng(4)
    window = rng.uniform(0.5, 1.5, 8) + 0.25j * rng.standard_normal(8)
    spec = rng.standard_normal((8, 5)) + 1j * rng.standard_normal((8, 5))
    out = [
        lib.istft(
            lib.tensor(spec),
            8,
            hop_length=2,
            window=lib.tensor(window),
            onesided=False,
            return_complex=True,
        )
        for lib in (torch, cr)
    ]
    assert str(out[1].dtype) == "complex128" == str(out[0].dtype)[6:]
    np.testing.assert_allclose(out[1].numpy(), out[0].numpy(), rtol=1e-12, atol=1e-12)


def test_two_dimensional_transforms_refuse_dim_none_as_pytorch():
    # chainrule read dim=None as all axes (fftn's rule): a 3-D transform of a 3-D input
    x = np.random.default_rng(5).standard_normal((2, 3, 4))
    for name in ("fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2"):
        with pytest.raises(TypeError):
            getattr(torch.fft, name)(torch.tensor(x), dim=None)
        with pytest.raises(TypeError, match=rf"{name}: dim must be a sequence .* {name[:-1]}n"):
            getattr(cr.fft, name)(cr.tensor(x), dim=None)
        t = getattr(torch.fft, name)(torch.tensor(x), s=(3, 4), dim=(0, 2))
        c = getattr(cr.fft, name)(cr.tensor(x), s=(3, 4), dim=(0, 2))
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
def test_frequencies_refuse_a_zero_sample_spacing_by_name(name):
    # PyTorch divides by d (NaN and +-inf); chainrule raised NumPy's bare ZeroDivisionError
    assert not torch.isfinite(getattr(torch.fft, name)(6, 0.0)).all()
    with pytest.raises(
        ValueError, match=rf"{name}: d \(the sample spacing\) must be non-zero, got 0"
    ):
        getattr(cr.fft, name)(6, 0.0)
    t, c = getattr(torch.fft, name)(6, -0.5), getattr(cr.fft, name)(6, -0.5)
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-7)
