import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.generative import (
    classify,
    evaluate_samples,
    feature_moments,
    frechet_distance,
    frechet_distance_from_moments,
    lenet_frechet_distance,
    mse_per_image,
    penultimate_features,
    psnr,
    reconstruction_report,
    trace_sqrt_product,
)
from chainrule.models import LeNet5


def _scipy_frechet(a, b):
    linalg = pytest.importorskip("scipy.linalg")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real)


@pytest.mark.parametrize("n, d", [(200, 5), (500, 20), (60, 40)])
def test_frechet_distance_matches_scipy(rng, n, d):
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    b = rng.normal(size=(n + 7, d)) * rng.uniform(0.5, 2, size=d) + rng.normal(size=d)
    assert frechet_distance(a, b) == pytest.approx(_scipy_frechet(a, b), rel=1e-6)


def test_frechet_distance_of_nested_lists(rng):
    # Lists failed with "'list' object has no attribute 'ndim'".
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
    assert frechet_distance(a.tolist(), b.tolist()) == frechet_distance(a, b)


def test_trace_sqrt_product_matches_scipy(rng):
    linalg = pytest.importorskip("scipy.linalg")
    m1, m2 = rng.normal(size=(6, 6)), rng.normal(size=(6, 9))
    s1, s2 = m1 @ m1.T, m2 @ m2.T
    assert trace_sqrt_product(s1, s2) == pytest.approx(np.trace(linalg.sqrtm(s1 @ s2)).real,
                                                       rel=1e-8)


def test_frechet_distance_closed_forms(rng):
    a = rng.normal(size=(300, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-9)
    # two 1-D Gaussians: (mu1 - mu2)^2 + (sigma1 - sigma2)^2
    mu1, s1, mu2, s2 = [0.0], [[4.0]], [1.0], [[9.0]]
    assert frechet_distance_from_moments(mu1, s1, mu2, s2) == pytest.approx(1 + 1)
    # rank-deficient covariances (fewer samples than features) stay finite and non-negative
    few = rng.normal(size=(5, 10))
    assert 0 <= frechet_distance(few, few + 0.1) < np.inf
    mu, cov = feature_moments(a)
    np.testing.assert_allclose(cov, np.cov(a, rowvar=False), rtol=1e-12)
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(a, a[:, :3])
    with pytest.raises(ValueError, match="N >= 2"):
        feature_moments(a[:1])


def test_psnr_and_mse():
    clean = np.zeros((2, 1, 2, 2))
    noisy = clean.copy()
    noisy[0] += 0.1
    noisy[1] += 0.01
    np.testing.assert_allclose(mse_per_image(clean, noisy), [0.01, 0.0001])
    assert psnr(clean, noisy) == pytest.approx((20 + 40) / 2)
    assert psnr(clean, clean) == 100.0
    assert psnr(clean, noisy * 2, data_range=2.0) == pytest.approx(psnr(clean, noisy))
    with pytest.raises(ValueError, match="one shape"):
        psnr(clean, noisy[:1])


@pytest.fixture(scope="module")
def lenet():
    return LeNet5(input_size=28, rng=np.random.default_rng(0))


def test_penultimate_features_are_lenets_f6(lenet):
    x = np.random.default_rng(0).random((7, 1, 28, 28), dtype=np.float32)
    feats = penultimate_features(lenet, x, batch_size=3)
    assert feats.shape == (7, 84)
    with cr.no_grad():
        expected = lenet.classifier[2](lenet.classifier[1](lenet.classifier[0](
            lenet.features(cr.tensor(x)))))._data
    np.testing.assert_allclose(feats, expected, rtol=1e-5, atol=1e-6)
    assert not lenet._modules["classifier"][3]._forward_pre_hooks  # the hook is removed
    with pytest.raises(ValueError, match="no nn.Linear"):
        penultimate_features(nn.Sequential(nn.Flatten()), x)


def test_evaluate_samples_reports(lenet):
    rng = np.random.default_rng(0)
    real = rng.random((40, 1, 28, 28), dtype=np.float32)
    fake = rng.random((30, 1, 28, 28), dtype=np.float32) * 0.5
    labels = np.arange(30) % 10
    report = evaluate_samples(lenet, real, fake, labels=labels, batch_size=16)
    assert sum(report["class_histogram"]) == 30 and len(report["class_histogram"]) == 10
    assert 0.1 <= report["confidence"] <= 1 and 0 <= report["label_accuracy"] <= 1
    assert report["classes_covered"] == sum(c > 0 for c in report["class_histogram"])
    assert 0 <= report["class_entropy"] <= np.log(10) + 1e-9
    assert report["lenet_frechet_distance"] == pytest.approx(
        lenet_frechet_distance(lenet, real, fake))
    assert lenet_frechet_distance(lenet, real, real) == pytest.approx(0.0, abs=1e-6)
    pred = classify(lenet, fake).argmax(axis=1)
    assert report["label_accuracy"] == pytest.approx((pred == labels).mean())
    one = evaluate_samples(lenet, real, fake, labels=3, batch_size=16)["label_accuracy"]
    assert one == pytest.approx((pred == 3).mean())
    # A column of labels (30, 1) was compared with all 30 predictions each (a 30 x 30 mean): a
    # wrong label accuracy, silently.
    with pytest.raises(ValueError, match=r"labels must be one class or one per sample \(30,\), "
                                         r"got shape \(30, 1\)"):
        evaluate_samples(lenet, real, fake, labels=labels[:, None])


class _Identity(nn.Module):
    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(cr.tensor([0.0]))

    def forward(self, x):
        return x


def test_reconstruction_report_of_the_identity():
    clean = np.random.default_rng(0).random((20, 1, 6, 6), dtype=np.float32)
    report = reconstruction_report(_Identity(), clean, noise_levels=("none", "gaussian:0.3",
                                                                      "mask:0.5"), rng=0)
    assert report["none"]["psnr"] == 100.0 and report["none"]["mse"] == 0.0
    for spec in ("gaussian:0.3", "mask:0.5"):
        assert report[spec]["mse"] == pytest.approx(report[spec]["input_mse"])
        assert report[spec]["psnr"] == pytest.approx(report[spec]["input_psnr"])
    assert report == reconstruction_report(_Identity(), clean,
                                           noise_levels=("none", "gaussian:0.3", "mask:0.5"),
                                           rng=0)
