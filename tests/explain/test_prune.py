"""Pruning: masks hold through training, checkpoints and resume; OBD against brute force."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.explain import (
    KeepPruned,
    masks,
    obd_saliency,
    prune_by_saliency,
    prune_magnitude,
    prune_units,
    restore_masks,
    sparsity,
)
from chainrule.train import ModelCheckpoint, Trainer


def _net(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(6, 10, rng=rng), nn.ReLU(), nn.Linear(10, 3, rng=rng))


def _data(n=96, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, y


def test_global_magnitude_pruning_removes_the_smallest_weights():
    net = _net()
    w = np.concatenate([net[0].weight.numpy().ravel(), net[2].weight.numpy().ravel()])
    s = prune_magnitude(net, 0.5)
    assert s["global"] == 45 / 90
    kept = np.concatenate([net[0].weight.numpy().ravel(), net[2].weight.numpy().ravel()])
    threshold = np.sort(np.abs(w))[44]
    assert (np.abs(w[kept == 0]) <= threshold).all() and (np.abs(w[kept != 0]) > threshold).all()
    # pruning further counts the weights already pruned
    assert prune_magnitude(net, 0.8)["global"] == 72 / 90


def test_layerwise_pruning_gives_each_layer_the_same_sparsity():
    net = _net()
    s = prune_magnitude(net, 0.6, scope="layer")
    assert s["layers"] == {"0": 36 / 60, "2": 18 / 30}


def test_masks_stay_zero_through_optimizer_steps_with_momentum_and_decay():
    net = _net()
    prune_magnitude(net, 0.7)
    before = masks(net)
    x, y = _data()
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    trainer = Trainer(net, cr.F.cross_entropy, opt, callbacks=[KeepPruned()])
    trainer.fit((x, y), epochs=3, batch_size=16, rng=0, verbose=0)
    for name, m in before.items():
        layer = dict(net.named_modules())[name.rsplit(".", 1)[0]]
        assert (layer.weight.numpy()[m == 0] == 0).all()
        assert (layer.weight.numpy()[m == 1] != 0).any()


def test_the_forward_hook_keeps_pruned_weights_out_of_a_plain_loop():
    net = _net()
    prune_magnitude(net, 0.5)
    x, y = _data()
    opt = optim.Adam(net.parameters(), lr=0.05)
    for _ in range(3):
        loss = cr.F.cross_entropy(net(cr.tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    # Adam moved the pruned weights; the next forward pass zeroes them first
    mask = masks(net)["0.weight"]
    assert (net[0].weight.numpy()[mask == 0] != 0).any()
    out = net(cr.tensor(x)).numpy()
    assert (net[0].weight.numpy()[mask == 0] == 0).all()
    clean = np.maximum(x @ net[0].weight.numpy().T + net[0].bias.numpy(), 0)
    np.testing.assert_allclose(out, clean @ net[2].weight.numpy().T + net[2].bias.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_masks_survive_weights_files_and_a_resumed_run(tmp_path):
    x, y = _data()
    net = _net()
    prune_magnitude(net, 0.75)
    io.save_weights(net, tmp_path / "w.safetensors")
    fresh = _net(seed=5)
    assert restore_masks(fresh, tmp_path / "w.safetensors") == 2
    io.load_weights(fresh, tmp_path / "w.safetensors")
    for k, m in masks(net).items():
        np.testing.assert_array_equal(masks(fresh)[k], m)
    assert sparsity(fresh) == sparsity(net) and sparsity(net)["global"] == 68 / 90

    def trainer(model):
        return Trainer(model, cr.F.cross_entropy, optim.Adam(model.parameters(), lr=0.05),
                       callbacks=[KeepPruned(), ModelCheckpoint(tmp_path / "ck",
                                                                save_best_only=False)])

    trainer(net).fit((x, y), epochs=2, batch_size=16, rng=0, verbose=0)
    resumed = _net(seed=9)
    restore_masks(resumed, tmp_path / "ck" / "last.safetensors")
    t = trainer(resumed)
    t.fit((x, y), epochs=4, batch_size=16, rng=0, verbose=0, resume_from=tmp_path / "ck")
    assert t.epoch == 3
    for k, m in masks(net).items():
        np.testing.assert_array_equal(masks(resumed)[k], m)
        layer = dict(resumed.named_modules())[k.rsplit(".", 1)[0]]
        assert (layer.weight.numpy()[m == 0] == 0).all()


def test_unit_pruning_removes_whole_units():
    net = _net()
    norms = np.linalg.norm(net[0].weight.numpy(), axis=1)
    removed = prune_units(net, "0", 0.3)
    assert sorted(removed) == sorted(np.argsort(norms)[:3].tolist())
    x, _ = _data(8)
    hidden = net[1](net[0](cr.tensor(x))).numpy()
    assert (hidden[:, removed] == 0).all()
    with pytest.raises(ValueError, match="not prunable layers"):
        prune_units(net, "1", 0.3)


def _linear_regression(seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Linear(4, 2, rng=rng).to(dtype="float64")
    x = rng.normal(size=(40, 4))
    y = x @ rng.normal(size=(4, 2)) + 0.1 * rng.normal(size=(40, 2))
    return model, x, y


def _loss_without(model, layer, idx, loss_fn, x, y):
    w = layer.weight.numpy().copy()
    saved = w[idx]
    w[idx] = 0
    with cr.no_grad():
        layer.weight.copy_(w)
        value = loss_fn(model(cr.tensor(x)), cr.tensor(y)).item()
        w[idx] = saved
        layer.weight.copy_(w)
    return value


def test_obd_saliency_is_the_exact_loss_increase_for_a_quadratic_loss():
    model, x, y = _linear_regression()
    loss = cr.F.mse_loss
    base = loss(model(cr.tensor(x)), cr.tensor(y)).item()
    s = obd_saliency(model, loss, x, y, include_gradient=True, batch_size=15)[""]
    brute = np.array([[_loss_without(model, model, (i, j), loss, x, y) - base
                       for j in range(4)] for i in range(2)])
    np.testing.assert_allclose(s, brute, rtol=1e-9, atol=1e-12)


def test_obd_ranks_weights_like_brute_force_at_a_minimum():
    rng = np.random.default_rng(3)
    net = nn.Sequential(nn.Linear(3, 6, rng=rng), nn.Tanh(), nn.Linear(6, 1, rng=rng))
    net = net.to(dtype="float64")
    x = rng.normal(size=(60, 3))
    y = np.tanh(x @ np.array([[1.0], [-0.5], [0.02]]))
    opt = optim.Adam(net.parameters(), lr=0.02)
    for _ in range(1500):
        loss = cr.F.mse_loss(net(cr.tensor(x)), cr.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    s = obd_saliency(net, cr.F.mse_loss, x, y, layers=["0"])["0"]
    base = cr.F.mse_loss(net(cr.tensor(x)), cr.tensor(y)).item()
    brute = np.array([[_loss_without(net, net[0], (i, j), cr.F.mse_loss, x, cr.tensor(y).numpy())
                       - base for j in range(3)] for i in range(6)])
    # the second-order estimate ranks the links as the true loss increase does
    order = np.argsort(s.ravel())
    true = np.argsort(brute.ravel())
    assert set(order[:6]) == set(true[:6])
    np.testing.assert_allclose(s.ravel()[order[:6]], brute.ravel()[order[:6]], atol=2e-3)


def test_hutchinson_estimates_the_exact_diagonal():
    model, x, y = _linear_regression(1)
    exact = obd_saliency(model, cr.F.mse_loss, x, y)[""]
    estimate = obd_saliency(model, cr.F.mse_loss, x, y, method="hutchinson", n_samples=400,
                            rng=0)[""]
    np.testing.assert_allclose(estimate, exact, rtol=0.25)
    again = obd_saliency(model, cr.F.mse_loss, x, y, method="hutchinson", n_samples=400, rng=0)
    np.testing.assert_array_equal(again[""], estimate)


def test_fisher_diagonal_is_the_mean_squared_per_sample_gradient():
    model, x, y = _linear_regression(4)
    s = obd_saliency(model, cr.F.mse_loss, x[:10], y[:10], method="fisher")[""]
    w = model.weight.numpy()
    per = [cr.grad(cr.F.mse_loss(model(cr.tensor(x[i:i + 1])), cr.tensor(y[i:i + 1])),
                   model.weight)[0].numpy() for i in range(10)]
    np.testing.assert_allclose(s, 0.5 * np.mean(np.square(per), axis=0) * w ** 2, rtol=1e-10)
    assert (s >= 0).all()


def test_pruning_by_obd_saliency_keeps_the_important_links():
    model, x, y = _linear_regression(2)
    s = obd_saliency(model, cr.F.mse_loss, x, y)
    prune_by_saliency(model, s, 0.5)
    kept = model.weight.numpy() != 0
    assert kept.sum() == 4
    assert (s[""][kept] >= s[""][~kept].max()).all()


def test_bad_amounts_and_scopes_are_named():
    net = _net()
    with pytest.raises(ValueError, match=r"amount must be .* got 1.5"):
        prune_magnitude(net, 1.5)
    with pytest.raises(ValueError, match="scope must be"):
        prune_magnitude(net, 0.5, scope="net")
    with pytest.raises(ValueError, match="method must be 'exact', 'hutchinson' or 'fisher'"):
        obd_saliency(net, cr.F.cross_entropy, *_data(), method="gauss-newton")


def test_iterative_pruning_fine_tunes_after_every_step():
    from chainrule.explain import prune_iteratively, sparsity_schedule

    assert np.allclose(sparsity_schedule(0.96, 2), [0.8, 0.96])
    net = _net()
    x, y = _data()
    trainer = Trainer(net, cr.F.cross_entropy, optim.Adam(net.parameters(), lr=0.02),
                      metrics=["accuracy"], callbacks=[KeepPruned()])
    calls = []

    def fine_tune(model, step):
        calls.append((step, sparsity(model)["global"]))
        trainer.fit((x, y), epochs=2 * (step + 1), batch_size=16, rng=0, verbose=0)
        return {"accuracy": trainer.evaluate((x, y))["accuracy"]}

    log = prune_iteratively(net, 0.75, 3, fine_tune)
    assert [c[0] for c in calls] == [0, 1, 2]
    assert [round(e["sparsity"], 2) for e in log] == [0.37, 0.6, 0.76]
    assert all(e["accuracy"] > 0.5 for e in log) and trainer.epoch == 5
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        sparsity_schedule(0.5, 0)
