"""Fuzz wave 10: random chains of complex ops and Fourier transforms against PyTorch.

Each seed draws a (B, N) input, complex or real, two to five steps (tests/_fuzz10_steps.py: the
transforms with random n/s/dim/norm, odd and even lengths, rfft/irfft/hfft/ihfft, fftshift,
the complex elementwise functions, products, running sums/products, matmul/linear/conv1d,
padding, indexing, and the real<->complex boundaries view_as_real/view_as_complex, .real/.imag,
abs, angle, polar, complex(), casts) and a random real loss at the end. The chain runs in
complex128/float64 on both libraries: the output, the loss and the input's gradient must agree
to 1e-9 relative; where PyTorch refuses the chain, chainrule must refuse it too. The chains run
again in complex64/float32, where each dtype must be PyTorch's.

stft/istft get their own random draws: windows (none, fixed, one that requires grad), center,
pad_mode, normalized, onesided, return_complex, hop and window lengths, batched or not, real or
complex signals, and istft(stft(x)) round trips.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz10_steps import loss, step

torch = pytest.importorskip("torch")


def _run(L, x, steps, end):
    t = L.tensor(x, requires_grad=True)
    y = t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, fn in steps:
            y = fn(L, y)
        out = end(L, y)
        out.backward()
    return _np(y), out.item(), _np(t.grad)


def _np(t):
    """The values of a chainrule or torch tensor (torch's conj and neg bits resolved)."""
    if isinstance(t, torch.Tensor):
        return t.detach().resolve_conj().resolve_neg().numpy()
    return t.numpy()


def _close(a, b, what, trail, tol=1e-9):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape} after {trail}"
    assert a.dtype == b.dtype, f"{what}: dtypes {a.dtype} vs {b.dtype} after {trail}"
    scale = max(1.0, float(np.nanmax(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=f"{what} after {trail}")


def _chain(seed, single=False):
    rng = np.random.default_rng(seed)
    kind = "c" if rng.integers(3) else "r"
    shape = (int(rng.integers(1, 4)), int(rng.integers(2, 9)))
    x = rng.standard_normal(shape)
    if kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    if single:
        x = x.astype(np.complex64 if kind == "c" else np.float32)
    steps, trail = [], []
    for _ in range(int(rng.integers(2, 6))):
        label, fn, kind, shape = step(rng, kind, shape)
        steps.append((label, fn))
        trail.append(label)
    label, end = loss(rng, kind, shape)
    trail.append(f"loss {label}")
    return x, steps, end, " -> ".join(trail)


@pytest.mark.parametrize("seed", range(300))
def test_random_complex_chains_match_pytorch(seed):
    x, steps, end, trail = _chain(seed)
    try:
        theirs = _run(torch, x, steps, end)
    except (RuntimeError, ValueError, IndexError, TypeError, NotImplementedError):
        with pytest.raises((RuntimeError, ValueError, IndexError, TypeError)):
            _run(cr, x, steps, end)
        return
    ours = _run(cr, x, steps, end)
    for what, a, b in zip(("output", "loss", "gradient"), ours, theirs, strict=True):
        _close(a, b, what, trail)


@pytest.mark.parametrize("seed", range(100))
def test_random_chains_in_single_precision_keep_pytorchs_dtypes(seed):
    # complex64/float32 from start to end, as PyTorch's; values to single-precision rounding
    # accumulated over the chain
    x, steps, end, trail = _chain(seed, single=True)
    ours, theirs = _run(cr, x, steps, end), _run(torch, x, steps, end)
    for what, a, b in zip(("output", "loss", "gradient"), ours, theirs, strict=True):
        _close(a, b, what, trail, tol=1e-2)


def _stft_args(rng, complex_signal):
    n_fft = int(rng.choice([4, 5, 8, 9]))
    win = int(rng.integers(max(2, n_fft // 2), n_fft + 1))
    kw = {"n_fft": n_fft, "hop_length": int(rng.integers(1, win + 1)),
          "win_length": [None, win][rng.integers(2)], "center": bool(rng.integers(2)),
          "normalized": bool(rng.integers(2)), "return_complex": bool(rng.integers(2)),
          "pad_mode": ["reflect", "constant", "replicate", "circular"][rng.integers(4)]}
    if not complex_signal:
        kw["onesided"] = [None, True, False][rng.integers(3)]
    return kw, (kw["win_length"] or n_fft)


@pytest.mark.parametrize("seed", range(100))
def test_random_stft_matches_pytorch(seed):
    rng = np.random.default_rng(1000 + seed)
    complex_signal = bool(rng.integers(2))
    kw, win = _stft_args(rng, complex_signal)
    shape = ((int(rng.integers(1, 3)),) if rng.integers(2) else ()) + (int(rng.integers(10, 25)),)
    x = rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if complex_signal else 0)
    w_kind = int(rng.integers(3))  # none, a fixed Hann window, a random one that requires grad
    w = rng.uniform(0.5, 1.5, win)
    u = None

    def run(L):
        nonlocal u
        s = L.tensor(x, requires_grad=True)
        window = (None if w_kind == 0 else L.hann_window(win, dtype=L.float64) if w_kind == 1
                  else L.tensor(w, requires_grad=True))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = L.stft(s, window=window, **kw)
        if u is None:
            u = np.random.default_rng(seed).standard_normal(tuple(spec.shape))
            if spec.is_complex():
                u = u + 1j * np.random.default_rng(seed + 1).standard_normal(tuple(spec.shape))
        value = (spec * L.tensor(u).conj()).real.sum() if spec.is_complex() else (
            spec * L.tensor(u)).sum()
        value.backward()
        grads = [_np(s.grad)] + ([_np(window.grad)] if w_kind == 2 else [])
        return [_np(spec), value.item()] + grads

    trail = f"stft({kw}, window kind {w_kind}, shape {shape}, complex {complex_signal})"
    try:
        theirs = run(torch)
    except RuntimeError:
        with pytest.raises((RuntimeError, ValueError)):
            run(cr)
        return
    for a, b in zip(run(cr), theirs, strict=True):
        _close(a, b, "stft", trail)


@pytest.mark.parametrize("seed", range(100))
def test_random_istft_and_round_trips_match_pytorch(seed):
    rng = np.random.default_rng(2000 + seed)
    n_fft = int(rng.choice([4, 6, 8, 9]))
    hop = int(rng.integers(1, n_fft // 2 + 1))
    onesided = bool(rng.integers(2))
    center = bool(rng.integers(2))
    frames = int(rng.integers(3, 7))
    bins = n_fft // 2 + 1 if onesided else n_fft
    shape = ((2,) if rng.integers(2) else ()) + (bins, frames)
    spec = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    full = (frames - 1) * hop + (0 if center else n_fft)
    length = [None, full, max(full - 2, 1), full + 3][rng.integers(4)]
    kw = {"n_fft": n_fft, "hop_length": hop, "center": center, "onesided": onesided,
          "normalized": bool(rng.integers(2)), "length": length,
          "return_complex": (not onesided) and bool(rng.integers(2))}
    round_trip = bool(rng.integers(2))
    signal = rng.standard_normal(shape[:-2] + (int(rng.integers(n_fft + 1, 20)),))

    def run(L):
        window = L.hann_window(n_fft, dtype=L.float64) + 0.1  # no zero: the division is fine
        if round_trip:
            s = L.tensor(signal, requires_grad=True)
            z = L.stft(s, n_fft, hop, window=window, center=center, onesided=onesided,
                       return_complex=True)
        else:
            s = z = L.tensor(spec, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = L.istft(z, window=window, **kw)
        value = (y.abs() ** 2).sum() if y.is_complex() else (y * y).sum() + y.sum()
        value.backward()
        return [_np(y), value.item(), _np(s.grad)]

    trail = f"istft({kw}, round trip {round_trip}, shape {shape})"
    try:
        theirs = run(torch)
    except RuntimeError:
        with pytest.raises((RuntimeError, ValueError)):
            run(cr)
        return
    for a, b in zip(run(cr), theirs, strict=True):
        _close(a, b, "istft", trail)


REFUSED = {  # PyTorch refuses these on a complex tensor that requires grad; chainrule too
    "erf": lambda L, z: L.special.erf(z),
    "sign": lambda L, z: L.sign(z),
    "relu": lambda L, z: L.relu(z),
    "hardtanh": lambda L, z: L.nn.functional.hardtanh(z),
    "softmax": lambda L, z: L.softmax(z, -1),
    "log_softmax": lambda L, z: L.log_softmax(z, -1),
    "clamp": lambda L, z: L.clamp(z, 0, 1),
    "maximum": lambda L, z: L.maximum(z, z),
    "floor_divide": lambda L, z: z // 2,
    "frac": lambda L, z: L.frac(z),
    "xlogy": lambda L, z: L.xlogy(z, z),
    "nansum": lambda L, z: L.nansum(z),
    "mse_loss": lambda L, z: L.nn.functional.mse_loss(z, z.detach()),
    "huber_loss": lambda L, z: L.nn.functional.huber_loss(z, z.detach()),
    "smooth_l1_loss": lambda L, z: L.nn.functional.smooth_l1_loss(z, z.detach()),
    "layer_norm": lambda L, z: L.nn.functional.layer_norm(z, (3,)),
    "avg_pool1d": lambda L, z: L.nn.functional.avg_pool1d(z[None], 2),
    "cosine_similarity": lambda L, z: L.nn.functional.cosine_similarity(z, z),
    "cdist": lambda L, z: L.cdist(z, z),
    "pdist": lambda L, z: L.pdist(z),
}


def _what_pytorch_refuses_on_complex_chainrule_refuses_case(name):
    z = np.array([[1 + 2j, -0.5 + 1j, 2 - 1j], [0.3 - 0.2j, 1j, -1 + 0j]])
    with pytest.raises((RuntimeError, NotImplementedError)):
        REFUSED[name](torch, torch.tensor(z, requires_grad=True)).abs().sum().backward()
    # the ordering ops (clamp, maximum) raise PyTorch's error type (ops/_real_only.py)
    with pytest.raises((TypeError, RuntimeError)):
        REFUSED[name](cr, cr.tensor(z, requires_grad=True)).abs().sum().backward()


def test_what_pytorch_refuses_on_complex_chainrule_refuses():
    each_case(_what_pytorch_refuses_on_complex_chainrule_refuses_case, grid(
        ("name", sorted(REFUSED)),
    ))
