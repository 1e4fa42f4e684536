"""triplet_margin_with_distance_loss, multilabel_margin_loss and NLLLoss2d (with (N, C, d1, d2)
input, ignore_index and class weights) against PyTorch (forward and backward, float64), with
gradient checks and errors."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

from ._torch_compare import compare

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _l1(a, b):
    return (a - b).abs().sum(-1)


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("distance", [None, "l1", "cosine"])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_triplet_with_distance_matches_torch(rng, distance, swap, reduction):
    ours_d = {None: None, "l1": _l1,
              "cosine": lambda a, b: 1.0 - F.cosine_similarity(a, b)}[distance]
    theirs_d = {None: None, "l1": _l1,
                "cosine": lambda a, b: 1.0 - TF.cosine_similarity(a, b)}[distance]
    a, p, n = (rng.standard_normal((6, 4)) for _ in range(3))
    kw = dict(margin=1.5, swap=swap, reduction=reduction)
    compare(lambda *t: F.triplet_margin_with_distance_loss(*t, distance_function=ours_d, **kw),
            lambda *t: TF.triplet_margin_with_distance_loss(*t, distance_function=theirs_d, **kw),
            [a, p, n], rng)
    compare(nn.TripletMarginWithDistanceLoss(distance_function=ours_d, **kw),
            torch.nn.TripletMarginWithDistanceLoss(distance_function=theirs_d, **kw),
            [a, p, n], rng)
    ts = [cr.tensor(v, requires_grad=True) for v in (a, p, n)]
    fn = lambda *t: F.triplet_margin_with_distance_loss(  # noqa: E731
        *t, distance_function=ours_d, **kw)
    assert cr.gradcheck(fn, ts)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_margin_matches_torch(rng, reduction):
    x = rng.standard_normal((4, 5))
    # lists ended by -1, a class listed twice, an empty list, a full list
    target = np.array([[3, 0, -1, 1, 2], [1, 1, 2, -1, 0], [-1, 2, 3, 4, 0], [0, 1, 2, 3, 4]])
    compare(lambda a, t: F.multilabel_margin_loss(a, t, reduction=reduction),
            lambda a, t: TF.multilabel_margin_loss(a, t, reduction=reduction), [x, target], rng,
            grad=[0])
    compare(nn.MultiLabelMarginLoss(reduction=reduction),
            torch.nn.MultiLabelMarginLoss(reduction=reduction), [x, target], rng, grad=[0])
    compare(lambda a, t: F.multilabel_margin_loss(a, t), lambda a, t: TF.multilabel_margin_loss(
        a, t), [x[1], target[1]], rng, grad=[0])
    t = cr.tensor(x, requires_grad=True)
    assert cr.gradcheck(lambda a: F.multilabel_margin_loss(a, target, reduction=reduction), [t])


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_2d_with_weight_and_ignore_index_matches_torch(rng, reduction):
    x = rng.standard_normal((2, 4, 3, 5))
    target = rng.integers(0, 4, (2, 3, 5))
    target[1, 0] = 2
    w = rng.uniform(0.5, 2.0, 4)
    kw = dict(ignore_index=2, reduction=reduction)
    for ours, theirs in [(F.nll_loss, TF.nll_loss), (F.cross_entropy, TF.cross_entropy)]:
        compare(lambda a, t, v: ours(a, t, v, **kw), lambda a, t, v: theirs(a, t, v, **kw),
                [x, target, w], rng, grad=[0])
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        ours = nn.NLLLoss2d(cr.tensor(w), **kw)
    with pytest.warns(FutureWarning):
        theirs = torch.nn.NLLLoss2d(torch.tensor(w), **kw)
    compare(ours, theirs, [x, target], rng, grad=[0])
    assert "weight" in ours.state_dict()


@pytest.mark.kernel_free
@pytest.mark.parametrize("call, match", [
    (lambda a: F.triplet_margin_with_distance_loss(a, a, a, margin=0), "greater than 0, got 0"),
    (lambda a: nn.TripletMarginWithDistanceLoss(margin=-1.0), "greater than 0, got -1.0"),
    (lambda a: F.triplet_margin_with_distance_loss(a, a, a[0]), "same number of axes, got "
                                                                 "shapes \\(3, 4\\), \\(3, 4\\), "
                                                                 "\\(4,\\)"),
    (lambda a: F.triplet_margin_with_distance_loss(a, a, a, distance_function=3),
     "distance_function must be a function"),
    (lambda a: F.multilabel_margin_loss(a, np.zeros((3, 3), int)), "input's shape \\(3, 4\\)"),
    (lambda a: F.multilabel_margin_loss(a, np.full((3, 4), 4)), "\\[0, 3\\] or -1"),
    (lambda a: F.multilabel_margin_loss(a, np.zeros((3, 4))), "got dtype float64"),
    (lambda a: F.multilabel_margin_loss(a[None], np.zeros((1, 3, 4), int)), "\\(C,\\) or \\(N, "
                                                                            "C\\)"),
])
def test_errors(rng, call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(cr.tensor(rng.standard_normal((3, 4))))
