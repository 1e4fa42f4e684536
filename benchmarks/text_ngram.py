"""TF-IDF n-gram logistic regression: chainrule against scikit-learn, and a learning curve.

    python benchmarks/text_ngram.py                  # both corpora; writes TEXT_NGRAM.md/.json
    python benchmarks/text_ngram.py --quick --out -  # sms_spam only, a few points (a smoke run)
    python benchmarks/text_ngram.py --clock wall --threads 2   # wall clock, on an idle machine

Both sides read the same features: ``data.ngrams.TfidfFeatures`` (word 1- and 2-grams, smooth idf,
l2 norm) fitted on the training part of the fixed split (``data.text.SPLIT``: 70/10/20
train/val/test, stratified, seed 0). Both minimize the same objective, the mean cross-entropy plus
``||W||^2 / (2 C n)`` (scikit-learn's ``LogisticRegression(C)``, bias not penalized):

- chainrule: ``models.NGramLogistic`` (``nn.EmbeddingBag`` sum with the TF-IDF weights), Adam,
  minibatches of 64, learning rate 0.05 annealed to 0 (cosine) over the epochs; the clock is read
  after every epoch.
- scikit-learn: ``LogisticRegression(C, solver="lbfgs")`` on the same features as a CSR matrix,
  fitted anew for each ``max_iter`` of a ladder; each fit's time is its own. With two classes it
  fits the binomial loss with one weight vector, the same problem at ``2 C`` (see ``_race``).

Both sides get one untimed warm-up call first (numba's compilation, first-call imports).

"Time to accuracy" is the clock time until the test accuracy first reaches scikit-learn's
converged test accuracy minus ``--slack`` (0.5 percentage points). The featurization (shared) is
timed apart. The default clock is ``time.process_time`` with one BLAS/OpenMP thread (a shared
machine's fair measure); ``--clock wall`` uses ``time.perf_counter``.

The learning curve trains the same model on stratified, nested subsets of the training part
(``data.text.training_subset``, seed 0; features refitted on each subset) and reports the test
accuracy on the fixed test part.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="sms_spam,ag_news")
    p.add_argument("--C", type=float, default=10.0, help="inverse L2 strength, sklearn's C")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--slack", type=float, default=0.005)
    p.add_argument("--fractions", default="0.05,0.1,0.25,0.5,1.0")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--quick", action="store_true",
                   help="sms_spam, 3 epochs, 2 curve points, 15 timed steps")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "TEXT_NGRAM.md"),
                   help="Markdown report ('-': print only); the JSON goes beside it")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _args(argv)
    for var in THREAD_VARS:  # before NumPy loads its BLAS
        os.environ[var] = str(args.threads)
    if args.quick:
        args.datasets, args.epochs, args.fractions = "sms_spam", 3, "0.25,1.0"
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    timer = "time.process_time" if args.clock == "cpu" else "time.perf_counter"
    report = {"clock": f"{args.clock} ({timer}), {args.threads} thread(s)", "C": args.C,
              "epochs": args.epochs, "split": "70/10/20 train/val/test, stratified, seed 0",
              "datasets": {}}
    for name in args.datasets.split(","):
        report["datasets"][name] = _dataset(name, args, clock)
    text = _markdown(report)
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
        Path(args.out).with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _dataset(name, args, clock) -> dict:
    from chainrule.data.text import load_text_splits, training_subset

    parts, classes = load_text_splits(name, args.data_dir)
    (xtr, ytr), (xte, yte) = parts["train"], parts["test"]
    out = {"n_train": len(ytr), "n_test": len(yte), "classes": len(classes)}
    out.update(_race(xtr, ytr, xte, yte, len(classes), args, clock))
    out["step_ms"] = _steps(xtr, ytr, len(classes), args, clock, 15 if args.quick else 60)
    curve = []
    for frac in (float(f) for f in args.fractions.split(",")):
        keep = training_subset(ytr, frac, seed=0)
        acc, seconds = _train_ours([xtr[i] for i in keep], ytr[keep], xte, yte, len(classes),
                                   args, clock)
        curve.append({"fraction": frac, "n_train": len(keep), "test_accuracy": acc,
                      "seconds": seconds})
        print(f"{name}: learning curve, {len(keep)} training texts: test accuracy {acc:.4f}",
              file=sys.stderr)
    out["learning_curve"] = curve
    return out


def _features(xtr, xte, clock):
    from chainrule.data.ngrams import TfidfFeatures

    start = clock()
    feats = TfidfFeatures(2).fit(xtr)
    tr, te = feats.transform(xtr), feats.transform(xte)
    return feats, tr, te, clock() - start


def _race(xtr, ytr, xte, yte, k, args, clock) -> dict:
    import numpy as np
    from scipy import sparse
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    feats, tr, te, featurize = _features(xtr, xte, clock)
    ours = _ours_per_epoch(feats, tr, ytr, te, yte, k, args, clock)

    def csr(bags):
        return sparse.csr_matrix((bags.weights.astype(np.float64), bags.indices,
                                  np.append(bags.offsets, len(bags.indices))),
                                 shape=(len(bags), feats.n_features))

    a, b = csr(tr), csr(te)
    # With two classes scikit-learn fits one weight vector w (the binomial loss); our two-row W
    # at the optimum is [-w/2, w/2], whose squared norm is half w's, so 2 C is the same problem.
    sk_c = 2 * args.C if k == 2 else args.C
    theirs = []
    ladder = (2, 5, 10, 20, 50, 100, 300) if not args.quick else (5, 20, 100)
    with warnings.catch_warnings():  # warm-up: first-call costs are not the solver's
        warnings.simplefilter("ignore", ConvergenceWarning)
        LogisticRegression(C=sk_c, max_iter=2).fit(a, ytr)
    for it in ladder:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = clock()
            m = LogisticRegression(C=sk_c, max_iter=it, tol=1e-6).fit(a, ytr)
            seconds = clock() - start
        p = m.predict_proba(a)
        obj = (-np.log(p[np.arange(len(ytr)), ytr]).mean()
               + (m.coef_ ** 2).sum() / (2 * sk_c * len(ytr)))
        theirs.append({"max_iter": it, "iterations": int(m.n_iter_.max()), "seconds": seconds,
                       "test_accuracy": float((m.predict(b) == yte).mean()),
                       "objective": float(obj)})
    target = theirs[-1]["test_accuracy"] - args.slack

    def first(rows):
        hit = [r["seconds"] for r in rows if r["test_accuracy"] >= target]
        return min(hit) if hit else None

    return {"n_features": feats.n_features, "featurize_seconds": featurize,
            "target_accuracy": target, "chainrule": ours, "sklearn": theirs,
            "chainrule_time_to_target": first(ours), "sklearn_time_to_target": first(theirs)}


def _ours_per_epoch(feats, tr, ytr, te, yte, k, args, clock) -> list:
    import chainrule as cr
    from chainrule.experiments.text import predict_logits
    from chainrule.models import NGramLogistic

    net = NGramLogistic(feats.n_features, k)
    opt = cr.optim.Adam(net.parameters(), lr=0.05)
    sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    lam = 1.0 / (args.C * len(ytr))
    rng = cr.data.as_generator(0)
    rows, elapsed = [], 0.0
    import numpy as np

    # Warm-up on a copy: the first call of a compiled kernel (numba) pays its compilation once.
    warm = NGramLogistic(feats.n_features, k)
    cr.ops.cross_entropy(warm(tr.take(np.arange(2))), ytr[:2]).backward()

    for epoch in range(1, args.epochs + 1):
        start = clock()
        net.train()
        for batch in np.array_split(rng.permutation(len(ytr)), -(-len(ytr) // 64)):
            loss = (cr.ops.cross_entropy(net(tr.take(batch)), ytr[batch])
                    + 0.5 * lam * (net.bag.weight ** 2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        elapsed += clock() - start
        logits = predict_logits(net, te).data
        full = predict_logits(net, tr)
        obj = float((cr.ops.cross_entropy(full, ytr)).data
                    + 0.5 * lam * float((net.bag.weight.data.astype(np.float64) ** 2).sum()))
        rows.append({"epoch": epoch, "seconds": elapsed,
                     "test_accuracy": float((logits.argmax(1) == yte).mean()), "objective": obj})
    return rows


def _steps(xtr, ytr, k, args, clock, steps: int = 60) -> dict:
    """Median ms of one training step (batch 64: EmbeddingBag sum + bias, cross-entropy, Adam)
    in chainrule and, when it is installed, PyTorch, on the same batches and features."""
    import numpy as np

    import chainrule as cr
    from chainrule.models import NGramLogistic

    feats, tr, _, _ = _features(xtr, xtr[:1], clock)
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(ytr), 64, replace=False) for _ in range(steps)]
    net = NGramLogistic(feats.n_features, k)
    opt = cr.optim.Adam(net.parameters(), lr=0.05)

    def ours(b):
        loss = cr.ops.cross_entropy(net(tr.take(b)), ytr[b])
        opt.zero_grad()
        loss.backward()
        opt.step()

    out = {"chainrule": _median_ms(ours, batches, clock)}
    try:
        import torch
    except ImportError:
        return out
    torch.set_num_threads(args.threads)
    bag = torch.nn.EmbeddingBag(feats.n_features, k, mode="sum")
    torch.nn.init.zeros_(bag.weight)
    bias = torch.nn.Parameter(torch.zeros(k))
    topt = torch.optim.Adam([bag.weight, bias], lr=0.05)

    def theirs(b):
        sub = tr.take(b)
        logits = bag(torch.from_numpy(sub.indices), torch.from_numpy(sub.offsets),
                     per_sample_weights=torch.from_numpy(sub.weights)) + bias
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(ytr[b]))
        topt.zero_grad()
        loss.backward()
        topt.step()

    out["torch"] = _median_ms(theirs, batches, clock)
    return out


def _median_ms(step, batches, clock) -> float:
    import statistics

    for b in batches[:5]:  # warm-up: first calls compile and allocate
        step(b)
    times = []
    for b in batches:
        start = clock()
        step(b)
        times.append((clock() - start) * 1e3)
    return statistics.median(times)


def _train_ours(xtr, ytr, xte, yte, k, args, clock):
    feats, tr, te, featurize = _features(xtr, xte, clock)
    rows = _ours_per_epoch(feats, tr, ytr, te, yte, k, args, clock)
    return rows[-1]["test_accuracy"], featurize + rows[-1]["seconds"]


def _markdown(report) -> str:
    lines = ["# TF-IDF n-grams: chainrule vs scikit-learn (written by benchmarks/text_ngram.py)",
             "", f"Clock: {report['clock']}. Split: {report['split']}. L2: C = {report['C']} "
             f"(objective: mean cross-entropy + ||W||^2 / (2 C n)). chainrule: Adam, batch 64, "
             f"lr 0.05 cosine-annealed to 0 over {report['epochs']} epochs.", ""]
    for name, d in report["datasets"].items():
        lines += [f"## {name} ({d['n_train']} training texts, {d['n_test']} test texts, "
                  f"{d['n_features']} features; featurization {d['featurize_seconds']:.2f} s)", "",
                  f"Target: test accuracy >= {d['target_accuracy']:.4f} (scikit-learn converged "
                  "minus the slack). Time to target: chainrule "
                  f"{_s(d['chainrule_time_to_target'])}, scikit-learn "
                  f"{_s(d['sklearn_time_to_target'])}.", "",
                  "| solver | step | seconds | test accuracy | objective |",
                  "|---|---|---:|---:|---:|"]
        for r in d["chainrule"]:
            lines.append(f"| chainrule Adam | epoch {r['epoch']} | {r['seconds']:.3f} | "
                         f"{r['test_accuracy']:.4f} | {r['objective']:.5f} |")
        for r in d["sklearn"]:
            lines.append(f"| sklearn lbfgs | max_iter {r['max_iter']} ({r['iterations']} run) | "
                         f"{r['seconds']:.3f} | {r['test_accuracy']:.4f} | {r['objective']:.5f} |")
        steps = d["step_ms"]
        lines += ["", "One training step, batch 64 (EmbeddingBag sum + bias, cross-entropy, Adam; "
                  f"median ms): chainrule {steps['chainrule']:.2f}"
                  + (f", PyTorch {steps['torch']:.2f}" if "torch" in steps else "")
                  + ". Both include selecting the batch's bags (Bags.take)."]
        lines += ["", "Learning curve (chainrule ngram, same settings; seconds include the "
                  "featurization):", "", "| training texts | fraction | test accuracy | seconds |",
                  "|---:|---:|---:|---:|"]
        for r in d["learning_curve"]:
            lines.append(f"| {r['n_train']} | {r['fraction']:g} | {r['test_accuracy']:.4f} | "
                         f"{r['seconds']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def _s(x):
    return "not reached" if x is None else f"{x:.3f} s"


if __name__ == "__main__":
    sys.exit(main())
