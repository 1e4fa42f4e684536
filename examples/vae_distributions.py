"""A variational autoencoder written with ``chainrule.distributions``, as a PyTorch user writes it.

The encoder maps a binarised 8x8 digit to q(z|x) = Normal(mu, sigma) (diagonal), a draw
``q.rsample()`` (reparameterised, so gradients reach mu and sigma) goes through the decoder to the
logits of p(x|z) = Independent(Bernoulli(logits), 1), and training maximises the evidence lower
bound

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))

with the KL in closed form (``kl_divergence``). With ``import torch`` in place of the chainrule
import the script runs unchanged under PyTorch. It prints the ELBO per epoch (it rises, i.e. the
loss falls) and the test ELBO of the trained model.

    python examples/vae_distributions.py --epochs 20
"""

from __future__ import annotations

import argparse

import chainrule as torch
from chainrule.data.datasets import digits

nn = torch.nn
F = torch.nn.functional
D = torch.distributions


class VAE(nn.Module):
    def __init__(self, n_in=64, n_hidden=128, n_latent=8):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU())
        self.mu = nn.Linear(n_hidden, n_latent)
        self.log_sigma = nn.Linear(n_hidden, n_latent)
        self.decoder = nn.Sequential(nn.Linear(n_latent, n_hidden), nn.ReLU(),
                                     nn.Linear(n_hidden, n_in))
        self.n_latent = n_latent

    def posterior(self, x):
        h = self.encoder(x)
        return D.Normal(self.mu(h), torch.exp(self.log_sigma(h)))

    def likelihood(self, z):
        return D.Independent(D.Bernoulli(logits=self.decoder(z)), 1)

    def elbo(self, x):
        """One-sample ELBO estimate per example: log p(x|z) - KL(q(z|x) || p(z))."""
        q = self.posterior(x)
        z = q.rsample()
        prior = D.Normal(torch.zeros(self.n_latent), torch.ones(self.n_latent))
        return self.likelihood(z).log_prob(x) - D.kl_divergence(q, prior).sum(-1)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1, got {args.epochs}")
    torch.manual_seed(args.seed)
    (x_tr, _), (x_te, _) = digits(seed=args.seed)
    x_tr = torch.tensor((x_tr.reshape(len(x_tr), -1) > 0.5).astype("float32"))
    x_te = torch.tensor((x_te.reshape(len(x_te), -1) > 0.5).astype("float32"))
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(x_tr))
        total = 0.0
        for i in range(0, len(x_tr), args.batch_size):
            xb = x_tr[order[i:i + args.batch_size]]
            loss = -model.elbo(xb).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        history.append(-total / len(x_tr))
        print(f"epoch {epoch + 1:3d}  train ELBO {history[-1]:8.3f} nats per digit")
    with torch.no_grad():
        test_elbo = model.elbo(x_te).mean().item()
        samples = model.likelihood(torch.randn(4, model.n_latent)).mean
    print(f"test ELBO {test_elbo:.3f} nats per digit (64 binary pixels: log 2 * 64 = 44.4 for "
          "a coin per pixel)")
    return {"train_elbo": history, "test_elbo": test_elbo, "samples": samples}


if __name__ == "__main__":
    main()
