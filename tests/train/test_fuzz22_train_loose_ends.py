"""Fuzz wave 22: the Trainer's loose ends, decided as a Keras / Lightning user expects them.

- ``predict`` of no samples returns ``(0, *output)`` in the output's dtype (PyTorch's
  ``model(x[:0])``), not a shapeless float32 ``(0,)``; an empty Dataset without arrays is an error.
- ``train_step`` trains in training mode (Keras' ``training=True``) when called directly on a
  model left in eval mode, the GANTrainer's too, and gives every module its own mode back.
- ``evaluate``/``predict``/validation give every module its own mode back (Lightning 2.2), so a
  BatchNorm the user froze in eval stays frozen through ``fit``.
- EarlyStopping never stops at epoch 0 (Keras 2 and 3), with a baseline and ``patience=0`` too.
"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import ArrayDataset, Dataset
from chainrule.generative import GANTrainer
from chainrule.models import DCGAN, MLPGAN
from chainrule.train import Callback, EarlyStopping, History, TerminateOnNaN, Trainer

from .conftest import make_blobs, make_mlp


def _bn_model(seed=0, dtype=cr.float32):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(2, 6, rng=rng), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3, rng=rng)
    ).to(dtype=dtype)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_predict_of_no_samples_has_the_shape_and_dtype_of_a_non_empty_one(dtype):
    trainer = Trainer(_bn_model(dtype=dtype), "cross_entropy", None)
    x = np.random.default_rng(1).normal(size=(5, 2))
    full = trainer.predict(x)
    for empty in (x[:0], (x[:0],), ArrayDataset(x[:0], np.zeros(0, np.int64))):
        out = trainer.predict(empty)
        assert out.shape == (0, *full.shape[1:]) and out.dtype == full.dtype


class _Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 4, rng=np.random.default_rng(0)), nn.Linear(3, 4)

    def forward(self, u, v):
        return (self.a(u) + self.b(v)).reshape(-1, 2, 2)


class _NoSamples(Dataset):
    def __len__(self):
        return 0

    def __getitem__(self, i):
        raise IndexError(i)


def test_predict_of_no_samples_for_several_inputs_and_the_errors():
    trainer = Trainer(_Pair(), "mse_loss", None)
    out = trainer.predict((np.zeros((0, 2)), np.zeros((0, 3))))
    assert out.shape == (0, 2, 2) and out.dtype == np.float32
    with pytest.raises(ValueError, match=r"cannot run an empty batch of shape \(0, 5\), \(0, 3\)"):
        trainer.predict((np.zeros((0, 5)), np.zeros((0, 3))))  # wrong width: not a (0,) array
    with pytest.raises(ValueError, match=r"x yields no batches \(_NoSamples of length 0\?\)"):
        trainer.predict(_NoSamples())


def _modes(model):
    return [m.training for m in model.modules()]


def test_train_step_on_a_model_in_eval_mode_trains_in_training_mode_and_restores_it():
    x, y = make_blobs(16, seed=3)
    batch = (cr.tensor(x[:8]), cr.tensor(y[:8]))
    reference = _bn_model()  # the same step with the model in training mode
    Trainer(reference, "cross_entropy", optim.SGD(reference.parameters(), lr=0.1)).train_step(batch)
    model = _bn_model()
    model.eval()
    model[1].train()  # a mixed state the caller chose: given back as it was
    before = _modes(model)
    logs = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1)).train_step(batch)
    assert _modes(model) == before
    for (name, got), want in zip(model.state_dict().items(), reference.state_dict().values()):
        np.testing.assert_array_equal(got._data, want._data, err_msg=name)  # running stats too
    assert math.isfinite(logs["loss"])


def _gan():
    return DCGAN(3, (4, 2), (2, 4), image_size=8, d_norm="batch", rng=np.random.default_rng(4))


def test_gan_train_step_on_a_gan_in_eval_mode_trains_in_training_mode_and_restores_it():
    images = cr.tensor(np.random.default_rng(5).uniform(-1, 1, (4, 1, 8, 8)).astype(np.float32))
    runs = []
    for eval_first in (False, True):
        gan = _gan()
        trainer = GANTrainer(
            gan,
            optim.Adam(gan.generator.parameters(), lr=0.01),
            optim.Adam(gan.discriminator.parameters(), lr=0.01),
            rng=7,
        )
        if eval_first:
            gan.eval()  # as after sampling images
        logs = trainer.train_step((images,))
        assert gan.training is not eval_first and set(_modes(gan)) == {not eval_first}
        runs.append((logs, {k: v._data.copy() for k, v in gan.state_dict().items()}))
    (logs_train, weights_train), (logs_eval, weights_eval) = runs
    assert logs_eval == logs_train
    for name, value in weights_train.items():
        np.testing.assert_array_equal(weights_eval[name], value, err_msg=name)


def test_a_submodule_frozen_in_eval_stays_frozen_through_fit_evaluate_and_predict():
    x, y = make_blobs(40, seed=2)
    model = _bn_model()
    model[1].eval()  # a frozen BatchNorm: its running statistics must not move
    stats = {k: model[1].state_dict()[k]._data.copy() for k in ("running_mean", "running_var")}
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))
    trainer.fit((x, y), (x[:8], y[:8]), epochs=2, batch_size=8, rng=0, verbose=0)
    trainer.evaluate((x, y))
    trainer.predict(x)
    assert model.training and not model[1].training
    for name, value in stats.items():
        np.testing.assert_array_equal(model[1].state_dict()[name]._data, value, err_msg=name)


class _Stub:
    def __init__(self):
        self.model, self.stop_training, self.history = make_mlp(), False, History()


def _keras(values, patience, baseline, min_delta=0.0):
    """Keras 3's EarlyStopping.on_epoch_end (mode min), except that an epoch improving on the
    best but not on the baseline counts towards patience as Keras 2's did (docs/training.md):
    the epoch it stops at, or None."""
    best, wait = math.inf, 0
    for epoch, v in enumerate(values):
        wait += 1
        if v - min_delta < best:
            best = v
            if baseline is None or v - min_delta < baseline:
                wait = 0
                continue
        if wait >= patience and epoch > 0:
            return epoch
    return None


@pytest.mark.parametrize("seed", range(6))
def test_early_stopping_with_a_baseline_stops_where_keras_does_never_at_epoch_0(seed):
    rng = np.random.default_rng(seed)
    values = [float(v) for v in np.round(1 + rng.normal(size=8).cumsum() * 0.1, 2)]
    for patience in (0, 1, 2):
        for baseline in (None, values[0] - 0.05, values[0] + 0.05, min(values) - 0.01):
            stopper = EarlyStopping(patience=patience, baseline=baseline, verbose=0)
            stopper.set_trainer(_Stub())
            stopper.on_train_begin()
            for epoch, v in enumerate(values):
                stopper.on_epoch_end(epoch, {"val_loss": v})
                if stopper.trainer.stop_training:
                    break
            assert stopper.stopped_epoch == _keras(values, patience, baseline), (patience, baseline)


def test_early_stopping_patience_0_with_a_missed_baseline_runs_two_epochs_in_fit():
    x, y = make_blobs(32, seed=1)
    model = make_mlp()
    stopper = EarlyStopping("loss", patience=0, baseline=1e-9, verbose=0)
    trainer = Trainer(
        model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), callbacks=[stopper]
    )
    history = trainer.fit((x, y), epochs=5, batch_size=16, rng=0, verbose=0)
    assert history.epoch == [0, 1] and stopper.stopped_epoch == 1


class _StopAt(Callback):
    def __init__(self, batch):
        self.batch = batch

    def on_batch_end(self, batch, logs=None):
        if batch == self.batch:
            self.trainer.stop_training = True


def test_a_stop_in_the_middle_of_an_accumulation_group_steps_nothing_of_it():
    """Documented (docs/training.md): the group's summed gradients are not stepped; the epoch's
    logs are the means of the batches it ran."""
    x, y = make_blobs(24, seed=4)
    model = make_mlp()
    before = [p.numpy().copy() for p in model.parameters()]
    losses = []
    trainer = Trainer(
        model,
        "cross_entropy",
        optim.SGD(model.parameters(), lr=0.5),
        callbacks=[_StopAt(1), _Losses(losses)],
        accumulate_grad_batches=4,
    )
    history = trainer.fit((x, y), epochs=3, batch_size=4, shuffle=False, verbose=0)
    for p, value in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), value)
    assert history.epoch == [0] and len(losses) == 2
    np.testing.assert_allclose(history["loss"][0], np.mean(losses), rtol=1e-12)


class _Losses(Callback):
    def __init__(self, into):
        self.into = into

    def on_batch_end(self, batch, logs=None):
        self.into.append(logs["loss"])


def test_non_finite_validation_inputs_are_named_as_fits_validation_data():
    x, y = make_blobs(12, seed=5)
    bad = x.copy()
    bad[3, 1] = np.nan
    model = make_mlp()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r"^fit: validation_data: input 0 of batch 1 holds 1 non"):
        trainer.fit((x, y), (bad, y), epochs=1, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"^evaluate: input 0 of batch 1 holds 1 non-finite"):
        trainer.evaluate((bad, y))


def test_gan_sampling_and_evaluation_keep_each_modules_mode_and_the_data_range():
    gan = _gan()
    gan.discriminator.eval()  # frozen while the generator trains: stays so after sampling
    modes = _modes(gan)
    gan.sample(2, rng=np.random.default_rng(0))
    assert _modes(gan) == modes
    trainer = GANTrainer(
        gan,
        optim.SGD(gan.generator.parameters(), lr=0.01),
        optim.SGD(gan.discriminator.parameters(), lr=0.01),
        rng=0,
    )
    pixels = np.random.default_rng(1).random((4, 1, 8, 8)).astype(np.float32)
    assert 0 < trainer.evaluate((pixels * 2 - 1,), batch_size=2)["d_real"] < 1
    with pytest.raises(ValueError, match=r"real images must have values in \[-1, 1\]"):
        trainer.evaluate((pixels * 255,))  # as train_step refuses them
    assert _modes(gan) == modes


def _mlp_gan_trainer(callbacks, n_critic=2):
    gan = MLPGAN(
        latent_dim=3,
        g_hidden=(5,),
        d_hidden=(6,),
        image_shape=(1, 2, 3),
        rng=np.random.default_rng(0),
    )
    return GANTrainer(
        gan,
        optim.SGD(gan.generator.parameters(), lr=0.01),
        optim.SGD(gan.discriminator.parameters(), lr=0.01),
        n_critic=n_critic,
        rng=0,
        callbacks=callbacks,
    )


def test_terminate_on_nan_can_watch_a_gans_g_loss_logged_every_n_critic_steps():
    images = np.random.default_rng(2).uniform(-1, 1, (12, 1, 2, 3)).astype(np.float32)
    watched = _mlp_gan_trainer([TerminateOnNaN("g_loss")])  # refused at the first step before
    assert len(watched.fit(images, epochs=2, batch_size=4, verbose=0)) == 2
    broken = _mlp_gan_trainer([TerminateOnNaN("g_loss")])
    broken.generator_step = lambda n, labels=None: {"g_loss": float("nan")}
    with pytest.warns(RuntimeWarning, match="g_loss is nan at epoch 1, batch 2"):
        broken.fit(images, epochs=2, batch_size=4, verbose=0)
    assert broken.diverged
    with pytest.raises(ValueError, match=r"monitor names \['g_los'\], which no training step"):
        _mlp_gan_trainer([TerminateOnNaN("g_los")]).fit(images, batch_size=4, verbose=0)


def test_a_gans_validation_data_may_be_a_one_tuple_as_its_training_data():
    images = np.random.default_rng(3).uniform(-1, 1, (12, 1, 2, 3)).astype(np.float32)
    logs = []
    for how in (
        {"validation_data": (images[:4],)},
        {"y": (images[:4],)},
        {"validation_data": images[:4]},
    ):
        trainer = _mlp_gan_trainer([], n_critic=1)
        history = trainer.fit((images,), epochs=1, batch_size=4, rng=0, verbose=0, **how)
        logs.append(history["val_d_real"])
    assert logs[0] == logs[1] == logs[2]


class _TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 3, rng=np.random.default_rng(0)), nn.Linear(2, 1)

    def forward(self, x):
        return self.a(x), self.b(x)


def test_predict_of_a_model_with_two_outputs_gives_a_tuple_of_arrays():
    """It failed with "'tuple' object has no attribute '_data'"; Keras returns a list."""
    model = _TwoHeads()
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    first, second = Trainer(model, "mse_loss", None).predict(x, batch_size=2)
    with cr.no_grad():
        a, b = model(cr.tensor(x))
    np.testing.assert_allclose(first, a.numpy(), rtol=1e-6)
    np.testing.assert_allclose(second, b.numpy(), rtol=1e-6)
    empty = Trainer(model, "mse_loss", None).predict(x[:0])
    assert [e.shape for e in empty] == [(0, 3), (0, 1)]
