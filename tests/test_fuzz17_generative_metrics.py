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


def _classifier(seed):
    from chainrule import nn

    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 5, rng=np.random.default_rng(seed)),
                        nn.Tanh(), nn.Linear(5, 4, rng=np.random.default_rng(seed + 1)))
    return net.to(dtype=cr.float64)


def test_evaluate_samples_against_numpy():
    from chainrule.generative import evaluate_samples, penultimate_features

    net = _classifier(0)
    rng = np.random.default_rng(3)
    real, fake = rng.random((30, 1, 2, 3)), rng.random((25, 1, 2, 3)) * 2
    labels = rng.integers(0, 4, 25)
    w1, b1, w2, b2 = (np.asarray(p._data) for p in net.parameters())
    feats = lambda x: np.tanh(x.reshape(len(x), -1) @ w1.T + b1)  # noqa: E731
    np.testing.assert_allclose(penultimate_features(net, fake, batch_size=7), feats(fake),
                               rtol=1e-12)
    logits = feats(fake) @ w2.T + b2
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    pred = probs.argmax(1)
    counts = np.bincount(pred, minlength=4)
    p = counts[counts > 0] / 25
    rl = feats(real) @ w2.T + b2
    rp = np.exp(rl - rl.max(1, keepdims=True))
    rp /= rp.sum(1, keepdims=True)
    out = evaluate_samples(net, real, fake, labels=labels, batch_size=8)
    assert out["class_histogram"] == counts.tolist()
    assert out["classes_covered"] == int((counts > 0).sum())
    assert math.isclose(out["class_entropy"], float(-(p * np.log(p)).sum()), rel_tol=1e-12)
    assert math.isclose(out["confidence"], float(probs.max(1).mean()), rel_tol=1e-12)
    assert math.isclose(out["real_confidence"], float(rp.max(1).mean()), rel_tol=1e-12)
    assert math.isclose(out["label_accuracy"], float((pred == labels).mean()))
    assert math.isclose(out["lenet_frechet_distance"], _scipy_fd(feats(real), feats(fake)),
                        rel_tol=1e-7)


def test_reconstruction_report_against_numpy():
    from chainrule import nn
    from chainrule.data.corruptions import corrupt
    from chainrule.generative import reconstruction_report

    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 6, rng=np.random.default_rng(1)),
                        nn.Sigmoid(), nn.Unflatten(1, (1, 2, 3))).to(dtype=cr.float64)
    w, b = (np.asarray(p._data) for p in net.parameters())
    clean = np.random.default_rng(2).random((9, 1, 2, 3))
    levels = ("none", "gaussian:0.2", "mask:0.5")
    report = reconstruction_report(net, clean, noise_levels=levels, rng=4, batch_size=4)
    rng = np.random.default_rng(4)
    for spec in levels:
        noisy = clean if spec == "none" else corrupt(clean, spec, rng=rng)
        recon = (1 / (1 + np.exp(-(noisy.reshape(9, -1) @ w.T + b)))).reshape(clean.shape)
        for key, x in (("input", noisy), ("", recon)):
            mse = ((clean - x) ** 2).reshape(9, -1).mean(1)
            db = np.minimum(10 * np.log10(1 / np.maximum(mse, 1e-10)), 100).mean()
            prefix = f"{key}_" if key else ""
            assert math.isclose(report[spec][prefix + "mse"], mse.mean(), rel_tol=1e-6)
            assert math.isclose(report[spec][prefix + "psnr"], db, rel_tol=1e-6)
