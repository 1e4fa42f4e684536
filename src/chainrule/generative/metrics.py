"""Measures for generative models: reconstruction error (MSE, PSNR) and the Frechet distance.

The Frechet distance between two Gaussians N(mu1, S1) and N(mu2, S2) fitted to two sets of
feature vectors is

    d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).

With features from an Inception network this is the FID (Heusel et al. 2017); chainrule uses a
LeNet-5 it trained on MNIST (``evaluation.lenet_frechet_distance``), so its numbers are a "LeNet
Frechet distance", comparable only with each other. The trace of the square root needs no general
matrix square root: with S1 = V diag(l) V^T and R = V diag(sqrt l) V^T (the symmetric root of S1),
S1 S2 = R^-1 (R S2 R) R is similar to the symmetric positive semi-definite R S2 R, so
tr((S1 S2)^(1/2)) = sum_i sqrt(eig_i(R S2 R)): two symmetric eigendecompositions.
"""

from __future__ import annotations

import math

from ..autograd import Tensor
from ..backend import get_array_module

__all__ = ["feature_moments", "frechet_distance", "frechet_distance_from_moments", "mse_per_image",
           "psnr", "trace_sqrt_product"]


def _array(x):
    return x._data if isinstance(x, Tensor) else x


def _real64(who: str, name: str, x):
    """``x`` as a float64 array; complex values raise (casting dropped their imaginary parts)."""
    a = _array(x)
    a = get_array_module(a).asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {name} must hold real numbers, got dtype {a.dtype}")
    return a.astype("float64")


def _pair(who: str, y_true, y_pred):
    a, b = _real64(who, "y_true", y_true), _real64(who, "y_pred", y_pred)
    xp = get_array_module(a, b)
    if a.shape != b.shape or a.ndim < 1 or a.size == 0:
        raise ValueError(f"{who}: y_true and y_pred must be non-empty arrays of one shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return xp, a, b


def mse_per_image(y_true, y_pred):
    """Mean squared error of each sample (the mean over all but the first axis), as an array."""
    xp, a, b = _pair("mse_per_image", y_true, y_pred)
    return ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)


def psnr(y_true, y_pred, *, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range^2 / MSE)``, averaged over images.

    Each image's PSNR is computed from its own MSE and the mean is taken over the batch (the usual
    convention for image restoration); identical images count as 100 dB so that the mean stays
    finite. Usable as a Trainer metric: ``metrics=[psnr]``.

    Args:
        y_true: clean images (N, ...).
        y_pred: reconstructions of the same shape.
        data_range: the largest possible pixel value minus the smallest (1 for [0, 1] images);
            clean images spanning more than it raise a ValueError.

    >>> import numpy as np
    >>> round(psnr(np.zeros((1, 4)), np.full((1, 4), 0.1)), 6)
    20.0
    """
    if not 0 < data_range < math.inf:  # inf gave the 100 dB of identical images
        raise ValueError(f"psnr: data_range must be a finite positive number, got {data_range}")
    xp, a, b = _pair("psnr", y_true, y_pred)
    span = float(a.max() - a.min())
    if span > data_range * (1 + 1e-6):  # 0..255 images with the default 1 gave dB far too low
        raise ValueError(f"psnr: the clean images span {span:g}, more than data_range="
                         f"{data_range:g}; pass data_range (e.g. 255 for 0..255 pixels)")
    per = ((a - b) ** 2).reshape(len(a), -1).mean(axis=1)
    db = 10 * xp.log10(data_range ** 2 / xp.maximum(per, 1e-10))
    return float(xp.minimum(db, 100.0).mean())


def feature_moments(features):
    """Mean vector and covariance matrix (float64, unbiased) of feature vectors (N, D), N >= 2."""
    f = _real64("feature_moments", "features", features)
    xp = get_array_module(f)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"feature_moments: features must be (N, D) with N >= 2, got shape "
                         f"{tuple(f.shape)}")
    if not bool(xp.isfinite(f).all()):  # eigh then failed with "did not converge"
        raise ValueError("feature_moments: features contain nan or inf")
    mu = f.mean(axis=0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _psd_eig(xp, s):
    """Eigen-decomposition of a symmetric matrix, with rounding's tiny negative values set to 0."""
    w, v = xp.linalg.eigh((s + s.T) / 2)
    return xp.maximum(w, 0.0), v


def _trace_sqrt_product(xp, s1, s2) -> float:
    w, v = _psd_eig(xp, s1)
    root = (v * xp.sqrt(w)) @ v.T
    m, _ = _psd_eig(xp, root @ s2 @ root)
    return float(xp.sqrt(m).sum())


def trace_sqrt_product(s1, s2) -> float:
    """``tr((S1 S2)^(1/2))`` of two symmetric positive semi-definite matrices, without scipy.

    S1 S2 is similar to R S2 R with R = S1^(1/2), which is symmetric and positive semi-definite, so
    the trace is the sum of the square roots of its eigenvalues. Computed in float64. Matrices that
    are not covariances (not square, not symmetric, an eigenvalue below zero beyond rounding, nan,
    complex) raise: before, they were symmetrized and clipped silently (a negative definite S2
    gave 0 where the root is imaginary), and float32 ones were decomposed in float32.
    """
    who = "trace_sqrt_product"
    s1, s2 = _real64(who, "s1", s1), _real64(who, "s2", s2)
    xp = get_array_module(s1, s2)
    if s1.ndim != 2 or s1.shape[0] != s1.shape[1] or s1.shape != s2.shape or not s1.size:
        raise ValueError(f"{who}: s1 and s2 must be square matrices (D, D) of one shape, got "
                         f"{tuple(s1.shape)} and {tuple(s2.shape)}")
    for name, s in (("s1", s1), ("s2", s2)):
        _check_covariance(xp, name, s, who)
    return _trace_sqrt_product(xp, s1, s2)


def _check_covariance(xp, name, s, who="frechet_distance_from_moments"):
    """A covariance must be finite, symmetric and positive semi-definite (up to rounding).

    Before this check a non-symmetric matrix was silently replaced by its symmetric part and a
    negative definite one clipped to 0, giving a wrong distance instead of an error.
    """
    if not bool(xp.isfinite(s).all()):
        raise ValueError(f"{who}: {name} contains nan or inf")
    scale = max(float(xp.abs(s).max()), 1e-300)
    if float(xp.abs(s - s.T).max()) > 1e-8 * scale:
        raise ValueError(f"{who}: {name} must be a symmetric covariance matrix, got one with "
                         f"|{name} - {name}.T| up to {float(xp.abs(s - s.T).max()):.3g}")
    low = float(xp.linalg.eigvalsh((s + s.T) / 2).min())
    if low < -1e-8 * scale:
        raise ValueError(f"{who}: {name} must be positive semi-definite (a covariance), got an "
                         f"eigenvalue {low:.3g}")


def frechet_distance_from_moments(mu1, s1, mu2, s2) -> float:
    """The Frechet distance (the squared form, as FID reports it) between N(mu1, s1), N(mu2, s2)."""
    who = "frechet_distance_from_moments"
    mu1, s1, mu2, s2 = (_real64(who, name, a) for name, a in
                        (("mu1", mu1), ("s1", s1), ("mu2", mu2), ("s2", s2)))
    xp = get_array_module(mu1, s1, mu2, s2)
    d = mu1.shape[0] if mu1.ndim == 1 else -1
    if d < 1 or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"frechet_distance_from_moments: expected means (D,) and covariances "
                         f"(D, D), got {tuple(mu1.shape)}, {tuple(s1.shape)}, {tuple(mu2.shape)}, "
                         f"{tuple(s2.shape)}")
    for name, s in (("s1", s1), ("s2", s2)):
        _check_covariance(xp, name, s)
    diff = mu1 - mu2
    traces = float(xp.trace(s1) + xp.trace(s2))
    value = float(diff @ diff) + traces - 2 * _trace_sqrt_product(xp, s1, s2)
    return max(value, 0.0) if math.isfinite(value) else value  # rounding can dip below 0


def frechet_distance(features1, features2) -> float:
    """Frechet distance between Gaussians fitted to two sets of feature vectors (N1, D), (N2, D).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(500, 3))
    >>> frechet_distance(a, a) < 1e-9, round(frechet_distance(a, a + 1.0), 6)
    (True, 3.0)
    """
    f1, f2 = _array(features1), _array(features2)
    xp = get_array_module(f1, f2)
    f1, f2 = xp.asarray(f1), xp.asarray(f2)  # nested lists too
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1]:
        raise ValueError(f"frechet_distance: features must be (N, D) arrays with the same D, got "
                         f"{tuple(f1.shape)} and {tuple(f2.shape)}")
    return frechet_distance_from_moments(*feature_moments(f1), *feature_moments(f2))
