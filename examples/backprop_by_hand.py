"""Error backpropagation by hand, then by autograd: the same network, the same numbers.

The lecture's 3-layer network (inputs -> sigmoid hidden layer -> softmax output, cross-entropy loss)
is trained on scikit-learn's 8x8 digits twice, in lockstep, from the same initial weights:

* by hand, in plain NumPy, with the delta rules
      delta_k = y_k - t_k                          (softmax + cross-entropy output)
      delta_j = g'(a_j) sum_k w_jk delta_k         (hidden unit j, g = sigmoid, g' = z (1 - z))
      dR/dw_ij = delta_j z_i                        (weight from unit i to unit j)
* by chainrule, which records matmul, sigmoid and cross_entropy and runs the chain rule backwards.

At every step the two gradients are compared (in float64 they agree to rounding, about 1e-16; the
check fails above 1e-10), both take the same SGD step w <- w - eta dR/dw, and at the end both
classify the test set identically.

    python examples/backprop_by_hand.py --epochs 30 --hidden 32 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule import F

GRAD_TOLERANCE = 1e-10


def load_digits_split(rng: np.random.Generator, test_fraction: float = 0.2):
    """scikit-learn's digits (1797 images of 8x8 pixels) scaled to [0, 1], split at random."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0
    t = digits.target.astype(np.int64)
    order = rng.permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    return (x[train], t[train]), (x[test], t[test])


def init_weights(n_in: int, n_hidden: int, n_out: int, rng: np.random.Generator) -> dict:
    """Weights w_ij from unit i to unit j (shape (fan_in, fan_out)) and biases, float64."""
    return {
        "w1": rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "w2": rng.normal(0.0, 1.0 / np.sqrt(n_hidden), (n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def hand_loss_and_grads(p: dict, x, t):
    """Forward and backward pass written out with the lecture's delta rules (batch of N rows)."""
    n = len(x)
    a1 = x @ p["w1"] + p["b1"]  # a_j = sum_i w_ij z_i   (z_i = x_i for the input layer)
    z1 = sigmoid(a1)  # z_j = g(a_j)
    a2 = z1 @ p["w2"] + p["b2"]  # a_k = sum_j w_jk z_j
    y = softmax(a2)
    onehot = np.eye(a2.shape[1])[t]
    loss = -np.log(y[np.arange(n), t]).mean()

    delta2 = (y - onehot) / n  # delta_k = y_k - t_k, averaged over the batch
    delta1 = z1 * (1.0 - z1) * (delta2 @ p["w2"].T)  # delta_j = g'(a_j) sum_k w_jk delta_k
    grads = {
        "w2": z1.T @ delta2,  # dR/dw_jk = delta_k z_j, summed over the batch
        "b2": delta2.sum(axis=0),
        "w1": x.T @ delta1,  # dR/dw_ij = delta_j z_i
        "b1": delta1.sum(axis=0),
    }
    return loss, grads


def autograd_loss_and_grads(params: dict, x, t):
    """The same network written with chainrule ops; backward() applies the chain rule for us."""
    for p in params.values():
        p.grad = None
    z1 = F.sigmoid(F.matmul(x, params["w1"]) + params["b1"])
    logits = F.matmul(z1, params["w2"]) + params["b2"]
    loss = F.cross_entropy(logits, t)
    loss.backward()
    return loss.item(), {name: p.grad.numpy() for name, p in params.items()}


def predict_hand(p: dict, x):
    return (sigmoid(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]).argmax(axis=1)


def predict_autograd(params: dict, x):
    with cr.no_grad():
        z1 = F.sigmoid(F.matmul(x, params["w1"]) + params["b1"])
        return (F.matmul(z1, params["w2"]) + params["b2"]).numpy().argmax(axis=1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="passes over the training set")
    parser.add_argument("--hidden", type=int, default=32, help="number of sigmoid hidden units")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data split and weights")
    parser.add_argument("--lr", type=float, default=0.5, help="SGD learning rate eta")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per SGD step")
    args = parser.parse_args(argv)
    for name in ("epochs", "hidden", "batch_size"):
        value = getattr(args, name)
        if value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return args


def main(argv=None) -> dict:
    """Train both ways in lockstep; return the largest gradient gap and both test accuracies."""
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    (x_train, t_train), (x_test, t_test) = load_digits_split(rng)
    hand = init_weights(x_train.shape[1], args.hidden, 10, rng)
    auto = {name: cr.tensor(w.copy(), requires_grad=True) for name, w in hand.items()}

    start = time.perf_counter()
    worst_gap, steps = 0.0, 0
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        losses = []
        for first in range(0, len(order), args.batch_size):
            batch = order[first:first + args.batch_size]
            x, t = x_train[batch], t_train[batch]
            loss_hand, g_hand = hand_loss_and_grads(hand, x, t)
            loss_auto, g_auto = autograd_loss_and_grads(auto, cr.tensor(x), cr.tensor(t))
            gap = max(np.abs(g_hand[k] - g_auto[k]).max() for k in hand)
            if gap > GRAD_TOLERANCE or abs(loss_hand - loss_auto) > GRAD_TOLERANCE:
                raise AssertionError(
                    f"step {steps}: hand and autograd disagree (gradient gap {gap:.3g}, "
                    f"losses {loss_hand:.12g} vs {loss_auto:.12g})"
                )
            worst_gap = max(worst_gap, gap)
            with cr.no_grad():  # an update is an in-place change, not part of the graph
                for k in hand:  # w <- w - eta dR/dw, once per copy
                    hand[k] -= args.lr * g_hand[k]
                    auto[k].sub_(args.lr * g_auto[k])
            losses.append(loss_hand)
            steps += 1
        acc = (predict_hand(hand, x_test) == t_test).mean()
        print(f"epoch {epoch:3d}  loss {np.mean(losses):.4f}  test accuracy {acc:.4f}  "
              f"largest gradient gap so far {worst_gap:.2e}")

    acc_hand = float((predict_hand(hand, x_test) == t_test).mean())
    acc_auto = float((predict_autograd(auto, cr.tensor(x_test)) == t_test).mean())
    weight_gap = max(float(np.abs(hand[k] - auto[k].numpy()).max()) for k in hand)
    print(f"\n{steps} SGD steps in {time.perf_counter() - start:.2f} s")
    print(f"largest |dR/dw (hand) - dR/dw (autograd)| over all steps: {worst_gap:.2e}")
    print(f"largest weight difference at the end: {weight_gap:.2e}")
    print(f"test accuracy: hand {acc_hand:.4f}, autograd {acc_auto:.4f}")
    if acc_hand != acc_auto:
        raise AssertionError(f"test accuracies differ: hand {acc_hand}, autograd {acc_auto}")
    return {
        "steps": steps,
        "max_grad_gap": worst_gap,
        "max_weight_gap": weight_gap,
        "test_accuracy_hand": acc_hand,
        "test_accuracy_autograd": acc_auto,
    }


if __name__ == "__main__":
    main()
