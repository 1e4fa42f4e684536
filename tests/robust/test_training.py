"""Adversarial training through the Trainer's perturb hook, and the Madry et al. MNIST CNN."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, robust
from chainrule.data.datasets import digits
from chainrule.models import MadryCNN, build
from chainrule.train import Trainer


def _mlp(seed):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64, rng=rng), nn.ReLU(),
                         nn.Linear(64, 10, rng=rng))


def _train(perturb, epochs=12, seed=0, n=None):
    (xtr, ytr), _ = digits()
    xtr, ytr = xtr[:, None][:n], ytr[:n]
    model = _mlp(seed)
    trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=3e-3),
                      perturb=perturb)
    trainer.fit((xtr, ytr), epochs=epochs, batch_size=32, rng=seed, verbose=0)
    return model.eval(), trainer


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_adversarial_training_makes_the_model_more_robust(method):
    (_, _), (xte, yte) = digits()
    data = (xte[:, None], yte)
    plain, _ = _train(None)
    hardened, _ = _train(robust.AdversarialTraining(method, eps=0.1, steps=3, rng=0))
    attack = {"eps": 0.1, "steps": 10, "rng": 0, "verbose": 0}
    before = robust.robust_accuracy(plain, data, "pgd", **attack)
    after = robust.robust_accuracy(hardened, data, "pgd", **attack)
    assert after["robust_accuracy"] > before["robust_accuracy"] + 0.2
    assert after["clean_accuracy"] > 0.8


def test_the_hook_replaces_the_inputs_and_leaves_parameter_gradients_alone():
    model = _mlp(0)
    x = np.random.default_rng(0).uniform(0, 1, (8, 1, 8, 8)).astype(np.float32)
    y = np.arange(8)
    for p in model.parameters():
        p.grad = None
    hook = robust.AdversarialTraining("fgsm", eps=0.2, rng=0)
    (adv,) = hook(model, (cr.Tensor(x),), cr.Tensor(y))
    assert all(p.grad is None for p in model.parameters())
    d = adv._data - x
    assert 0 < np.abs(d).max() <= 0.2 + 1e-6 and adv._data.min() >= 0 and adv._data.max() <= 1


def test_a_resumed_adversarial_run_repeats_the_uninterrupted_one(tmp_path):
    def run(epochs, resume=None, path=None):
        model = _mlp(0)
        trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=3e-3),
                          perturb=robust.AdversarialTraining("fgsm", eps=0.1, rng=1))
        (xtr, ytr), _ = digits()
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


def test_madry_cnn_shapes_and_parameter_count():
    net = build("madry_cnn", rng=np.random.default_rng(0))
    assert isinstance(net, MadryCNN)
    assert net(cr.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 10)
    # conv 32*25+32, conv 64*32*25+64, 7*7*64*1024+1024, 1024*10+10
    assert net.num_parameters() == 832 + 51264 + 3212288 + 10250
    with pytest.raises(ValueError, match="MadryCNN: input_size must be a positive multiple of "
                       "4, got 30"):
        MadryCNN(input_size=30)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "bim"}, "method must be one of"),
    ({"eps": 0}, "eps must be a finite number > 0, got 0"),
    ({"steps": 0}, "steps must be an int >= 1, got 0"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=f"AdversarialTraining: {message}"):
        robust.AdversarialTraining(**kwargs)


def test_trainer_refuses_a_perturb_that_is_not_callable():
    model = _mlp(0)
    with pytest.raises(TypeError, match="Trainer: perturb must be callable, got int"):
        Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), perturb=3)
