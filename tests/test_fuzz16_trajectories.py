"""Fuzz wave 16: long float64 trajectories of every optimizer against torch.optim 2.13 (CPU):
random unusual options (maximize, amsgrad, nesterov, decoupled weight decay, centered...),
complex and real parameters in several groups (one added mid-run), gradients None at random,
the lr a 0-d Tensor at random, 30 steps of a loss whose gradient depends on the weights; the
run is also saved mid-way (state_dict), loaded into a fresh optimizer and continued, which must
equal the uninterrupted run."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _b(r):
    return bool(r.integers(2))


def _pick(r, *values):
    return values[int(r.integers(len(values)))]


def _sgd(r):
    m = _pick(r, 0.0, 0.9)
    d = _pick(r, 0.0, 0.3) if m else 0.0
    return dict(lr=0.05, momentum=m, dampening=d, weight_decay=_pick(r, 0.0, 0.1),
                nesterov=bool(m and not d and _b(r)), maximize=_b(r))


SPACE = {
    "SGD": _sgd,
    "Adam": lambda r: dict(lr=0.05, amsgrad=_b(r), maximize=_b(r), weight_decay=_pick(r, 0, 0.1),
                           decoupled_weight_decay=_b(r), betas=(_pick(r, 0.9, 0.5), 0.99)),
    "AdamW": lambda r: dict(lr=0.05, amsgrad=_b(r), maximize=_b(r), weight_decay=_pick(r, 0, 0.1)),
    "Adadelta": lambda r: dict(lr=_pick(r, 1.0, 0.5), rho=_pick(r, 0.9, 0.5), maximize=_b(r),
                               weight_decay=_pick(r, 0, 0.1)),
    "Adagrad": lambda r: dict(lr=0.05, lr_decay=_pick(r, 0, 0.01), maximize=_b(r),
                              weight_decay=_pick(r, 0, 0.1)),
    "Adamax": lambda r: dict(lr=0.05, maximize=_b(r), weight_decay=_pick(r, 0, 0.1)),
    "NAdam": lambda r: dict(lr=0.05, maximize=_b(r), weight_decay=_pick(r, 0, 0.1),
                            decoupled_weight_decay=_b(r), momentum_decay=_pick(r, 4e-3, 0.1)),
    "RAdam": lambda r: dict(lr=0.05, maximize=_b(r), weight_decay=_pick(r, 0, 0.1),
                            decoupled_weight_decay=_b(r)),
    "RMSprop": lambda r: dict(lr=0.01, momentum=_pick(r, 0.0, 0.9), centered=_b(r),
                              maximize=_b(r), weight_decay=_pick(r, 0, 0.1)),
    "Rprop": lambda r: dict(lr=0.05, maximize=_b(r), etas=(_pick(r, 0.5, 0.3), 1.2)),
}


def _plan(seed):
    r = np.random.default_rng(seed)
    name = list(SPACE)[seed % len(SPACE)]
    shapes = [(3, 2), (4,), (2, 2), ()]
    cplx = [_b(r) for _ in shapes]
    arrays = [r.standard_normal(s) + (1j * r.standard_normal(s) if c else 0)
              for s, c in zip(shapes, cplx, strict=True)]
    weights = [r.uniform(0.5, 2.0, s) for s in shapes]
    return dict(name=name, top=SPACE[name](r), group=SPACE[name](r) if _b(r) else {},
                arrays=arrays, weights=weights, tensor_lr=_b(r), late=int(r.integers(1, 20)),
                none=r.random((30, len(shapes))) < 0.15, save=int(r.integers(5, 25)))


def _make(lib, plan, ps, late):
    kw = dict(plan["top"])
    if plan["tensor_lr"]:
        kw["lr"] = lib.tensor(kw["lr"], dtype=lib.float64)
    opt = getattr(lib.optim, plan["name"])([{"params": ps[:2]}, {"params": ps[2:3],
                                                                  **plan["group"]}], **kw)
    if late:
        opt.add_param_group({"params": ps[3:]})
    return opt


def _run(lib, plan, reload=False):
    ps = [lib.tensor(a.copy(), requires_grad=True) for a in plan["arrays"]]
    ws = [lib.tensor(w) for w in plan["weights"]]
    opt = _make(lib, plan, ps, False)
    out = []
    for t in range(30):
        if t == plan["late"]:
            opt.add_param_group({"params": ps[3:]})
        if reload and t == plan["save"]:
            saved = opt.state_dict()
            opt = _make(lib, plan, ps, t >= plan["late"])
            opt.load_state_dict(saved)
        opt.zero_grad()
        # bounded gradients: maximize=True climbs without overflowing
        loss = sum((w * (p.abs() ** 2 + 1).log()).sum() + 0.1 * (p.abs() ** 2).sum().tanh()
                   for p, w in zip(ps, ws, strict=True))
        loss.backward()
        for p, none in zip(ps, plan["none"][t], strict=True):
            if none:
                p.grad = None
        opt.step()
        out.append(np.concatenate([np.asarray(p.detach().numpy(), dtype=complex).ravel()
                                   for p in ps]))
    return np.array(out)


@pytest.mark.parametrize("seed", range(40))
def test_long_trajectories_against_pytorch(seed):
    plan = _plan(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _run(cr, plan), _run(torch, plan)
        resumed = _run(cr, plan, reload=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)  # NAdam's float32 mu
    np.testing.assert_array_equal(resumed, ours)
