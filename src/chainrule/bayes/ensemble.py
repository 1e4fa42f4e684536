"""Model averaging: deep ensembles, bagging and snapshot ensembles as one Module.

An ``Ensemble`` holds its members in a ModuleList, so ``state_dict`` (keys ``members.0.``...),
``save_weights``/``load_weights``, ``Trainer.evaluate`` and ``Trainer.predict`` treat it as one
model. For classification its output is the log of the members' averaged probabilities,
``log (1/M) sum_m softmax(z_m)``: ``cross_entropy`` of that output (whose softmax is itself) is the
NLL of the averaged prediction, and its argmax is the ensemble's class (Lakshminarayanan et al.,
2017). For regression it is the mean of the members' outputs.
"""

from __future__ import annotations

import copy
import math

from .. import optim
from ..autograd import Tensor
from ..nn import Module, ModuleList
from ..ops import log_softmax, logsumexp, mean, stack
from ..train import Callback, Trainer, raise_if_diverged
from ._checks import check_int, resolve_rng

__all__ = ["Ensemble", "Snapshots", "train_ensemble", "snapshot_ensemble"]

_OUTPUTS = ("log_probs", "mean")


class Ensemble(Module):
    """Average the predictions of several models of the same output shape.

    Args:
        members: a non-empty sequence of Modules.
        output: "log_probs" (classification: log of the mean softmax) or "mean" (regression).

    Shape:
        input: whatever every member takes; output: the members' output shape.
    """

    def __init__(self, members, *, output: str = "log_probs"):
        super().__init__()
        members = list(members)
        if not members or not all(isinstance(m, Module) for m in members):
            raise ValueError("Ensemble: members must be a non-empty sequence of Modules, got "
                             f"{[type(m).__name__ for m in members]}")
        if output not in _OUTPUTS:
            raise ValueError(f"Ensemble: output must be one of {_OUTPUTS}, got {output!r}")
        self.output = output
        self.members = ModuleList(members)

    def member_outputs(self, *inputs) -> Tensor:
        """The members' raw outputs stacked on a new first axis: (M, ...)."""
        return stack([m(*inputs) for m in self.members], axis=0)

    def forward(self, *inputs):
        outs = self.member_outputs(*inputs)
        if self.output == "mean":
            return mean(outs, axis=0)
        if outs.ndim < 2 or outs.shape[-1] < 2:  # softmax over one class: 0 for every input
            raise ValueError("Ensemble: output='log_probs' averages the softmax over the members' "
                             "last axis (the classes), which needs at least 2 entries; the "
                             f"members' outputs have shape {tuple(outs.shape[1:])} (for "
                             "regression use output='mean')")
        return logsumexp(log_softmax(outs, axis=-1), axis=0) - math.log(len(self.members))

    def extra_repr(self) -> str:
        return f"members={len(self.members)}, output={self.output!r}"


def _bootstrap(x, y, rng):
    idx = rng.integers(0, len(y), size=len(y))
    return x[idx], y[idx]


def train_ensemble(build, train, *, members: int = 5, bagging: bool = False, loss="cross_entropy",
                   output: str = "log_probs", epochs: int = 10, batch_size: int = 32,
                   lr: float = 1e-3, weight_decay: float = 0.0, validation=None, rng=None,
                   verbose: int = 0) -> Ensemble:
    """Train ``members`` models independently and return them as one ``Ensemble``.

    Each member gets its own initial weights (``build(rng)`` with a generator spawned from
    ``rng``) and its own data order; with ``bagging`` each also trains on a bootstrap sample of
    ``train`` (Breiman, 1996) instead of all of it.

    Args:
        build: ``build(rng) -> Module``, e.g. ``lambda r: MLP((64, 32, 10), rng=r)``.
        train: ``(x, y)`` arrays.
        members: ensemble size; loss/epochs/batch_size/lr/weight_decay: Adam training of each.
        validation: optional ``(x, y)`` evaluated per epoch (in each member's history).
        rng: a Generator or seed; the whole ensemble repeats bit for bit with the same seed.
    """
    check_int("train_ensemble", "members", members)
    rng = resolve_rng("train_ensemble", rng)
    models = []
    for i, member_rng in enumerate(rng.spawn(members)):
        model = build(member_rng)
        data = _bootstrap(*train, member_rng) if bagging else train
        opt = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        trainer = Trainer(model, loss, opt)
        trainer.fit(data, validation_data=validation, epochs=epochs, batch_size=batch_size,
                    rng=member_rng, verbose=verbose)
        raise_if_diverged(f"train_ensemble: member {i + 1} of {members}", trainer,
                          f"lower lr (it was {lr:g})")
        models.append(model)
    return Ensemble(models, output=output)


class Snapshots(Callback):
    """Keep a copy of the model's weights at the end of every ``every``-th epoch (from ``start``).

    With a cyclic learning rate (e.g. ``optim.lr_scheduler.LambdaLR`` with a cosine that restarts
    every ``every`` epochs) these are the snapshots of Huang et al. (2017): one training run,
    several minima, averaged by ``snapshot_ensemble``.
    """

    def __init__(self, every: int = 1, start: int = 0):
        self.every = check_int("Snapshots", "every", every)
        self.start = check_int("Snapshots", "start", start, 0)
        self.states: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        if epoch >= self.start and (epoch - self.start + 1) % self.every == 0:
            self.states.append({k: v._data.copy()
                                for k, v in self.trainer.model.state_dict().items()})


def snapshot_ensemble(model: Module, states, *, output: str = "log_probs") -> Ensemble:
    """An ``Ensemble`` of copies of ``model``, each loaded with one of ``states`` (state dicts)."""
    states = list(states)
    if not states:
        raise ValueError("snapshot_ensemble: states is empty; train with a Snapshots callback "
                         "for at least 'every' epochs")
    members = []
    for state in states:
        member = copy.deepcopy(model)
        member.load_state_dict(state)
        members.append(member)
    return Ensemble(members, output=output)
