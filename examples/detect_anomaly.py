"""Finding the op behind a NaN gradient with ``chainrule.autograd.detect_anomaly``.

A small embedding is trained with a contrastive loss on pairwise Euclidean distances: points of
one class are pulled together, points of different classes pushed at least ``margin`` apart. The
first version computes the whole distance matrix, diagonal included. Its loss is finite, but
sqrt's derivative at a distance of 0 (a point and itself) is infinite, and 0 times inf is NaN: one
step later every weight is NaN, and nothing said why. Run under ``detect_anomaly``, the same step
stops at the node that made the NaN (``Function 'Sqrt' returned nan values in its 0th output.``)
and a warning shows the line of this file that made it. The fix takes each pair once (i < j):
training then runs, still under anomaly detection, without a NaN.

    python examples/detect_anomaly.py --steps 30 --seed 0
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import chainrule as cr
from chainrule import F, nn


def blobs(n: int, rng: np.random.Generator):
    """``n`` points in 4-D around two centres, and their classes (0 or 1)."""
    labels = np.arange(n) % 2
    centres = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0]])
    return centres[labels] + 0.5 * rng.standard_normal((n, 4)), labels


def contrastive_all_pairs(emb, labels, margin: float):
    """The buggy loss: every (i, j), so also each point with itself, at distance 0."""
    diff = emb.unsqueeze(1) - emb.unsqueeze(0)
    dist = cr.sqrt((diff * diff).sum(-1))  # sqrt(0) on the diagonal: an infinite derivative
    same = cr.tensor((labels[:, None] == labels[None, :]).astype(np.float64))
    return (same * dist**2 + (1 - same) * F.relu(margin - dist) ** 2).mean()


def contrastive_pairs(emb, labels, margin: float):
    """The fixed loss: each pair i < j once; no distance of a point to itself. (Two identical
    points would still be at distance 0: ``cr.sqrt(sq.clamp(min=1e-12))`` guards that too.)"""
    i, j = np.triu_indices(len(labels), 1)
    diff = emb[i] - emb[j]
    dist = cr.sqrt((diff * diff).sum(-1))
    same = cr.tensor((labels[i] == labels[j]).astype(np.float64))
    return (same * dist**2 + (1 - same) * F.relu(margin - dist) ** 2).mean()


def train(loss_fn, x, labels, steps: int, seed: int, margin: float = 2.0) -> dict:
    """``steps`` of SGD on the embedding; the losses and whether the weights stayed finite."""
    model = nn.Linear(4, 2, rng=np.random.default_rng(seed)).double()
    opt = cr.optim.SGD(model.parameters(), lr=0.05)
    inputs, losses = cr.tensor(x), []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(inputs), labels, margin)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    finite = all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())
    return {"losses": losses, "weights_finite": bool(finite)}


def find_the_nan(x, labels, seed: int) -> dict:
    """The buggy step again, under ``detect_anomaly``: the error and the forward line it shows."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            with cr.autograd.detect_anomaly():
                train(contrastive_all_pairs, x, labels, steps=1, seed=seed)
        except RuntimeError as err:
            error = str(err)
        else:
            error = None
    trace = next((str(w.message) for w in caught
                  if "Traceback of forward call" in str(w.message)), "")
    lines = trace.splitlines()
    ours = [k for k, line in enumerate(lines) if __file__ in line]  # this file's frames
    last = ours[-1] if ours else None  # the innermost: the statement that made the node
    return {"error": error, "trace": trace,
            "frame": None if last is None else lines[last].strip(),
            "line": None if last is None else lines[last + 1].strip()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30, help="SGD steps of each training run")
    p.add_argument("--points", type=int, default=16, help="number of points")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.steps < 2 or args.points < 4:
        p.error(f"--steps must be at least 2 and --points at least 4, got {args.steps} and "
                f"{args.points}")
    x, labels = blobs(args.points, np.random.default_rng(args.seed))

    with np.errstate(all="ignore"):  # the NaN goes in silently: no error, no warning of ours
        silent = train(contrastive_all_pairs, x, labels, steps=args.steps, seed=args.seed)
    print(f"all pairs: first loss {silent['losses'][0]:.4f}, last loss {silent['losses'][-1]}, "
          f"weights finite: {silent['weights_finite']}")

    found = find_the_nan(x, labels, args.seed)
    print(f"under detect_anomaly: {found['error']}")
    print(f"the warning's last frame: {found['frame']}\n    {found['line']}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # detect_anomaly's "it is slow" warning
        with cr.autograd.detect_anomaly():
            fixed = train(contrastive_pairs, x, labels, steps=args.steps, seed=args.seed)
    print(f"pairs i < j: first loss {fixed['losses'][0]:.4f}, last loss "
          f"{fixed['losses'][-1]:.4f}, weights finite: {fixed['weights_finite']}")
    return {"silent": silent, "found": found, "fixed": fixed}


if __name__ == "__main__":
    main()
