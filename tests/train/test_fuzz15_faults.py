"""Fault injection against the training stack: interrupted and resumed runs, non-finite values,
damaged files and bad command lines, each checked against an invariant (seeded scenarios)."""

import warnings

import chainrule as cr
from chainrule import optim
from chainrule.train import Callback, ModelCheckpoint, Trainer

from .conftest import make_blobs, make_mlp

TRAIN, VAL = make_blobs(60, seed=5), make_blobs(20, seed=6)


def _quiet_fit(trainer, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = trainer.fit(*args, verbose=0, **kwargs)
    return history, [str(w.message) for w in caught]


def test_an_infinite_validation_loss_diverges_and_is_never_the_best(tmp_path):
    model = make_mlp(0)

    def loss(output, target):  # finite in training, infinite in evaluation
        value = cr.ops.cross_entropy(output, target)
        return value if model.training else value * float("inf")

    trainer = Trainer(model, loss, optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[ModelCheckpoint(tmp_path)])
    history, said = _quiet_fit(trainer, TRAIN, VAL, epochs=2, batch_size=20)
    assert trainer.diverged and len(history) == 0
    assert "val_loss is inf at epoch 1" in trainer.stop_reason
    assert any("val_loss is inf" in s for s in said)
    assert not (tmp_path / "best.safetensors").exists()


class _PoisonAndStop(Callback):
    """Makes the weights NaN after a step whose loss was finite, and stops the epoch there."""

    def on_batch_end(self, batch, logs=None):
        if batch == 1:
            with cr.no_grad():
                next(self.trainer.model.parameters()).fill_(float("nan"))
            self.trainer.stop_training = True


def test_weights_poisoned_in_an_epoch_another_callback_stops_are_not_saved(tmp_path):
    model = make_mlp(0)
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1),
                      callbacks=[_PoisonAndStop(), ModelCheckpoint(tmp_path, save_best_only=False)])
    history, _ = _quiet_fit(trainer, TRAIN, epochs=3, batch_size=10)
    assert trainer.diverged and len(history) == 0
    assert "weight 0.weight are not finite" in trainer.stop_reason
    assert not (tmp_path / "last.state.safetensors").exists()
