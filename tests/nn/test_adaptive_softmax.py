"""AdaptiveLogSoftmaxWithLoss against PyTorch from the same weights (float64): forward output and
loss, gradients of the input and every parameter, log_prob, predict; unbatched input; errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _pair(head_bias=True, cutoffs=(4, 9, 15)):
    torch = pytest.importorskip("torch")
    ours = nn.AdaptiveLogSoftmaxWithLoss(16, 20, list(cutoffs), div_value=2.0,
                                         head_bias=head_bias, rng=np.random.default_rng(3),
                                         dtype="float64")
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 20, list(cutoffs), div_value=2.0,
                                                 head_bias=head_bias).double()
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs, torch


@pytest.mark.torch
@pytest.mark.parametrize("head_bias", [False, True])
def test_forward_and_gradients_match_torch(rng, head_bias):
    ours, theirs, torch = _pair(head_bias)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((12, 16))
    target = np.array([0, 3, 4, 8, 9, 14, 15, 19, 2, 19, 5, 1])  # every cluster's edges
    a, b = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(a, cr.tensor(target)), theirs(b, torch.tensor(target))
    assert out._fields == ("output", "loss")
    np.testing.assert_allclose(out.output.numpy(), ref.output.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), rtol=1e-12)
    w = rng.standard_normal(12)
    (out.loss + (out.output * cr.tensor(w)).sum()).backward()
    (ref.loss + (ref.output * torch.tensor(w)).sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-14)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(),
                                   rtol=1e-10, atol=1e-14, err_msg=name)
    full, ref_full = ours.log_prob(a), theirs.log_prob(b)
    np.testing.assert_allclose(full.numpy(), ref_full.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.exp(full.numpy()).sum(1), 1.0, rtol=1e-12)
    picked = full.numpy()[np.arange(12), target]  # the forward output is log_prob's entry
    np.testing.assert_allclose(out.output.numpy(), picked, rtol=1e-12)


@pytest.mark.torch
def test_predict_matches_torch_in_and_outside_the_shortlist(rng):
    ours, theirs, torch = _pair()
    x = rng.standard_normal((40, 16))
    for shift in (-30.0, 0.5, 30.0):  # all in the shortlist, mixed, all in clusters
        bias = np.zeros(7)
        bias[4:] = shift
        with cr.no_grad():
            ours.head.bias.copy_(cr.tensor(bias))
        with torch.no_grad():
            theirs.head.bias.copy_(torch.tensor(bias))
        got = ours.predict(cr.tensor(x)).numpy()
        np.testing.assert_array_equal(got, theirs.predict(torch.tensor(x)).numpy())
        np.testing.assert_array_equal(got, ours.log_prob(cr.tensor(x)).numpy().argmax(1))
        assert (got >= 4).any() == (shift > -30) and (got < 4).any() == (shift < 30)


@pytest.mark.torch
def test_unbatched_and_gradcheck(rng):
    ours, theirs, torch = _pair(cutoffs=(5,))
    x = rng.standard_normal(16)
    out, ref = ours(cr.tensor(x), 17), theirs(torch.tensor(x), torch.tensor(17))
    assert out.output.shape == () and out.loss.shape == ()
    np.testing.assert_allclose(out.output.item(), ref.output.item(), rtol=1e-12)
    np.testing.assert_allclose(ours.log_prob(cr.tensor(x)).numpy(),  # PyTorch's: 2-D only
                               theirs.log_prob(torch.tensor(x[None]))[0].detach().numpy(),
                               rtol=1e-12)
    t = cr.tensor(rng.standard_normal((4, 16)), requires_grad=True)
    assert cr.gradcheck(lambda v: ours(v, cr.tensor([0, 6, 19, 3])).output, [t])


@pytest.mark.kernel_free
@pytest.mark.parametrize("kw, match", [
    (dict(cutoffs=[]), "cutoffs should be a sequence"),
    (dict(cutoffs=[5, 3]), "got \\[5, 3\\]"),
    (dict(cutoffs=[4, 20]), "n_classes-1 = 19"),
    (dict(cutoffs=[0, 4]), "positive integers"),
    (dict(cutoffs=[4, 4]), "unique"),
    (dict(cutoffs=[2, 4, 8], div_value=8.0), "cluster 1 would project to in_features // "
                                             "div_value \\*\\* 2 = 0 units"),
])
def test_constructor_errors(kw, match):
    args = dict(in_features=16, n_classes=20) | kw
    with pytest.raises(ValueError, match=match):
        nn.AdaptiveLogSoftmaxWithLoss(**args)


@pytest.mark.kernel_free
def test_forward_errors(rng):
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3], rng=rng)
    x = cr.tensor(rng.standard_normal((4, 8)).astype("float32"))
    with pytest.raises(ValueError, match="values should be in \\[0, 9\\].*\\[0, 10\\]"):
        m(x, cr.tensor([0, 1, 10, 2]))
    with pytest.raises(ValueError, match="input shape \\(4, 8\\), target shape \\(3,\\)"):
        m(x, cr.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="0-D or 1-D"):
        m(x, cr.tensor([[0, 1, 2, 3]]))
    with pytest.raises(TypeError, match="integer classes, got dtype float32"):
        m(x, cr.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="predict: input must be \\(N, in_features\\)"):
        m.predict(x[0])
