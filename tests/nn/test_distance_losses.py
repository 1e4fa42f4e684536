"""normalize, cosine_similarity, pairwise_distance, embedding, kl_div and the extra losses against
PyTorch (forward and backward, float64), with gradient checks."""

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn

from .._case_loop import each_case, grid
from ._torch_compare import compare

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.kernel_free
@pytest.mark.parametrize("kw", [{}, dict(p=1.0, dim=0), dict(p=3.0, dim=-1),
                                dict(p=float("inf")), dict(eps=10.0)])
def test_normalize_matches_torch(rng, kw):
    x = rng.standard_normal((3, 4))
    x[1] = 0.0  # a zero row: its norm is clamped to eps and its gradient is finite
    compare(lambda a: F.normalize(a, **kw), lambda a: TF.normalize(a, **kw), [x], rng)
    t = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert cr.gradcheck(lambda a: F.normalize(a, **kw), [t])
    assert cr.gradgradcheck(lambda a: F.normalize(a, **kw), [t])


@pytest.mark.kernel_free
@pytest.mark.parametrize("shapes, dim", [(((3, 4), (3, 4)), 1), (((2, 3, 4), (1, 3, 4)), -1),
                                         (((5,), (5,)), 0), (((3, 4), (4,)), 1)])
def test_cosine_similarity_matches_torch(rng, shapes, dim):
    a, b = (rng.standard_normal(s) for s in shapes)
    compare(lambda x, y: F.cosine_similarity(x, y, dim),
            lambda x, y: TF.cosine_similarity(x, y, dim), [a, b], rng)
    compare(nn.CosineSimilarity(dim), torch.nn.CosineSimilarity(dim), [a, b], rng)
    assert repr(nn.CosineSimilarity(dim)) == repr(torch.nn.CosineSimilarity(dim))
    assert repr(nn.PairwiseDistance()) == repr(torch.nn.PairwiseDistance())
    ta, tb = (cr.tensor(v, requires_grad=True) for v in (a, b))
    assert cr.gradcheck(lambda x, y: F.cosine_similarity(x, y, dim), [ta, tb])
    assert cr.gradgradcheck(lambda x, y: F.cosine_similarity(x, y, dim), [ta, tb])


@pytest.mark.kernel_free
def test_cosine_similarity_of_tiny_vectors_clamps_like_torch(rng):
    """Below eps the norm is clamped, but the gradient still flows through it (PyTorch clamps
    without recording the clamp)."""
    a, b = rng.standard_normal((2, 3)) * 1e-10, rng.standard_normal((2, 3))
    compare(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y),
            [a, b], rng, tol=1e-8)


@pytest.mark.kernel_free
@pytest.mark.parametrize("p, keepdim", [(2.0, False), (1.0, True), (3.0, False),
                                        (float("inf"), False)])
def test_pairwise_distance_matches_torch(rng, p, keepdim):
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    compare(lambda x, y: F.pairwise_distance(x, y, p, 1e-6, keepdim),
            lambda x, y: TF.pairwise_distance(x, y, p, 1e-6, keepdim), [a, b], rng)
    compare(nn.PairwiseDistance(p, keepdim=keepdim), torch.nn.PairwiseDistance(p, keepdim=keepdim),
            [a, b], rng)
    ta, tb = (cr.tensor(v, requires_grad=True) for v in (a[:2], b[:2]))
    assert cr.gradcheck(lambda x, y: F.pairwise_distance(x, y, p), [ta, tb])
    if p != float("inf"):
        assert cr.gradgradcheck(lambda x, y: F.pairwise_distance(x, y, p), [ta, tb])


@pytest.mark.kernel_free
@pytest.mark.parametrize("p", [0.5, 0.3])
def test_p_below_one_norm_gradient_at_a_zero_entry_is_zero(p):
    """|x|^p (p < 1) has an infinite slope at 0: PyTorch's norm gradient is 0 there, so a row
    with a zero entry (or all zeros) got NaN gradients from normalize and pairwise_distance."""
    x = np.array([[0.0, 1.0], [1.0, 2.0], [0.0, 0.0]])
    w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    for fc, ft in ((lambda a: F.normalize(a, p=p), lambda a: TF.normalize(a, p=p)),
                   (lambda a: F.pairwise_distance(a, a * 0.0, p=p, eps=0.0)[:, None],
                    lambda a: TF.pairwise_distance(a, a * 0.0, p=p, eps=0.0)[:, None])):
        c = cr.tensor(x, requires_grad=True)
        (fc(c) * cr.tensor(w)).sum().backward()
        t = torch.tensor(x, requires_grad=True)
        (ft(t) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.kernel_free
def test_mean_of_an_empty_batch_is_nan_as_torch():
    """reduction='mean' over an empty batch is NaN in PyTorch (and in chainrule's mse_loss); the
    new losses raised 'mean: cannot average over zero elements'."""
    x, y = np.zeros((0, 3)), np.ones((0, 3))
    s = np.ones((0,))
    for name, args in (("soft_margin_loss", (x, y)), ("multilabel_soft_margin_loss", (x, y)),
                       ("hinge_embedding_loss", (x, y)), ("poisson_nll_loss", (x, y)),
                       ("gaussian_nll_loss", (x, y, y)), ("margin_ranking_loss", (s, s, s)),
                       ("cosine_embedding_loss", (x, x, s)), ("triplet_margin_loss", (x, x, x))):
        got = getattr(F, name)(*(cr.tensor(a) for a in args))
        want = getattr(TF, name)(*(torch.tensor(a) for a in args))
        assert np.isnan(got.item()) and np.isnan(want.item()), name


def test_embedding_matches_torch_and_skips_the_padding_row(rng):
    w = rng.standard_normal((6, 3))
    ids = np.array([[0, 2, 5], [2, 2, 1]])
    for pad in (None, 2, -1):
        compare(lambda i, a: F.embedding(i, a, pad), lambda i, a: TF.embedding(i, a, pad),
                [ids, w], rng, grad=(1,))
    tw = cr.tensor(w, requires_grad=True)
    assert cr.gradcheck(lambda a: F.embedding(cr.tensor(ids), a), [tw])
    with pytest.raises(IndexError, match="embedding"):
        F.embedding(cr.tensor([6]), tw)
    with pytest.raises(TypeError, match="integer ids"):
        F.embedding(cr.tensor([1.0]), tw)
    with pytest.raises(ValueError, match="max_norm must be a positive number"):
        F.embedding(cr.tensor([1]), tw, max_norm=-1.0)


@pytest.mark.kernel_free
@pytest.mark.parametrize("reduction", ["sum", "batchmean", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(rng, reduction, log_target):
    x = np.log(rng.dirichlet(np.ones(5), size=3))
    t = rng.dirichlet(np.ones(5), size=3)
    t = np.log(t) if log_target else t
    compare(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
            lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [x, t], rng)
    compare(nn.KLDivLoss(reduction=reduction, log_target=log_target),
            torch.nn.KLDivLoss(reduction=reduction, log_target=log_target), [x, t], rng)
    tx, tt = cr.tensor(x, requires_grad=True), cr.tensor(t, requires_grad=True)
    fn = lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target)  # noqa: E731
    assert cr.gradcheck(fn, [tx, tt])
    assert cr.gradgradcheck(fn, [tx, tt])


@pytest.mark.kernel_free
def test_kl_div_mean_warns_like_torch(rng):
    x, t = np.log(rng.dirichlet(np.ones(4), 2)), rng.dirichlet(np.ones(4), 2)
    with pytest.warns(UserWarning, match="batchmean"):
        ours = F.kl_div(cr.tensor(x), cr.tensor(t))
    with pytest.warns(UserWarning, match="batchmean"):
        want = TF.kl_div(torch.tensor(x), torch.tensor(t))
    np.testing.assert_allclose(ours.item(), want.item(), rtol=1e-12)
    t[0, 0] = 0.0  # a zero target contributes 0, not NaN
    assert np.isfinite(F.kl_div(cr.tensor(x), cr.tensor(t), reduction="sum").item())


def _labels(rng, n):
    return np.where(rng.random(n) < 0.5, -1.0, 1.0)


LOSSES = {
    "gaussian_nll_loss": lambda r: ([r.standard_normal((4, 3)), r.standard_normal((4, 3)),
                                     r.uniform(0.5, 2, (4, 3))], {}),
    "gaussian_nll_loss_per_sample": lambda r: ([r.standard_normal((4, 3)),
                                                r.standard_normal((4, 3)), r.uniform(0.5, 2, 4)],
                                               dict(full=True)),
    "poisson_nll_loss": lambda r: ([r.standard_normal((4, 3)), r.poisson(2.0, (4, 3)) * 1.0],
                                   dict(full=True)),
    "poisson_nll_loss_rate": lambda r: ([r.uniform(0.5, 3, (4, 3)), r.poisson(2.0, (4, 3)) * 1.0],
                                        dict(log_input=False)),
    "margin_ranking_loss": lambda r: ([r.standard_normal(6), r.standard_normal(6),
                                       _labels(r, 6)], dict(margin=0.1)),
    "hinge_embedding_loss": lambda r: ([r.standard_normal((3, 4)),
                                        _labels(r, 12).reshape(3, 4)], dict(margin=0.7)),
    "soft_margin_loss": lambda r: ([r.standard_normal((3, 4)), _labels(r, 12).reshape(3, 4)], {}),
    "multilabel_soft_margin_loss": lambda r: ([r.standard_normal((3, 4)),
                                               (r.random((3, 4)) < 0.5) * 1.0], {}),
    "cosine_embedding_loss": lambda r: ([r.standard_normal((5, 3)), r.standard_normal((5, 3)),
                                         _labels(r, 5)], dict(margin=-0.2)),
    "triplet_margin_loss": lambda r: ([r.standard_normal((4, 3)), r.standard_normal((4, 3)),
                                       r.standard_normal((4, 3))], dict(margin=2.0)),
    "triplet_margin_loss_swap": lambda r: ([r.standard_normal((4, 3)), r.standard_normal((4, 3)),
                                            r.standard_normal((4, 3))],
                                           dict(margin=3.0, p=1.0, swap=True)),
}
LABELLED = {"margin_ranking_loss": 2, "hinge_embedding_loss": 1, "cosine_embedding_loss": 2}


@pytest.mark.kernel_free
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", sorted(LOSSES))
def test_losses_match_torch(rng, case, reduction):
    name = case.replace("_per_sample", "").replace("_rate", "").replace("_swap", "")
    arrays, kw = LOSSES[case](rng)
    kw = dict(kw, reduction=reduction)
    grad = [i for i in range(len(arrays)) if i != LABELLED.get(name)]
    if name in ("poisson_nll_loss", "multilabel_soft_margin_loss", "soft_margin_loss"):
        grad = [0]
    compare(lambda *a: getattr(F, name)(*a, **kw), lambda *a: getattr(TF, name)(*a, **kw),
            arrays, rng, grad=grad)
    ours = [cr.tensor(a, requires_grad=i in grad) for i, a in enumerate(arrays)]
    fn = lambda *a: getattr(F, name)(*a, **kw)  # noqa: E731
    assert cr.gradcheck(fn, ours)
    assert cr.gradgradcheck(fn, ours)


MODULES = [
    ("GaussianNLLLoss", dict(full=True), "gaussian_nll_loss"),
    ("PoissonNLLLoss", dict(log_input=False), "poisson_nll_loss_rate"),
    ("MarginRankingLoss", dict(margin=0.3), "margin_ranking_loss"),
    ("HingeEmbeddingLoss", dict(margin=2.0), "hinge_embedding_loss"),
    ("CosineEmbeddingLoss", dict(margin=0.1, reduction="sum"), "cosine_embedding_loss"),
    ("SoftMarginLoss", {}, "soft_margin_loss"),
    ("MultiLabelSoftMarginLoss", dict(reduction="none"), "multilabel_soft_margin_loss"),
    ("TripletMarginLoss", dict(swap=True), "triplet_margin_loss"),
]


@pytest.mark.kernel_free
@pytest.mark.parametrize("name, kw, case", MODULES, ids=[m for m, _, _ in MODULES])
def test_loss_modules_match_torch(rng, name, kw, case):
    arrays, _ = LOSSES[case](rng)
    compare(getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw), arrays, rng, grad=[0])
    ours = list(inspect.signature(getattr(nn, name)).parameters)
    assert ours == list(inspect.signature(getattr(torch.nn, name)).parameters)


@pytest.mark.kernel_free
def test_cosine_embedding_loss_of_a_tiny_vector_matches_torch():
    # PyTorch's 1e-12 is a C float (float32's 1e-12): chainrule's float64 1e-12 put the loss of a
    # near-zero vector 2e-10 (its gradient 2e-9) off; found by the fifth fuzz wave
    a, b, y = np.array([[1e-7, 0.0], [0.0, 0.0]]), np.array([[1.0, 0.5], [0.3, 2.0]]), [1.0, -1.0]
    compare(lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=-0.5, reduction="none"),
            lambda a, b, y: TF.cosine_embedding_loss(a, b, y, margin=-0.5, reduction="none"),
            [a, b, np.array(y)], np.random.default_rng(0), grad=[0, 1], tol=1e-13)


@pytest.mark.kernel_free
def test_multilabel_soft_margin_loss_weight(rng):
    x, t = rng.standard_normal((3, 4)), (rng.random((3, 4)) < 0.5) * 1.0
    w = rng.uniform(0.5, 2, 4)
    ours = F.multilabel_soft_margin_loss(cr.tensor(x), cr.tensor(t), cr.tensor(w))
    want = TF.multilabel_soft_margin_loss(torch.tensor(x), torch.tensor(t), torch.tensor(w))
    np.testing.assert_allclose(ours.item(), want.item(), rtol=1e-12)
    module = nn.MultiLabelSoftMarginLoss(cr.tensor(w))
    assert list(module.state_dict()) == ["weight"]  # a buffer, as PyTorch's
    np.testing.assert_allclose(module(cr.tensor(x), cr.tensor(t)).item(), want.item(), rtol=1e-12)


_SIGNATURES_FOLLOW_PYTORCH = ["kl_div", "gaussian_nll_loss", "poisson_nll_loss",
                                  "margin_ranking_loss", "hinge_embedding_loss",
                                  "cosine_embedding_loss", "soft_margin_loss",
                                  "multilabel_soft_margin_loss", "triplet_margin_loss",
                                  "normalize", "embedding"]


def _signatures_follow_pytorch_case(name):
    ours = list(inspect.signature(getattr(F, name)).parameters)
    theirs = list(inspect.signature(getattr(TF, name)).parameters)
    assert ours == theirs


@pytest.mark.kernel_free
def test_signatures_follow_pytorch():
    each_case(_signatures_follow_pytorch_case, grid(("name", _SIGNATURES_FOLLOW_PYTORCH)))


_BAD_ARGUMENTS_ARE_NAMED = [
    (lambda x: F.kl_div(x, x, reduction="avg"), ValueError, "'batchmean'.*got 'avg'"),
    (lambda x: F.gaussian_nll_loss(x, x, cr.tensor(np.ones(3))), ValueError,
     r"var must have the input's shape \(2, 3\).*got \(3,\)"),
    (lambda x: F.gaussian_nll_loss(x, x, -cr.tensor(np.ones((2, 3)))), ValueError, "negative"),
    (lambda x: F.margin_ranking_loss(x, x, cr.tensor(np.ones(3))), ValueError,
     r"same number of dimensions, got shapes \(2, 3\), \(2, 3\) and \(3,\)"),
    (lambda x: F.triplet_margin_loss(x, x, x[0]), ValueError, r"\(2, 3\), \(2, 3\), \(3,\)"),
    # a margin <= 0 gave a loss where PyTorch raises; found by the fifth fuzz wave
    (lambda x: F.triplet_margin_loss(x, x, x, margin=0.0), ValueError,
     r"triplet_margin_loss: margin must be greater than 0, got 0.0"),
    (lambda x: nn.TripletMarginLoss(margin=-1.0), ValueError,
     r"TripletMarginLoss: margin must be greater than 0, got -1.0"),
    (lambda x: F.cosine_similarity(x, cr.tensor(np.ones((2, 4)))), ValueError,
     r"\(2, 3\) and \(2, 4\)"),
    (lambda x: F.pairwise_distance(x, x, p=float("nan")), ValueError, "p must be a real number"),
    (lambda x: F.normalize(x, dim=2), ValueError, "axis"),
    (lambda x: nn.KLDivLoss(reduction="avg"), ValueError, "got 'avg'"),
]


def _bad_arguments_are_named_case(call, err, match):
    with pytest.raises(err, match=match):
        call(cr.tensor(np.ones((2, 3))))


@pytest.mark.kernel_free
def test_bad_arguments_are_named():
    each_case(_bad_arguments_are_named_case, grid(("call, err, match", _BAD_ARGUMENTS_ARE_NAMED)))


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multi_margin_loss_matches_torch(rng, p, weighted, reduction):
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    w = [rng.uniform(0.5, 2, 4)] if weighted else []
    kw = dict(p=p, margin=0.7, reduction=reduction)
    compare(lambda a, b, *c: F.multi_margin_loss(a, b, weight=c[0] if c else None, **kw),
            lambda a, b, *c: TF.multi_margin_loss(a, b, weight=c[0] if c else None, **kw),
            [x, y] + w, rng, grad=[0])
    module = nn.MultiMarginLoss(p, 0.7, cr.tensor(w[0]) if w else None, reduction=reduction)
    want = torch.nn.MultiMarginLoss(p, 0.7, torch.tensor(w[0]) if w else None,
                                    reduction=reduction)
    compare(module, want, [x, y], rng, grad=[0])
    assert list(module.state_dict()) == list(want.state_dict())
    t = cr.tensor(x, requires_grad=True)
    fn = lambda a: F.multi_margin_loss(a, cr.tensor(y), **kw)  # noqa: E731
    assert cr.gradcheck(fn, [t])
    assert cr.gradgradcheck(fn, [t])
    compare(lambda a, b: F.multi_margin_loss(a, b, **kw),
            lambda a, b: TF.multi_margin_loss(a, b, **kw), [x[0], np.array(y[0])], rng, grad=[0])


@pytest.mark.kernel_free
def test_multi_margin_loss_errors_name_the_argument():
    x = cr.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"target classes must be in \[0, 2\], got 0..3"):
        F.multi_margin_loss(x, cr.tensor([0, 3]))
    with pytest.raises(ValueError, match="p must be 1 or 2, got 3"):
        F.multi_margin_loss(x, cr.tensor([0, 1]), p=3)
    with pytest.raises(ValueError, match=r"one integer class per sample \(shape \(2,\)\)"):
        F.multi_margin_loss(x, cr.tensor([0.0, 1.0]))
    assert list(inspect.signature(F.multi_margin_loss).parameters) == \
        list(inspect.signature(TF.multi_margin_loss).parameters)
