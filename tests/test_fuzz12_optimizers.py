"""Fuzz wave 12: chainrule.optim against torch.optim 2.13 (CPU) with random flag combinations,
several parameter groups, parameters without gradients, zero-size parameters, inf/nan gradients
and state-dict round trips between the two libraries mid-run: weights, state and param groups.

Bugs this wave found are pinned by the regression tests at the top.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")


def test_rprop_nan_gradient_leaves_the_weight_as_pytorchs():
    """NumPy's sign(nan) is nan: a nan gradient made the weight nan, and the nan ``prev`` made
    the next step's weight nan too; PyTorch's sign(nan) is 0, so the weight stays."""
    grads = ([1.0, NAN, INF], [1.0, 1.0, -1.0], [NAN, 1.0, 1.0], [-1.0, -1.0, NAN])
    out = []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.Rprop([p], lr=0.1)
        for g in grads:
            p.grad = lib.tensor(g, dtype=lib.float64)
            opt.step()
        s = opt.state[p]
        out.append([np.asarray(t.detach().tolist()) for t in (p, s["prev"], s["step_size"])])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(out[0][0]).all()


def test_lbfgs_step_with_inf_loss_is_silent_and_as_pytorchs():
    """LBFGS.step did its arithmetic outside the numpy.errstate(all='ignore') of every other
    step: an inf loss warned 'invalid value encountered in multiply'. The closure itself still
    runs with the caller's NumPy error state."""
    out, seen = [], []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.LBFGS([p], lr=1, max_iter=5)
        scale = lib.tensor(INF, dtype=lib.float64)

        def closure(lib=lib, p=p, opt=opt, scale=scale):
            seen.append(np.geterr()["invalid"])
            opt.zero_grad()
            loss = (p ** 2).sum() * scale
            loss.backward()
            return loss

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = opt.step(closure)
        out.append((float(loss.detach()), p.detach().tolist()))
    np.testing.assert_array_equal(np.asarray(out[0][1]), np.asarray(out[1][1]))
    assert out[0][0] == out[1][0] == INF
    assert set(seen) == {np.geterr()["invalid"]}


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_amsgrad_max_keeps_a_nan_as_pytorchs(name):
    """The compiled Adam sweep took AMSGrad's running maximum with Python's max, which drops a
    nan second argument: after a nan gradient max_exp_avg_sq kept its old finite value where
    PyTorch's (torch.maximum) is nan."""
    states = []
    for lib in (cr, torch):
        p = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        opt = getattr(lib.optim, name)([p], lr=0.1, amsgrad=True)
        for g in ([1.0, 2.0, 3.0], [NAN, 1.0, -1.0], [1.0, 1.0, 1.0]):
            p.grad = lib.tensor(g, dtype=lib.float64)
            opt.step()
        states.append([np.asarray(opt.state[p][k].tolist()) for k in ("max_exp_avg_sq",
                                                                        "exp_avg_sq")])
        states[-1].append(np.asarray(p.detach().tolist()))
    for a, b in zip(*states):
        np.testing.assert_allclose(a, b, rtol=1e-14, equal_nan=True)
    assert np.isnan(states[0][0][0])


@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_adafactor_inf_gradient_steps_as_pytorchs(shape):
    """Adafactor moved its variances by beta2 v + (1 - beta2) g**2 where PyTorch's lerp computes
    g**2 - (g**2 - v) beta2 for 1 - beta2 >= 0.5: an inf gradient gave an inf variance where
    PyTorch's is nan, so a later update's rms was finite and clipped the other weights' steps
    (PyTorch's is nan and skips the clipping): finite weights differed by 6%."""
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(shape) for _ in range(3)]
    grads[1].flat[0] = INF
    out = []
    for lib in (cr, torch):
        p = lib.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape),
                       requires_grad=True)
        opt = lib.optim.Adafactor([p], lr=0.001, eps=(1e-30, 0.01), beta2_decay=-0.5)
        for g in grads:
            p.grad = lib.tensor(g.copy())
            opt.step()
        out.append(np.asarray(p.detach().tolist()))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-15, equal_nan=True)


def test_adagrad_state_exists_from_construction_as_pytorchs():
    """PyTorch's Adagrad makes every parameter's state (step 0, sum at the initial value) in its
    constructor: its state_dict() lists a parameter that has not had a gradient yet, chainrule's
    did not (its keys differed). A group added later gets its state at its first step, in
    both."""
    dicts = []
    for lib in (cr, torch):
        ps = [lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True) for _ in range(3)]
        ps.append(lib.tensor([1.0 + 2.0j], dtype=lib.complex128, requires_grad=True))
        opt = lib.optim.Adagrad([ps[0], ps[1], ps[3]], lr=0.1, initial_accumulator_value=0.5)
        before = opt.state_dict()["state"]
        opt.add_param_group({"params": [ps[2]]})
        ps[0].grad = lib.tensor([1.0, -1.0], dtype=lib.float64)
        opt.step()
        after = opt.state_dict()["state"]
        dicts.append([{k: {n: np.asarray(v.tolist()) for n, v in s.items()}
                       for k, s in d.items()} for d in (before, after)])
    for ours, theirs in zip(*dicts):
        assert sorted(ours) == sorted(theirs) == [0, 1, 2]
        for k in theirs:
            assert sorted(ours[k]) == sorted(theirs[k])
            for n in theirs[k]:
                np.testing.assert_array_equal(ours[k][n], theirs[k][n])
