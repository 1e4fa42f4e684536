"""The short-time Fourier transform and its inverse (``torch.stft``, ``torch.istft``), composed of
recorded ops (indexing, products, ``chainrule.fft``), so their gradients, to the signal and to a
window that requires grad, are exact to any order.

``stft`` pads the signal by n_fft // 2 at both ends (``center``), cuts it into frames of n_fft
samples ``hop_length`` apart (one gather), multiplies each by the window (zero-padded to n_fft at
both sides when ``win_length`` is shorter) and transforms them (``rfft`` for a real signal and
window: ``onesided``). ``istft`` inverts each frame, windows it again, overlap-adds the frames (one
scatter-add, the gather's adjoint) and divides by the overlap-added squared window, as PyTorch.
"""

from __future__ import annotations

import numbers
import warnings

from ..autograd.tensor import Tensor
from ..backend import get_array_module
from ._conj import real_dtype
from .complex import view_as_real
from .fft import fft, ifft
from .fft_real import irfft, rfft
from .join import concat
from .shape import ScatterAdd, getitem

__all__ = ["istft", "stft"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _int(op, name, v, low=1):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise ValueError(f"{op}: {name} must be an int >= {low}, got {v!r}")
    return int(v)


def _window(op, window, n_fft, win_length, like):
    """The window padded to ``n_fft`` (centred), or None for the rectangular one of n_fft
    samples. No window with a shorter ``win_length`` is ones of that length, centred (as
    PyTorch's: the samples outside it count zero)."""
    if window is None:
        if win_length == n_fft:
            return None
        xp = get_array_module(like._data)
        window = Tensor(xp.ones(win_length, dtype=real_dtype(like._data.dtype)))
    if not isinstance(window, Tensor):
        raise TypeError(f"{op}: window must be a Tensor or None, got {type(window).__name__}")
    if window._data.ndim != 1 or window._data.shape[0] != win_length:
        raise ValueError(f"{op}: window must be 1-D of length win_length={win_length}, got shape "
                         f"{tuple(window.shape)}")
    if win_length == n_fft:
        return window
    xp = get_array_module(like._data)
    left = (n_fft - win_length) // 2
    zeros = [Tensor(xp.zeros(m, dtype=window._data.dtype)) for m in (left, n_fft - win_length
                                                                        - left)]
    return concat([zeros[0], window, zeros[1]], -1)


def _lengths(op, n_fft, hop_length, win_length):
    n_fft = _int(op, "n_fft", n_fft)
    hop = n_fft // 4 if hop_length is None else _int(op, "hop_length", hop_length)
    if hop < 1:
        raise ValueError(f"{op}: hop_length defaults to n_fft // 4, which is 0 for n_fft={n_fft}; "
                         "pass hop_length")
    win = n_fft if win_length is None else _int(op, "win_length", win_length)
    if win > n_fft:
        raise ValueError(f"{op}: expected 0 < win_length <= n_fft, got win_length={win} and "
                         f"n_fft={n_fft}")
    return n_fft, hop, win


def _pad_positions(xp, n, p, mode):
    i = xp.arange(-p, n + p)
    if mode == "reflect":
        i = xp.abs(i)
        return xp.where(i > n - 1, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return xp.clip(i, 0, n - 1)
    return i % n  # circular


def _pad(x, p, mode):
    xp = get_array_module(x._data)
    n = x._data.shape[-1]
    if mode == "constant":
        zeros = Tensor(xp.zeros(x._data.shape[:-1] + (p,), dtype=x._data.dtype))
        return concat([zeros, x, zeros], -1)
    if mode != "replicate" and p >= n + (mode == "circular"):  # circular may wrap once
        raise ValueError(f"stft: {mode} padding by n_fft // 2 = {p} needs a signal of at least "
                         f"{p + (mode == 'reflect')} samples, got length {n}; use center=False or "
                         "pad_mode='constant'")
    return getitem(x, (Ellipsis, _pad_positions(xp, n, p, mode)))


def _frame_positions(xp, frames, n_fft, hop):
    return xp.arange(frames)[:, None] * hop + xp.arange(n_fft)[None, :]


def _signal(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x._data.ndim not in (1, 2):
        raise ValueError(f"{op}: input must be 1-D (time) or 2-D (batch, time), got shape "
                         f"{tuple(x.shape)}")
    return x


def stft(input, n_fft: int, hop_length=None, win_length=None, window=None,  # noqa: A002
         center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided=None, return_complex=None, align_to_window=None) -> Tensor:
    """The short-time Fourier transform, as ``torch.stft``: (freq, frames) for a 1-D signal,
    (batch, freq, frames) for a 2-D one; freq is n_fft // 2 + 1 when ``onesided`` (the default
    for a real signal and window), else n_fft.

    ``return_complex`` must be given for a real signal (PyTorch's rule); False gives
    ``view_as_real`` of the result (a last axis of 2). ``window`` (default: ones) has
    ``win_length`` (default n_fft) samples; ``hop_length`` defaults to n_fft // 4; ``normalized``
    scales by n_fft ** -0.5; ``pad_mode`` is "constant", "reflect", "replicate" or "circular".
    """
    x = _signal("stft", input)
    n_fft, hop, win = _lengths("stft", n_fft, hop_length, win_length)
    if align_to_window:
        raise NotImplementedError("stft: align_to_window=True is not supported")
    complex_in = x._data.dtype.kind == "c" or (window is not None
                                                and window._data.dtype.kind == "c")
    if return_complex is None:
        if not complex_in:
            raise ValueError("stft: return_complex must be given for real inputs (PyTorch's "
                             "rule); pass return_complex=True")
        return_complex = True
    if onesided is None:
        onesided = not complex_in
    if onesided and complex_in:
        raise ValueError("stft: cannot have a onesided output if the window or input is complex")
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"stft: pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")
    w = _window("stft", window, n_fft, win, x)
    if center:
        x = _pad(x, n_fft // 2, pad_mode)
    length = x._data.shape[-1]
    if n_fft > length:
        raise ValueError(f"stft: expected 0 < n_fft <= the (padded) signal length {length}, got "
                         f"n_fft={n_fft}")
    xp = get_array_module(x._data)
    count = 1 + (length - n_fft) // hop
    frames = getitem(x, (Ellipsis, _frame_positions(xp, count, n_fft, hop)))  # (..., F, n_fft)
    if w is not None:
        frames = frames * w
    norm = "ortho" if normalized else "backward"
    spec = rfft(frames, norm=norm) if onesided else fft(frames, norm=norm)
    spec = spec.transpose(-1, -2)  # (..., freq, frames)
    return spec if return_complex else view_as_real(spec)


def istft(input, n_fft: int, hop_length=None, win_length=None, window=None,  # noqa: A002
          center: bool = True, normalized: bool = False, onesided=None, length=None,
          return_complex: bool = False) -> Tensor:
    """The inverse of ``stft`` (``torch.istft``): the windowed frames' inverse transforms,
    overlap-added and divided by the overlap-added squared window.

    ``input`` is complex, (freq, frames) or (batch, freq, frames). ``onesided`` defaults to
    freq != n_fft; ``length`` trims (or zero-pads) the result; ``return_complex`` keeps the complex
    signal of a two-sided transform (else its real part).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"istft: input must be a Tensor, got {type(input).__name__}")
    if input._data.dtype.kind != "c" or input._data.ndim not in (2, 3):
        raise ValueError("istft: input must be a complex tensor of shape (freq, frames) or "
                         f"(batch, freq, frames), got dtype {input.dtype} and shape "
                         f"{tuple(input.shape)}")
    n_fft, hop, win = _lengths("istft", n_fft, hop_length, win_length)
    freq, count = input._data.shape[-2:]
    if onesided is None:
        onesided = freq != n_fft
    if onesided and return_complex:
        raise ValueError("istft: cannot have a onesided input with return_complex=True")
    if not return_complex and isinstance(window, Tensor) and window._data.dtype.kind == "c":
        raise ValueError(f"istft: a complex window ({window.dtype}) gives a complex signal; pass "
                         "return_complex=True (with onesided=False), or a real window")
    want = n_fft // 2 + 1 if onesided else n_fft
    if freq != want:
        raise ValueError(f"istft: expected {want} frequencies for n_fft={n_fft} ("
                         f"{'onesided' if onesided else 'two-sided'}), got {freq}")
    norm = "ortho" if normalized else "backward"
    spec = input.transpose(-1, -2)  # (..., frames, freq)
    if not (onesided or return_complex):  # a real signal: the first half, read as Hermitian
        spec, onesided = spec[..., :n_fft // 2 + 1], True  # (PyTorch's; not ifft's real part)
    frames = irfft(spec, n=n_fft, norm=norm) if onesided else ifft(spec, norm=norm)
    w = _window("istft", window, n_fft, win, input)
    xp = get_array_module(input._data)
    if w is None:
        w = Tensor(xp.ones(n_fft, dtype=real_dtype(frames._data.dtype)))
    frames = frames * w
    total = n_fft + hop * (count - 1)
    at = _frame_positions(xp, count, n_fft, hop)
    batch = frames._data.shape[:-2]
    signal = ScatterAdd.apply(frames, index=(Ellipsis, at), shape=batch + (total,),
                              accumulate=True)
    square = (w * w).unsqueeze(0).broadcast_to((count, n_fft))
    envelope = ScatterAdd.apply(square, index=at, shape=(total,), accumulate=True)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + _int("istft", "length", length, 0)
    else:
        end = total - n_fft // 2 if center else total
    if end > total:  # PyTorch pads the tail with zeros, and says so
        warnings.warn(f"istft: the signal ({total - start} samples) is shorter than length="
                      f"{length}; its tail is padded with zeros", UserWarning, stacklevel=2)
        pad = Tensor(xp.zeros(batch + (end - total,), dtype=signal._data.dtype))
        signal = concat([signal, pad], -1)
        envelope = concat([envelope, Tensor(xp.ones(end - total, envelope._data.dtype))], -1)
    signal, envelope = signal[..., start:end], envelope[start:end]
    if envelope._data.size and float(xp.abs(envelope._data).min()) < 1e-11:
        raise ValueError("istft: the window's overlap-add has a (near) zero inside the signal "
                         "(window overlap add min < 1e-11), so it cannot be inverted; use a "
                         "window without zeros there, or a smaller hop_length")
    return signal / envelope


Tensor.stft = stft
Tensor.istft = istft
