"""Training RBMs on data, and greedy layer-wise RBM pre-training of an MLP (a DBN's pre-training).

Hinton, Osindero & Teh (2006) pre-train a deep belief net one layer at a time: an RBM learns the
data, a second RBM learns the first one's hidden probabilities p(h|v), and so on. The stack's
recognition weights then initialise a feed-forward network of sigmoid units (layer k's
``Linear.weight`` is RBM k's W transposed, its bias the RBM's hidden bias c), whose output layer
is left random and which is fine-tuned with backpropagation on the labels as usual.
"""

from __future__ import annotations

from .. import nn
from ..autograd import Tensor, no_grad
from ..backend import get_array_module
from ..data import as_generator
from ..data.arguments import check_int, check_number
from ..models import MLP
from .rbm import RBM, _check_k

__all__ = ["pretrain_rbm_stack", "train_rbm"]


def _schedule(who, momentum, epochs):
    if isinstance(momentum, (tuple, list)):
        if len(momentum) != 2:
            raise ValueError(f"{who}: momentum must be a number or a pair (first, later), got "
                             f"{momentum!r}")
        first, later = momentum
        return [first if e < min(5, epochs // 2) else later for e in range(epochs)]
    return [momentum] * epochs


def train_rbm(rbm: RBM, x, *, epochs: int = 10, batch_size: int = 20, lr: float = 0.1,
              momentum=(0.5, 0.9), weight_decay: float = 1e-4, k: int = 1,
              persistent: bool = False, sample_visible: bool = False, init_bias: bool = True,
              rng=None) -> list[float]:
    """Train ``rbm`` on ``x`` by CD-k (or PCD-k) in mini-batches; returns the error per epoch.

    Args:
        rbm: the ``RBM``, updated in place.
        x: data (N, n_visible) or (N, ...), values in [0, 1] (binary, or probabilities).
        epochs, batch_size: passes over the shuffled data and the batch size.
        lr, weight_decay, k, persistent, sample_visible: as ``RBM.contrastive_divergence``.
        momentum: a number, or a pair (first, later): the guide's 0.5 for the first epochs (up to
            5, at most half of them), then 0.9.
        init_bias: first set the visible biases to the log-odds of the data's unit means.
        rng: Generator or int seed for the shuffling and the Gibbs draws.

    Returns:
        The reconstruction error (mean squared error of v and p(v | h0)) of each epoch, averaged
        over its batches.
    """
    who = "train_rbm"
    if not isinstance(rbm, RBM):
        raise TypeError(f"{who}: rbm must be a generative.RBM, got {type(rbm).__name__}")
    epochs = check_int(who, "epochs", epochs)
    batch_size = check_int(who, "batch_size", batch_size)
    # checked before any update: a later momentum of 1.0 failed only after the first epochs
    schedule = _schedule(who, momentum, epochs)
    check_number(who, "lr", lr, low=0)
    check_number(who, "weight_decay", weight_decay, low=0)
    for m in schedule:
        check_number(who, "momentum", m, low=0, below=1)
    _check_k(who, k)
    data = rbm._data(who, x)
    rng = as_generator(rng)
    if init_bias:
        rbm.init_visible_bias(data)
    xp = get_array_module(data)
    errors = []
    for m in schedule:
        order = xp.asarray(rng.permutation(len(data)))
        total = 0.0
        for start in range(0, len(data), batch_size):
            batch = data[order[start:start + batch_size]]
            total += len(batch) * rbm.contrastive_divergence(
                batch, k=k, lr=lr, momentum=m, weight_decay=weight_decay, persistent=persistent,
                sample_visible=sample_visible, rng=rng)
        errors.append(total / len(data))
    return errors


def _hidden_linears(mlp, who):
    if not isinstance(mlp, MLP):
        raise TypeError(f"{who}: mlp must be a models.MLP, got {type(mlp).__name__}")
    linears = [m for m in mlp.layers if isinstance(m, nn.Linear)]
    if len(linears) > 1 and not isinstance(mlp.layers[2], nn.Sigmoid):
        raise ValueError(f"{who}: the MLP's hidden units must be sigmoid (an RBM's p(h|v)), got "
                         f"{type(mlp.layers[2]).__name__}; build it with activation='sigmoid'")
    return linears[:-1]


def pretrain_rbm_stack(mlp: MLP, x, *, epochs: int = 10, batch_size: int = 20, lr: float = 0.1,
                       momentum=(0.5, 0.9), weight_decay: float = 1e-4, k: int = 1,
                       persistent: bool = False, rng=None) -> list[RBM]:
    """Initialise the hidden layers of a sigmoid ``mlp`` from a greedily trained stack of RBMs.

    RBM 1 (``mlp.sizes[0]`` visible, ``mlp.sizes[1]`` hidden units) is trained on ``x`` with
    ``train_rbm``; RBM 2 on RBM 1's hidden probabilities p(h|x), and so on. Hidden layer k of the
    MLP then gets ``weight = W_k^T`` and ``bias = c_k``, so that it computes p(h|v) of RBM k; the
    output layer is left as it was, for supervised fine-tuning.

    Args:
        mlp: a ``models.MLP`` with ``activation="sigmoid"``, in float32 or float64.
        x: unlabelled data (N, ...) of ``mlp.sizes[0]`` values each, in [0, 1].
        epochs, batch_size, lr, momentum, weight_decay, k, persistent: per RBM, as ``train_rbm``.
        rng: Generator or int seed for the RBMs' initial weights, shuffling and Gibbs draws.

    Returns:
        The trained RBMs, first layer first (an MLP without hidden layers gets none).
    """
    who = "pretrain_rbm_stack"
    linears = _hidden_linears(mlp, who)
    rng = as_generator(rng)
    dtype = mlp.layers[1].weight._data.dtype
    h = x._data if isinstance(x, Tensor) else x
    rbms = []
    for layer in linears:
        rbm = RBM(layer.in_features, layer.out_features, rng=rng, dtype=dtype)
        train_rbm(rbm, h, epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
                  weight_decay=weight_decay, k=k, persistent=persistent, rng=rng)
        with no_grad():
            layer.weight.copy_(rbm.weight.t())
            layer.bias.copy_(rbm.hidden_bias)
        h = rbm.hidden_probabilities(h)  # the next RBM's data
        rbms.append(rbm)
    return rbms
