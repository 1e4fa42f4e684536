"""Gradients through matrix decompositions: three small problems, each solved twice.

1. Orthogonal Procrustes: the rotation R minimizing ||R X - Y|| has a closed form through the SVD
   of Y X^T (R = U Vh). Gradient descent finds it too, with R = matrix_exp(W - W^T), which is a
   rotation for every W, so no projection step is needed.
2. Least squares: ``linalg.lstsq`` solves min ||A x - b|| directly; its solution is
   differentiable, so the sensitivity of the fit to each data point is one backward pass away
   (compared here with a finite difference).
3. Low-rank approximation: the best rank-r approximation (Eckart-Young) keeps the r largest
   singular values; its error, sqrt(sum of the others squared), is checked, and the gradient of
   the nuclear norm (the sum of singular values) is U Vh.

    python examples/linalg_gradients.py --dim 3 --steps 300 --seed 0
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr


def procrustes(dim: int, steps: int, rng: np.random.Generator) -> dict:
    """The closed-form rotation and the one gradient descent finds, and how far apart they are."""
    x = rng.standard_normal((dim, 20))
    true_w = rng.standard_normal((dim, dim))
    true_r = np.asarray(cr.linalg.matrix_exp(cr.tensor(true_w - true_w.T)))
    y = true_r @ x + 0.01 * rng.standard_normal(x.shape)
    u, _, vh = cr.linalg.svd(cr.tensor(y @ x.T))
    closed = (u @ vh).numpy()
    w = cr.zeros(dim, dim, dtype=cr.float64, requires_grad=True)
    opt = cr.optim.Adam([w], lr=0.05)
    xt, yt = cr.tensor(x), cr.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((cr.linalg.matrix_exp(w - w.mT) @ xt - yt) ** 2).mean()
        loss.backward()
        opt.step()
    learned = cr.linalg.matrix_exp(w - w.mT).detach().numpy()
    return {"closed_form_error": float(np.abs(closed - true_r).max()),
            "descent_vs_closed_form": float(np.abs(learned - closed).max()),
            "orthogonality_error": float(np.abs(learned.T @ learned - np.eye(dim)).max())}


def least_squares(rng: np.random.Generator) -> dict:
    """d x_0 / d b_i by backward, against a central finite difference."""
    a = cr.tensor(np.stack([np.ones(30), np.linspace(0, 1, 30)], 1))
    b0 = 2.0 + 3.0 * a.numpy()[:, 1] + 0.1 * rng.standard_normal(30)
    b = cr.tensor(b0, requires_grad=True)
    fit = cr.linalg.lstsq(a, b).solution
    fit[1].backward()
    eps, i = 1e-6, 7
    up, down = b0.copy(), b0.copy()
    up[i] += eps
    down[i] -= eps
    slope = [float(cr.linalg.lstsq(a, cr.tensor(v)).solution[1]) for v in (up, down)]
    return {"intercept": float(fit[0]), "slope": float(fit[1]),
            "gradient": float(b.grad[i]), "finite_difference": (slope[0] - slope[1]) / (2 * eps)}


def low_rank(rank: int, rng: np.random.Generator) -> dict:
    """The truncated SVD's error and the nuclear norm's gradient."""
    m = cr.tensor(rng.standard_normal((8, 6)), requires_grad=True)
    u, s, vh = cr.linalg.svd(m, full_matrices=False)
    approx = (u[:, :rank] * s[:rank]) @ vh[:rank]
    error = float(cr.linalg.matrix_norm(m - approx))
    cr.linalg.matrix_norm(m, "nuc").backward()
    return {"error": error, "predicted_error": float((s[rank:] ** 2).sum().sqrt()),
            "nuclear_gradient_vs_u_vh": float(np.abs(m.grad.numpy() - (u @ vh).numpy()).max())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=3, help="size of the rotation")
    parser.add_argument("--steps", type=int, default=300, help="gradient-descent steps")
    parser.add_argument("--rank", type=int, default=2, help="rank of the approximation")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.dim < 2 or args.steps < 1 or not 1 <= args.rank < 6:
        parser.error("--dim must be at least 2, --steps at least 1, --rank from 1 to 5")
    rng = np.random.default_rng(args.seed)
    result = {"procrustes": procrustes(args.dim, args.steps, rng),
              "least_squares": least_squares(rng), "low_rank": low_rank(args.rank, rng)}
    for name, numbers in result.items():
        print(name + ": " + ", ".join(f"{k} {v:.3g}" for k, v in numbers.items()))
    return result


if __name__ == "__main__":
    main()
