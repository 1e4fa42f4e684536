"""A Bayes-by-Backprop MLP training step: chainrule against the same step in PyTorch, one process.

    python benchmarks/bayes.py                         # 784-400-400-10, batch 128, 7 rounds
    python benchmarks/bayes.py --quick                 # a small net and 3 rounds: the plumbing
    python benchmarks/bayes.py --cpu-time --threads 1  # CPU seconds, for a busy machine

The step (Blundell et al. 2015, Gaussian prior N(0, prior_sigma^2), no local
reparameterization): draw ``eps`` for every weight and bias, ``w = mu + softplus(rho) * eps``,
forward, ``cross_entropy + KL(q || prior) / n_train`` (the KL in closed form), backward, one Adam
update of the means and rhos. chainrule runs ``bayes.bayesian_mlp`` + ``bayes.elbo_loss`` +
``optim.Adam`` (the path ``chainrule train --bayes-by-backprop`` takes); PyTorch the same
mathematics written with ``torch.nn.functional``, its noise from ``torch.randn``.

Before timing, both start from the same means and rhos and draw the same noise (chainrule's, handed
to PyTorch) for three steps on the same batches; their losses must agree to 1e-4 relative, so a
faster wrong step is never reported. Then the rounds alternate: ``--steps`` chainrule steps, the
same number of PyTorch steps, each timed; the table gives the median seconds per step and the
median of the rounds' ratios (chainrule / PyTorch; below 1: chainrule is faster). The inputs are
seeded uniform noise of MNIST's shape (the cost of a step does not depend on the values).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import chainrule as cr  # noqa: E402
from chainrule import bayes, optim  # noqa: E402
from chainrule.backend import set_num_threads  # noqa: E402
from chainrule.nn import BayesianLinear  # noqa: E402
from chainrule.ops.bayes import standard_normal  # noqa: E402

N_TRAIN = 60000


def _data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 784), dtype=np.float32)
    return x, rng.integers(0, 10, batch)


class TorchBBB:
    """The same Bayes-by-Backprop MLP in PyTorch: means and rhos per layer, closed-form KL."""

    def __init__(self, params, prior_sigma, lr, noise=None):
        import torch

        self.torch = torch
        self.params = [torch.tensor(p, requires_grad=True) for p in params]
        self.prior_sigma, self.noise = prior_sigma, noise
        self.opt = torch.optim.Adam(self.params, lr=lr)

    def _eps(self, shape):
        if self.noise is not None:  # the check: chainrule's draws, in chainrule's order
            return self.torch.from_numpy(standard_normal(self.noise, tuple(shape), np.float32))
        return self.torch.randn(shape)

    def step(self, x, y):
        torch, F = self.torch, self.torch.nn.functional
        h, kl = x, 0.0
        n_layers = len(self.params) // 4
        for i in range(n_layers):
            w_mu, w_rho, b_mu, b_rho = self.params[4 * i:4 * i + 4]
            w_sigma, b_sigma = F.softplus(w_rho), F.softplus(b_rho)
            w = w_mu + w_sigma * self._eps(w_mu.shape)
            b = b_mu + b_sigma * self._eps(b_mu.shape)
            h = F.linear(h, w, b)
            if i < n_layers - 1:
                h = F.relu(h)
            for mu, sigma in ((w_mu, w_sigma), (b_mu, b_sigma)):
                s2 = self.prior_sigma ** 2
                kl = kl + (math.log(self.prior_sigma) - torch.log(sigma)
                           + (sigma * sigma + mu * mu) / (2 * s2) - 0.5).sum()
        loss = F.cross_entropy(h, y) + kl / N_TRAIN
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()


class ChainruleBBB:
    def __init__(self, sizes, prior_sigma, lr, seed):
        self.model = bayes.bayesian_mlp(sizes, prior_sigma=prior_sigma,
                                        rng=np.random.default_rng(seed))
        self.loss = bayes.elbo_loss(self.model, N_TRAIN)
        self.opt = optim.Adam(self.model.parameters(), lr=lr)
        self.model.train()

    def params(self):
        """The means and rhos in PyTorch's order: per layer w_mu, w_rho, b_mu, b_rho."""
        out = []
        for m in self.model.modules():
            if isinstance(m, BayesianLinear):
                out += [p.numpy() for p in (m.weight_mu, m.weight_rho, m.bias_mu, m.bias_rho)]
        return [p.copy() for p in out]

    def step(self, x, y):
        loss = self.loss(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()


def check(sizes, args) -> float:
    """The largest relative difference of three steps' losses from the same start and noise."""
    ours = ChainruleBBB(sizes, args.prior_sigma, args.lr, seed=1)
    shared = np.random.default_rng(7)  # one generator for every layer, drawn in forward order
    for m in ours.model.modules():
        if isinstance(m, BayesianLinear):
            m.rng = shared
    theirs = TorchBBB(ours.params(), args.prior_sigma, args.lr, noise=np.random.default_rng(7))
    x, y = _data(args.batch, seed=2)
    xt, yt = cr.tensor(x), cr.tensor(y)
    tx, ty = theirs.torch.from_numpy(x), theirs.torch.from_numpy(y)
    worst = 0.0
    for _ in range(3):
        a, b = ours.step(xt, yt), theirs.step(tx, ty)
        worst = max(worst, abs(a - b) / abs(b))
    return worst


def measure(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    set_num_threads(args.threads)
    sizes = (784, *args.hidden, 10)
    error = check(sizes, args)
    if error > 1e-4:
        raise SystemExit(f"bayes.py: chainrule's and PyTorch's losses differ by {error:.2e} "
                         "(relative): not timing a step that computes something else")
    ours = ChainruleBBB(sizes, args.prior_sigma, args.lr, seed=1)
    theirs = TorchBBB(ours.params(), args.prior_sigma, args.lr)
    x, y = _data(args.batch)
    xt, yt = cr.tensor(x), cr.tensor(y)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    clock = time.process_time if args.cpu_time else time.perf_counter
    for _ in range(args.warmup):
        ours.step(xt, yt)
        theirs.step(tx, ty)
    mine, other, ratios = [], [], []
    for _ in range(args.rounds):
        start = clock()
        for _ in range(args.steps):
            ours.step(xt, yt)
        a = (clock() - start) / args.steps
        start = clock()
        for _ in range(args.steps):
            theirs.step(tx, ty)
        b = (clock() - start) / args.steps
        mine.append(a)
        other.append(b)
        ratios.append(a / b)
    return {"sizes": sizes, "batch": args.batch, "check": error,
            "chainrule_ms": 1e3 * statistics.median(mine),
            "torch_ms": 1e3 * statistics.median(other), "ratio": statistics.median(ratios),
            "ratios": ratios, "clock": "CPU time" if args.cpu_time else "wall clock",
            "threads": args.threads, "torch": torch.__version__}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="784-64-10, 3 rounds of 3 steps (unless given): checks the plumbing")
    parser.add_argument("--hidden", type=int, nargs="+", default=[400, 400])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20, help="steps per round and framework")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--prior-sigma", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time.process_time instead of the wall clock")
    args = parser.parse_args(argv)
    if args.quick:  # smaller defaults; options given explicitly still win
        for name, value in {"hidden": [64], "rounds": 3, "steps": 3, "warmup": 1}.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    for name in ("batch", "rounds", "steps", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    res = measure(args)
    print(f"Bayes by Backprop MLP {'-'.join(map(str, res['sizes']))}, batch {res['batch']}, "
          f"{res['threads']} thread(s), {res['clock']}: chainrule {res['chainrule_ms']:.2f} ms, "
          f"PyTorch {res['torch_ms']:.2f} ms per step, ratio {res['ratio']:.2f} "
          f"(median of {len(res['ratios'])} rounds; losses agree to {res['check']:.1e})")
    return res


if __name__ == "__main__":
    main()
