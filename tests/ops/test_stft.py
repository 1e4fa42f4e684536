"""stft and istft against torch.stft/istft: values and gradients (to the signal and to the
window), gradcheck and gradgradcheck in float64/complex128, and the argument errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.gradcheck import gradcheck, gradgradcheck

from .._case_loop import each_case, grid

torch = pytest.importorskip("torch")

# (signal shape, complex signal, keyword arguments, window length or None)
CASES = {
    "default": ((40,), False, {}, None),
    "hann_short_window": ((40,), False, {"hop_length": 3}, 10),
    "no_center": ((2, 30), False, {"center": False, "hop_length": 5}, 16),
    "constant_pad": ((33,), False, {"pad_mode": "constant"}, 12),
    "circular_pad": ((33,), False, {"pad_mode": "circular", "hop_length": 6}, 16),
    "replicate_pad": ((33,), False, {"pad_mode": "replicate"}, 16),
    "normalized": ((2, 40), False, {"normalized": True}, 16),
    "two_sided": ((40,), False, {"onesided": False}, 14),
    "complex_signal": ((40,), True, {}, 16),
}


def _hann(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(n) + 1) / (n + 1))  # no zeros


def _args(name, rng):
    shape, cplx, kw, win = CASES[name]
    x = rng.standard_normal(shape)
    if cplx:
        x = x + 1j * rng.standard_normal(shape)
    return x, kw, None if win is None else _hann(win), win


def _run(lib, x, kw, w, win):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's "no window given"
        spec = lib.stft(x, 16, win_length=win, window=w, return_complex=True, **kw)
        inv = {k: v for k, v in kw.items() if k != "pad_mode"}
        back = lib.istft(spec * 1.5, 16, win_length=win, window=w,
                         return_complex=x.is_complex(), **inv)
    return spec, back


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_pytorch(name):
    rng = np.random.default_rng(len(name))
    x, kw, w, win = _args(name, rng)
    ours = [cr.tensor(x, requires_grad=True)] + ([] if w is None else
                                                 [cr.tensor(w, requires_grad=True)])
    theirs = [torch.tensor(x, requires_grad=True)] + ([] if w is None else
                                                      [torch.tensor(w, requires_grad=True)])
    s, b = _run(cr, ours[0], kw, ours[1] if w is not None else None, win)
    ts, tb = _run(torch, theirs[0], kw, theirs[1] if w is not None else None, win)
    assert tuple(s.shape) == tuple(ts.shape) and tuple(b.shape) == tuple(tb.shape)
    np.testing.assert_allclose(s.numpy(), ts.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(b.numpy(), tb.detach().numpy(), atol=1e-12)
    u = rng.standard_normal(ts.shape) + 1j * rng.standard_normal(ts.shape)
    v = rng.standard_normal(tb.shape)
    loss = (s * cr.tensor(u)).real.sum() + (b.abs() * cr.tensor(v)).sum()
    tloss = (ts * torch.tensor(u)).real.sum() + (tb.abs() * torch.tensor(v)).sum()
    loss.backward()
    tloss.backward()
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["hann_short_window", "no_center", "two_sided",
                                  "complex_signal"])
def test_gradcheck_and_gradgradcheck(name):
    rng = np.random.default_rng(3)
    shape, cplx, kw, win = CASES[name]
    x, kw, w, win = _args(name, rng)
    x = cr.tensor(x[..., :24], requires_grad=True)
    w = cr.tensor(w, requires_grad=True)

    def f(sig, window):
        spec = cr.stft(sig, 16, hop_length=8, win_length=win, window=window,
                       return_complex=True, **{k: v for k, v in kw.items() if k != "hop_length"})
        return spec

    assert gradcheck(f, (x, w))
    assert gradgradcheck(lambda a, b: f(a, b).abs(), (x, w))


def test_round_trip_methods_batch_and_length():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((3, 50)))
    w = cr.tensor(_hann(16))
    spec = x.stft(16, hop_length=4, window=w, return_complex=True)
    assert spec.shape == (3, 9, 13) and spec.dtype == cr.complex128
    np.testing.assert_allclose(spec.istft(16, hop_length=4, window=w, length=50).numpy(),
                               x.numpy(), atol=1e-12)
    with pytest.warns(UserWarning, match="tail is padded with zeros"):
        longer = cr.istft(spec, 16, hop_length=4, window=w, length=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch warns once per process
        theirs = torch.istft(torch.tensor(spec.numpy()), 16, hop_length=4,
                             window=torch.tensor(w.numpy()), length=60)
    np.testing.assert_allclose(longer.numpy(), theirs.numpy(), atol=1e-12)
    pairs = cr.stft(x, 16, window=w, return_complex=False)
    assert pairs.shape == (3, 9, 13, 2) and pairs.dtype == cr.float64
    f32 = cr.stft(x.float(), 16, window=w.float(), return_complex=True)
    assert f32.dtype == cr.complex64


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda x: cr.stft(x, 16), ValueError, "return_complex must be given for real inputs"),
    (lambda x: cr.stft(x, 0, return_complex=True), ValueError, "n_fft must be an int >= 1"),
    (lambda x: cr.stft(x, 16, win_length=20, return_complex=True), ValueError,
     "0 < win_length <= n_fft"),
    (lambda x: cr.stft(x, 16, window=cr.ones(8), return_complex=True), ValueError,
     "window must be 1-D of length win_length=16"),
    (lambda x: cr.stft(x[:5], 16, center=False, return_complex=True), ValueError,
     "n_fft <= the"),
    (lambda x: cr.stft(x[:5], 16, return_complex=True), ValueError, "reflect padding"),
    (lambda x: cr.stft(x, 16, pad_mode="wrap", return_complex=True), ValueError, "pad_mode"),
    (lambda x: cr.stft(x.astype(cr.complex64), 16, onesided=True), ValueError, "onesided"),
    (lambda x: cr.stft(x.reshape(2, 2, 10), 16, return_complex=True), ValueError, "1-D"),
    (lambda x: cr.istft(x, 16), ValueError, "istft: input must be a complex tensor"),
    (lambda x: cr.istft(cr.stft(x, 16, return_complex=True), 16, window=cr.zeros(16)),
     ValueError, "window overlap add min"),
    (lambda x: cr.istft(cr.stft(x, 16, return_complex=True), 16, return_complex=True),
     ValueError, "onesided input with return_complex"),
]


def _bad_arguments_are_named_case(call, error, match):
    with pytest.raises(error, match=match):
        call(cr.tensor(np.ones(40)))


def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid(("call, error, match", _BAD_ARGUMENTS_ARE_NAMED)))
