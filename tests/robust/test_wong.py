"""Wong, Rice & Kolter's fast adversarial training: their MNIST CNN, the cyclic schedule and the
CLI run that combines them (``chainrule train wong_cnn --schedule cyclic --adversarial fgsm``)."""

import argparse
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.cli import main
from chainrule.experiments.schedules import epoch_scheduler, scheduler_callback, triangular_factor
from chainrule.io.checkpoint import load_training_state
from chainrule.models import WongCNN, build
from chainrule.train import LearningRateScheduler, Trainer


def _pytorch_twin(torch, ours, side):
    """The same network in PyTorch (float64) with ``ours``'s weights; ``side``: the features'."""
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Conv2d(1, 16, 4, stride=2, padding=1), tnn.ReLU(),
                            tnn.Conv2d(16, 32, 4, stride=2, padding=1), tnn.ReLU(), tnn.Flatten(),
                            tnn.Linear(32 * side * side, 100), tnn.ReLU(),
                            tnn.Linear(100, 10)).double()
    names = {"0": "features.0", "2": "features.2", "5": "classifier.1", "7": "classifier.3"}
    state = ours.state_dict()
    theirs.load_state_dict({k: torch.from_numpy(np.array(state[f"{names[k.split('.')[0]]}."
                                                             f"{k.split('.')[1]}"]._data))
                            for k in theirs.state_dict()})
    return theirs


def test_wong_cnn_shapes_and_parameter_count():
    net = build("wong_cnn", rng=np.random.default_rng(0))
    assert isinstance(net, WongCNN)
    conv1, conv2 = net.features[0], net.features[2]
    assert conv1.weight.shape == (16, 1, 4, 4) and conv2.weight.shape == (32, 16, 4, 4)
    assert net.classifier[1].weight.shape == (100, 32 * 7 * 7)
    assert net.classifier[3].weight.shape == (10, 100)
    x = cr.tensor(np.zeros((2, 1, 28, 28), np.float32))
    assert net.features(x).shape == (2, 32, 7, 7) and net(x).shape == (2, 10)
    assert net.num_parameters() == (1 * 16 * 16 + 16) + (16 * 32 * 16 + 32) \
        + (1568 * 100 + 100) + (100 * 10 + 10)
    with pytest.raises(ValueError, match="WongCNN: input_size must be a positive multiple of "
                       "4, got 30"):
        WongCNN(input_size=30)


def test_wong_cnn_matches_the_same_network_in_pytorch():
    torch = pytest.importorskip("torch")
    ours = WongCNN(rng=np.random.default_rng(1)).to(dtype=np.float64).eval()
    theirs = _pytorch_twin(torch, ours, side=7)
    x = np.random.default_rng(2).uniform(0, 1, (3, 1, 28, 28))
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(cr.tensor(x))._data, expected, rtol=1e-10, atol=1e-12)


def _wong_lr(i, total_steps, epochs, lr_max):
    """Wong et al.'s schedule as their code writes it: np.interp over the epochs at step i + 1."""
    t = epochs * (i + 1) / total_steps
    return float(np.interp(t, [0, epochs * 2 / 5, epochs], [0, lr_max, 0]))


@pytest.mark.parametrize("epochs, steps_per_epoch", [(10, 7), (5, 3), (1, 10)])
def test_the_cyclic_schedule_is_wong_et_als_triangle(epochs, steps_per_epoch):
    total = epochs * steps_per_epoch
    model = WongCNN(input_size=8, rng=np.random.default_rng(0))
    opt = optim.Adam(model.parameters(), lr=5e-3)
    callback = scheduler_callback("cyclic", opt, epochs, steps_per_epoch)
    assert callback.interval == "batch"
    seen = []
    for i in range(total):
        seen.append(opt.param_groups[0]["lr"])  # the lr step i trains with
        opt.step()  # (no gradients: no change; a schedule stepped first would warn)
        callback.on_batch_end(i)
        callback.on_epoch_end(i // steps_per_epoch)  # a batch schedule ignores epochs
    expected = [_wong_lr(i, total, epochs, 5e-3) for i in range(total)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12, atol=1e-15)
    assert seen[-1] == 0 and max(seen) == pytest.approx(5e-3 * min(1, (int(0.4 * total)) /
                                                                   (0.4 * total)))
    assert triangular_factor(total, total) == 0 and triangular_factor(-1, total) == 0


def test_epoch_schedules_and_refusals():
    model = WongCNN(input_size=8, rng=np.random.default_rng(0))
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert scheduler_callback("constant", opt, 3, 5) is None
    assert scheduler_callback("cosine", opt, 3, 5).interval == "epoch"
    with pytest.raises(ValueError, match="unknown schedule 'linear'; expected one of"):
        scheduler_callback("linear", opt, 3, 5)
    with pytest.raises(ValueError, match="schedule 'cyclic' is laid out over the training steps; "
                       "only image classifiers support it"):
        epoch_scheduler("cyclic", opt, 3)  # the text models' epoch-wise schedules
    with pytest.raises(ValueError, match="LearningRateScheduler: interval must be 'epoch' or "
                       "'batch', got 'step'"):
        LearningRateScheduler(optim.lr_scheduler.StepLR(opt, 1), interval="step")
    with pytest.raises(ValueError, match="ReduceLROnPlateau needs interval='epoch'"):
        LearningRateScheduler(optim.lr_scheduler.ReduceLROnPlateau(opt), interval="batch")


def test_a_resumed_cyclic_run_repeats_the_uninterrupted_one(tmp_path):
    from chainrule.data.datasets import digits
    (xtr, ytr), _ = digits()

    def run(epochs, resume=None, path=None):
        model = WongCNN(input_size=8, rng=np.random.default_rng(0))
        opt = optim.Adam(model.parameters(), lr=5e-3)
        trainer = Trainer(model, "cross_entropy", opt,
                          callbacks=[scheduler_callback("cyclic", opt, 2, 3)],
                          perturb=cr.robust.AdversarialTraining("fgsm", eps=0.3, rng=1))
        data = cr.data.DataLoader(cr.data.ArrayDataset(xtr[:96, None], ytr[:96]), 32,
                                  shuffle=True, rng=2)
        trainer.fit(data, epochs=epochs, verbose=0, resume_from=resume)
        if path is not None:
            trainer.save_checkpoint(path)
        return [p._data.copy() for p in model.parameters()], opt.param_groups[0]["lr"]

    straight, lr = run(2)
    run(1, path=tmp_path / "state.safetensors")
    resumed, lr_resumed = run(2, resume=tmp_path / "state.safetensors")
    assert lr == lr_resumed == 0.0
    assert all(np.array_equal(a, b) for a, b in zip(straight, resumed))


def test_cli_trains_wong_cnn_adversarially_with_the_cyclic_schedule(tmp_path):
    out = tmp_path / "wong"
    assert main(["train", "wong_cnn", "--epochs", "1", "--batch-size", "512", "--quiet",
                 "--lr", "5e-3", "--schedule", "cyclic", "--adversarial", "fgsm", "--eps", "0.3",
                 "--adv-alpha", "0.375", "--adv-check", "64", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["schedule"] == "cyclic" and config["model"]["name"] == "wong_cnn"
    assert config["adversarial"]["alpha"] == 0.375 and config["adversarial"]["check"] == 64
    assert config["adversarial"]["clip_start"] is False
    header, row = (out / "metrics.csv").read_text().splitlines()[:2]
    pgd = float(row.split(",")[header.split(",").index("pgd_accuracy")])
    assert 0 <= pgd <= 1
    results = json.loads((out / "results.json").read_text())
    assert results["overfitting_check"] == {"images": 64, "collapsed_at_epoch": None,
                                            "kept_epoch": 0}
    steps = -(-config["split"]["n_train"] // 512)
    state = load_training_state(out / "checkpoint" / "last.state.safetensors")
    assert state["scheduler"]["last_epoch"] == steps  # stepped after every batch
    assert state["scheduler"]["_last_lr"] == [0.0]  # the triangle ended at 0


@pytest.mark.parametrize("clip_start", [False, True])
def test_fgsm_training_step_matches_wong_et_als_pytorch_code(clip_start):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    ours = WongCNN(input_size=8, rng=rng).to(dtype=np.float64)
    theirs = _pytorch_twin(torch, ours, side=2)
    x = rng.choice([0.0, 1.0, 0.5], size=(6, 1, 8, 8))  # MNIST-like: many pixels on the box
    y = np.arange(6) % 10
    eps, alpha = 0.3, 0.375
    hook = cr.robust.AdversarialTraining("fgsm", eps=eps, alpha=alpha, rng=7,
                                         clip_start=clip_start)
    (adv,) = hook(ours, (cr.Tensor(x),), cr.Tensor(y))
    # Their loop (train_mnist.py), with the same uniform draw of the start.
    X = torch.from_numpy(x)
    delta = torch.from_numpy(np.random.default_rng(7).uniform(-eps, eps, size=x.shape))
    if clip_start:  # their CIFAR code's clamp of the start into the box
        delta = torch.max(torch.min(1 - X, delta), 0 - X)
    delta.requires_grad_(True)
    torch.nn.functional.cross_entropy(theirs(X + delta), torch.from_numpy(y)).backward()
    delta = torch.clamp(delta + alpha * torch.sign(delta.grad), -eps, eps)
    delta = torch.max(torch.min(1 - X, delta), 0 - X).detach()
    np.testing.assert_allclose(adv._data, (X + delta).numpy(), rtol=0, atol=1e-12)
    assert hook.config()["clip_start"] is clip_start
    with pytest.raises(TypeError, match="AdversarialTraining: clip_start must be True or False, "
                       "got 1"):
        cr.robust.AdversarialTraining("fgsm", clip_start=1)


class _Scripted(cr.robust.OverfittingCheck):
    """The check with PGD accuracies given in advance, to drive a collapse."""

    def __init__(self, values, **kwargs):
        super().__init__(np.zeros((1, 1, 8, 8)), np.zeros(1, int), eps=0.3, **kwargs)
        self.values = list(values)

    def accuracy(self, model):
        return self.values.pop(0)


@pytest.mark.parametrize("restore", [True, False])
def test_the_overfitting_check_stops_at_a_collapse_and_keeps_the_best_weights(restore):
    from chainrule.data.datasets import digits
    (xtr, ytr), _ = digits()
    model = WongCNN(input_size=8, rng=np.random.default_rng(0))
    saved = {}

    class Snapshot(cr.train.Callback):
        order = -6  # just before the check: the weights each epoch ended with

        def on_epoch_end(self, epoch, logs=None):
            saved[epoch] = [p._data.copy() for p in model.parameters()]

    check = _Scripted([0.5, 0.6, 0.45, 0.3, 0.9], restore=restore)
    trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=1e-2),
                      callbacks=[Snapshot(), check])
    history = trainer.fit((xtr[:64, None], ytr[:64]), epochs=5, batch_size=32, verbose=0)
    # 0.45 is within 0.2 of the best (0.6): training goes on; 0.3 is a collapse at epoch 3.
    assert history.history["pgd_accuracy"] == [0.5, 0.6, 0.45, 0.3]
    assert check.collapsed_at == 3 and check.best_epoch == 1 and trainer.stop_training
    kept = saved[1] if restore else saved[3]
    assert all(np.array_equal(p._data, k) for p, k in zip(model.parameters(), kept))


def test_the_overfitting_check_refuses_bad_settings():
    with pytest.raises(ValueError, match="OverfittingCheck: x and y must hold the same number"):
        cr.robust.OverfittingCheck(np.zeros((2, 4)), np.zeros(3), eps=0.3)
    with pytest.raises(ValueError, match="OverfittingCheck: drop must be"):
        cr.robust.OverfittingCheck(np.zeros((2, 4)), np.zeros(2), eps=0.3, drop=-1)


def test_the_overfitting_check_measures_pgd_accuracy_in_eval_mode():
    from chainrule.data.datasets import digits
    (xtr, ytr), _ = digits()
    model = WongCNN(input_size=8, rng=np.random.default_rng(0)).train()
    check = cr.robust.OverfittingCheck(xtr[:40, None], ytr[:40], eps=0.1, steps=3, seed=4)
    expected = cr.robust.robust_accuracy(model.eval(), (xtr[:40, None], ytr[:40]), "pgd",
                                         eps=0.1, steps=3, rng=4, verbose=0)
    model.train()
    assert check.accuracy(model) == expected["robust_accuracy"] and model.training


@pytest.mark.parametrize("noise, clip_start, alpha", [(2.0, None, None), (2.0, False, None),
                                                      (1.0, True, 0.375), (0.0, None, None)])
def test_n_fgsm_training_step_matches_de_jorge_et_als_pytorch_code(noise, clip_start, alpha):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    ours = WongCNN(input_size=8, rng=rng).to(dtype=np.float64)
    theirs = _pytorch_twin(torch, ours, side=2)
    x = rng.choice([0.0, 1.0, 0.5, 0.2], size=(6, 1, 8, 8))
    y = np.arange(6) % 10
    eps = 0.3
    hook = cr.robust.AdversarialTraining("n_fgsm", eps=eps, alpha=alpha, rng=11, noise=noise,
                                         clip_start=clip_start)
    (adv,) = hook(ours, (cr.Tensor(x),), cr.Tensor(y))
    # Their loop (train.py of de Jorge et al.), with the same uniform draw of the noise.
    X = torch.from_numpy(x)
    step = eps if alpha is None else alpha
    eta = torch.from_numpy(np.random.default_rng(11).uniform(-noise * eps, noise * eps, x.shape)
                           if noise else np.zeros_like(x))
    if clip_start is not False:  # their clamp of the noisy point into the box
        eta = torch.max(torch.min(1 - X, eta), 0 - X)
    eta.requires_grad_(True)
    grad, = torch.autograd.grad(torch.nn.functional.cross_entropy(theirs(X + eta),
                                                                  torch.from_numpy(y)), eta)
    delta = torch.max(torch.min(1 - X, eta + step * torch.sign(grad)), 0 - X).detach()
    np.testing.assert_allclose(adv._data, (X + delta).numpy(), rtol=0, atol=1e-12)
    # no projection onto the eps ball: with noise, some pixels move by more than eps
    moved = np.abs(adv._data - x).max()
    assert (moved > eps + 0.05) if noise >= 1 else (moved <= eps + 1e-12)
    config = hook.config()
    assert config["noise"] == noise and config["clip_start"] is (clip_start is not False)
    assert f"noise={noise:g}" in repr(hook)


def test_n_fgsm_settings_and_refusals():
    hook = cr.robust.AdversarialTraining("n_fgsm", eps=0.3)
    assert hook.noise == 2.0 and hook.clip_start is True and hook.alpha is None
    assert cr.robust.AdversarialTraining("fgsm").clip_start is False
    assert "noise" not in cr.robust.AdversarialTraining("fgsm").config()
    with pytest.raises(ValueError, match="AdversarialTraining: noise is for method 'n_fgsm' only, "
                       "got noise=2 with method 'fgsm'"):
        cr.robust.AdversarialTraining("fgsm", noise=2)
    with pytest.raises(ValueError, match="AdversarialTraining: noise must be a finite number >= 0, "
                       "got -1"):
        cr.robust.AdversarialTraining("n_fgsm", noise=-1)
    from chainrule.cli.robust import adversarial_settings
    with pytest.raises(ValueError, match="--adv-noise is for --adversarial n_fgsm, got "
                       "--adversarial fgsm"):
        adversarial_settings(argparse.Namespace(adversarial="fgsm", model="wong_cnn", eps=0.3,
                                                adv_alpha=None, adv_steps=10, adv_clip_start=None,
                                                adv_noise=2.0, adv_check=0), ())


@pytest.mark.parametrize("hook", [dict(method="n_fgsm"), dict(method="fgsm", grad_align=0.5)])
def test_a_resumed_n_fgsm_or_grad_align_run_repeats_the_uninterrupted_one(tmp_path, hook):
    from chainrule.data.datasets import digits
    (xtr, ytr), _ = digits()

    def run(epochs, resume=None, path=None):
        model = WongCNN(input_size=8, rng=np.random.default_rng(0))
        opt = optim.Adam(model.parameters(), lr=5e-3)
        trainer = Trainer(model, "cross_entropy", opt,
                          callbacks=[scheduler_callback("cyclic", opt, 2, 3)],
                          perturb=cr.robust.AdversarialTraining(**hook, eps=0.3, rng=1))
        data = cr.data.DataLoader(cr.data.ArrayDataset(xtr[:96, None], ytr[:96]), 32,
                                  shuffle=True, rng=2)
        trainer.fit(data, epochs=epochs, verbose=0, resume_from=resume)
        if path is not None:
            trainer.save_checkpoint(path)
        return [p._data.copy() for p in model.parameters()]

    straight = run(2)
    run(1, path=tmp_path / "state.safetensors")
    resumed = run(2, resume=tmp_path / "state.safetensors")
    assert all(np.array_equal(a, b) for a, b in zip(straight, resumed))
    again = run(2)
    assert all(np.array_equal(a, b) for a, b in zip(straight, again))


def test_cli_trains_with_n_fgsm(tmp_path):
    out = tmp_path / "nfgsm"
    assert main(["train", "wong_cnn", "--epochs", "1", "--batch-size", "512", "--quiet",
                 "--lr", "5e-3", "--schedule", "cyclic", "--adversarial", "n_fgsm", "--eps", "0.3",
                 "--adv-noise", "1.5", "--no-adv-clip-start", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["adversarial"]["method"] == "n_fgsm"
    assert config["adversarial"]["noise"] == 1.5 and config["adversarial"]["clip_start"] is False
    assert config["adversarial"]["alpha"] is None


def test_grad_align_penalty_and_its_parameter_gradient_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    ours = WongCNN(input_size=8, rng=rng).to(dtype=np.float64)
    theirs = _pytorch_twin(torch, ours, side=2)
    cr.nn.fuse(ours)  # the Trainer's fused layers: their double backward is checked too
    x = rng.choice([0.0, 1.0, 0.5, 0.3], size=(5, 1, 8, 8))
    y = np.arange(5) % 10
    eps, lam = 0.3, 0.7
    hook = cr.robust.AdversarialTraining("fgsm", eps=eps, rng=4, grad_align=lam)
    penalty = hook.penalty(ours, (cr.Tensor(x),), cr.Tensor(y))
    grads = cr.grad(penalty, list(ours.parameters()))
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    eta = torch.from_numpy(np.random.default_rng(4).uniform(-eps, eps, x.shape))

    def input_grad(point):
        point = point.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(theirs(point), Y, reduction="sum")
        return torch.autograd.grad(loss, point, create_graph=True)[0].reshape(5, -1)

    g1, g2 = input_grad(X), input_grad(torch.clamp(X + eta, 0, 1))
    cos = (g1 * g2).sum(1) / ((g1 * g1).sum(1) * (g2 * g2).sum(1) + 1e-24).sqrt()  # ours
    expected = lam * (1 - cos).mean()
    expected_grads = torch.autograd.grad(expected, list(theirs.parameters()))
    expected = expected.item()
    assert 0 < expected < 2 * lam
    np.testing.assert_allclose(penalty.item(), expected, rtol=1e-10, atol=1e-12)
    for ours_g, their_g in zip(grads, expected_grads):
        np.testing.assert_allclose(ours_g._data, their_g.numpy(), rtol=1e-8, atol=1e-12)
    assert hook.config()["grad_align"] == lam and "grad_align=0.7" in repr(hook)
    zero = cr.robust.AdversarialTraining("fgsm", eps=eps, rng=4, grad_align=lam)
    flat = ours.classifier[3]  # a model whose input gradient is zero: the penalty stays finite
    with cr.no_grad():
        flat.weight.zero_()
    (g_zero,) = cr.grad(zero.penalty(ours, (cr.Tensor(x),), cr.Tensor(y)), flat.weight)
    assert np.isfinite(g_zero._data).all()
    assert cr.robust.AdversarialTraining("fgsm").penalty(ours, (cr.Tensor(x),),
                                                         cr.Tensor(y)) is None
    with pytest.raises(ValueError, match="AdversarialTraining: grad_align must be a finite "
                       "number >= 0, got -0.1"):
        cr.robust.AdversarialTraining("fgsm", grad_align=-0.1)


def test_the_trainer_adds_the_grad_align_penalty_to_the_step():
    from chainrule.data.datasets import digits
    (xtr, ytr), _ = digits()
    x, y = xtr[:16, None].astype(np.float64), ytr[:16]

    def step(lam):
        model = WongCNN(input_size=8, rng=np.random.default_rng(0)).to(dtype=np.float64)
        hook = cr.robust.AdversarialTraining("fgsm", eps=0.2, rng=3, grad_align=lam)
        trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                          perturb=hook)
        logs = trainer.train_step((cr.Tensor(x), cr.Tensor(y)))
        return model, logs

    model, logs = step(0.5)
    # by hand: the same draws (the attack's start, then the penalty's eta), the same SGD step
    ref = WongCNN(input_size=8, rng=np.random.default_rng(0)).to(dtype=np.float64)
    cr.nn.fuse(ref)
    hook = cr.robust.AdversarialTraining("fgsm", eps=0.2, rng=3, grad_align=0.5)
    (adv,) = hook(ref, (cr.Tensor(x),), cr.Tensor(y))
    total = cr.ops.cross_entropy(ref(adv), cr.Tensor(y)) + hook.penalty(ref, (cr.Tensor(x),),
                                                                         cr.Tensor(y))
    grads = cr.grad(total, list(ref.parameters()))
    assert logs["loss"] == pytest.approx(total.item(), rel=1e-12)
    for p, r, g in zip(model.parameters(), ref.parameters(), grads):
        np.testing.assert_allclose(p._data, r._data - 0.1 * g._data, rtol=1e-10, atol=1e-13)
    plain, plain_logs = step(0.0)
    assert plain_logs["loss"] < logs["loss"]
