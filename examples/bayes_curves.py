"""Which curve is more plausible? Nets too small, right and too large on 15 noisy samples.

Fits ``sin(3x) + 0.3x`` plus noise (sd 0.25) with a 1-1-1, a 1-16-1 and a 1-128-128-1 tanh net, each
plain, with weight decay and with early stopping on a validation set of 20 samples, and reports
the training and test MSE (the noise alone gives 0.0625). Then draws the predictive bands of the
right-sized net by four Bayesian methods: a deep ensemble, last-layer Laplace, MC dropout and Bayes
by Backprop.

    python examples/bayes_curves.py --out docs/figures
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from chainrule import optim
from chainrule.bayes import (
    LastLayerLaplace,
    bayesian_mlp,
    choose_weight_decay,
    elbo_loss,
    figures,
    plausibility_study,
    train_ensemble,
)
from chainrule.bayes.calibration import _dropout_layers
from chainrule.models import MLP
from chainrule.ops import mse_loss
from chainrule.train import Trainer
from chainrule.viz import save_figure


def mc_outputs(model, grid, samples, *, bayesian=False):
    """Raw outputs of ``samples`` stochastic passes (dropout on, or weights sampled)."""
    model.eval()
    layers = ([m for m in model.modules() if hasattr(m, "sampling")] if bayesian
              else _dropout_layers(model))
    for m in layers:
        if bayesian:
            m.sampling = True
        else:
            m.train()
    out = np.stack([Trainer(model, mse_loss, None, fuse=False).predict(grid)[:, 0]
                    for _ in range(samples)])
    for m in layers:
        if bayesian:
            m.sampling = False
    return out


def bands(study, args) -> dict:
    """Predictive mean and sd on a grid for each method, all on the right-sized net."""
    train = study["data"]["train"]
    grid = np.linspace(-1.6, 1.6, 300, dtype=np.float32)[:, None]
    noise = args.noise
    fit = dict(epochs=args.epochs, batch_size=None, lr=0.01, loss=mse_loss, output="mean")
    ens = train_ensemble(lambda r: MLP((1, 16, 1), activation="tanh", rng=r), train,
                         members=5, rng=args.seed, **fit)
    members = np.stack([Trainer(m, mse_loss, None, fuse=False).predict(grid)[:, 0]
                        for m in ens.members])
    out = {"deep ensemble (5)": (members.mean(0), np.sqrt(members.var(0) + noise ** 2))}

    right = study["fits"][("right", "none")]["model"]
    la = LastLayerLaplace(right, likelihood="regression", prior_precision=1.0,
                          sigma_noise=noise).fit(*train)
    mean, var = la.predict(grid)
    out["last-layer Laplace"] = (mean[:, 0], np.sqrt(var[:, 0]))

    drop = MLP((1, 64, 1), activation="tanh", dropout=0.2, rng=np.random.default_rng(args.seed))
    Trainer(drop, mse_loss, optim.Adam(drop.parameters(), lr=0.01)).fit(
        train, epochs=args.epochs, batch_size=None, rng=args.seed, verbose=0)
    s = mc_outputs(drop, grid, 100)
    out["MC dropout (p=0.2)"] = (s.mean(0), np.sqrt(s.var(0) + noise ** 2))

    bbb = bayesian_mlp((1, 16, 1), prior_sigma=1.0, init_rho=-4.0, activation="tanh",
                       rng=np.random.default_rng(args.seed))
    n = len(train[0])
    Trainer(bbb, elbo_loss(bbb, n, loss=lambda o, t: mse_loss(o, t) / (2 * noise ** 2)),
            optim.Adam(bbb.parameters(), lr=0.01)).fit(train, epochs=args.epochs,
                                                        batch_size=None, rng=args.seed, verbose=0)
    s = mc_outputs(bbb, grid, 100, bayesian=True)
    out["Bayes by Backprop"] = (s.mean(0), np.sqrt(s.var(0) + noise ** 2))
    return grid, out


def evidence_curve(study, args, out) -> dict:
    """MacKay: the log evidence of the 1-16-1 net against the prior precision alpha, beside the
    test MSE of the same fits; beta is the true noise precision 1 / noise^2."""
    train, test = study["data"]["train"], study["data"]["test"]
    x, y = (a.astype(np.float64) for a in train)
    alphas = [float(a) for a in np.logspace(-3, 2, 11)]
    beta = 1.0 / args.noise ** 2
    chosen = choose_weight_decay(
        lambda: MLP((1, 16, 1), activation="tanh", rng=np.random.default_rng(args.seed + 1)).to(
            dtype="float64"), x, y, alphas, beta=beta, steps=args.epochs, lr=0.01)
    test_mse = [Trainer(m, mse_loss, None, fuse=False).evaluate(
        tuple(a.astype(np.float64) for a in test), batch_size=None)["loss"]
        for m in chosen["models"]]
    print(f"{'alpha':>8s} {'log evidence':>13s} {'gamma':>6s} {'test MSE':>9s}")
    for a, e, g, t in zip(alphas, chosen["log_evidence"], chosen["gamma"], test_mse):
        print(f"{a:8.3g} {e:13.2f} {g:6.2f} {t:9.4f}")
    print(f"evidence picks alpha {chosen['best_alpha']:.3g} (weight_decay "
          f"{chosen['weight_decay']:.3g} with mse_loss); lowest test MSE at alpha "
          f"{alphas[int(np.argmin(test_mse))]:.3g}")
    plt = figures._pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    ax.semilogx(alphas, chosen["log_evidence"], marker="o", color="tab:blue")
    ax.set_xlabel("prior precision alpha")
    ax.set_ylabel("log evidence", color="tab:blue")
    other = ax.twinx()
    other.semilogx(alphas, test_mse, marker="s", color="tab:red")
    other.set_ylabel("test MSE", color="tab:red")
    ax.set_title("MacKay's evidence, 1-16-1 tanh net, 15 samples")
    save_figure(fig, out / "bayes-evidence.png")
    return {"alphas": alphas, "log_evidence": chosen["log_evidence"], "test_mse": test_mse,
            "best_alpha": chosen["best_alpha"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000, help="full-batch Adam steps")
    parser.add_argument("--patience", type=int, default=200, help="early-stopping patience")
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument("--noise", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/bayes", help="folder for the figures")
    parser.add_argument("--no-bands", action="store_true", help="skip the uncertainty bands")
    parser.add_argument("--no-evidence", action="store_true", help="skip the evidence curve")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.patience < 1:
        parser.error("--epochs and --patience must be at least 1")
    start = time.process_time()
    study = plausibility_study(epochs=args.epochs, patience=args.patience, noise=args.noise,
                               weight_decay=args.weight_decay, seed=args.seed)
    print(f"{'net':6s} {'regularizer':15s} {'train MSE':>9s} {'test MSE':>9s} {'epochs':>7s}")
    table = {}
    for (size, reg), fit in study["fits"].items():
        table[(size, reg)] = {"train_mse": fit["final_train_mse"], "test_mse": fit["test_mse"],
                              "epochs": len(fit["train_loss"])}
        print(f"{size:6s} {reg:15s} {fit['final_train_mse']:9.4f} {fit['test_mse']:9.4f} "
              f"{len(fit['train_loss']):7d}")
    out = Path(args.out)
    figures.plot_fits(study, out / "bayes-curves.png")
    figures.plot_losses(study, out / "bayes-losses.png")
    if not args.no_bands:
        grid, b = bands(study, args)
        figures.plot_bands(grid, b, study["data"]["train"], out / "bayes-bands.png")
    if not args.no_evidence:
        table["evidence"] = evidence_curve(study, args, out)
    print(f"figures in {out}/ ({time.process_time() - start:.0f} s of CPU)")
    return table


if __name__ == "__main__":
    main()
