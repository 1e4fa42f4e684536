import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.backend import cuda_available
from chainrule.data import ArrayDataset, DataLoader, Dataset
from chainrule.train import History, ProgressBar, Trainer

from .conftest import make_blobs, make_mlp


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _trainer(model, lr=0.05, **kwargs):
    return Trainer(model, cr.ops.cross_entropy, optim.Adam(model.parameters(), lr=lr),
                   metrics=["accuracy"], **kwargs)


def test_fit_learns_xor_full_batch():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    model = make_mlp(seed=1, hidden=8)
    history = _trainer(model, lr=0.05).fit((x, y), epochs=300, batch_size=None, rng=0, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < 0.05
    np.testing.assert_array_equal(Trainer(model, "cross_entropy", None).predict(x).argmax(1), y)


@pytest.mark.parametrize("batch_size,epochs", [(None, 60), (16, 8), (1, 2)])
def test_fit_learns_blobs_with_any_batch_size(blobs, batch_size, epochs):
    x, y = blobs
    trainer = _trainer(make_mlp(), lr=0.05)
    history = trainer.fit((x, y), validation_data=make_blobs(100, seed=1), epochs=epochs,
                          batch_size=batch_size, rng=0, verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.95
    assert history.history["loss"][-1] < history.history["loss"][0] or epochs < 3


def test_history_records_every_epoch(blobs):
    x, y = blobs
    history = _trainer(make_mlp()).fit((x, y), (x[:50], y[:50]), epochs=3, rng=0, verbose=0)
    assert isinstance(history, History)
    assert history.epoch == [0, 1, 2]
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history["loss"] is history.history["loss"]


def test_epoch_logs_are_sample_weighted_means_of_the_batches(blobs):
    """With lr=0 the weights never change, so every batch sees the same model as evaluate()."""
    x, y = blobs
    model = make_mlp()
    trainer = Trainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=0.0),
                      metrics=["accuracy"])
    history = trainer.fit((x, y), epochs=1, batch_size=64, shuffle=False, verbose=0)  # 64+64+64+8
    logits = model(cr.tensor(x))
    full_loss = cr.ops.cross_entropy(logits, cr.tensor(y)).item()
    assert history.history["loss"][0] == pytest.approx(full_loss, rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx(np.mean(logits.numpy().argmax(1) == y))
    assert trainer.evaluate((x, y), batch_size=7)["loss"] == pytest.approx(full_loss, rel=1e-5)


def test_evaluate_and_predict_run_in_eval_mode_without_a_graph(blobs):
    x, y = blobs
    model = make_mlp(noise=5.0)  # the noise layer would change outputs in training mode
    trainer = _trainer(model)
    model.train()
    first = trainer.predict(x, batch_size=33)
    assert isinstance(first, np.ndarray) and first.shape == (200, 2)
    np.testing.assert_array_equal(first, trainer.predict(x, batch_size=None))
    model.eval()
    np.testing.assert_allclose(first, model(cr.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)
    model.train()
    logs = trainer.evaluate((x, y))
    assert set(logs) == {"loss", "accuracy"}
    assert model.training  # restored
    assert all(p.grad is None for p in model.parameters())
    # a DataLoader of (x, y) batches: predict drops the target
    loader = DataLoader(ArrayDataset(x, y), 50)
    np.testing.assert_array_equal(trainer.predict(loader), first)


class PairDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def test_arrays_dataset_and_dataloader_train_identically(blobs):
    x, y = blobs
    runs = []
    for data in [(x, y), PairDataset(x, y), DataLoader(ArrayDataset(x, y), 20)]:
        model = make_mlp()
        _trainer(model).fit(data, epochs=2, batch_size=20, shuffle=False, verbose=0)
        runs.append(_weights(model))
    for other in runs[1:]:
        for k in runs[0]:
            np.testing.assert_array_equal(runs[0][k], other[k])


def test_fit_is_bit_for_bit_reproducible_with_fixed_seeds(blobs):
    x, y = blobs

    def run(seed):
        model = make_mlp(noise=0.3)
        _trainer(model).fit((x, y), epochs=3, batch_size=16, rng=seed, verbose=0)
        return _weights(model)

    a, b, c = run(7), run(7), run(8)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_float64_inputs_are_cast_to_the_model_dtype(blobs):
    x, y = blobs
    trainer = _trainer(make_mlp())
    seen = []
    trainer.model.register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))
    trainer.fit((x.astype(np.float64), y), epochs=1, batch_size=100, rng=0, verbose=0)
    assert seen == [np.float32, np.float32]
    model64 = make_mlp().to(dtype="float64")
    _trainer(model64).fit((x, y), epochs=1, batch_size=100, rng=0, verbose=0)
    assert all(p.dtype == np.float64 for p in model64.parameters())


def test_loss_by_name_and_regression_metrics(rng):
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)).astype(np.float32)
    model = nn.Linear(3, 1, rng=rng)
    trainer = Trainer(model, "mse_loss", optim.SGD(model.parameters(), lr=0.1),
                      metrics=["mse", "mae"])
    history = trainer.fit((x, y), epochs=40, batch_size=16, rng=0, verbose=0)
    assert history.history["mse"][-1] < 1e-3
    assert history.history["mse"][-1] == pytest.approx(history.history["loss"][-1], rel=1e-4)
    with pytest.raises(ValueError, match="no loss function named 'nope'"):
        Trainer(model, "nope", None)


def test_trainer_validates_its_arguments():
    model = make_mlp()
    with pytest.raises(TypeError, match="model must be a chainrule nn.Module, got function"):
        Trainer(lambda x: x, "mse_loss", None)
    with pytest.raises(TypeError, match=r"callbacks\[1\] must be a Callback, got str"):
        Trainer(model, "mse_loss", None, callbacks=[ProgressBar(0), "csv"])
    with pytest.raises(TypeError, match="loss must be callable or a name"):
        Trainer(model, 3, None)
    assert [name for name, _ in Trainer(model, "mse_loss", None, metrics="mae").metrics] == ["mae"]


def test_train_step_is_the_override_point(blobs):
    class CountingTrainer(Trainer):
        def train_step(self, batch):
            logs = super().train_step(batch)
            return {**logs, "batch_size": float(len(batch[0]))}

    x, y = blobs
    model = make_mlp()
    trainer = CountingTrainer(model, cr.ops.cross_entropy, optim.SGD(model.parameters(), lr=0.1))
    history = trainer.fit((x, y), epochs=1, batch_size=64, shuffle=False, verbose=0)
    assert history.history["batch_size"] == [pytest.approx((3 * 64 * 64 + 8 * 8) / 200)]


def test_fit_validates_its_arguments(blobs):
    x, y = blobs
    trainer = _trainer(make_mlp())
    with pytest.raises(ValueError, match="rng applies to arrays or a Dataset"):
        trainer.fit(DataLoader(ArrayDataset(x, y), 8), rng=0, verbose=0)
    with pytest.raises(ValueError, match="yields no batches"):
        trainer.fit(DataLoader(ArrayDataset(x, y), 500, drop_last=True), verbose=0)
    with pytest.raises(ValueError, match="epochs must be an int >= 0"):
        trainer.fit((x, y), epochs=-1, verbose=0)
    with pytest.raises(ValueError, match="a batch must hold the inputs and a target"):
        trainer.fit((x,), rng=0, verbose=0)
    with pytest.raises(TypeError, match="expected a DataLoader, a Dataset, an array"):
        trainer.fit("data.csv", verbose=0)
    with pytest.raises(ValueError, match="equal first dimensions"):
        trainer.fit((x, y[:10]), verbose=0)


@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a GPU")
def test_fit_on_the_gpu_matches_the_cpu(blobs):
    x, y = blobs
    runs = {}
    for device in ("cpu", "cuda"):
        trainer = _trainer(make_mlp(), device=device)
        history = trainer.fit((x, y), epochs=2, batch_size=50, rng=0, verbose=0)
        runs[device] = history.history, trainer.predict(x)
    assert isinstance(runs["cuda"][1], np.ndarray)
    np.testing.assert_allclose(runs["cuda"][1], runs["cpu"][1], rtol=1e-4, atol=1e-5)
    for name, values in runs["cpu"][0].items():
        np.testing.assert_allclose(runs["cuda"][0][name], values, rtol=1e-4, atol=1e-5)
