"""ctc_loss / nn.CTCLoss: gradient checks on raw log-probabilities, small cases counted by hand
(all alignments enumerated), errors, and parity with PyTorch (float64) through a log_softmax."""

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F  # noqa: N812 - PyTorch's spelling
from chainrule import nn


def _brute_nll(lp, target, blank=0):
    """-log of the summed probability of every frame labelling that collapses to ``target``."""
    t_len, c = lp.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t_len):
        collapsed = [k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k)]
        if collapsed == list(target):
            total += np.exp(sum(lp[i, k] for i, k in enumerate(path)))
    return -np.log(total)


def _case(rng, t=6, n=3, c=4):
    x = rng.standard_normal((t, n, c))
    targets = np.array([[1, 1, 2], [3, 0, 0], [2, 3, 2]])[:n]  # a repeat, a short one, a pattern
    return x, targets, np.array([6, 4, 5])[:n], np.array([3, 1, 3])[:n]


@pytest.mark.kernel_free
@pytest.mark.parametrize("blank", [0, 2])
def test_matches_enumerated_alignments(rng, blank):
    lp = np.log(rng.dirichlet(np.ones(3), size=5))  # (T=5, C=3)
    target = [1, 1] if blank == 0 else [1, 0, 0]
    expected = _brute_nll(lp, target, blank)
    got = F.ctc_loss(cr.tensor(lp[:, None]), [target], [5], [len(target)], blank=blank,
                     reduction="none")
    np.testing.assert_allclose(got.numpy(), [expected], rtol=1e-12)
    unbatched = F.ctc_loss(cr.tensor(lp), target, 5, len(target), blank, "none")
    assert unbatched.shape == ()
    np.testing.assert_allclose(unbatched.item(), expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradcheck_raw_log_probs(rng, reduction):
    lp = cr.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)  # unnormalized: the
    targets, il, tl = [[1, 1], [2, 1]], [4, 3], [2, 1]                   # true gradient
    fn = lambda a: F.ctc_loss(a, targets, il, tl, reduction=reduction)  # noqa: E731
    assert cr.gradcheck(fn, [lp])
    if reduction == "mean":
        assert cr.gradgradcheck(fn, [lp])


@pytest.mark.kernel_free
def test_concatenated_targets_equal_padded(rng):
    x, targets, il, tl = _case(rng)
    lp = F.log_softmax(cr.tensor(x), -1)
    flat = np.concatenate([row[:k] for row, k in zip(targets, tl)])
    a = F.ctc_loss(lp, targets, il, tl, reduction="none")
    b = F.ctc_loss(lp, cr.tensor(flat), cr.tensor(il), cr.tensor(tl), reduction="none")
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    mean = F.ctc_loss(lp, targets, il, tl)
    np.testing.assert_allclose(mean.item(), np.mean(a.numpy() / tl), rtol=1e-12)


def test_impossible_alignment_is_inf_or_zero(rng):
    x = rng.standard_normal((3, 2, 4))
    targets, il, tl = [[1, 1, 2], [3, 0, 0]], [3, 3], [3, 1]  # 1 1 2 needs 4 frames
    lp = cr.tensor(x, requires_grad=True)
    loss = F.ctc_loss(lp, targets, il, tl, reduction="none")
    assert np.isinf(loss.numpy()[0]) and np.isfinite(loss.numpy()[1])
    loss.sum().backward()
    assert np.isnan(lp.grad.numpy()[:, 0]).all()  # undefined, as PyTorch's
    lp.grad = None
    zeroed = nn.CTCLoss(reduction="sum", zero_infinity=True)(lp, targets, il, tl)
    np.testing.assert_allclose(zeroed.item(), loss.numpy()[1], rtol=1e-12)
    zeroed.backward()
    np.testing.assert_array_equal(lp.grad.numpy()[:, 0], 0.0)
    assert np.isfinite(lp.grad.numpy()).all()
    assert cr.gradgradcheck(lambda a: F.ctc_loss(a, targets, il, tl, zero_infinity=True), [lp])


@pytest.mark.kernel_free
def test_frames_past_input_length_get_no_gradient(rng):
    x, targets, il, tl = _case(rng)
    lp = cr.tensor(x, requires_grad=True)
    F.ctc_loss(lp, targets, il, tl).backward()
    g = lp.grad.numpy()
    assert (g[4:, 1] == 0).all() and (g[5:, 2] == 0).all() and (g[:4, 1] != 0).any()


@pytest.mark.kernel_free
@pytest.mark.parametrize("args, match", [
    (dict(input_lengths=[7, 4, 5]), "input_lengths must be in \\[0, 6\\]"),
    (dict(input_lengths=[6, 4]), "one length per sample \\(3\\)"),
    (dict(target_lengths=[4, 1, 3]), "target_lengths must be in \\[0, 3\\]"),
    (dict(targets=[[1, 1, 2], [3, 0, 0], [2, 4, 2]]), "classes in \\[0, 3\\]"),
    (dict(targets=[[1, 0, 2], [3, 0, 0], [2, 3, 2]]), "blank label 0"),
    (dict(targets=np.array([1, 1, 2, 3])), "sum\\(target_lengths\\) = 7"),
    (dict(blank=4), "blank must be a class in \\[0, 3\\]"),
    (dict(reduction="batchmean"), "reduction must be one of"),
    (dict(input_lengths=[6.0, 4.0, 5.0]), "must hold integers"),
])
def test_errors(rng, args, match):
    x, targets, il, tl = _case(rng)
    kw = dict(targets=targets, input_lengths=il, target_lengths=tl) | args
    with pytest.raises((ValueError, TypeError), match=match):
        F.ctc_loss(cr.tensor(x), **kw)


@pytest.mark.kernel_free
def test_log_probs_shape_error(rng):
    with pytest.raises(ValueError, match="\\(T, N, C\\).*got shape \\(2, 3, 4, 5\\)"):
        F.ctc_loss(cr.tensor(rng.standard_normal((2, 3, 4, 5))), [[1]], [2], [1])


@pytest.mark.kernel_free
@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("flat", [False, True])
def test_matches_torch_after_log_softmax(rng, reduction, zero_infinity, flat):
    torch = pytest.importorskip("torch")
    t, n, c, s = 12, 5, 6, 4
    x = rng.standard_normal((t, n, c))
    tl = np.array([4, 2, 0, 4, 3])
    # sample 3 (4 labels with repeats) needs 6 frames: with zero_infinity it gets 5
    il = np.array([12, 7, 3, 5 if zero_infinity else 12, 9])
    targets = rng.integers(1, c, size=(n, s))
    targets[3] = [2, 2, 5, 5]
    flat_t = np.concatenate([row[:k] for row, k in zip(targets, tl)])
    tg = flat_t if flat else targets
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y = F.ctc_loss(F.log_softmax(ours, -1), tg, il, tl, 0, reduction, zero_infinity)
    z = torch.nn.functional.ctc_loss(theirs.log_softmax(-1), torch.tensor(tg), torch.tensor(il),
                                     torch.tensor(tl), 0, reduction, zero_infinity)
    np.testing.assert_allclose(y.numpy(), z.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(y.shape)
    (y * cr.tensor(w)).sum().backward()
    (z * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.kernel_free
@pytest.mark.torch
def test_gradient_convention_against_torch(rng):
    """PyTorch's gradient with respect to log_probs is ours plus exp(log_probs) on the frames
    within each input length (it is the gradient with respect to the logits)."""
    torch = pytest.importorskip("torch")
    x, targets, il, tl = _case(rng)
    lp = np.log(rng.dirichlet(np.ones(4), size=(6, 3)))
    ours = cr.tensor(lp, requires_grad=True)
    theirs = torch.tensor(lp, requires_grad=True)
    F.ctc_loss(ours, targets, il, tl, reduction="sum").backward()
    torch.nn.functional.ctc_loss(theirs, torch.tensor(targets), torch.tensor(il),
                                 torch.tensor(tl), reduction="sum").backward()
    inside = (np.arange(6)[:, None] < il[None, :])[..., None]
    np.testing.assert_allclose(ours.grad.numpy() + np.exp(lp) * inside, theirs.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
    assert repr(nn.CTCLoss(blank=1, zero_infinity=True)) == repr(
        torch.nn.CTCLoss(blank=1, zero_infinity=True))
