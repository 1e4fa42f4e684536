"""Rule extraction by pruning (NeuroRule) and sensitivity analysis expressed as rules.

1. MONK-1, generated without noise from the concept (a1 = a2) or (a5 = 1): NeuroRule trains a
   17-4-2 network, prunes it to a few links, clusters the hidden activations and returns rules
   that state the concept exactly.
2. Iris, wine and breast cancer (scikit-learn): the rules' accuracy and fidelity to the
   network, against a decision tree of the same size.
3. Breast cancer: an MLP's sensitivity as rules ("if worst_area rises by one sd, P(benign)
   falls by at least ...").

Run: python examples/explain_rules.py [--datasets monk1 iris wine]
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import explain, nn, optim
from chainrule.train import Trainer

# NeuroRule's settings per set: noiseless MONK data may lose no training accuracy; on the real
# sets a small loss buys a network with far fewer links, hence fewer rules (docs/explain.md).
SETTINGS = {
    "monk1": {"max_accuracy_drop": 0.0},
    "monk3": {"max_accuracy_drop": 0.0},
    "iris": {},
    "wine": {"hidden": 3, "levels": 2, "max_accuracy_drop": 0.02},
    "breast_cancer": {"hidden": 1, "levels": 2, "max_accuracy_drop": 0.03},
}


def rules_for(name: str, seed: int) -> dict:
    data = explain.load_tabular(name, test_share=0.5 if name.startswith("monk") else 0.3,
                                rng=seed)
    result = explain.neurorule(data, seed=seed, **SETTINGS[name])
    tree = explain.compare_decision_tree(data, result, seed=seed)
    m = result.metrics
    print(f"\n{name}: {m['links']} of {m['links_initial']} links kept, attributes "
          f"{', '.join(m['attributes_used'])}")
    print(result.rules)
    print(f"rules: {m['n_rules']} rules, {m['n_conditions']} conditions, test accuracy "
          f"{m['rules_test_accuracy']:.4f}, fidelity {m['fidelity_test']:.4f}; network "
          f"{m['network_test_accuracy']:.4f}; decision tree ({tree['leaves']} leaves) "
          f"{tree['test_accuracy']:.4f}")
    return {"metrics": m, "tree": tree, "rules": result.rules, "data": data}


def sensitivity(seed: int, epochs: int) -> list:
    data = explain.load_tabular("breast_cancer", rng=seed)
    mean, std = data.x_train.mean(axis=0), data.x_train.std(axis=0)
    x = ((data.x_train - mean) / std).astype(np.float32)
    rng = np.random.default_rng(seed)
    net = nn.Sequential(nn.Linear(x.shape[1], 16, rng=rng), nn.Tanh(), nn.Linear(16, 2, rng=rng))
    Trainer(net, cr.F.cross_entropy, optim.Adam(net.parameters(), lr=0.01)).fit(
        (x, data.y_train), epochs=epochs, batch_size=None, verbose=0)
    # The network is confident on most samples, where no input moves its probabilities much:
    # the rules are stated for the samples it is less sure of (top probability below 0.95).
    rules = explain.sensitivity_rules(net, x, feature_names=data.feature_names,
                                      class_names=data.class_names, delta=1.0, threshold=0.1,
                                      coverage=0.75, max_confidence=0.95)
    print("\nbreast cancer, an MLP on standardized inputs: sensitivity as rules "
          "(x rises by 1 standard deviation; samples with top probability < 0.95)")
    for r in rules[:8]:
        print("  " + str(r).replace("rises by 1,", "rises by 1 sd,"))
    return rules


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+",
                        default=["monk1", "iris", "wine", "breast_cancer"],
                        choices=list(explain.TABULAR_DATASETS))
    parser.add_argument("--sensitivity-epochs", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = {name: rules_for(name, args.seed) for name in args.datasets}
    results["sensitivity"] = sensitivity(args.seed, args.sensitivity_epochs)
    return results


if __name__ == "__main__":
    main()
