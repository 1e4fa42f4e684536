"""Greedy layer-wise autoencoder pre-training of an MLP, then supervised fine-tuning.

Before good initializations and ReLUs, deep networks were started from weights learned without
labels (Bengio et al. 2007; Hinton & Salakhutdinov 2006): the first hidden layer is trained as the
encoder of an autoencoder of the inputs, the second as the encoder of an autoencoder of the first
layer's codes, and so on; the whole stack plus a fresh output layer is then fine-tuned with labels.
It helps most when labels are few and unlabelled data are many, which ``compare_pretraining``
measures: the same MLP from random and from pre-trained weights, trained on a small labelled subset.
"""

from __future__ import annotations

import time

from .. import nn, optim
from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ..data import ArrayDataset, DataLoader, as_generator
from ..data.arguments import check_int, check_number, check_within
from ..data.corruptions import pair_transform
from ..models import MLP
from ..ops import cross_entropy, mse_loss
from ..train import Trainer, raise_if_diverged
from .evaluation import reconstruct

__all__ = ["compare_pretraining", "pretrain_layerwise"]


class _LayerAutoencoder(nn.Module):
    """encoder Linear + activation, decoder Linear (+ sigmoid for data in [0, 1])."""

    def __init__(self, n_in, n_hidden, activation, sigmoid_output, rng):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_in, n_hidden, rng=rng), activation())
        tail = [nn.Sigmoid()] if sigmoid_output else []
        self.decoder = nn.Sequential(nn.Linear(n_hidden, n_in, rng=rng), *tail)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def _mask_pair(x, rng, fraction):
    keep = rng.random(x.shape) >= fraction
    return (x * keep).astype(x.dtype), x


def _inputs(mlp: MLP, x):
    """``x`` as a float array (N, mlp.sizes[0]) in the MLP's dtype, checked to lie in [0, 1].

    The first autoencoder's sigmoid output cannot reach values outside [0, 1]: 0..255 pixels gave a
    reconstruction loss of tens of thousands and useless weights, silently. Lists failed with
    AttributeError and an empty batch in reshape.
    """
    a = x._data if isinstance(x, Tensor) else x
    a = get_array_module(a).asarray(a)
    width = mlp.sizes[0]
    if a.ndim < 1 or len(a) == 0 or a.size != len(a) * width or a.dtype.kind not in "biuf":
        raise ValueError(f"pretrain_layerwise: x must be real inputs (N, ...) with N >= 1 and "
                         f"{width} values each (mlp.sizes[0]), got shape {tuple(a.shape)} dtype "
                         f"{a.dtype}")
    check_within("pretrain_layerwise", "x", a, 0, 1,
                 why="the first autoencoder reconstructs them through a sigmoid")
    return a.reshape(len(a), width).astype(mlp.layers[1].weight._data.dtype)


def pretrain_layerwise(mlp: MLP, x, *, epochs: int = 3, batch_size: int = 64, lr: float = 1e-3,
                       corruption: float = 0.0, rng=None, verbose: int = 0) -> list[float]:
    """Initialize the hidden layers of ``mlp`` by training one autoencoder per layer, greedily.

    Layer k's autoencoder reconstructs the codes of layers 1..k-1 (the data for k = 1) through
    layer k and a throw-away decoder (sigmoid output for the first layer, whose inputs are pixels
    in [0, 1]; linear above). The encoder's weights are copied into ``mlp``; the output layer is
    left as it was. With ``corruption > 0`` each autoencoder is a denoising one (masking noise that
    zeros that fraction of its inputs: stacked denoising autoencoders, Vincent et al. 2010).

    Args:
        mlp: a ``models.MLP``; its activation is used in the autoencoders.
        x: unlabelled inputs (N, ...) whose flattened size is ``mlp.sizes[0]``, values in [0, 1].
        epochs, batch_size, lr: training of each autoencoder (Adam).
        corruption: masking-noise fraction in [0, 1) for denoising pre-training (0: plain).
        rng: Generator or seed for initialization, shuffling and noise.
        verbose: passed to ``Trainer.fit``.

    Returns:
        The final reconstruction MSE of each layer's autoencoder.
    """
    who = "pretrain_layerwise"
    if not isinstance(mlp, MLP):
        raise TypeError(f"pretrain_layerwise: mlp must be a models.MLP, got {type(mlp).__name__}")
    corruption = check_number(who, "corruption", corruption, low=0, below=1)
    epochs = check_int(who, "epochs", epochs)  # epochs=0: KeyError
    batch_size = check_int(who, "batch_size", batch_size)
    rng = as_generator(rng)
    linears = [m for m in mlp.layers if isinstance(m, nn.Linear)]
    # the MLP's own precision: float32 autoencoders rounded a float64 MLP's weights to float32
    h = _inputs(mlp, x)
    if len(linears) < 2:
        return []  # no hidden layer to pre-train
    act = type(mlp.layers[2])  # Flatten, Linear, activation, ...: the hidden activation
    losses = []
    for k, layer in enumerate(linears[:-1]):
        ae = _LayerAutoencoder(layer.in_features, layer.out_features, act, k == 0,
                               rng).to(dtype=layer.weight.dtype)
        transform = pair_transform(_mask_pair, fraction=corruption) if corruption else None
        data = ArrayDataset(h, h)
        loader = DataLoader(data, batch_size, shuffle=True, rng=rng, transform=transform)
        trainer = Trainer(ae, mse_loss, optim.Adam(ae.parameters(), lr=lr))
        history = trainer.fit(loader, epochs=epochs, verbose=verbose)
        raise_if_diverged(f"pretrain_layerwise: the autoencoder of layer {k + 1}", trainer,
                          f"lower lr (it was {lr:g})")
        losses.append(history.history["loss"][-1])
        with no_grad():
            layer.weight.copy_(ae.encoder[0].weight)
            layer.bias.copy_(ae.encoder[0].bias)
        h = reconstruct(ae.encoder, h)  # the codes: the next autoencoder's data
    return losses


def _fit_classifier(mlp, x, y, x_test, y_test, *, epochs, batch_size, lr, rng):
    trainer = Trainer(mlp, cross_entropy, optim.Adam(mlp.parameters(), lr=lr),
                      metrics=["accuracy"])
    trainer.fit((x, y), epochs=epochs, batch_size=batch_size, rng=rng, verbose=0)
    raise_if_diverged("compare_pretraining: fine-tuning", trainer, f"lower lr (it was {lr:g})")
    return trainer.evaluate((x_test, y_test), batch_size=1000)["accuracy"]


def compare_pretraining(x_unlabelled, x_labelled, y_labelled, x_test, y_test, *,
                        sizes=(784, 500, 250, 10), activation: str = "sigmoid",
                        pretrain_epochs: int = 3, finetune_epochs: int = 30,
                        batch_size: int = 64, lr: float = 1e-3, corruption: float = 0.0,
                        seed: int = 0) -> dict:
    """Test accuracy of one MLP fine-tuned on few labels from random vs pre-trained weights.

    Both networks start from the same random weights (same seed); the second then has its hidden
    layers pre-trained on ``x_unlabelled`` with ``pretrain_layerwise``. Both are then trained
    identically on ``(x_labelled, y_labelled)`` (e.g. 1,000 MNIST labels) and tested.

    Returns:
        A dict with "random_init_accuracy", "pretrained_accuracy", the pre-training
        reconstruction losses, the settings and the wall-clock seconds of each part.
    """
    def fresh():
        return MLP(sizes, activation=activation, rng=as_generator(seed))

    start = time.perf_counter()
    baseline = _fit_classifier(fresh(), x_labelled, y_labelled, x_test, y_test,
                               epochs=finetune_epochs, batch_size=batch_size, lr=lr,
                               rng=seed + 1)
    t_baseline = time.perf_counter() - start
    mlp = fresh()
    start = time.perf_counter()
    losses = pretrain_layerwise(mlp, x_unlabelled, epochs=pretrain_epochs, batch_size=batch_size,
                                lr=lr, corruption=corruption, rng=seed + 2)
    t_pretrain = time.perf_counter() - start
    start = time.perf_counter()
    pretrained = _fit_classifier(mlp, x_labelled, y_labelled, x_test, y_test,
                                 epochs=finetune_epochs, batch_size=batch_size, lr=lr,
                                 rng=seed + 1)
    t_finetune = time.perf_counter() - start
    return {
        "random_init_accuracy": baseline, "pretrained_accuracy": pretrained,
        "pretrain_losses": losses, "sizes": list(sizes), "activation": activation,
        "n_unlabelled": int(len(x_unlabelled)), "n_labelled": int(len(x_labelled)),
        "n_test": int(len(x_test)), "pretrain_epochs": pretrain_epochs,
        "finetune_epochs": finetune_epochs, "corruption": corruption, "seed": seed,
        "seconds": {"random_init": round(t_baseline, 1), "pretrain": round(t_pretrain, 1),
                    "finetune": round(t_finetune, 1)},
    }
