"""Wave-17 ports, part six, run with ``torch`` = PyTorch or chainrule
(test_port17f_programs.py): probabilistic programs on ``torch.distributions``.

- Robust Bayesian regression by stochastic variational inference in plain PyTorch: a
  ``LowRankMultivariateNormal`` guide (``rsample`` of several draws, ``entropy``) over the
  weights, the bias and an unconstrained noise scale mapped by
  ``transform_to(constraints.positive)`` with its ``log_abs_det_jacobian``, a ``Laplace`` prior,
  a ``LogNormal`` prior on the scale and a ``StudentT`` likelihood; Adam on the negative ELBO.
- The continuous Bernoulli VAE (Loaiza-Ganem and Cunningham), written on pytorch/examples' VAE:
  ``reparameterize`` by ``torch.randn_like``, ``ContinuousBernoulli(logits=...).log_prob``
  for the reconstruction, the KL either in closed form or by ``kl_divergence`` of two
  ``Normal``s, and the decoder's ``mean``/``probs``.
- A density fitted by maximum likelihood through ``TransformedDistribution`` of an
  ``Independent(Normal)`` by ``ComposeTransform([AffineTransform(event_dim=1),
  SigmoidTransform()])``, then read by ``cdf``/``icdf`` of ``Normal`` and ``Laplace``, and a
  ``register_kl`` rule for a ``Normal`` subclass.
"""

from __future__ import annotations


def vi_guide(torch, d=3, rank=2):
    nn = torch.nn

    class Guide(nn.Module):
        def __init__(self):
            super().__init__()
            self.loc = nn.Parameter(torch.zeros(d + 2))
            self.cov_factor = nn.Parameter(0.1 * torch.ones(d + 2, rank))
            self.raw_diag = nn.Parameter(torch.full((d + 2,), -2.0))

        def forward(self):
            return torch.distributions.LowRankMultivariateNormal(
                self.loc, self.cov_factor, nn.functional.softplus(self.raw_diag) + 1e-4)

    return Guide()


def train_robust_vi(torch, guide, x, y, steps=25, num_samples=4, df=4.0):
    D = torch.distributions
    d = x.shape[1]
    to_scale = D.transform_to(D.constraints.positive)
    optimizer = torch.optim.Adam(guide.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        q = guide()
        z = q.rsample((num_samples,))
        w, b, raw = z[:, :d], z[:, d], z[:, d + 1]
        scale = to_scale(raw)
        log_prior = D.Laplace(torch.zeros(d + 1), torch.ones(d + 1)).log_prob(
            z[:, :d + 1]).sum(-1)
        log_prior = log_prior + D.LogNormal(0.0, 1.0).log_prob(scale) \
            + to_scale.log_abs_det_jacobian(raw, scale)
        mean = x @ w.T + b  # (N, S)
        log_lik = D.StudentT(df, mean, scale).log_prob(y[:, None]).sum(0)
        loss = -((log_lik + log_prior).mean() + q.entropy())
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    q = guide()
    return losses, q.mean.detach().numpy().copy(), q.variance.detach().numpy().copy(), \
        q.covariance_matrix.detach().numpy().copy()


def cb_vae(torch, d=16, hidden=12, z_dim=2):
    nn, F = torch.nn, torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(d, hidden)
            self.fc21 = nn.Linear(hidden, z_dim)
            self.fc22 = nn.Linear(hidden, z_dim)
            self.fc3 = nn.Linear(z_dim, hidden)
            self.fc4 = nn.Linear(hidden, d)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return self.fc4(h3)  # logits of the continuous Bernoulli

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, d))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    return VAE()


def train_cb_vae(torch, model, data, epochs=3, batch_size=8, kl="closed"):
    D = torch.distributions

    def loss_function(x_logit, x, mu, logvar):
        recon = -D.ContinuousBernoulli(logits=x_logit).log_prob(x).sum()
        if kl == "closed":
            KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        else:
            q = D.Normal(mu, torch.exp(0.5 * logvar))
            KLD = D.kl_divergence(q, D.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum()
        return recon + KLD

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    model.train()
    for _ in range(epochs):
        for i in range(0, len(data), batch_size):
            x = data[i:i + batch_size]
            optimizer.zero_grad()
            recon_logits, mu, logvar = model(x)
            loss = loss_function(recon_logits, x, mu, logvar)
            loss.backward()
            optimizer.step()
            losses.append(loss.item() / len(x))
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(data)
        cb = D.ContinuousBernoulli(logits=model.decode(mu))
        means, probs = cb.mean.numpy().copy(), cb.probs.numpy().copy()
    return losses, means, probs, {k: v.detach().numpy().copy()
                                  for k, v in model.state_dict().items()}


def sigmoid_flow(torch, dim=2):
    nn = torch.nn

    class SigmoidFlow(nn.Module):
        def __init__(self):
            super().__init__()
            self.loc = nn.Parameter(torch.zeros(dim))
            self.log_scale = nn.Parameter(torch.zeros(dim))

        def forward(self):
            D = torch.distributions
            base = D.Independent(D.Normal(torch.zeros(dim), torch.ones(dim)), 1)
            return D.TransformedDistribution(base, D.ComposeTransform([
                D.AffineTransform(self.loc, self.log_scale.exp(), event_dim=1),
                D.SigmoidTransform()]))

    return SigmoidFlow()


def fit_flow(torch, flow, data, probe, steps=30):
    D = torch.distributions
    optimizer = torch.optim.Adam(flow.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = -flow().log_prob(data).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        normal = D.Normal(flow.loc, flow.log_scale.exp())
        laplace = D.Laplace(flow.loc, flow.log_scale.exp())
        logits = torch.log(probe) - torch.log1p(-probe)
        reads = [normal.cdf(logits), normal.icdf(probe), laplace.cdf(logits),
                 laplace.icdf(probe), flow().log_prob(probe)]

    class Tempered(D.Normal):
        pass

    @D.register_kl(Tempered, Tempered)
    def _kl_tempered(p, q):
        return 2.0 * D.kl_divergence(D.Normal(p.loc, p.scale), D.Normal(q.loc, q.scale))

    kl = D.kl_divergence(Tempered(flow.loc, flow.log_scale.exp()),
                         Tempered(torch.zeros(2), torch.ones(2)))
    return losses, [r.numpy().copy() for r in reads] + [kl.detach().numpy().copy()], \
        {k: v.detach().numpy().copy() for k, v in flow.state_dict().items()}
