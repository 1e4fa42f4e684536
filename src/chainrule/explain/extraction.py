"""NeuroRule (Setiono & Liu 1995, 1996): rules extracted from a pruned network.

1. Train a one-hidden-layer tanh network on the binary coding of discrete attributes, with a
   penalty that drives unneeded weights to zero: ``e1 sum(b w^2 / (1 + b w^2)) + e2 sum(w^2)``.
2. Prune: remove the links with the least effect on the output (an input link ``w_ml`` by
   ``|w_ml| max_p |v_pm|``, an output link by ``|v_pm|``) a share at a time, retraining after each
   step, for as long as the training accuracy stays at or above the unpruned network's less
   ``max_accuracy_drop``.
3. Discretize each hidden unit's activations by clustering them (a new cluster wherever sorted
   values are more than ``delta`` apart), with the largest ``delta`` for which the network with
   clustered activations still classifies every training sample as the network does.
4. Derive rules: from the inputs a unit still sees to its clusters, from the clusters to the
   classes, and, merged, from the inputs to the classes (``rules.induce_rules`` on every
   combination of the attributes the pruned network reads, so the merged rules agree with the
   clustered network on every input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import nn, optim
from ..autograd import Tensor, no_grad
from ..backend import numpy
from ..data.arguments import check_choice, check_number, check_probability
from ..ops import cross_entropy
from ._common import check_positive_int
from .prune import apply_mask, masks, reapply_masks
from .rules import RuleSet, induce_rules
from .tabular import Attribute, Encoding, TabularData, make_encoding

__all__ = ["NeuroRuleResult", "compare_decision_tree", "neurorule"]


@dataclass
class NeuroRuleResult:
    """What ``neurorule`` found: the pruned network, the rules and their measures."""

    model: object
    encoding: Encoding
    rules: RuleSet
    hidden_rules: dict
    output_rules: RuleSet
    metrics: dict
    pruning: list = field(default_factory=list)

    def report(self) -> dict:
        return {**self.metrics, "rules": self.rules.to_dict(), "rule_text": self.rules.lines(),
                "hidden_rules": {k: v.lines() for k, v in self.hidden_rules.items()},
                "output_rules": self.output_rules.lines(), "pruning": self.pruning}


def _penalty(model, e1, e2, beta):
    total = 0.0
    for layer in (model[0], model[2]):
        w2 = layer.weight * layer.weight
        total = total + e1 * (beta * w2 / (1 + beta * w2)).sum() + e2 * w2.sum()
    return total


def _train(model, x, y, epochs, lr, penalty):
    opt = optim.Adam(model.parameters(), lr=lr)
    xt = Tensor(x)
    for _ in range(epochs):
        loss = cross_entropy(model(xt), y) + _penalty(model, *penalty)
        opt.zero_grad()
        loss.backward()
        opt.step()
        reapply_masks(model)


def _predict(model, x):
    with no_grad():
        return model(Tensor(x)).numpy().argmax(axis=1)


def _hidden(model, x):
    with no_grad():
        return numpy.tanh(x @ model[0].weight.numpy().T + model[0].bias.numpy())


def _output(model, h):
    return (h @ model[2].weight.numpy().T + model[2].bias.numpy()).argmax(axis=1)


def _prune(model, x, y, required, step, retrain, lr, penalty, log):
    """Remove the weakest links a share at a time while the training accuracy holds."""
    first, second = model[0], model[2]
    while True:
        w, v = first.weight.numpy(), second.weight.numpy()
        alive = numpy.concatenate([(w != 0).ravel(), (v != 0).ravel()])
        scores = numpy.concatenate([(numpy.abs(w) * numpy.abs(v).max(axis=0)[:, None]).ravel(),
                                    numpy.abs(v).ravel()])
        n_alive = int(alive.sum())
        if n_alive == 0:  # every link gone and the accuracy still held (one class, say)
            return
        n = max(1, int(step * n_alive))
        saved = {k: t.numpy().copy() for k, t in model.state_dict().items()}
        while True:
            order = numpy.flatnonzero(alive)[numpy.argsort(scores[alive], kind="stable")]
            keep = alive.copy()
            keep[order[:n]] = False
            apply_mask(first, keep[:w.size].reshape(w.shape))
            apply_mask(second, keep[w.size:].reshape(v.shape))
            _train(model, x, y, retrain, lr, penalty)
            acc = float((_predict(model, x) == y).mean())
            if acc >= required:
                log.append({"links": int(keep.sum()), "train_accuracy": acc})
                break
            model.load_state_dict(saved)  # the masks too: they are buffers
            if n == 1:
                return
            n = max(1, n // 2)


def _clusters(values, delta):
    """Greedy 1-D clustering: centers, and each value's cluster index."""
    order = numpy.argsort(values, kind="stable")
    assign = numpy.empty(len(values), dtype=numpy.int64)
    k, start = 0, values[order[0]]
    for i in order:
        if values[i] - start > delta:
            k, start = k + 1, values[i]
        assign[i] = k
    centers = numpy.array([values[assign == j].mean() for j in range(k + 1)])
    return centers, assign


def _discretize(model, x, units):
    """Per-unit cluster centers with the largest delta that keeps every prediction."""
    h = _hidden(model, x)
    target = _output(model, h)
    delta = 1.0
    while True:
        centers, hd = {}, h.copy()
        for m in units:
            centers[m], assign = _clusters(h[:, m], delta)
            hd[:, m] = centers[m][assign]
        if (_output(model, hd) == target).all() or delta < 1e-6:
            return centers, delta
        delta /= 2


def _nearest(h, centers):
    return numpy.abs(h[:, None] - centers[None]).argmin(axis=1)


def neurorule(data: TabularData, *, hidden: int = 4, levels: int = 3, epochs: int = 400,
              retrain: int = 100, lr: float = 0.03, prune_step: float = 0.1,
              max_accuracy_drop: float = 0.01, penalty=(1e-3, 1e-5, 10.0),
              max_combinations: int = 8192, table: str = "auto",
              seed: int = 0) -> NeuroRuleResult:
    """Train, prune and discretize a network on ``data`` and extract its rules.

    Args:
        data: a ``TabularData`` (``tabular.load_tabular``).
        hidden: hidden units; levels: bins per continuous attribute (cut at quantiles).
        epochs: training epochs (full batch, Adam); retrain: epochs after each pruning step.
        lr: Adam's step size; prune_step: share of the remaining links removed per step.
        max_accuracy_drop: how far pruning may lower the training accuracy.
        penalty: (e1, e2, beta) of the weight penalty.
        max_combinations: the most attribute combinations the merged rules are derived from.
        table: what the rules are induced from: "all" (every combination of the levels of the
            attributes the pruned network reads: the rules then agree with the clustered
            network on every possible input), "seen" (only the combinations in the training
            set: fewer, simpler rules, whose agreement on new inputs is measured, not
            guaranteed), or "auto" ("all" up to ``max_combinations`` combinations, else "seen").
        seed: seeds the initial weights.

    Returns:
        A NeuroRuleResult; its ``metrics`` hold accuracies, fidelity, links and rule counts.
    """
    who = "neurorule"
    hidden = check_positive_int(who, "hidden", hidden)
    levels = check_positive_int(who, "levels", levels, low=2)
    epochs = check_positive_int(who, "epochs", epochs, low=0)
    retrain = check_positive_int(who, "retrain", retrain, low=0)
    check_number(who, "prune_step", prune_step, above=0, high=1)
    check_probability(who, "max_accuracy_drop", max_accuracy_drop)
    check_choice(who, "table", table, ("auto", "all", "seen"))
    enc = make_encoding(data, levels=levels)
    ltr, lte = enc.levels(data.x_train), enc.levels(data.x_test)
    xtr, xte = enc.encode_levels(ltr), enc.encode_levels(lte)
    ytr, yte = numpy.asarray(data.y_train), numpy.asarray(data.y_test)
    n_classes = len(data.class_names)
    rng = numpy.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(enc.n_inputs, hidden, rng=rng), nn.Tanh(),
                          nn.Linear(hidden, n_classes, rng=rng))
    for layer in (model[0], model[2]):  # all-ones masks, so that every saved state has them
        apply_mask(layer, numpy.ones(layer.weight.shape))
    _train(model, xtr, ytr, epochs, lr, penalty)
    acc0 = float((_predict(model, xtr) == ytr).mean())
    links0 = int(sum(int(m.sum()) for m in masks(model).values()))
    log = [{"links": links0, "train_accuracy": acc0}]
    _prune(model, xtr, ytr, acc0 - max_accuracy_drop, prune_step, retrain, lr, penalty, log)

    w, v = model[0].weight.numpy(), model[2].weight.numpy()
    units = [m for m in range(hidden) if (v[:, m] != 0).any()]
    owner = enc.owner()
    seen = {m: sorted({int(owner[i]) for i in numpy.flatnonzero(w[m] != 0)}) for m in units}
    used = sorted({a for m in units for a in seen[m]})
    centers, delta = _discretize(model, xtr, units)

    combos = 1
    for a in used:
        combos *= enc.attributes[a].n_levels
    if table == "all" and combos > max_combinations:
        raise ValueError(f"neurorule: the pruned network still reads {len(used)} attributes "
                         f"({combos} combinations > max_combinations={max_combinations}); "
                         "prune harder (a larger max_accuracy_drop), use fewer levels, or "
                         "table='seen'")
    table = "all" if table == "all" or (table == "auto" and combos <= max_combinations) \
        else "seen"
    rows = numpy.zeros((combos if table == "all" else len(ltr), len(enc.attributes)),
                       dtype=numpy.int64)
    rows[:, used] = enc.all_levels(used) if table == "all" else ltr[:, used]
    rows = numpy.unique(rows, axis=0)
    h = _hidden(model, enc.encode_levels(rows))
    hd = h.copy()
    for m in units:
        hd[:, m] = centers[m][_nearest(h[:, m], centers[m])]
    rules = induce_rules(rows, _output(model, hd), enc, data.class_names, attributes=used)

    hidden_rules = {}
    for m in units:
        names = [f"h{m + 1}={c:.2f}" for c in centers[m]]
        hidden_rules[f"h{m + 1}"] = induce_rules(rows, _nearest(h[:, m], centers[m]), enc,
                                                 names, attributes=seen[m])
    unit_enc = Encoding([Attribute(f"h{m + 1}", values=tuple(f"{c:.2f}" for c in centers[m]))
                         for m in units])
    grid = unit_enc.all_levels(range(len(units)))
    hg = numpy.zeros((len(grid), hidden))
    for j, m in enumerate(units):
        hg[:, m] = centers[m][grid[:, j]]
    for m in set(range(hidden)) - set(units):  # units without output links add nothing
        hg[:, m] = 0.0
    output_rules = induce_rules(grid, _output(model, hg), unit_enc, data.class_names)

    net_tr, net_te = _predict(model, xtr), _predict(model, xte)
    rule_tr, rule_te = rules.predict_levels(ltr), rules.predict_levels(lte)
    metrics = {
        "dataset": data.name, "n_train": len(ytr), "n_test": len(yte),
        "binary_inputs": enc.n_inputs, "hidden_units": hidden, "links_initial": links0,
        "links": int((w != 0).sum() + (v != 0).sum()), "hidden_units_used": len(units),
        "attributes_used": [enc.attributes[a].name for a in used],
        "clusters": {f"h{m + 1}": [round(float(c), 4) for c in centers[m]] for m in units},
        "cluster_delta": delta,
        "network_train_accuracy_unpruned": acc0,
        "network_train_accuracy": float((net_tr == ytr).mean()),
        "network_test_accuracy": float((net_te == yte).mean()),
        "rules_train_accuracy": float((rule_tr == ytr).mean()),
        "rules_test_accuracy": float((rule_te == yte).mean()),
        "fidelity_train": float((rule_tr == net_tr).mean()),
        "fidelity_test": float((rule_te == net_te).mean()),
        "n_rules": rules.n_rules, "n_conditions": rules.n_conditions, "table": table,
        "table_rows": len(rows),
    }
    return NeuroRuleResult(model, enc, rules, hidden_rules, output_rules, metrics, log)


def compare_decision_tree(data: TabularData, result: NeuroRuleResult, *, seed: int = 0) -> dict:
    """A scikit-learn decision tree with as many leaves as the rule set has rules.

    The tree is grown on the raw attributes (its own thresholds) and scored like the rules:
    test accuracy, and fidelity to the same pruned network.
    """
    from sklearn.tree import DecisionTreeClassifier  # the baseline only: imported when used

    leaves = max(result.rules.n_rules, 2)
    tree = DecisionTreeClassifier(max_leaf_nodes=leaves, random_state=seed)
    xtr = numpy.asarray(data.x_train, dtype=numpy.float64)
    xte = numpy.asarray(data.x_test, dtype=numpy.float64)
    tree.fit(xtr, data.y_train)
    net_te = _predict(result.model, result.encoding.encode_levels(
        result.encoding.levels(data.x_test)))
    pred = tree.predict(xte)
    return {"leaves": int(tree.get_n_leaves()), "depth": int(tree.get_depth()),
            "conditions": int(tree.tree_.node_count - tree.get_n_leaves()),
            "train_accuracy": float((tree.predict(xtr) == data.y_train).mean()),
            "test_accuracy": float((pred == data.y_test).mean()),
            "fidelity_test": float((pred == net_te).mean())}
