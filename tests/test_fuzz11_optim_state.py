"""Fuzz wave 11: optimizer state dicts saved, loaded into a fresh optimizer and continued, with
a parameter group added by ``add_param_group`` (before or after some steps, with its own lr or
the defaults), beside torch.optim: the same trajectories in float64 and the same param-group
keys (less PyTorch's implementation flags, which chainrule checks but does not keep;
docs/pytorch.md).

Before this wave ``Adam``'s ``decoupled_weight_decay`` was the optimizer's, not a param-group
key: a group added with ``decoupled_weight_decay=True`` and a loaded state dict of
``Adam(decoupled_weight_decay=True)`` continued with L2 decay where PyTorch's decouple it.
"""

import copy
import io
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.2}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.2, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
    ("Adamax", {"lr": 0.05}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "t0": 2}),
    ("NAdam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("Rprop", {"lr": 0.05}),
    ("Adafactor", {"lr": 0.05}),
]
FLAGS = {"foreach", "fused", "capturable", "differentiable"}


def _step(lib, opt, params):
    for p in params:
        p.grad = None
    sum(((lib.tanh(p) + 0.3 * p - 0.1) ** 2).sum() for p in params).backward()
    opt.step()


def _run(lib, name, kw, arrays, extra, plan, reload=True):
    n1, n2, k_add, group_kw, mode = plan
    ps = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    qs = [lib.tensor(a.copy(), requires_grad=True) for a in extra]
    opt = getattr(lib.optim, name)(ps, **kw)
    seen, trajectory = ps, []
    for i in range(n1):
        if i == k_add:
            opt.add_param_group({"params": qs, **group_kw})
            seen = ps + qs
        _step(lib, opt, seen)
        trajectory.append([p.detach().numpy().copy() for p in seen])
    sd = opt.state_dict()
    if mode == "save":
        buf = io.BytesIO()
        lib.save(sd, buf)
        buf.seek(0)
        sd = cr.load(buf) if lib is cr else torch.load(buf, weights_only=False)
    elif mode == "deepcopy":
        sd = copy.deepcopy(sd)
    if not reload:  # the uninterrupted run
        for _ in range(n2):
            _step(lib, opt, seen)
            trajectory.append([p.detach().numpy().copy() for p in seen])
        return trajectory, _groups(opt)
    ps2 = [lib.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    qs2 = [lib.tensor(p.detach().numpy().copy(), requires_grad=True) for p in qs]
    opt2 = getattr(lib.optim, name)(ps2, **kw)
    seen = ps2
    if k_add < n1:
        opt2.add_param_group({"params": qs2, **group_kw})
        seen = ps2 + qs2
    opt2.load_state_dict(sd)
    for _ in range(n2):
        _step(lib, opt2, seen)
        trajectory.append([p.detach().numpy().copy() for p in seen])
    return trajectory, _groups(opt2)


def _groups(opt):
    return [{k: v for k, v in g.items() if k not in FLAGS and k != "params"}
            for g in opt.param_groups]


@pytest.mark.parametrize("seed", range(45))
def test_save_load_continue_with_added_group(seed):
    rng = np.random.default_rng(seed)
    name, kw = CONFIGS[seed % len(CONFIGS)]
    arrays = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
    extra = [rng.standard_normal((2, 2))]
    n1, n2 = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    group_kw = {"lr": float(rng.choice([0.01, 0.02]))} if rng.random() < 0.5 else {}
    plan = (n1, n2, int(rng.integers(0, n1 + 1)), group_kw, ["plain", "save", "deepcopy"][seed % 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # NAdam's mu_product and ASGD's eta/mu keep their float32 on a reload here, where PyTorch
        # casts them to float64 (docs/pytorch.md): the resumed run is PyTorch's uninterrupted one
        theirs, their_groups = _run(torch, name, kw, arrays, extra, plan,
                                    reload=name not in ("NAdam", "ASGD"))
    ours, our_groups = _run(cr, name, kw, arrays, extra, plan)
    assert len(ours) == len(theirs)
    for step, (o, t) in enumerate(zip(ours, theirs)):
        for a, b in zip(o, t):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10, err_msg=f"step {step}")
    assert [sorted(g) for g in our_groups] == [sorted(g) for g in their_groups]
    for g_ours, g_theirs in zip(our_groups, their_groups):
        assert {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in g_ours.items()} \
            == {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in g_theirs.items()}


def _adam_pair(lib, group_kw, loaded_decoupled):
    p = lib.tensor(np.ones(3), requires_grad=True)
    q = lib.tensor(np.ones(2), requires_grad=True)
    opt = lib.optim.Adam([p], lr=0.1, weight_decay=0.5)
    opt.add_param_group({"params": [q], **group_kw})
    for _ in range(3):
        p.grad, q.grad = lib.tensor(np.full(3, 0.1)), lib.tensor(np.full(2, 0.1))
        opt.step()
    src = lib.tensor(np.ones(3), requires_grad=True)
    first = lib.optim.Adam([src], lr=0.1, weight_decay=0.5,
                           decoupled_weight_decay=loaded_decoupled)
    src.grad = lib.tensor(np.full(3, 0.1))
    first.step()
    p2 = lib.tensor(src.detach().numpy().copy(), requires_grad=True)
    second = lib.optim.Adam([p2], lr=0.1, weight_decay=0.5)
    second.load_state_dict(first.state_dict())
    p2.grad = lib.tensor(np.full(3, 0.1))
    second.step()
    return [p.detach().numpy(), q.detach().numpy(), p2.detach().numpy()]


@pytest.mark.parametrize("decoupled", [True, False])
def test_adam_decoupled_weight_decay_is_a_group_key(decoupled):
    ours = _adam_pair(cr, {"decoupled_weight_decay": decoupled}, decoupled)
    theirs = _adam_pair(torch, {"decoupled_weight_decay": decoupled}, decoupled)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_adam_group_key_checked():
    p = cr.tensor(np.ones(2), requires_grad=True)
    opt = cr.optim.Adam([cr.tensor(np.ones(2), requires_grad=True)])
    with pytest.raises((TypeError, ValueError), match="decoupled_weight_decay"):
        opt.add_param_group({"params": [p], "decoupled_weight_decay": "yes"})
