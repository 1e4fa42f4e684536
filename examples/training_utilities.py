"""PyTorch's training utilities on chainrule: LBFGS, gradient checkpointing, loss scaling, SWA.

1. L-BFGS with a strong-Wolfe line search fits a small regression network on the full batch.
2. Gradient checkpointing: the same deep MLP's gradients with and without
   ``checkpoint_sequential`` (equal bit for bit) and the peak memory of each (tracemalloc).
3. SGD with a ``GradScaler`` (loss scaling; a step with inf/NaN gradients is skipped) and
   stochastic weight averaging (``AveragedModel``, ``SWALR``, ``update_bn``).

    python examples/training_utilities.py --depth 16 --width 128 --batch 1024
"""

from __future__ import annotations

import argparse
import tracemalloc

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F  # noqa: N812 - the conventional alias
from chainrule.optim.swa_utils import SWALR, AveragedModel, update_bn
from chainrule.utils.checkpoint import checkpoint_sequential


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 3))
    return cr.tensor(x), cr.tensor(np.sin(x @ np.array([[1.0], [-0.5], [0.8]])))


def regressor(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(3, 16, dtype=cr.float64, rng=rng),
                         nn.BatchNorm1d(16, dtype=cr.float64), nn.Tanh(),
                         nn.Linear(16, 1, dtype=cr.float64, rng=rng))


def fit_lbfgs(model, x, y, steps=5):
    """Full-batch L-BFGS; returns the loss before each ``step``."""
    opt = cr.optim.LBFGS(model.parameters(), max_iter=10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    return [opt.step(closure).item() for _ in range(steps)]


def checkpoint_memory(depth, width, batch, segments=4):
    """Peak traced memory (bytes) of one forward and backward, plain and checkpointed, and
    whether their gradients are equal."""
    rng = np.random.default_rng(1)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, dtype=cr.float64, rng=rng), nn.Tanh()]
    net = nn.Sequential(*layers)
    x = cr.tensor(rng.standard_normal((batch, width)))
    peaks, grads = {}, {}
    for name in ("plain", "checkpointed"):
        net.zero_grad()
        tracemalloc.start()
        out = net(x) if name == "plain" else checkpoint_sequential(net, segments, x,
                                                                  use_reentrant=False)
        (out ** 2).mean().backward()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        grads[name] = [p.grad.numpy() for p in net.parameters()]
    same = all(np.array_equal(a, b) for a, b in zip(grads["plain"], grads["checkpointed"]))
    return peaks, same


def fit_swa(model, x, y, epochs=6, batch=16, use_amp=True):
    """SGD with loss scaling, averaged from the start by SWA; returns the averaged model's loss."""
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = cr.amp.GradScaler("cpu", enabled=use_amp)
    swa_model = AveragedModel(model)
    swa_scheduler = SWALR(opt, swa_lr=0.01, anneal_epochs=2)
    for _ in range(epochs):
        for i in range(0, len(x), batch):
            opt.zero_grad()
            scaler.scale(F.mse_loss(model(x[i:i + batch]), y[i:i + batch])).backward()
            scaler.step(opt)
            scaler.update()
        swa_model.update_parameters(model)
        swa_scheduler.step()
    update_bn([x[i:i + batch] for i in range(0, len(x), batch)], swa_model)
    swa_model.eval()
    with cr.no_grad():
        return F.mse_loss(swa_model(x), y).item(), scaler.get_scale()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args(argv)
    x, y = data()
    losses = fit_lbfgs(regressor(), x, y)
    print("LBFGS loss per step:", " ".join(f"{v:.4f}" for v in losses))
    peaks, same = checkpoint_memory(args.depth, args.width, args.batch)
    print(f"peak memory: plain {peaks['plain'] / 2**20:.1f} MiB, checkpointed "
          f"{peaks['checkpointed'] / 2**20:.1f} MiB; gradients equal: {same}")
    swa_loss, scale = fit_swa(regressor(), x, y)
    print(f"SWA model loss {swa_loss:.4f} (loss scale {scale:g})")
    return {"lbfgs": losses, "peaks": peaks, "same_gradients": same, "swa_loss": swa_loss}


if __name__ == "__main__":
    main()
