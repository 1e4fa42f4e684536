"""A Fourier layer (the spectral convolution of a Fourier neural operator) learns the heat equation.

The heat equation u_t = nu u_xx on a periodic interval damps each Fourier mode k of the initial
state by exp(-nu k^2 t): the solution operator is a multiplication in frequency space. A spectral
convolution layer computes ``irfft(W * rfft(u))`` with a learned complex weight W on the lowest
``modes`` frequencies (the higher ones are dropped), the core of a Fourier neural operator (Li et
al., 2021). Trained with Adam on pairs (initial state, state at time t), its weights approach
exp(-nu k^2 t), and it then solves the equation for initial states it has not seen. A 1x1
convolution beside it (the FNO's "W" path) adds a pointwise term: the block's response at
frequency k is W_k + w (the 1x1 weight), and that sum is what approaches exp(-nu k^2 t).

The gradients flow through ``chainrule.fft.rfft``/``irfft`` and complex arithmetic, with
PyTorch's conventions; the weight is a complex ``nn.Parameter``, as in the FNO paper's code, and
Adam updates its real and imaginary parts as two real numbers (PyTorch's rule).

    python examples/fourier_layer.py --steps 150 --seed 0
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import nn


class SpectralConv1d(nn.Module):
    """``irfft(sum_i X_i W_io)`` over the lowest ``modes`` frequencies of ``X = rfft(x)``.

    Shape: (N, in_channels, L) -> (N, out_channels, L).
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int, *, rng=None):
        super().__init__()
        rng = np.random.default_rng(rng)
        scale = 1.0 / (in_channels * out_channels)
        self.modes = modes
        pairs = scale * rng.standard_normal((in_channels, out_channels, modes, 2))
        # (in, out, modes), complex64, as the FNO's torch.rand(..., dtype=torch.cfloat)
        self.weight = nn.Parameter(cr.tensor(pairs[..., 0] + 1j * pairs[..., 1],
                                             dtype=cr.complex64))

    def forward(self, x):
        length = x.shape[-1]
        if length // 2 + 1 < self.modes:
            raise ValueError(f"SpectralConv1d: a signal of length {length} has {length // 2 + 1} "
                             f"frequencies, fewer than modes={self.modes}")
        spectrum = cr.fft.rfft(x)[..., :self.modes]             # (N, in, modes), complex64
        mixed = cr.einsum("bix,iox->box", spectrum, self.weight)  # (N, out, modes)
        return cr.fft.irfft(mixed, n=length)                    # higher frequencies: zero


class FourierLayer(nn.Module):
    """One FNO block without its activation: the spectral path plus a pointwise (1x1) path."""

    def __init__(self, channels: int, modes: int, *, rng=None):
        super().__init__()
        self.spectral = SpectralConv1d(channels, channels, modes, rng=rng)
        self.pointwise = nn.Conv1d(channels, channels, 1, rng=np.random.default_rng(rng))

    def forward(self, x):
        return self.spectral(x) + self.pointwise(x)


def heat_data(n: int, length: int, nu: float, t: float, rng: np.random.Generator):
    """``n`` random smooth periodic initial states (frequencies below 8) and the heat equation's
    solution at time ``t``, computed exactly in frequency space."""
    k = np.arange(length // 2 + 1)
    coef = rng.standard_normal((n, 1, k.size)) + 1j * rng.standard_normal((n, 1, k.size))
    coef[..., 8:] = 0
    coef[..., 0] = coef[..., 0].real
    u0 = np.fft.irfft(coef / (1 + k), n=length)
    ut = np.fft.irfft(np.fft.rfft(u0) * np.exp(-nu * k**2 * t), n=length)
    scale = u0.std()
    return (cr.tensor(u0 / scale, dtype=cr.float32), cr.tensor(ut / scale, dtype=cr.float32))


def train(args) -> dict:
    rng = np.random.default_rng(args.seed)
    u0, ut = heat_data(args.train, args.length, args.nu, args.time, rng)
    test_u0, test_ut = heat_data(64, args.length, args.nu, args.time, rng)
    model = FourierLayer(1, args.modes, rng=args.seed)
    opt = cr.optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    for _ in range(args.steps):
        opt.zero_grad()
        loss = ((model(u0) - ut) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with cr.no_grad():
        pred = model(test_u0)
        rel = float(cr.sqrt(((pred - test_ut) ** 2).sum() / (test_ut ** 2).sum()).item())
        w = float(model.pointwise.weight.numpy().reshape(-1)[0])
        response = model.spectral.weight[0, 0].numpy() + w
    k = np.arange(args.modes)
    exact = np.exp(-args.nu * k**2 * args.time)
    # Modes 8 and above are absent from the data: their weights get no signal. Compare the rest;
    # at k = 0 only the real part acts (irfft ignores the imaginary part of the zero frequency).
    response[0] = response[0].real
    return {"losses": losses, "test_relative_error": rel,
            "response_error": float(np.abs(response[:8] - exact[:8]).max())}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150, help="Adam steps")
    p.add_argument("--modes", type=int, default=12, help="Fourier modes the layer keeps")
    p.add_argument("--length", type=int, default=64, help="grid points of the interval")
    p.add_argument("--train", type=int, default=128, help="training pairs")
    p.add_argument("--nu", type=float, default=0.1, help="diffusivity")
    p.add_argument("--time", type=float, default=0.5, help="the time of the target state")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.steps < 1 or args.modes < 1 or args.length // 2 + 1 < args.modes:
        p.error(f"need --steps >= 1 and 1 <= --modes <= length // 2 + 1, got {args.steps}, "
                f"{args.modes} and {args.length}")
    result = train(args)
    print(f"loss: first {result['losses'][0]:.4f}, last {result['losses'][-1]:.2e}")
    print(f"test relative error {result['test_relative_error']:.2e}; the layer's response "
          f"W_k + w vs exp(-nu k^2 t): max difference {result['response_error']:.2e}")
    return result


if __name__ == "__main__":
    main()
