"""A PyTorch-style VAE built on ``torch.distributions``, run with ``torch`` = PyTorch or chainrule.

Nothing here knows which library it drives; ``test_dist_programs.py`` runs it under both from the
same weights and the same reparameterisation noise.
"""

from __future__ import annotations


def vae(torch, n_in=16, n_hidden=12, n_latent=2):
    """An MLP encoder to a diagonal Gaussian q(z|x), a decoder to Bernoulli pixel logits."""
    nn = torch.nn
    F = torch.nn.functional  # noqa: N806 - the conventional alias
    D = torch.distributions  # noqa: N806

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(n_in, n_hidden)
            self.mu = nn.Linear(n_hidden, n_latent)
            self.logvar = nn.Linear(n_hidden, n_latent)
            self.dec1 = nn.Linear(n_latent, n_hidden)
            self.dec2 = nn.Linear(n_hidden, n_in)

        def forward(self, x):
            h = F.relu(self.enc(x))
            q = D.Normal(self.mu(h), torch.exp(0.5 * self.logvar(h)))
            z = q.rsample()
            return self.dec2(F.relu(self.dec1(z))), q

    return VAE()


def train_vae(torch, model, x, epochs=3, batch_size=16):
    """Minimise the negative ELBO: Bernoulli reconstruction plus KL(q || N(0, 1)); returns the
    losses and the final KL per example."""
    D = torch.distributions  # noqa: N806
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = torch.tensor(x)
    losses = []
    for _ in range(epochs):
        for i in range(0, len(data), batch_size):
            xb = data[i:i + batch_size]
            logits, q = model(xb)
            reconstruction = D.Independent(D.Bernoulli(logits=logits), 1).log_prob(xb)
            kl = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(-1)
            loss = (kl - reconstruction).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    with torch.no_grad():
        _, q = model(data)
        kl = D.kl_divergence(q, D.Normal(0.0, 1.0)).sum(-1)
    return losses, kl.mean().item()
