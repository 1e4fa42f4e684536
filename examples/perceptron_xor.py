"""Why hidden layers? A perceptron learns AND and OR but never XOR; an MLP learns all three.

Run: python examples/perceptron_xor.py [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule.models import MLP, Perceptron

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TARGETS = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}


def train_mlp(x, t, *, seed: int, steps: int = 500):
    """A 2-4-2 tanh network trained by backpropagation (Adam, full batch)."""
    rng = np.random.default_rng(seed)
    mlp = MLP((2, 4, 2), activation="tanh", rng=rng)
    opt = cr.optim.Adam(mlp.parameters(), lr=0.05)
    for _ in range(steps):
        loss = cr.F.cross_entropy(mlp(cr.tensor(x)), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with cr.no_grad():
        return mlp(cr.tensor(x)).numpy().argmax(axis=1)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = {}
    print(f"{'function':8s} {'perceptron':>22s} {'2-layer MLP':>12s}")
    for name, t in TARGETS.items():
        p = Perceptron(2, rng=np.random.default_rng(args.seed))
        mistakes = p.fit(X, t, epochs=100)
        p_acc = float((p.predict(X)[:, 0] == t).mean())
        m_acc = float((train_mlp(X, t, seed=args.seed) == t).mean())
        verdict = f"{p_acc:.0%} ({'converged' if mistakes[-1] == 0 else 'never converges'})"
        print(f"{name:8s} {verdict:>22s} {m_acc:>12.0%}")
        results[name] = {"perceptron": p_acc, "mlp": m_acc, "perceptron_epochs": len(mistakes)}
    return results


if __name__ == "__main__":
    main()
