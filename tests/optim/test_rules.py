"""Each update rule against its closed form, computed by hand in float64 (no PyTorch needed)."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim


def _steps(opt, p, grads):
    """Apply ``grads`` one per step; return the parameter after each step."""
    out = []
    for g in grads:
        p.grad = cr.tensor(np.asarray(g, dtype=p.dtype))
        opt.step()
        out.append(p._data.copy())
    return out


P0 = np.array([1.0, -2.0, 0.5])
G = [np.array([0.3, -0.1, 2.0]), np.array([-0.2, 0.4, 1.0]), np.array([0.1, 0.1, -0.5])]


def _p():
    return cr.tensor(P0.copy(), requires_grad=True)


def test_sgd_one_step_is_p_minus_lr_g():
    p = _p()
    (after,) = _steps(optim.SGD([p], lr=0.1), p, G[:1])
    np.testing.assert_allclose(after, P0 - 0.1 * G[0], rtol=1e-15)


@pytest.mark.kernel_free
def test_sgd_default_lr_is_torchs():
    assert optim.SGD([_p()]).defaults["lr"] == 1e-3


def test_sgd_momentum_sequence():
    p = _p()
    lr, mu, tau = 0.1, 0.9, 0.25
    got = _steps(optim.SGD([p], lr=lr, momentum=mu, dampening=tau), p, G)
    b1 = G[0]
    b2 = mu * b1 + (1 - tau) * G[1]
    b3 = mu * b2 + (1 - tau) * G[2]
    expected = [P0 - lr * b1, P0 - lr * (b1 + b2), P0 - lr * (b1 + b2 + b3)]
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_sgd_nesterov_and_weight_decay():
    p = _p()
    lr, mu, wd = 0.1, 0.9, 0.01
    got = _steps(optim.SGD([p], lr=lr, momentum=mu, nesterov=True, weight_decay=wd), p, G[:2])
    g1 = G[0] + wd * P0
    p1 = P0 - lr * (g1 + mu * g1)
    g2 = G[1] + wd * p1
    b2 = mu * g1 + g2
    p2 = p1 - lr * (g2 + mu * b2)
    np.testing.assert_allclose(got, [p1, p2], rtol=1e-14)


def test_sgd_maximize_ascends():
    p = _p()
    (after,) = _steps(optim.SGD([p], lr=0.1, maximize=True), p, G[:1])
    np.testing.assert_allclose(after, P0 + 0.1 * G[0], rtol=1e-15)


def _adam_reference(p, grads, lr, b1, b2, eps, wd=0.0, decoupled=False, amsgrad=False):
    m = v = vmax = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(vhat) + eps)
        out.append(p)
    return out


def test_adam_first_step_is_about_lr_times_sign():
    p = _p()
    (after,) = _steps(optim.Adam([p], lr=0.01), p, G[:1])
    np.testing.assert_allclose(after, P0 - 0.01 * G[0] / (np.abs(G[0]) + 1e-8), rtol=1e-13)


@pytest.mark.parametrize(
    ("cls", "kwargs", "ref"),
    [
        (optim.Adam, {"lr": 0.01, "betas": (0.8, 0.9)}, {}),
        (optim.Adam, {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True},
         {"wd": 0.1, "amsgrad": True}),
        (optim.AdamW, {"lr": 0.01, "eps": 1e-3}, {"wd": 0.01, "decoupled": True}),
        (optim.AdamW, {"lr": 0.01, "weight_decay": 0.5, "amsgrad": True},
         {"wd": 0.5, "decoupled": True, "amsgrad": True}),
    ],
)
def test_adam_family_matches_the_formula(cls, kwargs, ref):
    p = _p()
    opt = cls([p], **kwargs)
    got = _steps(opt, p, G)
    group = opt.param_groups[0]
    expected = _adam_reference(P0, G, group["lr"], *group["betas"], group["eps"], **ref)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_amsgrad_keeps_the_largest_second_moment():
    p = _p()
    opt = optim.Adam([p], amsgrad=True, betas=(0.0, 0.5))
    _steps(opt, p, [np.array([4.0, 4.0, 4.0]), np.array([0.0, 0.0, 0.0])])
    state = opt.state[p]
    np.testing.assert_allclose(state["exp_avg_sq"], 4.0)
    np.testing.assert_allclose(state["max_exp_avg_sq"], 8.0)


def test_rmsprop_first_steps():
    lr, alpha, eps = 0.01, 0.9, 1e-8
    p = _p()
    got = _steps(optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps), p, G[:2])
    v1 = (1 - alpha) * G[0] ** 2
    p1 = P0 - lr * G[0] / (np.sqrt(v1) + eps)
    v2 = alpha * v1 + (1 - alpha) * G[1] ** 2
    p2 = p1 - lr * G[1] / (np.sqrt(v2) + eps)
    np.testing.assert_allclose(got, [p1, p2], rtol=1e-13)


def test_rmsprop_centered_with_momentum():
    lr, alpha, mu = 0.01, 0.9, 0.5
    p = _p()
    got = _steps(optim.RMSprop([p], lr=lr, alpha=alpha, momentum=mu, centered=True), p, G[:2])
    v1, a1 = (1 - alpha) * G[0] ** 2, (1 - alpha) * G[0]
    b1 = G[0] / (np.sqrt(v1 - a1**2) + 1e-8)  # = sign(g) / sqrt(alpha (1 - alpha)), nearly
    p1 = P0 - lr * b1
    v2 = alpha * v1 + (1 - alpha) * G[1] ** 2
    a2 = alpha * a1 + (1 - alpha) * G[1]
    b2 = mu * b1 + G[1] / (np.sqrt(v2 - a2**2) + 1e-8)
    np.testing.assert_allclose(got, [p1, p1 - lr * b2], rtol=1e-12)
    np.testing.assert_allclose(b1, np.sign(G[0]) / math.sqrt(alpha * (1 - alpha)), rtol=1e-6)


def test_adagrad_steps_with_lr_decay():
    lr, decay, s0, eps = 0.1, 0.5, 0.2, 1e-10
    p = _p()
    got = _steps(optim.Adagrad([p], lr=lr, lr_decay=decay, initial_accumulator_value=s0), p, G[:2])
    s1 = s0 + G[0] ** 2
    p1 = P0 - lr * G[0] / (np.sqrt(s1) + eps)
    s2 = s1 + G[1] ** 2
    p2 = p1 - lr / (1 + decay) * G[1] / (np.sqrt(s2) + eps)
    np.testing.assert_allclose(got, [p1, p2], rtol=1e-14)


def test_maximize_is_minimize_with_negated_gradients():
    for cls in (optim.Adam, optim.RMSprop, optim.Adagrad):
        up, down = _p(), _p()
        a = _steps(cls([up], maximize=True), up, G)
        b = _steps(cls([down]), down, [-g for g in G])
        np.testing.assert_array_equal(a, b, err_msg=cls.__name__)


def test_float32_parameters_stay_float32():
    p = cr.tensor(P0.astype(np.float32), requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad):
        opt = cls([p], weight_decay=0.1)
        _steps(opt, p, G)
        assert p.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[p].values() if hasattr(v, "dtype"))
