"""Fuzz wave 14: the losses of ``nn.functional`` against PyTorch (values, dtypes, shapes, errors
and float64 gradients through ``_fuzz12_check.check``), beside wave 8's module forms
(``test_fuzz8_losses.py``): float32 and float64, empty batches, K-dimensional and unbatched class
losses, class-probability targets, extreme logits, second-order gradients and bad arguments.

Before this wave:

* ``cross_entropy`` with class-probability targets and an ``ignore_index`` >= 0 computed the loss
  of every sample, ignoring nothing; PyTorch refuses the combination ("ignore_index is not
  supported for floating point target").
* The mean of an empty batch warned "invalid value encountered in scalar divide" (an error under
  pytest's ``-W error``) in ``cross_entropy`` (class labels of (0, C) logits, or probabilities),
  ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``, ``mse_loss`` and
  ``kl_div(reduction="batchmean")``; it is NaN, quietly, as PyTorch's (and as the other
  losses' already was).
* ``binary_cross_entropy`` of a NaN probability computed a NaN loss; PyTorch refuses it ("all
  elements of input should be between 0 and 1"), as this already refused NaN targets.
* ``binary_cross_entropy_with_logits`` at an infinite logit with target 0 (any ``-inf``, and
  ``+inf`` with target 1) was NaN (``inf * 0`` in ``max(z, 0) - z t``), with NumPy's warning;
  PyTorch's own formula is NaN at every ``-inf`` logit. It is now the loss's limit (0 or inf),
  quietly (docs/pytorch.md, "What differs on purpose").
* ``gaussian_nll_loss`` took a ``var`` with size 1 only in the last axis; PyTorch takes size 1 in
  any one axis (a variance shared by the channels: (N, 1, H, W) for input (N, C, H, W)).
* ``triplet_margin_loss`` refused inputs of rank other than 1 or 2; PyTorch takes any one rank
  (a batch of (N, K, D) triplets, distances along the last axis).
* ``reduction="elementwise_mean"`` (PyTorch 0.4's name of "mean", which PyTorch 2.13 still
  reads with a deprecation warning, in every loss but ``gaussian_nll_loss``,
  ``poisson_nll_loss``, ``multilabel_soft_margin_loss`` and ``triplet_margin_with_distance_loss``)
  was refused. ``kl_div`` warned about "mean" also where PyTorch does not: under the deprecated
  ``size_average``/``reduce`` (and now "elementwise_mean").
* ``kl_div`` of a negative target (an invalid probability) took its ``t log t`` as 0 and gave a
  finite loss, silently; PyTorch's is NaN there (log of a negative number), as it is now.
* ``cross_entropy``/``nll_loss`` of one unbatched sample (C,) refused its label as a (1,) tensor
  (``criterion(out, torch.tensor([y]))``); PyTorch takes it as the 0-d label.
* ``AdaptiveLogSoftmaxWithLoss`` of an empty batch raised "mean: cannot average over zero
  elements"; PyTorch gives an empty output and a NaN loss.

Checked and found equal (seeded cases below): cross_entropy/nll_loss with weights, ignore_index,
label_smoothing, (N, C, d1, ...), (C,) and empty inputs, all-ignored targets, probability
targets (float64 gradients of both arguments); the elementwise, margin and soft-margin losses
under every reduction; ctc_loss with padded and concatenated targets of int64 and int32, tuple
and tensor lengths; second-order gradients of every loss PyTorch differentiates twice.

Left as they are (deliberate, documented, or PyTorch's own defects): shapes and dtypes PyTorch
broadcasts or promotes (refused here); ``soft_margin_loss`` differentiates its target (PyTorch
refuses) and stays finite in float32 where PyTorch's overflows to inf; ``binary_cross_entropy``'s
target gradient at p = 0 or 1 is that of the clamped loss (PyTorch's: inf); ``kl_div``'s target
gradient at a zero target is finite (docs/pytorch.md); an empty batch of ``multi_margin_loss``
or ``multilabel_margin_loss`` (PyTorch returns uninitialised memory); ``ctc_loss`` of targets
that hold the blank (refused) and of an empty batch (PyTorch refuses it, this computes).
Also left: ``multi_margin_loss`` at infinite logits (PyTorch adds a hinge only where it is > 0,
so its ``inf - inf`` NaN, and any NaN input, counts 0; here NaN); ``multi_margin_loss`` of a 0-d
input or a (C,) input with a (1,) target and ``multilabel_margin_loss`` of a 0-d input (PyTorch
computes, refused here); targets and weights PyTorch refuses by dtype (int32 labels, a float32
weight of float64 logits: taken here); a negative ``label_smoothing`` (PyTorch computes, refused
here); the modules GaussianNLLLoss, PoissonNLLLoss, MultiLabelSoftMarginLoss and
TripletMarginWithDistanceLoss take "elementwise_mean" (PyTorch's refuse it at the call); loss
modules' repr shows a reduction other than "mean" (PyTorch's does not).

New: PyTorch 2.13's ``nn.LinearCrossEntropyLoss``/``F.linear_cross_entropy`` (a linear map and
cross entropy in one criterion; its chunking ``options`` accepted, the value of PyTorch's
reference implementation).
"""

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr

from ._case_loop import each_case, grid
from ._fuzz12_check import check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def F(lib):  # noqa: N802 - the usual alias
    return lib.nn.functional


def _compare(torch, label, fn, *arrays, grad=()):
    check(torch, fn, *arrays, grad=grad, label=label)


def _class_case(rng):
    unbatched = rng.random() < 0.15
    N, C = int(rng.integers(0, 4)), int(rng.integers(1, 5))
    extra = tuple(int(v) for v in rng.integers(0, 3, int(rng.integers(0, 3))))
    shape = (C,) if unbatched else (N, C) + extra
    dt = str(rng.choice(["float64", "float32"]))
    x = (rng.standard_normal(shape) * rng.choice([1, 30, 1000])).astype(dt)
    kw = {"reduction": str(rng.choice(["mean", "sum", "none"]))}
    if rng.random() < 0.4:
        kw["label_smoothing"] = float(rng.choice([0.0, 0.1, 0.5, 1.0]))
    w = (rng.random(C) + 0.1).astype(dt) if rng.random() < 0.4 else None
    probs = rng.random() < 0.35
    if probs:
        t = rng.random(shape).astype(dt)
        if rng.random() < 0.5:
            t = t / np.maximum(t.sum(axis=0 if unbatched else 1, keepdims=True), 1e-9)
        if rng.random() < 0.3:
            t = (t > 0.5).astype(dt)
        if rng.random() < 0.3:
            kw["ignore_index"] = int(rng.choice([-100, -1, 0]))  # >= 0 is refused
    else:
        if rng.random() < 0.4:
            kw["ignore_index"] = int(rng.choice([-100, 0, C - 1, -1]))
        t = rng.integers(0, C, () if unbatched else (N,) + extra)
        if rng.random() < 0.3 and t.size:
            t.flat[0] = kw.get("ignore_index", -100)
        if rng.random() < 0.1:
            t[...] = kw.get("ignore_index", -100)
    return x, t, w, kw, probs


@pytest.mark.parametrize("seed", range(3))
def test_cross_entropy_and_nll_loss_against_pytorch(seed):
    rng = np.random.default_rng(1400 + seed)
    for k in range(50):
        x, t, w, kw, probs = _class_case(rng)
        f64 = x.dtype == np.float64
        label = f"case {k}: {x.shape} {x.dtype} probs={probs} {kw} weight={w is not None}"

        def ce(lib, x, t, w=w, kw=kw):
            return F(lib).cross_entropy(x, t, None if w is None else lib.tensor(w), **kw)

        _compare(torch, label, ce, x, t, grad=([0, 1] if probs else [0]) if f64 else [])
        if not probs:
            nkw = {k: v for k, v in kw.items() if k != "label_smoothing"}

            def nll(lib, x, t, w=w, kw=nkw):
                lp = F(lib).log_softmax(x, 0 if x.ndim == 1 else 1)
                return F(lib).nll_loss(lp, t, None if w is None else lib.tensor(w), **kw)

            _compare(torch, "nll " + label, nll, x, t, grad=[0] if f64 else [])


def test_probability_targets_refuse_a_nonnegative_ignore_index():
    # cross_entropy ignored nothing and computed every sample's loss; PyTorch refuses
    x, q = np.zeros((2, 3)), np.full((2, 3), 1 / 3)
    for ii in (0, 2, 5):
        with pytest.raises(RuntimeError, match="ignore_index is not supported"):
            torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(q), ignore_index=ii)
        with pytest.raises(ValueError, match=f"ignore_index={ii} does not apply to class prob"):
            F(cr).cross_entropy(cr.tensor(x), cr.tensor(q), ignore_index=ii)
        with pytest.raises(ValueError, match="ignore_index"):
            cr.nn.CrossEntropyLoss(ignore_index=ii)(cr.tensor(x), cr.tensor(q))
    for ii in (-100, -1):  # negative: taken, as PyTorch (no label can equal it)
        _compare(torch, f"ignore_index={ii}", lambda lib, a, b, ii=ii:
                 F(lib).cross_entropy(a, b, ignore_index=ii), x + np.arange(3), q, grad=[0, 1])



@pytest.mark.parametrize("name", ["ce_labels", "ce_probs", "bce", "bce_logits", "mse",
                                  "kl_batchmean"])
def test_mean_over_an_empty_batch_is_nan_quietly(name):
    # the division by zero samples warned (pyproject's filterwarnings makes that an error)
    x, p, lab = np.zeros((0, 3)), np.full((0, 3), 0.5), np.zeros(0, np.int64)
    fn, args = {"ce_labels": (lambda lib, a, b: F(lib).cross_entropy(a, b), (x, lab)),
                "ce_probs": (lambda lib, a, b: F(lib).cross_entropy(a, b), (x, p)),
                "bce": (lambda lib, a, b: F(lib).binary_cross_entropy(a, b), (p, p)),
                "bce_logits": (lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(a, b),
                               (x, p)),
                "mse": (lambda lib, a, b: F(lib).mse_loss(a, b), (x, p)),
                "kl_batchmean": (lambda lib, a, b: F(lib).kl_div(a, b, reduction="batchmean"),
                                 (x, p))}[name]
    _compare(torch, name, fn, *args, grad=[0])
    out = fn(cr, *(cr.tensor(a) for a in args))
    assert out.shape == () and np.isnan(out.item())


def test_binary_cross_entropy_refuses_a_nan_probability():
    # it computed NaN (its range check let NaN through); PyTorch refuses, as for a NaN target
    p, t = np.array([0.2, np.nan]), np.array([0.0, 1.0])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t))
    with pytest.raises(ValueError, match=r"input must hold probabilities in \[0, 1\]"):
        F(cr).binary_cross_entropy(cr.tensor(p), cr.tensor(t))
    with pytest.raises(ValueError, match="input must hold probabilities"):
        cr.nn.BCELoss()(cr.tensor(p), cr.tensor(t))


@pytest.mark.parametrize("pos_weight", [None, 2.0, 0.0])
def test_binary_cross_entropy_with_logits_at_infinite_logits_is_the_limit(pos_weight):
    # a masked logit of -inf with target 0 gave NaN (and a warning): its loss is 0
    z = np.array([np.inf, np.inf, np.inf, -np.inf, -np.inf, -np.inf, 2.0])
    t = np.array([0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.3])
    pw = None if pos_weight is None else cr.tensor(pos_weight)
    zc = cr.tensor(z, requires_grad=True)
    got = F(cr).binary_cross_entropy_with_logits(zc, cr.tensor(t), reduction="none",
                                                 pos_weight=pw)
    p = 1.0 if pos_weight is None else pos_weight
    want = [np.inf, np.inf, 0.0, 0.0, np.inf * p if p else 0.0, np.inf * p if p else 0.0]
    np.testing.assert_array_equal(got.numpy()[:6], want)
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        zt, torch.tensor(t), reduction="none",
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight))
    np.testing.assert_allclose(got.numpy()[[0, 1, 6]], ref.detach().numpy()[[0, 1, 6]],
                               rtol=1e-15)
    assert np.isnan(ref.detach().numpy()[3:6]).all()  # PyTorch's formula at -inf
    got.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(zc.grad.numpy(), zt.grad.numpy(), rtol=1e-15)
    f32 = F(cr).binary_cross_entropy_with_logits(cr.tensor(z.astype(np.float32)),
                                                 cr.tensor(t.astype(np.float32)))
    assert f32.dtype == cr.float32 and np.isinf(f32.item())


@pytest.mark.parametrize("var_shape", [(2, 3, 4), (2, 3), (1, 3, 4), (2, 1, 4), (2, 3, 1),
                                       (1, 1, 4), (3, 4), (2, 3, 2), (4,), ()])
def test_gaussian_nll_loss_var_shapes_against_pytorch(var_shape):
    # (1, 3, 4) and (2, 1, 4) were refused; the others were already PyTorch's
    rng = np.random.default_rng(1414)
    x, t = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    v = rng.random(var_shape) + 0.1
    for full, red in ((False, "mean"), (True, "none")):
        _compare(torch, f"var {var_shape}", lambda lib, a, b, c, full=full, red=red:
                 F(lib).gaussian_nll_loss(a, b, c, full=full, reduction=red), x, t, v,
                 grad=[0, 1, 2])
    if var_shape == (2, 1, 4):
        m = cr.nn.GaussianNLLLoss()
        vt = cr.tensor(v, requires_grad=True)
        assert cr.autograd.gradcheck(lambda a: m(cr.tensor(x), cr.tensor(t), a), (vt,))


def _margin_case(rng, k):
    dt = str(rng.choice(["float64", "float32"]))
    red = str(rng.choice(["mean", "sum", "none"]))
    N, C = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    rank = int(rng.choice([0, 1, 2, 2, 3]))
    shape = ((N, 2, C) if rank == 3 else (N, C) if rank == 2 else (C,) if rank == 1 else ())
    a, b, c = (rng.standard_normal(shape).astype(dt) for _ in range(3))
    if rng.random() < 0.2:
        b = a.copy()  # a zero distance: the eps of pairwise_distance
    p, swap = float(rng.choice([1.0, 2.0, 3.0, 0.5])), bool(rng.random() < 0.5)
    eps, margin = float(rng.choice([1e-6, 0.0, 0.1])), float(rng.choice([0.5, 1.0, 3.0]))
    g = [0, 1, 2] if dt == "float64" else []
    label = f"triplet {k}: {shape} {dt} {red} p={p} swap={swap} eps={eps} margin={margin}"
    _compare(torch, label, lambda lib, x, y, z: F(lib).triplet_margin_loss(
        x, y, z, margin=margin, p=p, eps=eps, swap=swap, reduction=red), a, b, c, grad=g)
    kind = int(rng.integers(0, 3))

    def dist(lib):
        return [None, lambda u, v: 1 - F(lib).cosine_similarity(u, v, dim=-1),
                lambda u, v: (u - v).abs().sum(-1)][kind]

    if rank:
        _compare(torch, f"{label} distance {kind}", lambda lib, x, y, z:
                 F(lib).triplet_margin_with_distance_loss(x, y, z, distance_function=dist(lib),
                                                          margin=margin, swap=swap,
                                                          reduction=red), a, b, c, grad=g)
    x2 = (rng.standard_normal((N, C)) * rng.choice([1, 100])).astype(dt)
    t01 = (rng.random((N, C)) < 0.5).astype(dt if rng.random() < 0.7 else "int64")
    w = (rng.random(C) + 0.1).astype(dt) if rng.random() < 0.5 else None
    _compare(torch, f"multilabel_soft_margin {k} {dt} {red}", lambda lib, x, t:
             F(lib).multilabel_soft_margin_loss(x, t, None if w is None else lib.tensor(w),
                                                reduction=red), x2, t01, grad=g[:1])
    lists = np.full((N, C), -1)
    for row in lists:
        n = int(rng.integers(0, C + 1))
        row[:n] = rng.integers(0, C, n) if rng.random() < 0.3 else rng.permutation(C)[:n]
    _compare(torch, f"multilabel_margin {k} {dt} {red} {lists.tolist()}", lambda lib, x, t:
             F(lib).multilabel_margin_loss(x, t, reduction=red), x2, lists, grad=g[:1])
    y = rng.integers(0, C, N)
    mp, mm = int(rng.choice([1, 2])), float(rng.choice([0.0, 1.0, 2.5]))
    _compare(torch, f"multi_margin {k} {dt} {red} p={mp} margin={mm}", lambda lib, x, t:
             F(lib).multi_margin_loss(x, t, p=mp, margin=mm, reduction=red,
                                      weight=None if w is None else lib.tensor(w)),
             x2, y, grad=g[:1])
    ys = np.where(rng.random(N) < 0.5, 1.0, -1.0).astype(dt)
    m2 = float(rng.choice([0.0, 0.5, -0.5]))
    _compare(torch, f"cosine_embedding {k} {dt} {red}", lambda lib, x, z, t:
             F(lib).cosine_embedding_loss(x, z, t, margin=m2, reduction=red),
             x2, rng.standard_normal((N, C)).astype(dt), ys, grad=g[:2])
    _compare(torch, f"margin_ranking {k} {dt} {red}", lambda lib, x, z, t:
             F(lib).margin_ranking_loss(x, z, t, margin=m2, reduction=red),
             x2[:, 0].copy(), a.reshape(-1)[:1].repeat(N), ys, grad=g[:2])
    _compare(torch, f"hinge_embedding {k} {dt} {red}", lambda lib, x, t:
             F(lib).hinge_embedding_loss(x, t, margin=abs(m2), reduction=red),
             x2, np.where(rng.random((N, C)) < 0.5, 1.0, -1.0).astype(dt), grad=g[:1])


@pytest.mark.parametrize("seed", range(2))
def test_margin_losses_against_pytorch(seed):
    rng = np.random.default_rng(1420 + seed)
    for k in range(30):
        _margin_case(rng, k)


_ELEMENTWISE_MEAN = {
    "mse_loss": (lambda F, a, b, r: F.mse_loss(a, b, reduction=r), 0),
    "l1_loss": (lambda F, a, b, r: F.l1_loss(a, b, reduction=r), 0),
    "huber_loss": (lambda F, a, b, r: F.huber_loss(a, b, reduction=r), 0),
    "smooth_l1_loss": (lambda F, a, b, r: F.smooth_l1_loss(a, b, reduction=r), 0),
    "cross_entropy": (lambda F, a, b, r: F.cross_entropy(a, b, reduction=r), 1),
    "nll_loss": (lambda F, a, b, r: F.nll_loss(a, b, reduction=r), 1),
    "binary_cross_entropy": (lambda F, a, b, r: F.binary_cross_entropy(a, b, reduction=r), 2),
    "bce_with_logits": (lambda F, a, b, r: F.binary_cross_entropy_with_logits(
        a, b, reduction=r), 3),
    "kl_div": (lambda F, a, b, r: F.kl_div(a, b, reduction=r), 3),
    "soft_margin_loss": (lambda F, a, b, r: F.soft_margin_loss(a, b.sign(), reduction=r), 0),
    "hinge_embedding_loss": (lambda F, a, b, r: F.hinge_embedding_loss(a, b.sign(),
                                                                       reduction=r), 0),
    "multi_margin_loss": (lambda F, a, b, r: F.multi_margin_loss(a, b, reduction=r), 1),
    "triplet_margin_loss": (lambda F, a, b, r: F.triplet_margin_loss(a, b, a * 0.5,
                                                                     reduction=r), 0),
}


def _elementwise_mean_is_the_deprecated_name_of_mean_case(name):
    # PyTorch 0.4's reduction name was refused ("reduction must be one of ...")
    fn, kind = _ELEMENTWISE_MEAN[name]
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 4))
    second = [x * 0.5, np.array([0, 3, 1]), 1 / (1 + np.exp(-x)), np.abs(x)][kind]
    first = 1 / (1 + np.exp(x)) if kind == 2 else x
    for lib in (torch, cr):
        a, b = lib.tensor(first), lib.tensor(second)
        with pytest.warns(UserWarning, match="elementwise_mean' is deprecated"):
            got = fn(lib.nn.functional, a, b, "elementwise_mean")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # kl_div's about "mean"
            assert got.item() == fn(lib.nn.functional, a, b, "mean").item()


def test_elementwise_mean_is_the_deprecated_name_of_mean():
    each_case(_elementwise_mean_is_the_deprecated_name_of_mean_case, grid(
        ("name", sorted(_ELEMENTWISE_MEAN)),
    ))


def test_elementwise_mean_in_modules_and_ctc():
    rng = np.random.default_rng(15)
    lp = rng.standard_normal((4, 1, 3))
    x, lab = rng.standard_normal((2, 3)), np.array([2, 0])
    for lib in (torch, cr):
        with pytest.warns(UserWarning, match="elementwise_mean' is deprecated"):
            m = lib.nn.CrossEntropyLoss(reduction="elementwise_mean")  # warns here: chainrule
            out = m(lib.tensor(x), lib.tensor(lab))  # here: PyTorch
        assert out.item() == pytest.approx(
            lib.nn.functional.cross_entropy(lib.tensor(x), lib.tensor(lab)).item(), rel=1e-15)
    got = []
    for lib in (torch, cr):
        logp = lib.nn.functional.log_softmax(lib.tensor(lp), 2)
        with pytest.warns(UserWarning, match="elementwise_mean' is deprecated"):
            got.append(lib.nn.functional.ctc_loss(logp, lib.tensor([[1, 2]]), [4], [2],
                                                  reduction="elementwise_mean").item())
    assert got[1] == pytest.approx(got[0], rel=1e-12)
    for lib in (torch, cr):  # these refuse it in PyTorch, and here
        a = lib.tensor(x)
        with pytest.raises(ValueError, match="elementwise_mean"):
            lib.nn.functional.poisson_nll_loss(a, a.abs(), reduction="elementwise_mean")
        with pytest.raises(ValueError, match="elementwise_mean"):
            lib.nn.functional.multilabel_soft_margin_loss(a, a.abs(),
                                                          reduction="elementwise_mean")
        with pytest.raises(ValueError, match="elementwise_mean"):
            lib.nn.functional.gaussian_nll_loss(a, a, a.abs(), reduction="elementwise_mean")
        with pytest.raises(ValueError, match="elementwise_mean"):
            lib.nn.functional.triplet_margin_with_distance_loss(a, a, a,
                                                                reduction="elementwise_mean")


def test_kl_div_warns_about_mean_only_where_pytorch_does():
    # it also warned under the deprecated size_average/reduce, which PyTorch reads silently
    # (but for their own deprecation warning)
    x, t = np.log(np.full((2, 3), 1 / 3)), np.full((2, 3), 1 / 3)
    for lib in (torch, cr):
        with pytest.warns(UserWarning) as record:
            lib.nn.functional.kl_div(lib.tensor(x), lib.tensor(t), size_average=True)
        assert not any("batchmean" in str(w.message) for w in record), lib.__name__
        with pytest.warns(UserWarning, match="batchmean"):
            lib.nn.functional.kl_div(lib.tensor(x), lib.tensor(t))


def _grad(p):
    return np.zeros(tuple(p.shape)) if p.grad is None else p.grad.numpy()


def test_adaptive_log_softmax_with_loss_against_pytorch():
    rng = np.random.default_rng(1430)
    for k in range(16):
        n_in, n_cls = int(rng.integers(8, 12)), int(rng.integers(4, 12))
        cutoffs = sorted(rng.choice(np.arange(1, n_cls), size=min(int(rng.integers(1, 3)),
                                                                  n_cls - 1), replace=False))
        kw = dict(div_value=float(rng.choice([1.0, 2.0])), head_bias=bool(rng.random() < 0.5))
        tm = torch.nn.AdaptiveLogSoftmaxWithLoss(n_in, n_cls, [int(c) for c in cutoffs],
                                                 **kw).double()
        cm = cr.nn.AdaptiveLogSoftmaxWithLoss(n_in, n_cls, [int(c) for c in cutoffs], **kw,
                                              dtype=cr.float64)
        cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
        n = [0, 0, 1, 3, 4][k % 5]  # the empty batch raised; PyTorch: NaN loss
        x, y = rng.standard_normal((n, n_in)), rng.integers(0, n_cls, n)
        xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
        ot, oc = tm(xt, torch.tensor(y)), cm(xc, cr.tensor(y))
        assert tuple(oc.output.shape) == tuple(ot.output.shape) == (n,)
        np.testing.assert_allclose(oc.output.numpy(), ot.output.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(oc.loss.item(), ot.loss.item(), atol=1e-12, equal_nan=True)
        if not n:
            continue
        ot.loss.backward()
        oc.loss.backward()
        np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), atol=1e-12)
        cps = dict(cm.named_parameters())
        for name, p in tm.named_parameters():
            np.testing.assert_allclose(_grad(cps[name]), _grad(p), atol=1e-12, err_msg=name)
        np.testing.assert_allclose(cm.log_prob(xc).detach().numpy(),
                                   tm.log_prob(xt).detach().numpy(), atol=1e-12)
        np.testing.assert_array_equal(cm.predict(xc).numpy(), tm.predict(xt).numpy())


def _elementwise_case(rng, k):
    shape = tuple(int(v) for v in rng.integers(0, 4, int(rng.integers(0, 4))))
    dt = str(rng.choice(["float64", "float32"]))
    red = str(rng.choice(["mean", "sum", "none"]))
    g2 = [0, 1] if dt == "float64" else []
    x = (rng.standard_normal(shape) * rng.choice([1, 50])).astype(dt)
    t = rng.standard_normal(shape).astype(dt)
    tag = f"{k}: {shape} {dt} {red}"
    delta, beta = float(rng.choice([0.5, 1.0, 3.0])), float(rng.choice([0.0, 0.5, 1.0]))
    for name, kw in (("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": delta}),
                     ("smooth_l1_loss", {"beta": beta})):
        _compare(torch, f"{name} {tag} {kw}", lambda lib, a, b, name=name, kw=kw:
                 getattr(F(lib), name)(a, b, reduction=red, **kw), x, t, grad=g2)
    p = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(dt)
    if p.size and rng.random() < 0.3:
        p.flat[0] = rng.choice([0.0, 1.0])  # the clamped logs
    q = rng.random(shape).astype(dt)
    q = (q > 0.5).astype(dt) if rng.random() < 0.4 else q
    w = ((rng.random(shape[int(rng.integers(0, len(shape) + 1)):]) + 0.1).astype(dt)
         if rng.random() < 0.5 else None)
    pw = ((rng.random(shape[int(rng.integers(0, len(shape) + 1)):]) * 3).astype(dt)
          if rng.random() < 0.5 else None)

    def opt(lib, v):
        return None if v is None else lib.tensor(v)

    # the target's gradient at p = 0 or 1 is that of the clamped loss here, inf in PyTorch
    _compare(torch, f"bce {tag}", lambda lib, a, b: F(lib).binary_cross_entropy(
        a, b, opt(lib, w), reduction=red), p, q, grad=g2 if np.all((p > 0) & (p < 1)) else g2[:1])
    _compare(torch, f"bce_with_logits {tag}", lambda lib, a, b: F(lib).
             binary_cross_entropy_with_logits(a, b, opt(lib, w), reduction=red,
                                              pos_weight=opt(lib, pw)), x, q, grad=g2)
    log_target = bool(rng.random() < 0.5)
    kred = str(rng.choice(["mean", "sum", "none", "batchmean"]))
    tk = (rng.random(shape) + 0.01).astype(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "mean" of kl_div, in both
        _compare(torch, f"kl_div {tag} {kred} {log_target}", lambda lib, a, b: F(lib).kl_div(
            a, b, reduction=kred, log_target=log_target), -np.abs(x),
            np.log(tk) if log_target else tk, grad=g2)
    log_input, full = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
    eps = float(rng.choice([1e-8, 0.5]))
    _compare(torch, f"poisson {tag} {log_input} {full}", lambda lib, a, b: F(lib).
             poisson_nll_loss(a, b, log_input=log_input, full=full, eps=eps, reduction=red),
             x if log_input else np.abs(x), rng.poisson(2.0, shape).astype(dt), grad=g2[:1])
    if dt == "float64":  # PyTorch's float32 soft margin overflows to inf at large margins
        _compare(torch, f"soft_margin {tag}", lambda lib, a, b: F(lib).soft_margin_loss(
            a, b, reduction=red), x, np.sign(t), grad=g2[:1])
    m = float(rng.choice([0.0, 1.0, -0.5, 2.0]))
    _compare(torch, f"hinge_embedding {tag}", lambda lib, a, b: F(lib).hinge_embedding_loss(
        a, b, margin=m, reduction=red), x, np.where(t > 0, 1.0, -1.0).astype(dt), grad=g2[:1])


@pytest.mark.parametrize("seed", range(2))
def test_elementwise_losses_against_pytorch(seed):
    rng = np.random.default_rng(1440 + seed)
    for k in range(30):
        _elementwise_case(rng, k)


def _ctc_case(rng, k):
    T, C, N = int(rng.integers(1, 7)), int(rng.integers(2, 6)), int(rng.integers(1, 4))
    dt = str(rng.choice(["float64", "float32"]))
    blank = int(rng.integers(0, C)) if rng.random() < 0.6 else 0
    unbatched = rng.random() < 0.15
    n = 1 if unbatched else N
    il = rng.integers(1, T + 1, n)
    tl = rng.integers(0, 5, n)
    labels = [c for c in range(C) if c != blank]
    tg = rng.choice(labels, (n, int(tl.max()) + int(rng.random() < 0.2)))
    layout = int(rng.integers(0, 2))
    targets = (tg[0, :tl[0]] if unbatched else tg) if layout == 0 else \
        np.concatenate([tg[b, :tl[b]] for b in range(n)])
    targets = targets.astype(np.int32 if rng.random() < 0.2 else np.int64)
    red, zero_inf = str(rng.choice(["mean", "sum", "none"])), bool(rng.random() < 0.5)
    as_tensors = int(rng.integers(0, 3))
    x = rng.standard_normal((T, C) if unbatched else (T, N, C)).astype(dt)

    def fn(lib, x, tgt):
        if as_tensors == 0:
            a, b = tuple(il.tolist()), tuple(tl.tolist())
        else:
            a, b = (lib.tensor(v[0] if unbatched and as_tensors == 2 else v) for v in (il, tl))
        return F(lib).ctc_loss(F(lib).log_softmax(x, -1), tgt, a, b, blank=blank,
                               reduction=red, zero_infinity=zero_inf)

    label = f"ctc {k}: T={T} C={C} il={il} tl={tl} blank={blank} layout={layout} {dt} {red}"
    # an infinite loss's gradient is NaN over different frames in PyTorch (docs/pytorch.md)
    _compare(torch, label, fn, x, targets, grad=[0] if dt == "float64" and zero_inf else [])


def test_ctc_loss_target_layouts_against_pytorch():
    rng = np.random.default_rng(1450)
    for k in range(60):
        _ctc_case(rng, k)


def _second_order(lib, fn, arrays, wrt):
    ts = [lib.tensor(a, requires_grad=i in wrt) for i, a in enumerate(arrays)]
    out = fn(lib, *ts)
    w = lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)))
    gs = lib.autograd.grad((out * w).sum(), [ts[i] for i in wrt], create_graph=True,
                           allow_unused=True)
    total = sum((g * lib.tensor(np.random.default_rng(2 + k).standard_normal(tuple(g.shape))))
                .sum() for k, g in enumerate(gs) if g is not None)
    g2 = lib.autograd.grad(total, [ts[i] for i in wrt], allow_unused=True)
    return [np.zeros(arrays[i].shape) if g is None else g.detach().numpy()
            for i, g in zip(wrt, g2)]


_SECOND_ORDER = {
    "cross_entropy": (lambda lib, x, t, q, lab: F(lib).cross_entropy(
        x, lib.tensor(lab), label_smoothing=0.2), 0),
    "cross_entropy_probs": (lambda lib, x, t, q, lab: F(lib).cross_entropy(x, q), 2),
    "nll_loss": (lambda lib, x, t, q, lab: F(lib).nll_loss(F(lib).log_softmax(x, 1),
                                                            lib.tensor(lab)), 0),
    "binary_cross_entropy": (lambda lib, x, t, q, lab: F(lib).binary_cross_entropy(
        F(lib).sigmoid(x), q), 2),
    "bce_with_logits": (lambda lib, x, t, q, lab: F(lib).binary_cross_entropy_with_logits(
        x, q, pos_weight=lib.tensor(np.array([0.5, 2.0, 1.0]))), 2),
    "mse_loss": (lambda lib, x, t, q, lab: F(lib).mse_loss(x, t), 1),
    "huber_loss": (lambda lib, x, t, q, lab: F(lib).huber_loss(x, t, delta=0.7), 1),
    "kl_div": (lambda lib, x, t, q, lab: F(lib).kl_div(x, t, reduction="batchmean",
                                                       log_target=True), 1),
    "poisson_nll_loss": (lambda lib, x, t, q, lab: F(lib).poisson_nll_loss(x, t.abs()), 0),
    "gaussian_nll_loss": (lambda lib, x, t, q, lab: F(lib).gaussian_nll_loss(x, t, q), 2),
    "multilabel_soft_margin": (lambda lib, x, t, q, lab: F(lib).multilabel_soft_margin_loss(
        x, q.round()), 0),
    "cosine_embedding": (lambda lib, x, t, q, lab: F(lib).cosine_embedding_loss(
        x, t, lib.tensor(np.array([1.0, -1.0, 1.0, -1.0])), margin=-0.5), 1),
    "triplet_margin": (lambda lib, x, t, q, lab: F(lib).triplet_margin_loss(
        x, t, q, margin=3.0, p=3, swap=True), 2),
}


@pytest.mark.parametrize("name", sorted(_SECOND_ORDER))
def test_second_order_gradients_against_pytorch(name):
    fn, last = _SECOND_ORDER[name]
    rng = np.random.default_rng(1460)
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    q = rng.random((4, 3)) + 0.05
    q = q / q.sum(1, keepdims=True)
    lab = np.array([0, 2, 1, 2])
    wrt = list(range(last + 1))

    def call(lib, *ts):
        return fn(lib, *ts, lab)

    want = _second_order(torch, call, [x, t, q], wrt)
    got = _second_order(cr, call, [x, t, q], wrt)
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=f"{name} argument {i}")


_R = np.random.default_rng(1470)
_X, _X13, _X32 = _R.standard_normal((2, 3)), _R.standard_normal((1, 3)), _R.standard_normal((3, 2))
_P = 1 / (1 + np.exp(-_X))
_ERRORS = [  # (label, function, arrays): PyTorch and chainrule both refuse each
    ("bad reduction", lambda lib, a, b: F(lib).mse_loss(a, b, reduction="avg"), (_X, _X)),
    ("batchmean outside kl_div", lambda lib, a, b: F(lib).l1_loss(a, b, reduction="batchmean"),
     (_X, _X)),
    ("ce reduction", lambda lib, a, b: F(lib).cross_entropy(a, b, reduction="MEAN"),
     (_X, np.array([0, 1]))),
    ("ce label out of range", lambda lib, a, b: F(lib).cross_entropy(a, b), (_X, np.array([0, 3]))),
    ("ce negative label", lambda lib, a, b: F(lib).cross_entropy(a, b), (_X, np.array([-1, 0]))),
    ("nll label out of range", lambda lib, a, b: F(lib).nll_loss(a, b), (_X, np.array([3, 0]))),
    ("ce labels of another length", lambda lib, a, b: F(lib).cross_entropy(a, b),
     (_X, np.array([0]))),
    ("ce labels (N, 1)", lambda lib, a, b: F(lib).cross_entropy(a, b), (_X, np.array([[0], [1]]))),
    ("ce probabilities of another shape", lambda lib, a, b: F(lib).cross_entropy(a, b),
     (_X, _X32)),
    ("ce bool labels", lambda lib, a, b: F(lib).cross_entropy(a, b), (_X, np.array([True, False]))),
    ("ce smoothing > 1", lambda lib, a, b: F(lib).cross_entropy(a, b, label_smoothing=1.5),
     (_X, np.array([0, 1]))),
    ("ce weight of another length", lambda lib, a, b, w: F(lib).cross_entropy(a, b, w),
     (_X, np.array([0, 1]), np.ones(2))),
    ("nll 0-d input", lambda lib, a, b: F(lib).nll_loss(a, b), (np.float64(1), np.int64(0))),
    ("bce input > 1", lambda lib, a, b: F(lib).binary_cross_entropy(a, b), (_P + 1, _P)),
    ("bce target > 1", lambda lib, a, b: F(lib).binary_cross_entropy(a, b), (_P, _P + 1)),
    ("bce shapes", lambda lib, a, b: F(lib).binary_cross_entropy(a, b), (_P, _P[:1])),
    ("bce weight shape", lambda lib, a, b, w: F(lib).binary_cross_entropy(a, b, w),
     (_P, _P, np.ones(2))),
    ("bce_with_logits shapes", lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(a, b),
     (_X, _X13)),
    ("bce_with_logits pos_weight shape", lambda lib, a, b, w: F(lib).
     binary_cross_entropy_with_logits(a, b, pos_weight=w), (_X, _P, np.ones(2))),
    ("gaussian negative var", lambda lib, a, b, v: F(lib).gaussian_nll_loss(a, b, v),
     (_X, _X, -np.ones((2, 3)))),
    ("gaussian var shape", lambda lib, a, b, v: F(lib).gaussian_nll_loss(a, b, v),
     (_X, _X, np.ones((3, 2)))),
    ("gaussian var two axes", lambda lib, a, b, v: F(lib).gaussian_nll_loss(a, b, v),
     (_X[None], _X[None], np.ones((1, 1, 1)))),  # input (1, 2, 3): two axes differ
    ("margin ranking ranks", lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y),
     (_X, _X, np.ones(3))),
    ("cosine embedding 3-D", lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y),
     (_X[None], _X[None], np.ones((1, 2)))),
    ("cosine embedding target shape", lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y),
     (_X, _X, np.ones(3))),
    ("triplet ranks", lambda lib, a, b, c: F(lib).triplet_margin_loss(a, b, c), (_X, _X[0], _X)),
    ("triplet shapes", lambda lib, a, b, c: F(lib).triplet_margin_loss(a, b, c), (_X, _X32, _X)),
    ("triplet margin 0", lambda lib, a, b, c: F(lib).triplet_margin_loss(a, b, c, margin=0.0),
     (_X, _X, _X)),
    ("triplet distance margin < 0", lambda lib, a, b, c: F(lib).
     triplet_margin_with_distance_loss(a, b, c, margin=-1.0), (_X, _X, _X)),
    ("multi margin p=3", lambda lib, a, b: F(lib).multi_margin_loss(a, b, p=3),
     (_X, np.array([0, 1]))),
    ("multi margin 3-D", lambda lib, a, b: F(lib).multi_margin_loss(a, b),
     (_X[None], np.array([[0, 1]]))),
    ("multi margin class out of range", lambda lib, a, b: F(lib).multi_margin_loss(a, b),
     (_X, np.array([0, 3]))),
    ("multilabel margin class 3", lambda lib, a, b: F(lib).multilabel_margin_loss(a, b),
     (_X, np.array([[0, 3, -1], [1, -1, 0]]))),
    ("multilabel margin -2", lambda lib, a, b: F(lib).multilabel_margin_loss(a, b),
     (_X, np.array([[0, -2, -1], [1, -1, 0]]))),
    ("multilabel margin target shape", lambda lib, a, b: F(lib).multilabel_margin_loss(a, b),
     (_X, np.array([0, 1]))),
    ("multilabel soft margin 0-d", lambda lib, a, b: F(lib).multilabel_soft_margin_loss(a, b),
     (np.float64(1), np.float64(0))),
    ("ctc blank out of range", lambda lib, a: F(lib).ctc_loss(a, lib.tensor([[1]]), [2], [1],
                                                              blank=3), (np.zeros((2, 1, 3)),)),
    ("ctc input length > T", lambda lib, a: F(lib).ctc_loss(a, lib.tensor([[1]]), [3], [1]),
     (np.zeros((2, 1, 3)),)),
    ("ctc target length > S", lambda lib, a: F(lib).ctc_loss(a, lib.tensor([[1]]), [2], [2]),
     (np.zeros((2, 1, 3)),)),
]


def _bad_arguments_are_refused_as_in_pytorch_case(label):
    fn, arrays = next((f, a) for name, f, a in _ERRORS if name == label)
    assert check(torch, fn, *arrays, label=label) is None  # both raised


def test_bad_arguments_are_refused_as_in_pytorch():
    each_case(_bad_arguments_are_refused_as_in_pytorch_case, grid(
        ("label", [e[0] for e in _ERRORS]),
    ))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_an_unbatched_sample_takes_its_label_as_a_1_element_tensor(name):
    # input (C,) with target tensor([y]) was refused ("target of shape (1,) does not match")
    x = np.array([0.1, 0.5, -0.3])
    fn = getattr
    for kw in ({}, {"reduction": "none"}, {"reduction": "sum"}, {"ignore_index": 1},
               {"ignore_index": 2}):
        for t in (np.array([1]), np.array([1], np.uint8), np.array([3]), np.array([1, 2])):
            _compare(torch, f"{name} {kw} {t}", lambda lib, a, b, kw=kw:
                     fn(F(lib), name)(a, b, **kw), x, t, grad=[0])
        _compare(torch, f"{name} weight", lambda lib, a, b, w: fn(F(lib), name)(a, b, w),
                 x, np.array([2]), np.array([1.0, 2.0, 3.0]), grad=[0])
    # one class: a (1,) target has the input's shape, so PyTorch reads it as probabilities
    _compare(torch, f"{name} one class", lambda lib, a, b: fn(F(lib), name)(a, b),
             np.array([0.3]), np.array([0]))


_R2 = np.random.default_rng(1480)
_XM, _TM = _R2.standard_normal((3, 4)), _R2.standard_normal((3, 4))
_PM, _LAB, _W = 1 / (1 + np.exp(-_TM)), np.array([0, 3, 1]), _R2.random(4) + 0.1
_MODULES = {  # name: (call arrays, positional constructor arguments in PyTorch's order)
    "L1Loss": ([_XM, _TM], []), "MSELoss": ([_XM, _TM], []),
    "CrossEntropyLoss": ([_XM, _LAB], [_W, None, 1]), "NLLLoss": ([_XM, _LAB], [_W, None, 3]),
    "BCELoss": ([_PM, _PM[::-1].copy()], [_W]), "BCEWithLogitsLoss": ([_XM, _PM], [_W]),
    "KLDivLoss": ([_XM, _PM], []), "PoissonNLLLoss": ([_XM, np.abs(_TM)], [False, True]),
    "HingeEmbeddingLoss": ([_XM, np.sign(_TM)], [0.5]), "SoftMarginLoss": ([_XM, np.sign(_TM)], []),
    "MultiLabelSoftMarginLoss": ([_XM, (_TM > 0) * 1.0], [_W]),
    "MultiMarginLoss": ([_XM, _LAB], [2, 0.5, _W]),
    "MultiLabelMarginLoss": ([_XM, np.array([[0, 1, -1, 0], [3, -1, 0, 0], [-1, 0, 0, 0]])], []),
    "MarginRankingLoss": ([_XM[:, 0].copy(), _TM[:, 0].copy(), np.sign(_TM[:, 1])], [0.3]),
    "CosineEmbeddingLoss": ([_XM, _TM, np.sign(_TM[:, 1])], [0.2]),
    "TripletMarginLoss": ([_XM, _TM, _PM], [0.5, 1.5, 1e-3, True]),
}


@pytest.mark.parametrize("name", sorted(_MODULES))
def test_loss_modules_positional_and_deprecated_arguments_against_pytorch(name):
    arrays, pre = _MODULES[name]

    def build(lib, legacy):
        ctor = getattr(lib.nn, name)
        args = [lib.tensor(v) if isinstance(v, np.ndarray) else v for v in pre]
        if legacy is None:
            return ctor(*args)
        names = list(inspect.signature(getattr(torch.nn, name).__init__).parameters)[1:]
        return ctor(**dict(zip(names, args)), size_average=legacy[0], reduce=legacy[1])

    for legacy in (None, (None, None), (False, None), (True, False), (None, False), (False, True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the deprecation of size_average
            _compare(torch, f"{name} {legacy}", lambda lib, *ts: build(lib, legacy)(*ts),
                     *arrays, grad=[0])


def _lce_case(rng, k):
    n_in, C = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    positions = tuple(int(v) for v in rng.integers(1, 3, int(rng.choice([0, 0, 1, 2]))))
    unbatched = not positions and rng.random() < 0.2
    N = int(rng.integers(0, 4))
    x = rng.standard_normal((n_in,) if unbatched else (N, n_in))
    w = rng.standard_normal((C, *positions, n_in))
    b = rng.standard_normal((C, *positions))
    logits = ((C,) if unbatched else (N, C)) + positions
    kw = {"reduction": str(rng.choice(["mean", "sum", "none"])),
          "label_smoothing": float(rng.choice([0.0, 0.2]))}
    cw = rng.random(C) + 0.1 if rng.random() < 0.4 else None
    if rng.random() < 0.3:  # class probabilities: ignore_index must stay None
        t = rng.random(logits)
        t, grad = t / t.sum(axis=0 if unbatched else 1, keepdims=True), [0, 1, 2, 3]
    else:
        t, grad = rng.integers(0, C, () if unbatched else (N, *positions)), [0, 1, 2]
        ii = rng.choice([None, -1, 0])
        kw["ignore_index"] = None if ii is None else int(ii)
        if t.size and rng.random() < 0.3:
            t.flat[0] = -1 if kw["ignore_index"] is None else kw["ignore_index"]
    with_bias = rng.random() < 0.5

    def fn(lib, x, w, b, t):
        return F(lib).linear_cross_entropy(x, w, t, linear_bias=b if with_bias else None,
                                           weight=None if cw is None else lib.tensor(cw), **kw)

    _compare(torch, f"linear_cross_entropy {k}: x {x.shape} w {w.shape} {kw} bias={with_bias}",
             fn, x, w, b, t, grad=grad)


def test_linear_cross_entropy_against_pytorch():
    # new: PyTorch 2.13's F.linear_cross_entropy (its reference value: linear, then cross_entropy)
    rng = np.random.default_rng(1490)
    for k in range(50):
        _lce_case(rng, k)
    x, w = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True), \
        cr.tensor(rng.standard_normal((2, 2, 4)), requires_grad=True)
    t = cr.tensor(np.array([[0, 1], [1, 1], [0, 0]]))
    assert cr.autograd.gradcheck(lambda a, b: F(cr).linear_cross_entropy(a, b, t), (x, w))
    assert cr.autograd.gradgradcheck(lambda a, b: F(cr).linear_cross_entropy(
        a, b, t, label_smoothing=0.1), (x, w))


@pytest.mark.parametrize("out_features", [(), (2,), (2, 3)])
def test_linear_cross_entropy_loss_module_against_pytorch(out_features):
    rng = np.random.default_rng(1491)
    cw = torch.tensor(rng.random(3) + 0.1)
    kw = dict(out_features=out_features, bias=True, dtype=torch.float64, weight=cw,
              label_smoothing=0.1)
    tm = torch.nn.LinearCrossEntropyLoss(4, 3, **kw)
    cm = cr.nn.LinearCrossEntropyLoss(4, 3, **{**kw, "dtype": cr.float64,
                                               "weight": cr.tensor(cw.numpy())})
    assert repr(cm) == repr(tm)
    assert sorted(cm.state_dict()) == sorted(tm.state_dict()) == ["linear.bias", "linear.weight",
                                                                  "weight"]
    cm.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x, t = rng.standard_normal((5, 4)), rng.integers(0, 3, (5, *out_features))
    want, got = tm(torch.tensor(x), torch.tensor(t)), cm(cr.tensor(x), cr.tensor(t))
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-13)
    want.backward()
    got.backward()
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(cm.linear, name).grad.numpy(),
                                   getattr(tm.linear, name).grad.numpy(), rtol=1e-12, atol=1e-14)


_LCE_ERRORS = [  # (label, call): PyTorch and chainrule both refuse each
    ("K-dim unbatched", lambda lib, x, w: F(lib).linear_cross_entropy(
        x[0], lib.stack([w, w], 1), lib.tensor(0))),
    ("probabilities with ignore_index", lambda lib, x, w: F(lib).linear_cross_entropy(
        x, w, F(lib).softmax(x @ w.T, 1), ignore_index=-100)),
    ("bias shape", lambda lib, x, w: F(lib).linear_cross_entropy(
        x, w, lib.tensor([0, 1]), linear_bias=w[0])),
    ("in_features", lambda lib, x, w: F(lib).linear_cross_entropy(x, w.T, lib.tensor([0, 1]))),
    ("3-D input", lambda lib, x, w: F(lib).linear_cross_entropy(x[None], w, lib.tensor([[0]]))),
    ("1-D weight", lambda lib, x, w: F(lib).linear_cross_entropy(x, w[0], lib.tensor([0, 1]))),
    ("module weight shape", lambda lib, x, w: lib.nn.LinearCrossEntropyLoss(
        4, 3, weight=lib.tensor(np.ones(2)))),
    ("module label_smoothing", lambda lib, x, w: lib.nn.LinearCrossEntropyLoss(
        4, 3, label_smoothing=1.5)),
]


@pytest.mark.parametrize("label", [e[0] for e in _LCE_ERRORS])
def test_linear_cross_entropy_bad_arguments(label):
    fn = next(f for name, f in _LCE_ERRORS if name == label)
    x, w = np.random.default_rng(0).standard_normal((2, 4)), np.ones((3, 4))
    assert check(torch, fn, x, w, label=label) is None  # both raised


def test_kl_div_of_a_negative_target_is_nan_as_pytorch():
    # t log t was taken as 0 wherever t <= 0, so a negative target gave a finite loss silently
    x, t = np.array([-1.0, -2.0, -0.5]), np.array([0.5, -0.2, 0.0])
    _compare(torch, "kl_div negative target", lambda lib, a, b: F(lib).kl_div(
        a, b, reduction="none"), x, t, grad=[0])
    got = cr.nn.KLDivLoss(reduction="sum")(cr.tensor(x), cr.tensor(t))
    assert np.isnan(got.item())
