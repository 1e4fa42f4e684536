"""DeepFool and Carlini-Wagner against the exact distance to a linear classifier's boundary."""

import numpy as np
import pytest

from chainrule import Tensor, robust


def _margins(model, x):
    z = model(Tensor(x))._data
    return z[:, 1] - z[:, 0]


def test_deepfool_steps_exactly_onto_a_binary_hyperplane(binary_linear):
    model, x, y = binary_linear
    w = model.weight._data[1] - model.weight._data[0]
    f = _margins(model, x)
    res = robust.deepfool(model, x, y, overshoot=0.02)
    # one linearization of a linear model is the model: r = (|f| / ||w|| + 1e-4) w / ||w||, then
    # 1.02 r (the authors' code; 1e-4 is added to the distance, not to |f|)
    expected = 1.02 * (np.abs(f) / np.linalg.norm(w) + 1e-4)
    np.testing.assert_allclose(res.norms, expected, rtol=1e-10)
    assert res.success.all()
    assert (np.sign(_margins(model, res.adversarial)) == -np.sign(f)).all()


def test_deepfool_finds_the_nearest_of_several_linear_boundaries(rng, make_linear):
    model = make_linear(rng.normal(size=(4, 10)), rng.normal(size=4))
    x = rng.uniform(0.4, 0.6, size=(12, 10))
    z, w = model(Tensor(x))._data, model.weight._data
    k0 = z.argmax(1)
    # the distance to leave a linear region is the distance to its nearest face
    dist = np.array([min(abs(z[i, k] - z[i, k0[i]]) / np.linalg.norm(w[k] - w[k0[i]])
                         for k in range(4) if k != k0[i]) for i in range(12)])
    res = robust.deepfool(model, x, k0, overshoot=0.0)
    assert res.success.all()
    np.testing.assert_allclose(res.norms, dist, rtol=1e-4, atol=1e-4)
    assert (res.norms >= dist).all()


def test_cw_finds_nearly_the_minimal_perturbation_and_never_less(binary_linear):
    model, x, y = binary_linear
    w = model.weight._data[1] - model.weight._data[0]
    exact = np.abs(_margins(model, x)) / np.linalg.norm(w)
    res = robust.cw_l2(model, x, y, steps=200, lr=0.05, binary_steps=8)
    assert res.success.all()
    assert (res.norms >= exact * (1 - 1e-9)).all()      # nothing crosses closer than the plane
    assert (res.norms <= exact * 1.05).all()            # and the search gets within 5% of it


def test_cw_and_deepfool_stay_in_the_box_and_report_l2_norms(digits_mlp):
    model, x, y = digits_mlp
    for res in (robust.deepfool(model, x, y), robust.cw_l2(model, x, y, steps=40)):
        assert res.norm == "l2"
        assert res.adversarial.min() >= 0 and res.adversarial.max() <= 1
        d = (res.adversarial - x).reshape(len(x), -1).astype(np.float64)
        np.testing.assert_allclose(res.norms, np.sqrt((d ** 2).sum(1)), rtol=1e-5, atol=1e-6)
        assert res.success.mean() > 0.9


def test_examples_already_misclassified_need_no_perturbation(binary_linear):
    model, x, y = binary_linear
    res = robust.deepfool(model, x, 1 - y)   # every label is wrong: nothing to do
    assert res.success.all() and (res.norms == 0).all()


@pytest.mark.parametrize("call, message", [
    (lambda m, x, y: robust.cw_l2(m, x, y, c=0), "cw_l2: c must be a finite number > 0, got 0"),
    (lambda m, x, y: robust.cw_l2(m, x, y, lr=-1.0), "cw_l2: lr must be"),
    (lambda m, x, y: robust.deepfool(m, x, y, candidates=1), "candidates must be an int >= 2"),
    (lambda m, x, y: robust.deepfool(m, x, y, overshoot=float("nan")), "overshoot must be"),
])
def test_bad_arguments_are_named(binary_linear, call, message):
    model, x, y = binary_linear
    with pytest.raises(ValueError, match=message):
        call(model, x, y)
