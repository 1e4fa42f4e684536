"""Which curve is more plausible? Small, right-sized and large nets fitted to noisy 1-D samples.

The lecture's picture: a handful of noisy samples of a smooth function, and curves of different
complexity through them. An over-sized net follows the noise; weight decay (a Gaussian prior on
the weights) and early stopping (stop where the validation loss is lowest) pull it back towards the
smooth curve. ``plausibility_study`` fits every combination and reports the losses; the figures
live in ``bayes.figures``.
"""

from __future__ import annotations

from .. import optim
from ..backend import get_array_module
from ..models import MLP
from ..ops import mse_loss
from ..train import EarlyStopping, Trainer, raise_if_diverged
from ._checks import check_int, check_positive, resolve_rng

__all__ = ["SIZES", "REGULARIZERS", "noisy_curve", "fit_curve", "plausibility_study", "true_curve"]

SIZES = {"under": (1, 1, 1), "right": (1, 16, 1), "over": (1, 128, 128, 1)}
REGULARIZERS = ("none", "weight decay", "early stopping")


def true_curve(x):
    """The smooth function the samples come from: ``sin(3x) + 0.3 x`` of an array ``x``."""
    xp = get_array_module(x)
    return xp.sin(3.0 * x) + 0.3 * x


def noisy_curve(n: int = 20, *, noise: float = 0.25, rng=None, dtype="float32"):
    """``n`` noisy samples ``(x, y)`` of ``true_curve`` at uniform x in [-1.5, 1.5], shapes (n, 1).

    Args:
        n: number of samples.
        noise: standard deviation of the Gaussian noise added to y.
        rng: a numpy Generator (or a seed) for x and the noise.
    """
    check_int("noisy_curve", "n", n, 1)
    check_positive("noisy_curve", "noise", noise, allow_zero=True)
    rng = resolve_rng("noisy_curve", rng)
    x = rng.uniform(-1.5, 1.5, size=(n, 1))
    y = true_curve(x) + noise * rng.standard_normal((n, 1))
    return x.astype(dtype), y.astype(dtype)


def fit_curve(sizes, train, val, *, weight_decay: float = 0.0, early_stopping: bool = False,
              epochs: int = 2000, lr: float = 0.01, patience: int = 200, activation="tanh",
              rng=None) -> dict:
    """Fit an MLP of layer widths ``sizes`` to ``train`` with full-batch Adam.

    The validation loss is recorded every epoch either way (for the figures); with
    ``early_stopping`` an ``EarlyStopping(patience=...)`` watches it and restores the best epoch.

    Args:
        sizes: MLP widths, e.g. ``(1, 16, 1)``.
        train, val: ``(x, y)`` arrays of shape (n, 1).
        weight_decay: L2 coefficient of Adam (added to the gradient: a Gaussian prior).
        early_stopping: stop on the validation loss and keep the best weights.
        epochs, lr, patience: the training schedule.
        rng: a Generator or seed for the initial weights.

    Returns:
        ``{"model", "train_loss", "val_loss" (lists per epoch), "best_epoch", "stopped_epoch"}``.
    """
    check_int("fit_curve", "epochs", epochs, 1)
    check_positive("fit_curve", "weight_decay", weight_decay, allow_zero=True)
    rng = resolve_rng("fit_curve", rng)
    model = MLP(sizes, activation=activation, rng=rng)
    opt = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    stopper = EarlyStopping("val_loss", patience=patience, verbose=0) if early_stopping else None
    trainer = Trainer(model, mse_loss, opt, callbacks=[stopper] if stopper else [])
    history = trainer.fit(train, validation_data=val, epochs=epochs, batch_size=None,
                          shuffle=False, verbose=0)
    raise_if_diverged("fit_curve", trainer, f"lower lr (it was {lr:g})")
    logs = history.history
    val_loss = list(logs["val_loss"])
    best = int(min(range(len(val_loss)), key=val_loss.__getitem__))
    return {"model": model, "train_loss": list(logs["loss"]), "val_loss": val_loss,
            "best_epoch": stopper.best_epoch if stopper else best,
            "stopped_epoch": None if stopper is None else stopper.stopped_epoch}


def plausibility_study(*, n_train: int = 15, n_val: int = 20, n_test: int = 500,
                       noise: float = 0.25, weight_decay: float = 1e-3, epochs: int = 2000,
                       patience: int = 200, seed: int = 0) -> dict:
    """Fit every size of ``SIZES`` with every regularizer of ``REGULARIZERS`` on the same data.

    Returns:
        ``{"data": {"train", "val", "test"}, "fits": {(size, regularizer): fit_curve result plus
        "test_mse" and "final_train_mse"}}``.
    """
    rng = resolve_rng("plausibility_study", seed)
    train = noisy_curve(n_train, noise=noise, rng=rng)
    val = noisy_curve(n_val, noise=noise, rng=rng)
    test = noisy_curve(n_test, noise=noise, rng=rng)
    fits = {}
    for size, widths in SIZES.items():
        for reg in REGULARIZERS:
            fit = fit_curve(widths, train, val, epochs=epochs, patience=patience,
                            weight_decay=weight_decay if reg == "weight decay" else 0.0,
                            early_stopping=reg == "early stopping", rng=seed + 1)
            trainer = Trainer(fit["model"], mse_loss, None, fuse=False)
            fit["test_mse"] = trainer.evaluate(test, batch_size=None)["loss"]
            fit["final_train_mse"] = trainer.evaluate(train, batch_size=None)["loss"]
            fits[(size, reg)] = fit
    return {"data": {"train": train, "val": val, "test": test}, "fits": fits}
