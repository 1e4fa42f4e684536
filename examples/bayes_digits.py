"""How sure is the network? Test error, NLL, ECE and Brier score of Bayesian and averaged nets.

A small labelled training set (``--train-size`` images, equally many per class) and a validation
split taken from the rest of the training set (used by temperature scaling, early stopping and
Laplace's prior choice); the test set is only used for the final table. Methods:

* none: one MLP trained by Adam (over-confident once it fits the training set);
* weight decay, early stopping (on the validation loss), dropout (deterministic at test time);
* temperature scaling of the plain net, T fitted on the validation split (Guo et al. 2017);
* deep ensemble of ``--members`` nets (Lakshminarayanan et al. 2017);
* MC dropout: the dropout net with dropout left on, ``--samples`` passes averaged;
* last-layer Laplace of the plain net (GGN, probit predictive), KFAC Laplace of all its Linear
  layers (Kronecker-factored GGN, linearized probit predictive) and diagonal Laplace of all its
  weights (GGN diagonal, sampled predictive), prior precisions chosen by the validation NLL;
* Bayes by Backprop: a ``bayesian_mlp`` of the same widths, ``--samples`` weight draws averaged.

    python examples/bayes_digits.py                       # sklearn digits, 300 labels
    python examples/bayes_digits.py --quick               # the same, a minute's check
    python examples/bayes_digits.py --dataset mnist --data-dir ../shared/data --train-size 1000 \
        --ood-dir /usr/share/datasets
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from chainrule import optim
from chainrule.bayes import (
    DiagonalLaplace,
    KFACLaplace,
    LastLayerLaplace,
    TemperatureScaling,
    bayesian_mlp,
    brier,
    elbo_loss,
    expected_calibration_error,
    figures,
    mc_dropout_predict,
    nll,
    predictive_entropy,
    reliability,
    sample_predict,
    softmax_probs,
    train_ensemble,
)
from chainrule.data.datasets import digits, fashion_mnist, mnist
from chainrule.models import MLP
from chainrule.robust import auroc
from chainrule.train import EarlyStopping, Trainer


def load(args):
    """``train, val, test`` as float32 flat arrays; train balanced per class, val from the rest."""
    if args.dataset == "digits":
        (x, y), (xt, yt) = digits(seed=0)
    else:
        (x, y), (xt, yt) = mnist(args.data_dir, download=False)
        x, xt = x / np.float32(255), xt / np.float32(255)
    x, xt = x.reshape(len(x), -1).astype(np.float32), xt.reshape(len(xt), -1).astype(np.float32)
    rng = np.random.default_rng(args.seed)
    per_class = [rng.permutation(np.flatnonzero(y == c)) for c in range(10)]
    k = args.train_size // 10
    train = np.concatenate([idx[:k] for idx in per_class])
    rest = rng.permutation(np.concatenate([idx[k:] for idx in per_class]))[:args.val_size]
    return (x[train], y[train]), (x[rest], y[rest]), (xt, yt)


def load_ood(args):
    """Fashion-MNIST's test images for an MNIST model (None for digits or when not installed)."""
    if args.dataset != "mnist" or args.ood_dir is None:
        return None
    try:
        _, (xo, _) = fashion_mnist(args.ood_dir, download=False)
    except (OSError, FileNotFoundError) as err:
        print(f"no Fashion-MNIST for the OOD columns: {err}")
        return None
    return (xo.reshape(len(xo), -1) / np.float32(255)).astype(np.float32)


def fit(model, train, val, args, *, weight_decay=0.0, early_stopping=False, rng=0):
    """Adam on ``train`` (early stopping watches the validation loss, restoring the best)."""
    opt = optim.Adam(model.parameters(), lr=args.lr, weight_decay=weight_decay)
    callbacks = [EarlyStopping("val_loss", patience=10, verbose=0)] if early_stopping else []
    Trainer(model, "cross_entropy", opt, callbacks=callbacks).fit(
        train, validation_data=val if early_stopping else None, epochs=args.epochs,
        batch_size=32, rng=rng, verbose=0)
    return model


def probs_of(model, x):
    return softmax_probs(Trainer(model, "cross_entropy", None).predict(x, batch_size=1000))


PRIORS = [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]


def by_validation(fit, val, grid, predict):
    """The prior precision of ``grid`` whose predictive has the lowest validation NLL."""
    losses = [nll(predict(fit.set_prior_precision(a), val[0]), val[1]) for a in grid]
    best = grid[int(np.argmin(losses))]
    fit.set_prior_precision(best)
    return best


def run_once(args, seed):
    """Train every method once with ``seed``: ``(predict, notes)``, method -> probabilities."""
    args.seed = seed
    train, val, _ = load(args)
    sizes = (train[0].shape[1], args.hidden, 10)

    def build(rng, dropout=0.0):
        return MLP(sizes, dropout=dropout, rng=rng)
    predict, notes = {}, {}  # method -> function from images to predicted probabilities
    plain = fit(build(np.random.default_rng(seed)), train, val, args, rng=seed)
    predict["none"] = lambda x: probs_of(plain, x)
    decayed = fit(build(np.random.default_rng(seed)), train, val, args, weight_decay=1e-2,
                  rng=seed)
    predict["weight decay 1e-2"] = lambda x: probs_of(decayed, x)
    stopped = fit(build(np.random.default_rng(seed)), train, val, args, early_stopping=True,
                  rng=seed)
    predict["early stopping"] = lambda x: probs_of(stopped, x)
    drop = fit(build(np.random.default_rng(seed), 0.5), train, val, args, rng=seed)
    predict["dropout 0.5"] = lambda x: probs_of(drop, x)
    ts = TemperatureScaling().fit(Trainer(plain, "cross_entropy", None).predict(val[0]), val[1])
    notes["temperature scaling"] = f"T = {ts.temperature:.2f}"
    predict["temperature scaling"] = lambda x: ts.probs(
        Trainer(plain, "cross_entropy", None).predict(x))
    ens = train_ensemble(build, train, members=args.members, epochs=args.epochs, lr=args.lr,
                         rng=seed)
    predict[f"deep ensemble ({args.members})"] = lambda x: np.exp(
        Trainer(ens, "cross_entropy", None).predict(x, batch_size=1000))
    predict[f"MC dropout ({args.samples})"] = lambda x: mc_dropout_predict(
        drop, x, samples=args.samples).mean(0)
    # Laplace's prior precision: by the validation NLL (the evidence of a net trained without
    # that prior tends to pick too weak a prior)
    for name, la in (("last-layer Laplace", LastLayerLaplace(plain).fit(*train)),
                     ("KFAC Laplace", KFACLaplace(plain).fit(train[0]))):
        best = by_validation(la, val, PRIORS, lambda f, x: f.predict(x))
        notes[name], predict[name] = f"prior {best:g}", la.predict
    diag = DiagonalLaplace(plain).fit(train[0])
    notes["diagonal Laplace"] = "prior " + format(by_validation(
        diag, val, PRIORS[2:], lambda f, x: f.predict(x, samples=args.samples, rng=0)), "g")
    predict["diagonal Laplace"] = lambda x: diag.predict(x, samples=args.samples, rng=seed)
    bbb = bayesian_mlp(sizes, prior_sigma=1.0, rng=np.random.default_rng(seed))
    Trainer(bbb, elbo_loss(bbb, len(train[1])), optim.Adam(bbb.parameters(), lr=args.bbb_lr)).fit(
        train, epochs=args.epochs, batch_size=32, rng=seed, verbose=0)
    predict[f"Bayes by Backprop ({args.samples})"] = lambda x: sample_predict(
        bbb, x, samples=args.samples).mean(0)
    return predict, notes


def scores(p, yt, q=None) -> dict:
    row = {"error": float((p.argmax(1) != yt).mean()), "nll": nll(p, yt),
           "ece": expected_calibration_error(p, yt), "brier": brier(p, yt)}
    if q is not None:
        row["auroc_msp"] = auroc(p.max(1), q.max(1))
        row["auroc_entropy"] = auroc(-predictive_entropy(p), -predictive_entropy(q))
    return row


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (for mnist)")
    parser.add_argument("--ood-dir", default=None,
                        help="folder holding fashion-mnist/ (mnist only): adds the AUROC of "
                             "telling MNIST from Fashion-MNIST by max probability and entropy")
    parser.add_argument("--train-size", type=int, default=300)
    parser.add_argument("--val-size", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--bbb-lr", type=float, default=1e-2, help="Bayes by Backprop's lr")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=1,
                        help="repeat everything with seeds seed, seed + 1, ...; the table gives "
                             "the mean (and the standard deviation over seeds)")
    parser.add_argument("--quick", action="store_true",
                        help="a minute's check: 20 epochs, hidden 32, 2 members, 5 samples "
                             "(options given explicitly still win)")
    parser.add_argument("--out", default="runs/bayes", help="folder for the reliability figure")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in {"epochs": 20, "hidden": 32, "members": 2, "samples": 5}.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    for name in ("train_size", "val_size", "hidden", "epochs", "members", "samples", "seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    start = time.process_time()
    first_seed = args.seed
    _, _, (xt, yt) = load(args)
    ood = load_ood(args)
    runs, last_probs = [], None
    for seed in range(first_seed, first_seed + args.seeds):
        predict, notes = run_once(args, seed)
        last_probs = {name: fn(xt) for name, fn in predict.items()}
        ood_probs = {name: fn(ood) for name, fn in predict.items()} if ood is not None else {}
        runs.append({name: scores(p, yt, ood_probs.get(name)) for name, p in last_probs.items()})
        print(f"seed {seed}: " + "; ".join(f"{k}: {v}" for k, v in notes.items()))

    print(f"{args.dataset}: {args.train_size} training, {args.val_size} validation, {len(yt)} "
          f"test images; MLP {args.hidden} hidden units, {args.epochs} epochs of Adam; "
          f"{args.seeds} seed(s), mean" + (" +- sd" if args.seeds > 1 else ""))
    ood_head = " AUROC MSP / entropy" if ood is not None else ""
    print(f"{'method':28s} {'error %':>13s} {'NLL':>15s} {'ECE %':>13s} {'Brier':>7s}{ood_head}")
    table = {}
    for name in runs[0]:
        keys = runs[0][name].keys()
        row = {k: float(np.mean([r[name][k] for r in runs])) for k in keys}
        if args.seeds > 1:
            row.update({f"{k}_sd": float(np.std([r[name][k] for r in runs], ddof=1))
                        for k in keys})
        table[name] = row

        def cell(k, scale=1.0, digits=2, row=row):
            sd = f" +- {scale * row[k + '_sd']:.{digits}f}" if args.seeds > 1 else ""
            return f"{scale * row[k]:.{digits}f}{sd}"
        extra = (f" {row['auroc_msp']:.4f} / {row['auroc_entropy']:.4f}"
                 if "auroc_msp" in row else "")
        print(f"{name:28s} {cell('error', 100):>13s} {cell('nll', 1, 4):>15s} "
              f"{cell('ece', 100):>13s} {row['brier']:7.4f}{extra}")
    shown = [n for n in last_probs if n.startswith(("none", "temperature", "deep", "KFAC"))]
    curves = {n.split(" (")[0]: {**reliability(last_probs[n], yt),
                                 "ece": expected_calibration_error(last_probs[n], yt)}
              for n in shown}
    path = figures.plot_reliability(curves, Path(args.out) / f"bayes-reliability-{args.dataset}"
                                    f"-{args.train_size}.png",
                                    title=f"{args.dataset}, {args.train_size} labels")
    print(f"reliability diagram (last seed): {path} ({time.process_time() - start:.0f} s of CPU)")
    return table


if __name__ == "__main__":
    main()
