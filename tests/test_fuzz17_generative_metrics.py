"""Fuzz wave 17, generative: PSNR and the Frechet distance against numpy/scipy computations, and
their errors on input that is not features or covariances (before: silent wrong numbers)."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.generative import frechet_distance, frechet_distance_from_moments, psnr


def test_psnr_rejects_infinite_range_and_matches_numpy():
    with pytest.raises(ValueError, match="data_range must be a finite positive number"):
        psnr(np.zeros((2, 3)), np.ones((2, 3)), data_range=float("inf"))
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 5, 1, 3, 3))
    for data_range in (1.0, 2.0, 255.0):
        mse = ((a - b) ** 2).reshape(5, -1).mean(1)
        expected = np.mean(10 * np.log10(data_range ** 2 / mse))
        assert math.isclose(psnr(a, b, data_range=data_range), expected, rel_tol=1e-12)


def test_frechet_distance_rejects_non_finite_features():
    bad = np.zeros((5, 3))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="features contain nan or inf"):
        frechet_distance(bad, np.ones((5, 3)))


def test_frechet_distance_from_moments_rejects_non_covariances():
    mu, eye = np.zeros(2), np.eye(2)
    with pytest.raises(ValueError, match="s1 must be a symmetric covariance"):
        frechet_distance_from_moments(mu, np.array([[1.0, 5.0], [0.0, 1.0]]), mu, eye)
    with pytest.raises(ValueError, match="s2 must be positive semi-definite"):
        frechet_distance_from_moments(mu, eye, mu, -eye)
    with pytest.raises(ValueError, match="s2 contains nan"):
        frechet_distance_from_moments(mu, eye, mu, np.full((2, 2), np.nan))


def _scipy_fd(a, b):
    linalg = pytest.importorskip("scipy.linalg")
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


@pytest.mark.parametrize("seed", range(6))
def test_frechet_distance_fuzz_against_scipy(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 7))
    n1, n2 = (int(v) for v in rng.integers(d + 2, 40, 2))
    a = rng.normal(size=(n1, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d)
    b = rng.normal(size=(n2, d)) * rng.uniform(0.2, 3, d)
    assert math.isclose(frechet_distance(a, b), _scipy_fd(a, b), rel_tol=1e-7, abs_tol=1e-9)
    # chainrule Tensors and float32 features give the float64 answer of their values
    a32 = a.astype(np.float32)
    assert math.isclose(frechet_distance(cr.tensor(a32), b),
                        _scipy_fd(a32.astype(np.float64), b), rel_tol=1e-7, abs_tol=1e-9)


def test_frechet_distance_of_rank_deficient_features():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(4, 6))  # 4 samples in 6 dimensions: a singular covariance
    b = rng.normal(size=(5, 6)) + 0.5
    assert math.isclose(frechet_distance(a, b), _scipy_fd(a, b), rel_tol=1e-6)
    assert frechet_distance(a, a) < 1e-9
