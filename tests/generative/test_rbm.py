"""RBMs: free energy and log Z against brute force, conditionals, CD-k/PCD against NumPy, DBN."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data.datasets import digits
from chainrule.generative import RBM, free_energy, pretrain_rbm_stack, train_rbm
from chainrule.models import MLP


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _tiny(dtype="float64", seed=0, nv=6, nh=4):
    rbm = RBM(nv, nh, rng=np.random.default_rng(seed), dtype=dtype)
    g = np.random.default_rng(seed + 100)
    with cr.no_grad():  # weights large enough that the states differ clearly
        rbm.weight.copy_(cr.tensor(g.normal(0, 1, (nv, nh)).astype(dtype)))
        rbm.visible_bias.copy_(cr.tensor(g.normal(0, 1, nv).astype(dtype)))
        rbm.hidden_bias.copy_(cr.tensor(g.normal(0, 1, nh).astype(dtype)))
    return rbm


def _params(rbm):
    return [p._data.astype("float64") for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias)]


def _states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def test_free_energy_and_log_partition_against_brute_force():
    rbm = _tiny()
    W, b, c = _params(rbm)
    vs, hs = _states(6), _states(4)
    energy = -(vs @ b)[:, None] - (hs @ c)[None, :] - vs @ W @ hs.T  # E(v, h), all 64 x 16
    got_e = rbm.energy(np.repeat(vs, 16, 0), np.tile(hs, (64, 1)))._data.reshape(64, 16)
    np.testing.assert_allclose(got_e, energy, rtol=1e-12, atol=1e-12)
    free = -np.log(np.exp(-energy).sum(1))  # F(v) = -log sum_h exp(-E(v, h))
    np.testing.assert_allclose(rbm.free_energy(vs)._data, free, rtol=1e-12, atol=1e-12)
    log_z = np.log(np.exp(-energy).sum())
    assert rbm.log_partition() == pytest.approx(log_z, rel=1e-12)
    # summing over the hidden layer (wider visible layer) gives the same Z
    wide = RBM(4, 6, dtype="float64")
    with cr.no_grad():
        wide.weight.copy_(cr.tensor(W.T.copy()))
        wide.visible_bias.copy_(cr.tensor(c))
        wide.hidden_bias.copy_(cr.tensor(b))
    assert wide.log_partition() == pytest.approx(log_z, rel=1e-12)
    p = np.exp(-free - log_z)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert rbm.log_likelihood(vs[:5]) == pytest.approx(np.log(p[:5]).mean(), rel=1e-12)


def test_conditionals():
    rbm = _tiny()
    W, b, c = _params(rbm)
    v = np.random.default_rng(1).random((5, 6))
    h = (np.random.default_rng(2).random((5, 4)) < 0.5).astype(float)
    np.testing.assert_allclose(rbm.hidden_probabilities(v), _sig(v @ W + c), rtol=1e-13)
    np.testing.assert_allclose(rbm(v)._data, _sig(v @ W + c), rtol=1e-13)
    np.testing.assert_allclose(rbm.visible_probabilities(h), _sig(h @ W.T + b), rtol=1e-13)
    # p(h_j = 1 | v) from the joint: sum over h with h_j = 1 of exp(-E) / sum over all h
    hs = _states(4)
    e = -(v @ b)[:, None] - (hs @ c)[None] - v @ W @ hs.T
    joint = np.exp(-e) / np.exp(-e).sum(1, keepdims=True)
    np.testing.assert_allclose(rbm.hidden_probabilities(v), joint @ hs, rtol=1e-12)


def _reference_cd(W, b, c, v0, k, seed, *, sample_visible=False, chain=None, persistent=False):
    """Hinton's guide, written out; the uniform draws in the documented order."""
    g = np.random.default_rng(seed)
    ph0 = _sig(v0 @ W + c)
    h = (g.random(ph0.shape) < ph0).astype(float)
    if persistent:
        h = h if chain is None else chain
    for step in range(k):
        pv = _sig(h @ W.T + b)
        v = (g.random(pv.shape) < pv).astype(float) if sample_visible else pv
        ph = _sig(v @ W + c)
        if step < k - 1 or persistent:
            h = (g.random(ph.shape) < ph).astype(float)
    pos, neg = v0.T @ ph0 / len(v0), v.T @ ph / len(v)
    return pos - neg, v0.mean(0) - v.mean(0), ph0.mean(0) - ph.mean(0), h


@pytest.mark.parametrize("k,sample_visible", [(1, False), (3, False), (3, True)])
def test_cd_update_matches_numpy(k, sample_visible):
    rbm = _tiny()
    W, b, c = _params(rbm)
    v0 = (np.random.default_rng(3).random((7, 6)) < 0.4).astype(float)
    lr, mom, wd = 0.05, 0.5, 0.01
    dW, db, dc, _ = _reference_cd(W, b, c, v0, k, 11, sample_visible=sample_visible)
    rbm.contrastive_divergence(v0, k=k, lr=lr, momentum=mom, weight_decay=wd,
                               sample_visible=sample_visible, rng=np.random.default_rng(11))
    vel = [lr * (dW - wd * W), lr * db, lr * dc]  # weight decay on W only
    for got, want in zip(_params(rbm), (W + vel[0], b + vel[1], c + vel[2])):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # the second step adds momentum times the first velocity
    W1, b1, c1 = _params(rbm)
    dW, db, dc, _ = _reference_cd(W1, b1, c1, v0, k, 12, sample_visible=sample_visible)
    rbm.contrastive_divergence(v0, k=k, lr=lr, momentum=mom, weight_decay=wd,
                               sample_visible=sample_visible, rng=12)
    want = (W1 + mom * vel[0] + lr * (dW - wd * W1), b1 + mom * vel[1] + lr * db,
            c1 + mom * vel[2] + lr * dc)
    for got, w in zip(_params(rbm), want):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14)


def test_pcd_keeps_its_chains():
    rbm = _tiny()
    v0 = (np.random.default_rng(3).random((5, 6)) < 0.4).astype(float)
    W, b, c = _params(rbm)
    *_, chain = _reference_cd(W, b, c, v0, 2, 7, persistent=True)
    rbm.contrastive_divergence(v0, k=2, lr=0.01, persistent=True, rng=7)
    np.testing.assert_array_equal(rbm.chain, chain)
    W, b, c = _params(rbm)
    v1 = (np.random.default_rng(4).random((3, 6)) < 0.4).astype(float)  # another batch size
    dW, db, dc, chain2 = _reference_cd(W, b, c, v1, 2, 8, persistent=True, chain=chain)
    rbm.contrastive_divergence(v1, k=2, lr=0.01, persistent=True, rng=8)
    np.testing.assert_array_equal(rbm.chain, chain2)
    assert rbm.chain.shape == (5, 4)  # the chains stay; the data batch changed size
    np.testing.assert_allclose(_params(rbm)[0], W + 0.01 * dW, rtol=1e-12, atol=1e-14)
    rbm.reset_chain()
    assert rbm.chain is None


def test_free_energy_gradient_is_the_cd_statistic():
    rbm = _tiny()
    W, b, c = _params(rbm)
    v = np.random.default_rng(5).random((4, 6))
    params = [cr.tensor(a, requires_grad=True) for a in (W, b, c)]
    assert cr.gradcheck(lambda w, bb, cc: free_energy(cr.tensor(v), w, bb, cc), params)
    free_energy(v, *params).mean().backward()
    ph = _sig(v @ W + c)
    np.testing.assert_allclose(params[0].grad._data, -v.T @ ph / 4, rtol=1e-12)
    np.testing.assert_allclose(params[1].grad._data, -v.mean(0), rtol=1e-12)
    np.testing.assert_allclose(params[2].grad._data, -ph.mean(0), rtol=1e-12)


def test_free_energy_matches_torch():
    torch = pytest.importorskip("torch")
    rbm = _tiny()
    W, b, c = _params(rbm)
    v = np.random.default_rng(6).random((4, 6))
    tw, tb, tc = (torch.tensor(a, requires_grad=True) for a in (W, b, c))
    tv = torch.tensor(v)
    tf = -(tv @ tb) - torch.nn.functional.softplus(tv @ tw + tc).sum(1)
    tf.sum().backward()
    free = rbm.free_energy(v)
    free.sum().backward()
    np.testing.assert_allclose(free._data, tf.detach().numpy(), rtol=1e-12)
    for p, t in zip((rbm.weight, rbm.visible_bias, rbm.hidden_bias), (tw, tb, tc)):
        np.testing.assert_allclose(p.grad._data, t.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def binary_digits():
    (x, y), (xt, yt) = digits()
    return ((x.reshape(len(x), -1) > 0.5).astype(np.float32), y,
            (xt.reshape(len(xt), -1) > 0.5).astype(np.float32), yt)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_digits_rbm_learns_and_repeats_bit_for_bit(binary_digits, dtype):
    x = binary_digits[0][:600]
    runs = []
    for _ in range(2):
        rbm = RBM(64, 32, rng=np.random.default_rng(0), dtype=dtype)
        before = rbm.reconstruction_error(x)
        errors = train_rbm(rbm, x, epochs=4, batch_size=20, rng=1)
        runs.append((errors, rbm.weight._data.copy()))
        assert rbm.weight._data.dtype == np.dtype(dtype)
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert errors[-1] < errors[0] and rbm.reconstruction_error(x) < 0.5 * before


def _finetune(mlp, x, y, xt, yt):
    trainer = cr.train.Trainer(mlp, cr.functional.cross_entropy,
                               cr.optim.Adam(mlp.parameters(), lr=3e-3), metrics=["accuracy"])
    trainer.fit((x[:100], y[:100]), epochs=30, batch_size=32, rng=0, verbose=0)
    return trainer.evaluate((xt, yt), batch_size=1000)["accuracy"]


def test_dbn_pretraining_then_finetuning(binary_digits):
    x, y, xt, yt = binary_digits
    mlp = MLP((64, 48, 24, 10), activation="sigmoid", rng=np.random.default_rng(0))
    out_before = mlp.layers[-1].weight._data.copy()
    rbms = pretrain_rbm_stack(mlp, x, epochs=10, rng=0)
    linears = [m for m in mlp.layers if isinstance(m, nn.Linear)]
    assert [(r.n_visible, r.n_hidden) for r in rbms] == [(64, 48), (48, 24)]
    for rbm, lin in zip(rbms, linears):
        np.testing.assert_array_equal(lin.weight._data, rbm.weight._data.T)
        np.testing.assert_array_equal(lin.bias._data, rbm.hidden_bias._data)
    np.testing.assert_array_equal(linears[-1].weight._data, out_before)
    # the first hidden layer computes p(h | v) of the first RBM
    h = mlp.layers[2](linears[0](cr.tensor(x[:5])))._data
    np.testing.assert_allclose(h, rbms[0].hidden_probabilities(x[:5]), rtol=1e-5)
    # 100 labels: from the RBM stack about 0.70 test accuracy, from the same random start 0.36
    pretrained = _finetune(mlp, x, y, xt, yt)
    baseline = _finetune(MLP((64, 48, 24, 10), activation="sigmoid",
                             rng=np.random.default_rng(0)), x, y, xt, yt)
    assert pretrained > 0.6 and pretrained > baseline + 0.2


def test_example_runs(load_script, capsys):
    example = load_script("examples/rbm_pretraining.py")
    result = example.main(["--epochs", "3", "--finetune-epochs", "30"])
    cd1 = result["rbm_64_16"]["CD-1"]
    assert cd1["errors"][-1] < cd1["errors"][0]
    assert cd1["test_log_likelihood"] > result["rbm_64_16"]["independent"]
    assert result["pretrained_accuracy"] > result["random_init_accuracy"]
    assert "after RBM pre-training" in capsys.readouterr().out


def test_bad_inputs():
    rbm = RBM(6, 4)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*1.5"):
        rbm.contrastive_divergence(np.full((2, 6), 1.5))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*-0.5"):
        rbm.free_energy(np.full((2, 6), -0.5))
    with pytest.raises(ValueError, match=r"6 values per sample.*\(2, 5\)"):
        rbm.hidden_probabilities(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"h must be \(batch, 4\)"):
        rbm.visible_probabilities(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="k .* must be an int >= 1, got 0"):
        rbm.contrastive_divergence(np.zeros((2, 6)), k=0)
    with pytest.raises(TypeError, match="k .* int >= 1, got 1.5"):
        rbm.contrastive_divergence(np.zeros((2, 6)), k=1.5)
    with pytest.raises(ValueError, match="momentum"):
        rbm.contrastive_divergence(np.zeros((2, 6)), momentum=1.0)
    with pytest.raises(ValueError, match="n_hidden"):
        RBM(6, 0)
    with pytest.raises(ValueError, match="sigmoid"):
        pretrain_rbm_stack(MLP((6, 4, 2), activation="relu"), np.zeros((3, 6)))
    with pytest.raises(TypeError, match="models.MLP"):
        pretrain_rbm_stack(nn.Linear(6, 2), np.zeros((3, 6)))
    with pytest.raises(ValueError, match="epochs"):
        train_rbm(rbm, np.zeros((3, 6)), epochs=0)
