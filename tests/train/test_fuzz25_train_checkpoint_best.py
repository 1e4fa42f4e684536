"""Fuzz wave 25: a ModelCheckpoint(save_best_only=True) given to a second fit (fine-tuning after
a first run) keeps the best value its first fit saved, as Keras' does: the second fit's first
epoch, worse, replaced best.safetensors."""

import numpy as np

import chainrule as cr
from chainrule import optim
from chainrule.train import ModelCheckpoint, Trainer

from .conftest import make_blobs, make_mlp


def test_a_second_fit_keeps_the_first_fits_best_file(tmp_path):
    x, y = make_blobs(16, seed=1)
    model = make_mlp(seed=2, hidden=4)
    sgd = optim.SGD(model.parameters(), lr=0.5)
    saver = ModelCheckpoint(tmp_path, monitor="loss")
    trainer = Trainer(model, "cross_entropy", sgd, callbacks=[saver])
    with cr.reference_mode():
        first = trainer.fit((x, y), epochs=3, batch_size=16, shuffle=False, verbose=0)
        saved = (tmp_path / "best.safetensors").read_bytes()
        with cr.no_grad():
            for p in model.parameters():
                p.zero_()  # a worse model (loss ln 2), kept so by lr 0
        sgd.param_groups[0]["lr"] = 0.0
        second = trainer.fit((x, y), epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert min(second["loss"]) > min(first["loss"]) == saver.best
    assert (tmp_path / "best.safetensors").read_bytes() == saved  # before: the worse weights
    assert np.isfinite(saver.best)
