"""Fuzz wave 17: the losses against PyTorch 2.13, deeper than waves 8 and 14
(``test_fuzz8_losses.py``, ``test_fuzz14_losses.py``), through ``_fuzz12_check.check`` (values,
dtypes, shapes, errors, float64 gradients of every differentiable argument):

* ``smooth_l1_loss``/``huber_loss`` with ``beta``/``delta`` 0 (an L1 loss), 0.5, 1 and 2 on 0-d
  to 3-D inputs, equal inputs (the kink) included; ``poisson_nll_loss`` under every
  ``log_input``/``full``/``eps`` with zero inputs and targets 0 and 1 (Stirling's term's edges);
  ``kl_div`` under every reduction (``batchmean`` too) with ``log_target``; ``gaussian_nll_loss``
  with a variance of the input's shape, one axis 1, one axis fewer or 0-d, zero variances
  (clamped to ``eps``) and ``full``;
* ``ctc_loss`` after a ``log_softmax`` in float64 (gradients through it) and float32: blank at
  any index, padded and concatenated targets of int64 and int32, empty targets, lengths as
  tuples, lists and tensors, unbatched input, ``zero_infinity``, every reduction;
* the module forms with broadcast ``weight`` and ``pos_weight`` of ``BCEWithLogitsLoss`` (any
  trailing shape, axes of 1) and ``BCELoss``, ``MultiMarginLoss`` (``p``, ``margin``,
  ``weight``, unbatched), ``MultiLabelMarginLoss`` and ``MultiLabelSoftMarginLoss`` (unbatched,
  weighted), ``CosineEmbeddingLoss`` (unbatched, a zero vector), ``MarginRankingLoss``,
  ``HingeEmbeddingLoss``, ``SoftMarginLoss``, ``TripletMarginLoss`` with ``swap`` and
  ``TripletMarginWithDistanceLoss`` with a custom distance and with its default;
* second-order gradients of the losses wave 14 did not take twice;
* float16 inputs of every loss PyTorch computes in half on the CPU.

All of these were found equal. Before this wave ``cross_entropy``/``nll_loss`` (and their modules)
with class weights whose sum over the batch's labels is negative (negative class weights) gave a
NaN mean, silently: the mean's denominator was taken as "no sample counted" unless positive;
PyTorch divides by it, and so does this now (only a zero sum is NaN). And ``huber_loss``/
``smooth_l1_loss``'s gradient at an infinite difference (an overflowed prediction or target) was
NaN: the unused square's gradient, inf times 0; PyTorch's is +-delta (+-1 for smooth L1), the
bounded pull this loss exists for.

Left as they are (deliberate, documented or PyTorch's own): ``kl_div``'s target gradient at a zero
target and ``poisson_nll_loss(full=True)``'s at a zero target are finite here (PyTorch's: NaN;
docs/pytorch.md); ``ctc_loss``'s gradient with respect to log-probabilities given directly
(chainrule's is that derivative; PyTorch's adds ``exp(log_probs)``; equal after a ``log_softmax``)
and over infinite losses without ``zero_infinity``, and after a ``log_softmax`` of logits holding
-inf (masked classes: PyTorch's gradient is NaN over those frames, its formula's -inf + inf;
chainrule's is the derivative, equal to PyTorch's on the other frames); targets and losses of mixed
dtypes PyTorch promotes (float targets of ``ctc_loss``, integer targets of the regression losses,
float32 targets of float64 inputs: refused here, or promoted differently by ``huber_loss`` and
``soft_margin_loss``); the gradient of a class loss's NaN mean over
labels whose weights sum to 0 while some are counted (PyTorch's: NaN or inf at the counted samples;
0 here, as where all are ignored, in both); a uint8 or bool target of ``margin_ranking_loss``
(PyTorch negates a uint8 target modulo 256); a (T, C) ``ctc_loss`` input with (1, S) targets
(PyTorch computes, refused here); an unbatched ``ctc_loss`` target longer than its length (PyTorch
refuses it, except with a tuple of lengths; taken here as padding).
"""

import numpy as np
import pytest

import chainrule as cr

from ._fuzz12_check import check

torch = pytest.importorskip("torch")  # before the import below: that module skips without torch
from ._case_loop import each_case, grid  # noqa: E402
from .test_fuzz14_losses import _second_order  # noqa: E402

pytestmark = pytest.mark.torch
REDUCTIONS = ("mean", "sum", "none")


def F(lib):  # noqa: N802 - the usual alias
    return lib.nn.functional


def _shape(rng, low=0):
    return tuple(int(v) for v in rng.integers(1, 4, int(rng.integers(low, 4))))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # kl_div's, in both
@pytest.mark.parametrize("seed", range(2))
def test_regression_losses_against_pytorch(seed):
    rng = np.random.default_rng(1750 + seed)
    for k in range(12):
        dt = str(rng.choice(["float64", "float32"]))
        g = [0, 1] if dt == "float64" else []
        shape = _shape(rng)
        a, b = (rng.standard_normal(shape).astype(dt) for _ in range(2))
        if rng.random() < 0.3:
            b = a.copy()
        red = str(rng.choice(REDUCTIONS))
        label = f"{k}: {shape} {dt} {red}"
        for beta in (0.0, 0.5, 2.0):
            check(torch, lambda lib, x, y, beta=beta: F(lib).smooth_l1_loss(
                x, y, reduction=red, beta=beta), a, b, grad=g, label=f"smooth_l1 {beta} {label}")
            check(torch, lambda lib, x, y, beta=beta: F(lib).huber_loss(
                x, y, reduction=red, delta=beta), a, b, grad=g, label=f"huber {beta} {label}")
        for log_input, full, eps in ((True, True, 1e-8), (False, True, 0.5), (False, False, 1e-8),
                                     (True, False, 0.5)):
            x = a if log_input else np.abs(a)
            t = np.abs(b) * 3
            if t.size:
                t.flat[-1] = 1.0  # Stirling's term starts above 1
            check(torch, lambda lib, p, q, li=log_input, fu=full, ep=eps: F(lib).poisson_nll_loss(
                p, q, log_input=li, full=fu, eps=ep, reduction=red), x, t,
                grad=g[:1] if full else g, label=f"poisson {log_input} {full} {eps} {label}")
        for log_target in (True, False):
            t = np.abs(b) / 3 + (1e-3 if log_target else 0.0)
            for r in REDUCTIONS + ("batchmean",):
                check(torch, lambda lib, p, q, lt=log_target, r=r: F(lib).kl_div(
                    p, q, reduction=r, log_target=lt), -np.abs(a),
                    np.log(t) if log_target else t + 0.01, grad=g, label=f"kl {r} {label}")
        if not shape:
            continue
        one = list(shape)
        one[int(rng.integers(0, len(shape)))] = 1
        for vshape in (shape, tuple(one), shape[:-1], ()):
            v = (np.abs(rng.standard_normal(vshape)) * 0.5).astype(dt)
            if v.size and rng.random() < 0.3:
                v.flat[0] = 0.0  # clamped to eps
            for eps, full in ((1e-6, True), (0.3, False)):
                check(torch, lambda lib, x, y, s, ep=eps, fu=full: F(lib).gaussian_nll_loss(
                    x, y, s, full=fu, eps=ep, reduction=red), a, b, v, grad=g and [0, 1, 2],
                    label=f"gaussian var {vshape} {eps} {full} {label}")


def _lengths(lib, values, kind):
    return [tuple(int(v) for v in values), [int(v) for v in values],
            lib.tensor(np.asarray(values, dtype="int64"))][kind]


@pytest.mark.parametrize("seed", range(2))
def test_ctc_loss_after_log_softmax_against_pytorch(seed):
    rng = np.random.default_rng(1760 + seed)
    for k in range(15):
        T, N, C, S = (int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(2, 6)),
                      int(rng.integers(0, 5)))
        blank = int(rng.integers(0, C))
        labels = [c for c in range(C) if c != blank]
        tl, il = rng.integers(0, S + 1, N), rng.integers(1, T + 1, N)
        padded = bool(rng.random() < 0.5)
        tg = rng.choice(labels, (N, S) if padded else int(tl.sum()))
        red, zero_inf = str(rng.choice(REDUCTIONS)), bool(rng.random() < 0.5)
        unbatched = N == 1 and rng.random() < 0.4
        kind = int(rng.integers(0, 3))
        if unbatched and padded:
            tg = tg[:, :int(tl[0])]  # PyTorch refuses a longer one (taken here: module docstring)
        tg = tg.astype(str(rng.choice(["int64", "int32"])))

        def ctc(lib, x, t, il=il, tl=tl, blank=blank, red=red, zi=zero_inf, unb=unbatched,
                padded=padded, kind=kind):
            lp = F(lib).log_softmax(x, -1)
            if unb:
                lp, t = lp[:, 0], (t[0] if padded else t)
                il, tl = (lib.tensor(il[0]), lib.tensor(tl[0])) if kind == 2 else (il, tl)
            if not (unb and kind == 2):
                il, tl = _lengths(lib, il, kind), _lengths(lib, tl, kind)
            return F(lib).ctc_loss(lp, t, il, tl, blank=blank, reduction=red, zero_infinity=zi)

        x = rng.standard_normal((T, N, C))
        label = f"{k}: T={T} N={N} C={C} blank={blank} il={il} tl={tl} padded={padded} {red} " \
            f"zero_infinity={zero_inf} unbatched={unbatched} lengths={kind}"
        out = check(torch, ctc, x.astype("float32"), tg, rtol=1e-5, label="float32 " + label)
        finite = out is None or bool(np.isfinite(out.numpy()).all())
        # an infinite loss's gradient differs (docs/pytorch.md), as wave 8 checks
        check(torch, ctc, x, tg, grad=[0] if finite or zero_inf else [], label=label)


def _broadcast_to(rng, shape):
    s = [1 if rng.random() < 0.5 else d for d in shape]
    return tuple(s[int(rng.integers(0, len(s) + 1)):])


@pytest.mark.parametrize("seed", range(2))
def test_loss_modules_against_pytorch(seed):
    rng = np.random.default_rng(1770 + seed)
    for k in range(10):
        red = str(rng.choice(REDUCTIONS))
        shape = _shape(rng, low=1)
        x, t = rng.standard_normal(shape) * 3, rng.random(shape)
        w = rng.random(_broadcast_to(rng, shape)) + 0.2 if rng.random() < 0.6 else None
        pw = rng.random(_broadcast_to(rng, shape)) + 0.2 if rng.random() < 0.7 else None
        label = f"{k}: {shape} weight {None if w is None else w.shape} " \
            f"pos_weight {None if pw is None else pw.shape} {red}"

        def tensor(lib, a):
            return None if a is None else lib.tensor(a)

        check(torch, lambda lib, a, b: lib.nn.BCEWithLogitsLoss(
            weight=tensor(lib, w), pos_weight=tensor(lib, pw), reduction=red)(a, b), x, t,
            grad=[0, 1], label="BCEWithLogitsLoss " + label)
        check(torch, lambda lib, a, b: lib.nn.BCELoss(weight=tensor(lib, w), reduction=red)(
            F(lib).sigmoid(a), b), x, t, grad=[0, 1], label="BCELoss " + label)
        C, unbatched = int(rng.integers(1, 5)), bool(rng.random() < 0.4)
        xm = rng.standard_normal((C,) if unbatched else (int(rng.integers(1, 4)), C))
        y = rng.integers(0, C, () if unbatched else xm.shape[:1])
        wm = rng.random(C) + 0.1 if rng.random() < 0.5 else None
        p, margin = int(rng.choice([1, 2])), float(rng.choice([0.0, 0.5, 2.0]))
        check(torch, lambda lib, a, b: lib.nn.MultiMarginLoss(
            p=p, margin=margin, weight=tensor(lib, wm), reduction=red)(a, b), xm, y, grad=[0],
            label=f"MultiMarginLoss {xm.shape} p={p} margin={margin} {red}")
        lists = np.full(xm.shape, -1)
        for row in lists.reshape(-1, C):
            n = int(rng.integers(0, C + 1))
            row[:n] = rng.permutation(C)[:n]
        check(torch, lambda lib, a, b: lib.nn.MultiLabelMarginLoss(reduction=red)(a, b), xm,
              lists, grad=[0], label=f"MultiLabelMarginLoss {lists.tolist()} {red}")
        check(torch, lambda lib, a, b: lib.nn.MultiLabelSoftMarginLoss(
            weight=tensor(lib, wm), reduction=red)(a, b), xm,
            (rng.random(xm.shape) < 0.5).astype(float), grad=[0],
            label=f"MultiLabelSoftMarginLoss {xm.shape} {red}")
        D = int(rng.integers(1, 5))
        n = () if unbatched else (int(rng.integers(1, 4)),)
        a1, a2 = rng.standard_normal(n + (D,)), rng.standard_normal(n + (D,))
        if rng.random() < 0.2:
            a2[...] = 0.0
        ys = rng.choice([1.0, -1.0], n)
        cm = float(rng.choice([0.0, 0.3]))
        check(torch, lambda lib, a, b, c: lib.nn.CosineEmbeddingLoss(margin=cm, reduction=red)(
            a, b, c), a1, a2, ys, grad=[0, 1], label=f"CosineEmbeddingLoss {a1.shape} {red}")
        sign = np.sign(rng.standard_normal(shape))
        check(torch, lambda lib, a, b, c: lib.nn.MarginRankingLoss(margin=0.2, reduction=red)(
            a, b, c), x, rng.standard_normal(shape), sign, grad=[0, 1], label="MarginRanking")
        check(torch, lambda lib, a, c: lib.nn.HingeEmbeddingLoss(margin=0.7, reduction=red)(
            a, c), x, sign, grad=[0], label="HingeEmbeddingLoss " + label)
        check(torch, lambda lib, a, c: lib.nn.SoftMarginLoss(reduction=red)(a, c), x, sign,
              grad=[0], label="SoftMarginLoss " + label)
        A, P, Q = (rng.standard_normal(n + (D,)) for _ in range(3))
        tp = float(rng.choice([1.0, 2.0, 3.0]))
        check(torch, lambda lib, a, b, c: lib.nn.TripletMarginLoss(
            margin=0.5, p=tp, swap=True, reduction=red)(a, b, c), A, P, Q, grad=[0, 1, 2],
            label=f"TripletMarginLoss {A.shape} p={tp} {red}")
        check(torch, lambda lib, a, b, c: lib.nn.TripletMarginWithDistanceLoss(
            distance_function=lambda u, v: (u - v).pow(2).sum(-1), margin=0.5, swap=True,
            reduction=red)(a, b, c), A, P, Q, grad=[0, 1, 2], label="custom distance")
        check(torch, lambda lib, a, b, c: lib.nn.TripletMarginWithDistanceLoss(
            margin=2.0, swap=True, reduction=red)(a, b, c), A, P, Q, grad=[0, 1, 2],
            label="default distance")


_SIGNS = np.sign(np.random.default_rng(17).standard_normal((4, 3)))
_SECOND_ORDER = {
    "smooth_l1_loss": (lambda lib, a, b, q: F(lib).smooth_l1_loss(a, b, beta=0.5), [0, 1]),
    "huber_loss": (lambda lib, a, b, q: F(lib).huber_loss(a, b, delta=2.0, reduction="sum"),
                   [0, 1]),
    "soft_margin_loss": (lambda lib, a, b, q: F(lib).soft_margin_loss(a, lib.tensor(_SIGNS)),
                         [0]),
    "poisson_nll_loss full": (lambda lib, a, b, q: F(lib).poisson_nll_loss(
        q, q * 3, log_input=False, full=True), [2]),
    "gaussian_nll_loss full": (lambda lib, a, b, q: F(lib).gaussian_nll_loss(
        a, b, q, full=True, reduction="sum"), [0, 1, 2]),
    "kl_div": (lambda lib, a, b, q: F(lib).kl_div(a, q, reduction="batchmean"), [0, 2]),
    "binary_cross_entropy weighted": (lambda lib, a, b, q: F(lib).binary_cross_entropy(
        F(lib).sigmoid(a), q / 2, weight=lib.tensor(_SIGNS + 1.5)), [0, 2]),
    "cross_entropy K-dim weighted smoothed": (lambda lib, a, b, q: F(lib).cross_entropy(
        a.reshape(2, 3, 2), lib.tensor(np.array([[0, 2], [1, -100]])),
        weight=lib.tensor(np.array([0.5, 1.0, 2.0])), label_smoothing=0.3), [0]),
    "cross_entropy probabilities weighted smoothed": (lambda lib, a, b, q: F(lib).cross_entropy(
        a, q, weight=lib.tensor(np.array([0.5, 1.0, 2.0])), label_smoothing=0.3), [0, 2]),
    "triplet_margin_with_distance_loss": (
        lambda lib, a, b, q: F(lib).triplet_margin_with_distance_loss(
            a, b, q, distance_function=lambda u, v: (u - v).pow(2).sum(-1), swap=True), [0, 1, 2]),
}


@pytest.mark.parametrize("name", sorted(_SECOND_ORDER))
def test_second_order_gradients_against_pytorch(name):
    fn, wrt = _SECOND_ORDER[name]
    rng = np.random.default_rng(1780)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random((4, 3)) + 0.1]
    ours, theirs = _second_order(cr, fn, arrays, wrt), _second_order(torch, fn, arrays, wrt)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12, err_msg=name)


_HALF = {
    "mse_loss": lambda lib, a, b, p, r: F(lib).mse_loss(a, b, reduction=r),
    "l1_loss": lambda lib, a, b, p, r: F(lib).l1_loss(a, b, reduction=r),
    "huber_loss": lambda lib, a, b, p, r: F(lib).huber_loss(a, b, reduction=r, delta=0.5),
    "smooth_l1_loss": lambda lib, a, b, p, r: F(lib).smooth_l1_loss(a, b, reduction=r, beta=0.5),
    "cross_entropy": lambda lib, a, b, p, r: F(lib).cross_entropy(
        a, lib.tensor(np.array([0, 3, 1])), reduction=r, label_smoothing=0.1),
    "cross_entropy probabilities": lambda lib, a, b, p, r: F(lib).cross_entropy(a, p, reduction=r),
    "nll_loss": lambda lib, a, b, p, r: F(lib).nll_loss(a, lib.tensor(np.array([0, 3, 1])),
                                                        reduction=r),
    "binary_cross_entropy": lambda lib, a, b, p, r: F(lib).binary_cross_entropy(
        F(lib).sigmoid(a), p, reduction=r),
    "binary_cross_entropy_with_logits": lambda lib, a, b, p, r:
        F(lib).binary_cross_entropy_with_logits(a, p, reduction=r),
    "kl_div": lambda lib, a, b, p, r: F(lib).kl_div(a, p, reduction=r),
    "poisson_nll_loss": lambda lib, a, b, p, r: F(lib).poisson_nll_loss(a, p, reduction=r),
    "gaussian_nll_loss": lambda lib, a, b, p, r: F(lib).gaussian_nll_loss(a, p, p + 0.1,
                                                                          reduction=r),
    "soft_margin_loss": lambda lib, a, b, p, r: F(lib).soft_margin_loss(a, b.sign(), reduction=r),
    "hinge_embedding_loss": lambda lib, a, b, p, r: F(lib).hinge_embedding_loss(
        a, b.sign(), reduction=r),
    "cosine_embedding_loss": lambda lib, a, b, p, r: F(lib).cosine_embedding_loss(
        a, b, lib.tensor(np.array([1.0, -1.0, 1.0], dtype="float16")), reduction=r),
    "margin_ranking_loss": lambda lib, a, b, p, r: F(lib).margin_ranking_loss(
        a, b, b.sign(), reduction=r),
    "triplet_margin_loss": lambda lib, a, b, p, r: F(lib).triplet_margin_loss(
        a, b, a * 0.3, reduction=r),
}


def _float16_losses_against_pytorch_case(name):
    rng = np.random.default_rng(1790)
    a, b = (rng.standard_normal((3, 4)).astype("float16") for _ in range(2))
    p = rng.random((3, 4)).astype("float16")
    for red in REDUCTIONS:
        check(torch, lambda lib, x, y, q: _HALF[name](lib, x, y, q, red), a, b, p, rtol=2e-3,
              label=f"{name} {red}")


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
def test_float16_losses_against_pytorch():
    each_case(_float16_losses_against_pytorch_case, grid(("name", sorted(_HALF))))


@pytest.mark.parametrize("weight", [[-1.0], [-1.0, 0.5, 0.25], [2.0, -3.0, 1.0], [-1.0, 1.0, 0.5]])
def test_class_weights_summing_to_a_negative_number_divide_the_mean(weight):
    # the mean was NaN where the labels' weights sum to a negative number
    rng = np.random.default_rng(1795)
    w = np.array(weight)
    x = rng.standard_normal((5, len(w), 2))
    t = np.arange(10).reshape(5, 2) % len(w)
    assert (w[t].sum() != 0) and np.isfinite(w[t].sum())
    for smoothing in (0.0, 0.2):
        out = check(torch, lambda lib, a, s=smoothing: F(lib).cross_entropy(
            a, lib.tensor(t), weight=lib.tensor(w), label_smoothing=s), x, grad=[0],
            label=f"cross_entropy {weight} {smoothing}")
        assert np.isfinite(out.item())
    check(torch, lambda lib, a: lib.nn.NLLLoss(weight=lib.tensor(w))(F(lib).log_softmax(a, 1),
                                                                     lib.tensor(t)), x,
          grad=[0], label=f"NLLLoss {weight}")
    check(torch, lambda lib, a: F(lib).nll_loss(a, lib.tensor(t), weight=lib.tensor(w),
                                                ignore_index=0), x, grad=[0],
          label=f"nll_loss ignore_index=0 {weight}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_huber_and_smooth_l1_gradients_at_infinite_differences_are_bounded(dtype):
    # NaN before (inf * 0 from the square not taken); PyTorch's +-delta, NaN where d is NaN
    big = np.finfo(dtype).max
    special = np.array([0.0, 1.0, -0.5, 0.3, np.inf, -np.inf, np.nan, big, -big], dtype=dtype)
    a, b = (v.ravel() for v in np.meshgrid(special, special))
    for name, kw in (("huber_loss", {"delta": 0.7}), ("smooth_l1_loss", {"beta": 0.5}),
                     ("huber_loss", {}), ("smooth_l1_loss", {})):
        with np.errstate(all="ignore"):
            check(torch, lambda lib, x, y, name=name, kw=kw: getattr(F(lib), name)(
                x, y, reduction="none", **kw), a, b, grad=[0, 1], label=f"{name} {kw}")
    x = cr.tensor(np.array([np.inf, -np.inf, 5.0]), requires_grad=True)
    F(cr).huber_loss(x, cr.zeros(3, dtype=cr.float64), reduction="sum", delta=0.7).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.7, -0.7, 0.7])


def test_ctc_gradient_with_masked_classes_is_finite_where_pytorchs_is_nan():
    rng = np.random.default_rng(1796)
    for _ in range(20):
        T, N, C = int(rng.integers(2, 8)), int(rng.integers(1, 4)), int(rng.integers(3, 6))
        x = rng.standard_normal((T, N, C))
        masked = rng.random((T, N, C)) < 0.25
        masked[..., 0] = False  # the blank stays reachable
        x[masked] = -np.inf
        S = int(rng.integers(1, 4))
        tg, tl = rng.integers(1, C, (N, S)), rng.integers(1, S + 1, N)
        il = rng.integers(1, T + 1, N)
        got = []
        for lib in (torch, cr):
            a = lib.tensor(x, requires_grad=True)
            loss = F(lib).ctc_loss(F(lib).log_softmax(a, -1), lib.tensor(tg), lib.tensor(il),
                                   lib.tensor(tl), reduction="none", zero_infinity=True)
            loss.sum().backward()
            got.append((loss.detach().numpy(), a.grad.numpy()))
        np.testing.assert_allclose(got[1][0], got[0][0], rtol=1e-12)
        assert np.isfinite(got[1][1]).all() and (got[1][1][masked] == 0).all()
        rows = np.isfinite(got[0][1]).all(axis=-1)
        np.testing.assert_allclose(got[1][1][rows], got[0][1][rows], rtol=1e-10, atol=1e-14)
