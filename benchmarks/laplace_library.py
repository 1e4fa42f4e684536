"""Last-layer Laplace: chainrule's ``bayes.LastLayerLaplace`` against the ``laplace`` library.

The library is Daxberger et al.'s (2021) ``laplace-torch``, the reference implementation of
"Laplace Redux". It needs PyTorch, so this script runs in an environment that has both (chainrule
is read from this checkout's ``src``)::

    python -m venv /tmp/lapvenv
    /tmp/lapvenv/bin/pip install torch laplace-torch threadpoolctl scikit-learn
    /tmp/lapvenv/bin/python benchmarks/laplace_library.py                  # digits, 64-64-10
    /tmp/lapvenv/bin/python benchmarks/laplace_library.py --dataset mnist --data-dir ../shared/data

One MLP is trained with chainrule (Adam, seeded); the same weights go into a PyTorch
``nn.Sequential``. Both fit a last-layer Laplace with the full generalized Gauss-Newton Hessian
(the library: ``Laplace(model, "classification", subset_of_weights="last_layer",
hessian_structure="full")``) at the same prior precision, then predict with the probit link.
Before any timing the script checks that they agree, both run in float64 (chainrule's Laplace
computes in float64 whatever the model's dtype): the posterior precision matrices (ordered
alike: the library flattens the weight matrix and then the bias), the predictive probabilities
and the log marginal likelihood, to 1e-6 (the probabilities to 1e-4: the library's Hessian
rounds at about 1e-8, which the inverse amplifies; and to 1e-9 when chainrule's predictive runs
from the library's own Hessian); it reports the differences. The timings give chainrule's
float32 model, and the library in float32 (its usual use) and float64. Each time is the median
of ``--rounds`` runs, interleaved.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import chainrule as cr  # noqa: E402
from chainrule import bayes, nn, optim  # noqa: E402
from chainrule.train import Trainer  # noqa: E402


def _data(args):
    if args.dataset == "digits":
        from chainrule.data.datasets import digits

        (x_train, y_train), (x_test, y_test) = digits()
    else:
        from chainrule.data.datasets import mnist

        (x_train, y_train), (x_test, y_test) = mnist(args.data_dir, download=False)
        x_train, y_train = x_train[:args.n_train], y_train[:args.n_train]
        x_test, y_test = x_test[:args.n_test], y_test[:args.n_test]
    def flat(a):
        return a.reshape(len(a), -1).astype(np.float32)

    return flat(x_train), np.asarray(y_train), flat(x_test), np.asarray(y_test)


def _train(x, y, hidden, epochs, seed):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], hidden, rng=rng), nn.ReLU(),
                          nn.Linear(hidden, 10, rng=rng))
    Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=1e-3)).fit(
        (x, y), epochs=epochs, batch_size=64, rng=seed, verbose=0)
    return model.eval()


def _torch_twin(torch, model, dtype):
    first, last = model[0], model[2]
    twin = torch.nn.Sequential(torch.nn.Linear(first.in_features, first.out_features),
                               torch.nn.ReLU(),
                               torch.nn.Linear(last.in_features, last.out_features))
    with torch.no_grad():
        for mine, theirs in ((first, twin[0]), (last, twin[2])):
            theirs.weight.copy_(torch.from_numpy(mine.weight.numpy().astype(np.float64)))
            theirs.bias.copy_(torch.from_numpy(mine.bias.numpy().astype(np.float64)))
    return twin.to(dtype).eval()


def _library_fit(torch, Laplace, twin, x, y, prior, dtype):
    data = torch.utils.data.TensorDataset(torch.from_numpy(x).to(dtype), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=256)
    la = Laplace(twin, "classification", subset_of_weights="last_layer",
                 hessian_structure="full", prior_precision=prior)
    la.fit(loader)
    return la


def _library_order(c, d):
    """Index into the library's parameter vector (W flattened, then b) of each of chainrule's
    entries ([W_c | b_c] row by row)."""
    order = []
    for i in range(c):
        order += [i * (d - 1) + j for j in range(d - 1)] + [c * (d - 1) + i]
    return np.array(order)


def _median_time(fn, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    p.add_argument("--data-dir", default=None, help="folder holding mnist/ (for --dataset mnist)")
    p.add_argument("--n-train", type=int, default=10000, help="MNIST training images used")
    p.add_argument("--n-test", type=int, default=2000, help="MNIST test images predicted")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--prior", type=float, default=1.0, help="prior precision of both")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import importlib.metadata

    import torch
    from laplace import Laplace

    x, y, xt, yt = _data(args)
    model = _train(x, y, args.hidden, args.epochs, args.seed)
    # The agreement check runs both in float64 (features included), so that only the order of
    # summation can differ; the timings use the float32 model as trained.
    model64 = copy.deepcopy(model).to(dtype="float64")
    x64, xt64 = x.astype(np.float64), xt.astype(np.float64)
    mine = bayes.LastLayerLaplace(model64, prior_precision=args.prior).fit(x64, y)
    twin64 = _torch_twin(torch, model, torch.float64)
    theirs = _library_fit(torch, Laplace, twin64, x64, y, args.prior, torch.float64)

    c, d = 10, args.hidden + 1
    order = _library_order(c, d)
    their_precision = theirs.posterior_precision.detach().numpy()[np.ix_(order, order)]
    precision_error = (np.abs(their_precision - mine.precision).max()
                       / np.abs(mine.precision).max())
    p_mine = mine.predict(xt64, link="probit")
    with torch.no_grad():
        p_theirs = theirs(torch.from_numpy(xt64), pred_type="glm",
                          link_approx="probit").numpy()
    probability_error = float(np.abs(p_mine - p_theirs).max())
    # Where the probabilities differ, is it the Hessians' rounding? chainrule's predictive run
    # from the library's Hessian instead of its own:
    borrowed = copy.copy(mine)
    borrowed.ggn = theirs.H.detach().numpy()[np.ix_(order, order)]
    borrowed._eigenvalues, borrowed._eigenvectors = np.linalg.eigh(borrowed.ggn)
    borrowed.set_prior_precision(args.prior)
    borrowed_error = float(np.abs(borrowed.predict(xt64, link="probit") - p_theirs).max())
    lml_mine = mine.log_marginal_likelihood(x64, y)
    lml_theirs = float(theirs.log_marginal_likelihood())
    library = importlib.metadata.version("laplace-torch")
    print(f"chainrule {cr.__version__}, laplace-torch {library}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); {args.dataset}: "
          f"{len(x)} training, {len(xt)} test inputs; MLP {x.shape[1]}-{args.hidden}-10, "
          f"last layer P = {c * d} weights; prior precision {args.prior}")
    print(f"agreement (both in float64): precision matrix max |diff| / max |entry| = "
          f"{precision_error:.2e}; probit probabilities max |diff| = {probability_error:.2e}; "
          f"log marginal likelihood {lml_mine:.6f} (chainrule) vs {lml_theirs:.6f} (library); "
          f"chainrule's predictive from the library's Hessian: max |diff| = "
          f"{borrowed_error:.2e}")
    # The library's float64 GGN differs from chainrule's (a float64 formula, phi^T Lambda phi)
    # by 1e-8 to 2e-8 of its largest entry; inverting (GGN + prior) amplifies that in the
    # directions the prior dominates, so the probabilities differ by up to about 1e-5 on MNIST.
    # The borrowed-Hessian check (1e-9) holds that this is all of it: from the same Hessian the
    # two predictives must agree to rounding. A different formula would differ by far more.
    if precision_error > 1e-6 or probability_error > 1e-4 or borrowed_error > 1e-9 or \
            abs(lml_mine - lml_theirs) > 1e-6 * max(1.0, abs(lml_theirs)):
        print("the two disagree: no timings reported")
        return 1

    mine = bayes.LastLayerLaplace(model, prior_precision=args.prior).fit(x, y)
    twin32 = _torch_twin(torch, model, torch.float32)
    fits = {"chainrule": [], "laplace (float32)": [], "laplace (float64)": []}
    predicts = {k: [] for k in fits}
    xt32, xt64 = torch.from_numpy(xt), torch.from_numpy(xt64)
    for _ in range(args.rounds):
        fits["chainrule"].append(_median_time(
            lambda: bayes.LastLayerLaplace(model, prior_precision=args.prior).fit(x, y), 1))
        predicts["chainrule"].append(_median_time(lambda: mine.predict(xt, link="probit"), 1))
        for name, twin, dtype, xtest in (("laplace (float32)", twin32, torch.float32, xt32),
                                         ("laplace (float64)", twin64, torch.float64, xt64)):
            box = {}

            def fit(twin=twin, dtype=dtype, box=box):
                xs = x if dtype is torch.float32 else x64
                box["la"] = _library_fit(torch, Laplace, twin, xs, y, args.prior, dtype)

            fits[name].append(_median_time(fit, 1))

            def predict(box=box, xtest=xtest):
                with torch.no_grad():
                    box["la"](xtest, pred_type="glm", link_approx="probit")

            predicts[name].append(_median_time(predict, 1))
    print()
    print("| implementation | fit (s) | predict, probit (s) |")
    print("|---|--:|--:|")
    for name in fits:
        print(f"| {name} | {statistics.median(fits[name]):.4f} | "
              f"{statistics.median(predicts[name]):.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
