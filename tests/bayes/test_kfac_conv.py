"""KFAC Laplace of Conv2d layers against the exact GGN of a tiny conv net (float64).

A Conv2d is a Linear layer applied to every receptive field, so the exact GGN block is
``sum_n sum_t,t' (g_nt^T Lambda_n g_nt') (x) (a_nt a_nt'^T)``. The checks: with one output
location both factorizations are the Linear one (exact for one example); "reduce" is exact for one
example whose patches are all equal, and its B is the exact bias-by-bias block for any data; the
factors are their definitions in terms of patches cut out by a plain loop and output gradients
taken here (which recompose the exact GGN); the linearized predictive's covariance is
``J Sigma J^T`` with the dense posterior covariance and the full Jacobian.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import grad
from chainrule.bayes import KFACLaplace, softmax_probs


def _conv_net(rng, *, kernel=3, stride=1, padding=0, size=4, classes=4):
    conv = nn.Conv2d(2, 3, kernel, stride=stride, padding=padding, rng=rng, dtype="float64")
    side = (size + 2 * padding - kernel) // stride + 1
    return nn.Sequential(conv, nn.Tanh(), nn.Flatten(),
                         nn.Linear(3 * side * side, classes, rng=rng, dtype="float64"))


def _jacobian(net, x1, layer):
    """(C, P): d logits / d [W | b] of ``layer`` for one example, row by row."""
    out = net(cr.tensor(x1))
    rows = []
    for c in range(out.shape[1]):
        gw, gb = grad(out[0, c], [layer.weight, layer.bias], retain_graph=True)
        w = gw._data.reshape(len(gw._data), -1)
        rows.append(np.concatenate([w, gb._data[:, None]], axis=1).reshape(-1))
    return out._data[0], np.stack(rows)


def _exact_block(net, x, layer):
    block = 0.0
    for n in range(len(x)):
        logits, jac = _jacobian(net, x[n:n + 1], layer)
        p = softmax_probs(logits[None])[0]
        block = block + jac.T @ (np.diag(p) - np.outer(p, p)) @ jac
    return block


def _patches(x, kernel, stride, padding):
    """(N, T, C*k*k + 1): every receptive field by a plain loop, (c, i, j) order, then a 1."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    side = (xp.shape[2] - kernel) // stride + 1
    rows = []
    for n in range(len(x)):
        rows.append([np.append(xp[n, :, a * stride:a * stride + kernel,
                                  b * stride:b * stride + kernel].reshape(-1), 1.0)
                     for a in range(side) for b in range(side)])
    return np.array(rows)


def _output_grads(net, x, conv):
    """(N, T, C, out): d logit c / d conv output at location t, and the probabilities (N, C)."""
    kept = []
    hook = conv.register_forward_hook(lambda m, args, out: kept.append(out))
    out = net(cr.tensor(x))
    hook.remove()
    s = kept[0]
    per_class = [grad(out[:, c].sum(), [s], retain_graph=True)[0]._data
                 for c in range(out.shape[1])]
    g = np.stack(per_class, axis=1)                         # (N, C, out, Ho, Wo)
    g = g.reshape(*g.shape[:3], -1).transpose(0, 3, 1, 2)   # (N, T, C, out)
    return g, softmax_probs(out._data)


@pytest.mark.parametrize("approx", ["expand", "reduce"])
def test_one_location_is_the_linear_layer_and_exact_for_one_example(approx):
    rng = np.random.default_rng(0)
    net = _conv_net(rng, kernel=4)  # 4x4 input, 4x4 kernel: one output location
    x = rng.standard_normal((6, 2, 4, 4))
    la = KFACLaplace(net, conv_approximation=approx).fit(x[:1])
    b, a = la.factors[0]
    np.testing.assert_allclose(np.kron(b, a), _exact_block(net, x[:1], net[0]), rtol=1e-10,
                               atol=1e-12)
    # Many examples: the factors of the same layer written as a Linear on flattened images.
    conv = net[0]
    lin = nn.Linear(32, 3, dtype="float64")
    with cr.no_grad():
        lin.weight.copy_(conv.weight.numpy().reshape(3, -1))
        lin.bias.copy_(conv.bias.numpy())
    flat = nn.Sequential(lin, nn.Tanh(), net[3])
    ours = KFACLaplace(net, conv_approximation=approx).fit(x, batch_size=4)
    theirs = KFACLaplace(flat).fit(x.reshape(6, -1))
    for (b1, a1), (b2, a2) in zip(ours.factors, theirs.factors):
        np.testing.assert_allclose(b1, b2, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a1, a2, rtol=1e-10, atol=1e-12)


def test_reduce_is_exact_when_every_patch_is_the_same():
    rng = np.random.default_rng(1)
    net = _conv_net(rng, kernel=3, size=5)  # nine output locations
    x = np.ones((1, 2, 5, 5)) * np.array([0.7, -1.3])[None, :, None, None]
    exact = _exact_block(net, x, net[0])
    b, a = KFACLaplace(net, conv_approximation="reduce").fit(x).factors[0]
    np.testing.assert_allclose(np.kron(b, a), exact, rtol=1e-10, atol=1e-12)
    b, a = KFACLaplace(net, conv_approximation="expand").fit(x).factors[0]
    assert not np.allclose(np.kron(b, a), exact, rtol=1e-3)  # expand drops the cross terms


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_factors_are_their_definitions_and_recompose_the_exact_ggn(stride, padding):
    rng = np.random.default_rng(2)
    net = _conv_net(rng, kernel=3, stride=stride, padding=padding, size=5)
    x = rng.standard_normal((5, 2, 5, 5))
    conv = net[0]
    a = _patches(x, 3, stride, padding)                     # (N, T, P)
    g, p = _output_grads(net, x, conv)                      # (N, T, C, out)
    lam = np.einsum("nc,cd->ncd", p, np.eye(p.shape[1])) - np.einsum("nc,nd->ncd", p, p)
    # The ingredients are right: with the cross terms they give the exact GGN block.
    cross = np.einsum("ntco,ncd,nsdq->ntsoq", g, lam, g)
    recomposed = np.einsum("ntsoq,ntk,nsl->okql", cross, a, a)
    size = a.shape[-1] * g.shape[-1]
    exact = _exact_block(net, x, conv)
    np.testing.assert_allclose(recomposed.reshape(size, size), exact, rtol=1e-10, atol=1e-12)
    n, t = a.shape[:2]
    b_expand = np.einsum("ntco,ncd,ntdq->oq", g, lam, g)
    a_expand = np.einsum("ntk,ntl->kl", a, a) / (n * t)
    g_sum, a_mean = g.sum(1), a.mean(1)
    b_reduce = np.einsum("nco,ncd,ndq->oq", g_sum, lam, g_sum)
    a_reduce = np.einsum("nk,nl->kl", a_mean, a_mean) / n
    for approx, (b_want, a_want) in (("expand", (b_expand, a_expand)),
                                     ("reduce", (b_reduce, a_reduce))):
        b, a_f = KFACLaplace(net, conv_approximation=approx).fit(x, batch_size=2).factors[0]
        np.testing.assert_allclose(b, b_want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a_f, a_want, rtol=1e-10, atol=1e-12)
    # reduce's B is the exact bias-by-bias block (the bias sees a 1 at every location).
    d = a.shape[-1]
    np.testing.assert_allclose(b_reduce, exact[d - 1::d, d - 1::d], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("approx", ["expand", "reduce"])
def test_the_linearized_logit_covariance_is_j_sigma_jt(approx):
    rng = np.random.default_rng(3)
    net = _conv_net(rng, kernel=3, stride=1, padding=1, size=4)
    x = rng.standard_normal((6, 2, 4, 4))
    la = KFACLaplace(net, prior_precision=2.0, conv_approximation=approx).fit(x, batch_size=4)
    mean, cov = la.logits_distribution(x[:3], batch_size=2)
    for n in range(3):
        want = 0.0
        for l, layer in enumerate((net[0], net[3])):
            logits, jac = _jacobian(net, x[n:n + 1], layer)
            want = want + jac @ la.covariance(l) @ jac.T
        np.testing.assert_allclose(mean[n], logits, rtol=1e-12)
        np.testing.assert_allclose(cov[n], want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
@pytest.mark.parametrize("approx", ["expand", "reduce"])
def test_padding_modes_cut_the_padded_patches(mode, approx):
    # A Conv2d padding by reflection (or replication) is the same layer unpadded applied to the
    # input padded that way: the factors and the predictive must be the same. The patches were
    # cut with zero padding, a wrong A factor (up to 100% off) and predictive covariance.
    rng = np.random.default_rng(4)
    net = _conv_net(rng, padding=1)
    net[0] = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode, rng=rng, dtype="float64")
    plain = _conv_net(np.random.default_rng(4), padding=0, size=6)
    plain.load_state_dict(net.state_dict())
    x = rng.standard_normal((5, 2, 4, 4))
    x_padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode={"reflect": "reflect",
                                                                 "replicate": "edge"}[mode])
    np.testing.assert_allclose(net(cr.tensor(x)).numpy(), plain(cr.tensor(x_padded)).numpy(),
                               rtol=1e-12)
    la = KFACLaplace(net, conv_approximation=approx).fit(x)
    ref = KFACLaplace(plain, conv_approximation=approx).fit(x_padded)
    for (b, a), (b_ref, a_ref) in zip(la.factors, ref.factors):
        np.testing.assert_allclose(b, b_ref, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(a, a_ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(la.logits_distribution(x)[1], ref.logits_distribution(x_padded)[1],
                               rtol=1e-8, atol=1e-14)


def test_sampled_conv_weights_are_restored_and_vary():
    rng = np.random.default_rng(4)
    net = _conv_net(rng, kernel=3, size=4)
    x = rng.standard_normal((4, 2, 4, 4))
    before = net[0].weight.numpy().copy()
    la = KFACLaplace(net, prior_precision=1.0).fit(x)
    outs = la.sample_outputs(x, samples=3, rng=0)
    assert outs.shape == (3, 4, 4) and not np.allclose(outs[0], outs[1])
    np.testing.assert_array_equal(net[0].weight.numpy(), before)
    probs = la.predict(x, link="mc", samples=4, rng=0)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-12)


def test_grouped_convolutions_and_unknown_approximations_are_refused():
    grouped = nn.Sequential(nn.Conv2d(2, 2, 3, groups=2), nn.Flatten(), nn.Linear(8, 2))
    with pytest.raises(ValueError, match="groups=2 has no Kronecker-factored block"):
        KFACLaplace(grouped)
    with pytest.raises(ValueError, match="conv_approximation must be one of .*got 'mean'"):
        KFACLaplace(_conv_net(np.random.default_rng(0)), conv_approximation="mean")


def test_a_trained_conv_net_on_digits():
    from chainrule import optim
    from chainrule.bayes import nll
    from chainrule.data.datasets import digits
    from chainrule.train import Trainer

    (x, y), (xt, yt) = digits(seed=0)
    x, xt = x.reshape(-1, 1, 8, 8), xt.reshape(-1, 1, 8, 8)
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(128, 10, rng=rng))
    Trainer(net, "cross_entropy", optim.Adam(net.parameters(), lr=3e-3)).fit(
        (x[:200], y[:200]), epochs=80, batch_size=32, rng=0, verbose=0)  # fused, over-fitted
    plain = softmax_probs(Trainer(net, "cross_entropy", None).predict(xt))
    la = KFACLaplace(net).fit(x[:200])
    assert any(type(m) is nn.ReLU for m in net.modules())  # unfused: the conv's output is s
    assert [b.shape for b, _ in la.factors] == [(8, 8), (10, 10)]
    assert [a.shape for _, a in la.factors] == [(10, 10), (129, 129)]
    np.testing.assert_allclose(la.set_prior_precision(1e9).predict(xt), plain, atol=1e-4)
    grid = (1.0, 10.0, 100.0, 1000.0)  # the prior by the NLL of held-out training images
    val_nll = [nll(la.set_prior_precision(a).predict(x[200:500]), y[200:500]) for a in grid]
    la.set_prior_precision(grid[int(np.argmin(val_nll))])
    probs = la.predict(xt)
    assert (probs.argmax(1) == yt).mean() > (plain.argmax(1) == yt).mean() - 0.02
    assert nll(probs, yt) < nll(plain, yt)  # the over-fitted net is over-confident
