"""Eighth fuzz wave: loss modules under random options (reduction, weight, ignore_index,
label_smoothing, pos_weight, log_input, full...), their weight buffers ported from PyTorch through
``load_state_dict`` (float64)."""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz8_port import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

_LOSSES = ["L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "PoissonNLLLoss", "GaussianNLLLoss", "KLDivLoss", "HuberLoss", "SmoothL1Loss",
           "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
           "MultiLabelMarginLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss",
           "MarginRankingLoss", "TripletMarginLoss"]


def _class_loss(rng, name, kw, N, C, extra):
    unbatched = rng.random() < 0.15
    xs = (C,) if unbatched else (N, C) + extra
    x = rng.standard_normal(xs)
    if name == "NLLLoss":
        x = x - np.log(np.exp(x).sum(axis=0 if unbatched else 1, keepdims=True))
    if rng.random() < 0.3:
        kw["weight"] = rng.random(C) + 0.1
    if rng.random() < 0.4:
        kw["ignore_index"] = int(rng.choice([-100, 0, C - 1, -1]))
    if name == "CrossEntropyLoss" and rng.random() < 0.4:
        kw["label_smoothing"] = float(rng.choice([0.1, 0.5, 1.0]))
    if name == "CrossEntropyLoss" and rng.random() < 0.3:  # class probabilities
        kw.pop("ignore_index", None)
        t = rng.random(xs)
        return [x, t / t.sum(axis=0 if unbatched else 1, keepdims=True)], [0, 1]
    t = rng.integers(0, C, () if unbatched else (N,) + extra)
    if rng.random() < 0.3:
        t.flat[0] = kw.get("ignore_index", C)  # ignored, or out of range (refused)
    if rng.random() < 0.05:
        t[...] = kw.get("ignore_index", -100)  # all ignored: mean is 0 / 0
    return [x, t], [0]


def _draw_loss(rng):
    name = str(rng.choice(_LOSSES))
    kw = {"reduction": str(rng.choice(["mean", "sum", "none"]
                                      + (["batchmean"] if name == "KLDivLoss" else [])))}
    N, C = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    extra = tuple(int(v) for v in rng.integers(1, 3, int(rng.integers(0, 3))))
    shp = (N,) + ((C,) + extra if rng.random() < 0.7 else ())
    grad = [0, 1]
    if name in ("L1Loss", "MSELoss", "HuberLoss", "SmoothL1Loss", "SoftMarginLoss"):
        t = rng.standard_normal(shp)
        arrays = [rng.standard_normal(shp), np.sign(t) if name == "SoftMarginLoss" else t]
        kw.update({"HuberLoss": {"delta": float(rng.choice([0.5, 1.0, 2.0]))},
                   "SmoothL1Loss": {"beta": float(rng.choice([0.0, 0.5, 1.0, 2.0]))}
                   }.get(name, {}))
        grad = [0] if name == "SoftMarginLoss" else grad  # PyTorch: not with respect to target
    elif name in ("CrossEntropyLoss", "NLLLoss"):
        arrays, grad = _class_loss(rng, name, kw, N, C, extra)
    elif name in ("BCELoss", "BCEWithLogitsLoss"):
        x, t = rng.standard_normal(shp), rng.random(shp)
        t = (t > 0.5).astype(float) if rng.random() < 0.3 else t
        arrays = [1 / (1 + np.exp(-x)) if name == "BCELoss" else x, t]
        if rng.random() < 0.3:
            kw["weight"] = rng.random(shp[-1:] if rng.random() < 0.6 else shp) + 0.1
        if name == "BCEWithLogitsLoss" and rng.random() < 0.4:
            kw["pos_weight"] = rng.random(shp[-1:]) * 3 + 0.1
    elif name == "PoissonNLLLoss":
        kw.update(log_input=bool(rng.random() < 0.5), full=bool(rng.random() < 0.5),
                  eps=float(rng.choice([1e-8, 0.1])))
        x = rng.standard_normal(shp) if kw["log_input"] else rng.random(shp) + 0.05
        arrays = [x, rng.poisson(2.0, shp).astype(float)]
        grad = [0] if kw["full"] else grad  # the target's, at target 0: tested below
    elif name == "GaussianNLLLoss":
        kw.update(full=bool(rng.random() < 0.5), eps=float(rng.choice([1e-6, 0.1])))
        var = rng.random(shp if rng.random() < 0.5 else shp[:-1] + (1,)) + 0.05
        arrays, grad = [rng.standard_normal(shp), rng.standard_normal(shp), var], [0, 1, 2]
    elif name == "KLDivLoss":
        kw["log_target"] = bool(rng.random() < 0.5)
        t = rng.random(shp) + 0.01
        arrays = [np.log(rng.random(shp) + 0.01), np.log(t) if kw["log_target"] else t]
    elif name in ("MultiLabelSoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss"):
        x, grad = rng.standard_normal((N, C)), [0]
        if name == "MultiLabelSoftMarginLoss":
            t = (rng.random((N, C)) < 0.5).astype(float)
        elif name == "MultiMarginLoss":
            t = rng.integers(0, C, N)
            kw.update(p=int(rng.choice([1, 2])), margin=float(rng.choice([0.5, 1.0, 2.0])))
        else:
            t = np.full((N, C), -1)
            for r in range(N):
                n = int(rng.integers(0, C + 1))
                t[r, :n] = rng.permutation(C)[:n]
        if name != "MultiLabelMarginLoss" and rng.random() < 0.3:
            kw["weight"] = rng.random(C) + 0.1
        arrays = [x, t]
    elif name == "HingeEmbeddingLoss":
        arrays = [rng.standard_normal(shp), np.where(rng.random(shp) < 0.5, 1.0, -1.0)]
        kw["margin"], grad = float(rng.choice([0.5, 1.0, 2.0])), [0]
    elif name in ("CosineEmbeddingLoss", "MarginRankingLoss"):
        shape = (N, C) if name == "CosineEmbeddingLoss" else (N,)
        arrays = [rng.standard_normal(shape), rng.standard_normal(shape),
                  np.where(rng.random(N) < 0.5, 1.0, -1.0)]
        kw["margin"] = float(rng.choice([0.0, 0.3, -0.5 if shape == (N, C) else 1.0]))
    else:
        arrays, grad = [rng.standard_normal((N, C)) for _ in range(3)], [0, 1, 2]
        kw.update(margin=float(rng.choice([0.5, 1.0, 2.0])), p=float(rng.choice([1.0, 2, 3])),
                  eps=float(rng.choice([1e-6, 0.1])), swap=bool(rng.random() < 0.5))
    tensors = {k: v for k, v in kw.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in kw.items() if k not in tensors}

    def make(lib):  # weight and pos_weight are buffers: they travel in the state_dict
        m = getattr(lib.nn, name)(**plain, **{k: lib.tensor(v) for k, v in tensors.items()})
        return m, lambda m, *a: m(*a)

    desc = f"{name}({plain}, {sorted(tensors)}) {[a.shape for a in arrays]}"
    return desc, make, arrays, grad


@pytest.mark.parametrize("seed", range(4))
def test_losses_ported_from_pytorch(seed):
    rng = np.random.default_rng(890 + seed)
    counts = {"compared": 0, "raised": 0}
    for _ in range(60):
        desc, make, arrays, grad = _draw_loss(rng)
        try:
            counts[check(make, arrays, rng, grad=grad)] += 1
        except AssertionError as e:
            raise AssertionError(desc) from e
    assert counts["compared"] >= 50, counts


def test_poisson_nll_full_gradient_at_a_zero_target_is_finite():
    # docs/pytorch.md: full=True adds Stirling's term only where target > 1; PyTorch masks the
    # term after computing it, so its gradient with respect to a target of 0 is NaN (0 * inf);
    # chainrule's is the masked term's 0, and elsewhere the two agree
    x = np.array([0.3, -0.2, 0.5])
    t = np.array([0.0, 1.0, 3.0])
    tt = torch.tensor(t, requires_grad=True)
    torch.nn.PoissonNLLLoss(full=True, reduction="sum")(torch.tensor(x), tt).backward()
    ct = cr.tensor(t, requires_grad=True)
    cr.nn.PoissonNLLLoss(full=True, reduction="sum")(cr.tensor(x), ct).backward()
    assert np.isnan(tt.grad[0].item())
    np.testing.assert_allclose(ct.grad.numpy()[0], -x[0], rtol=1e-15)  # d(-t * x)/dt
    np.testing.assert_allclose(ct.grad.numpy()[1:], tt.grad.numpy()[1:], rtol=1e-13)


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss"])
def test_regression_losses_refuse_the_shapes_pytorch_broadcasts(name):
    # docs/pytorch.md: PyTorch broadcasts input (N, 1) against target (N,) to (N, N) with a
    # UserWarning, a silently different loss; chainrule refuses shapes that differ
    x, t = np.arange(3.0).reshape(3, 1), np.array([0.5, 1.0, 4.0])
    with pytest.warns(UserWarning, match="different to the input size"):
        out = getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(t))
    assert out.shape == ()
    with pytest.raises(ValueError, match=r"input shape \(3, 1\) and target shape \(3,\) differ"):
        getattr(cr.nn.functional, name)(cr.tensor(x), cr.tensor(t))


def _draw_ctc(rng):
    T, C, N = int(rng.integers(1, 8)), int(rng.integers(2, 6)), int(rng.integers(1, 4))
    blank = int(rng.integers(0, C)) if rng.random() < 0.5 else 0
    unbatched = rng.random() < 0.15
    n = 1 if unbatched else N
    il = rng.integers(1, T + 1, n)
    tl = np.array([int(rng.integers(0, min(il[b], 4) + 1)) for b in range(n)])
    labels = [c for c in range(C) if c != blank]
    S = int(max(tl.max(), 1))
    tg = np.array([[labels[int(k)] for k in rng.integers(0, len(labels), S)] for _ in range(n)])
    if rng.random() < 0.3:
        tg[:, 1:] = tg[:, :-1]  # repeated labels need a blank between them
    if rng.random() < 0.5:
        targets = tg[0, :tl[0]] if unbatched else tg
    else:
        targets = np.concatenate([tg[b, :tl[b]] for b in range(n)])
    kw = dict(blank=blank, reduction=str(rng.choice(["mean", "sum", "none"])),
              zero_infinity=bool(rng.random() < 0.5))
    as_tensor = rng.random() < 0.6

    def make(lib):
        def call(m, x, tg):
            a, b = tuple(il.tolist()), tuple(tl.tolist())
            if as_tensor:  # unbatched: 0-d lengths
                a, b = (lib.tensor(v[0] if unbatched else list(v)) for v in (a, b))
            return m(lib.nn.functional.log_softmax(x, -1), tg, a, b)
        return lib.nn.CTCLoss(**kw), call

    x = rng.standard_normal((T, C) if unbatched else (T, N, C))
    # PyTorch's gradient of an infinite loss is NaN at the input frames only (docs/pytorch.md)
    finite = all(tl[b] + int(np.sum(tg[b, 1:tl[b]] == tg[b, :max(tl[b] - 1, 0)])) <= il[b]
                 for b in range(n))
    grad = [0] if finite or kw["zero_infinity"] else []
    return f"CTCLoss({kw}) T={T} C={C} il={il} tl={tl}", make, [x, targets], grad


def test_ctc_loss_against_pytorch():
    rng = np.random.default_rng(895)
    for _ in range(80):
        desc, make, arrays, grad = _draw_ctc(rng)
        try:
            assert check(make, arrays, rng, grad=grad) == "compared"
        except AssertionError as e:
            raise AssertionError(desc) from e


def test_ctc_gradient_of_an_infinite_loss_is_nan_over_all_frames():
    # docs/pytorch.md: PyTorch's is NaN at the sample's first input_length frames, 0 after
    x = np.random.default_rng(0).standard_normal((3, 1, 3))
    grads = []
    for lib in (torch, cr):
        t = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.ctc_loss(lib.nn.functional.log_softmax(t, -1),
                                          lib.tensor([[1, 2]]), lib.tensor([1]), lib.tensor([2]))
        assert np.isinf(loss.item())
        loss.backward()
        grads.append(t.grad.numpy())
    assert np.isnan(grads[0][0]).all() and (grads[0][1:] == 0).all()
    assert np.isnan(grads[1]).all()


@pytest.mark.parametrize("name", ["l1_loss", "huber_loss", "smooth_l1_loss"])
def test_mean_over_an_empty_batch_is_nan_as_pytorch(name):
    # they raised "mean: cannot average over zero elements" (mse_loss and the others gave NaN)
    x = cr.tensor(np.zeros((0, 3)), requires_grad=True)
    got = getattr(cr.nn.functional, name)(x, cr.tensor(np.zeros((0, 3))))
    want = getattr(torch.nn.functional, name)(torch.zeros(0, 3), torch.zeros(0, 3))
    assert np.isnan(got.item()) and np.isnan(want.item())
    got.backward()
    assert x.grad.shape == (0, 3)
