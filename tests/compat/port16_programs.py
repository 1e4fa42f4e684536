"""Wave-16 ports, run with ``torch`` = PyTorch or chainrule (test_port16_programs.py): Keras-style
autoencoders as their authors wrote them in PyTorch (a contractive AE whose penalty is the
closed form ``h*(1-h)`` times the encoder's row norms, ``torch.autograd.grad(h, x,
grad_outputs=torch.ones_like(h), create_graph=True)`` or a per-sample
``torch.autograd.functional.jacobian(..., create_graph=True)``; the debuggercafe sparse AE with an
L1 activity penalty over ``list(model.children())`` or a KL sparsity term), a GloVe model of four
``nn.Embedding`` tables with its ``(x/x_max)**alpha`` weighting under ``optim.Adagrad``, a
conditional neural process scored by ``torch.distributions.Normal(mu, sigma).log_prob``, conditional
flow matching (torchcfm's straight paths from ``torch.randn_like`` and ``torch.rand(...).type_as``
with an Euler sampler) and sliced score matching (Song et al.: ``autograd.grad`` of ``score * v``
with ``create_graph=True``) followed by annealed Langevin steps.
"""

from __future__ import annotations

from collections import Counter

# ---- contractive autoencoder (avijit9/Contractive_Autoencoder_in_Pytorch and its variants) ----

def contractive_ae(torch, n_in=12, n_hidden=5):
    nn = torch.nn

    class CAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(n_in, n_hidden, bias=False)  # Encoder
            self.fc2 = nn.Linear(n_hidden, n_in, bias=False)  # Decoder
            self.relu = nn.ReLU()
            self.sigmoid = nn.Sigmoid()

        def encoder(self, x):
            h1 = self.sigmoid(self.fc1(x.view(-1, n_in)))
            return h1

        def decoder(self, z):
            h2 = self.sigmoid(self.fc2(z))
            return h2

        def forward(self, x):
            h1 = self.encoder(x)
            h2 = self.decoder(h1)
            return h1, h2

    return CAE()


def train_contractive_ae(torch, model, data, penalty="closed", lam=1e-2, epochs=3, batch_size=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    mse_loss = torch.nn.BCELoss(reduction='sum')

    def loss_function(W, x, recons_x, h, lam):
        """Compute the Contractive AutoEncoder Loss (the closed form for a sigmoid encoder)."""
        mse = mse_loss(recons_x, x)
        dh = h * (1 - h)  # Hadamard product produces size N_batch x N_hidden
        # Sum through the input dimension to improve efficiency, as suggested in #1
        w_sum = torch.sum(W ** 2, dim=1)
        w_sum = w_sum.unsqueeze(1)  # shape N_hidden x 1
        contractive_loss = torch.sum(torch.mm(dh ** 2, w_sum), 0)
        return mse + contractive_loss.mul_(lam)

    losses = []
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data),
                                         batch_size=batch_size, shuffle=False)
    model.train()
    for _epoch in range(epochs):
        train_loss = 0
        for _idx, (x,) in enumerate(loader):
            x = x.view(-1, data.shape[1])
            if penalty == "closed":
                hidden_representation, recons_x = model(x)
                W = model.state_dict()['fc1.weight']
                loss = loss_function(W, x, recons_x, hidden_representation, lam)
            elif penalty == "grad":
                x.requires_grad_(True)
                hidden_representation, recons_x = model(x)
                dh_dx = torch.autograd.grad(hidden_representation, x,
                                            grad_outputs=torch.ones_like(hidden_representation),
                                            create_graph=True)[0]
                loss = mse_loss(recons_x, x.detach()) + lam * torch.sum(dh_dx ** 2)
            else:  # the exact Frobenius norm, one Jacobian per sample
                hidden_representation, recons_x = model(x)
                jac = [torch.autograd.functional.jacobian(model.encoder, xi, create_graph=True)
                       for xi in x]
                frob = sum(j.pow(2).sum() for j in jac)
                loss = mse_loss(recons_x, x) + lam * frob
            optimizer.zero_grad()
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        losses.append(train_loss / len(loader.dataset))
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# ---- sparse autoencoder (debuggercafe: L1 activity penalty, or KL divergence sparsity) ----

def sparse_ae(torch, n_in=16):
    nn, F = torch.nn, torch.nn.functional

    class SparseAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            # encoder
            self.enc1 = nn.Linear(in_features=n_in, out_features=8)
            self.enc2 = nn.Linear(in_features=8, out_features=4)
            # decoder
            self.dec1 = nn.Linear(in_features=4, out_features=8)
            self.dec2 = nn.Linear(in_features=8, out_features=n_in)

        def forward(self, x):
            # encoding
            x = F.relu(self.enc1(x))
            x = F.relu(self.enc2(x))
            # decoding
            x = F.relu(self.dec1(x))
            x = F.relu(self.dec2(x))
            return x

    return SparseAutoencoder()


def train_sparse_ae(torch, model, data, add_sparsity="l1", reg_param=0.001, rho=0.05,
                    epochs=3, batch_size=4):
    F = torch.nn.functional
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    # get the layers as a list
    model_children = list(model.children())

    def kl_divergence(rho, rho_hat):
        rho_hat = torch.mean(torch.sigmoid(rho_hat), 1)  # sigmoid because we need probabilities
        rho = torch.tensor([rho] * len(rho_hat))
        return torch.sum(rho * torch.log(rho / rho_hat)
                         + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat)))

    # define the sparse loss function
    def sparse_loss(images):
        loss = 0
        values = images
        for i in range(len(model_children)):
            if add_sparsity == "l1":
                values = F.relu(model_children[i](values))
                loss += torch.mean(torch.abs(values))
            else:
                values = model_children[i](values)
                loss += kl_divergence(rho, values)
        return loss

    def fit(model, dataloader):
        model.train()
        running_loss = 0.0
        for _i, data in enumerate(dataloader):
            img, _ = data
            img = img.view(img.size(0), -1)
            optimizer.zero_grad()
            outputs = model(img)
            mse_loss = criterion(outputs, img)
            l1_loss = sparse_loss(img)
            # add the sparsity penalty
            loss = mse_loss + reg_param * l1_loss
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        return running_loss / len(dataloader)

    ds = torch.utils.data.TensorDataset(data, torch.zeros(len(data)))
    trainloader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False)
    train_loss = [fit(model, trainloader) for _ in range(epochs)]
    with torch.no_grad():
        activity = F.relu(model.enc2(F.relu(model.enc1(data)))).abs().mean().item()
    return train_loss, activity, {k: v.detach().numpy().copy()
                                  for k, v in model.state_dict().items()}


# ---- GloVe (the common PyTorch GloVe: four embedding tables, weighted squared error) ----

def cooccurrence(corpus, window_size=2):
    """(i, j, X_ij) of the corpus, each context word counted 1/distance."""
    vocab = sorted(set(corpus))
    word2id = {w: i for i, w in enumerate(vocab)}
    ids = [word2id[w] for w in corpus]
    counts = Counter()
    for center, i in enumerate(ids):
        lo = max(0, center - window_size)
        for pos in range(lo, center):
            d = center - pos
            counts[(i, ids[pos])] += 1.0 / d
            counts[(ids[pos], i)] += 1.0 / d
    triples = sorted(counts.items())
    return vocab, triples


def glove(torch, num_embeddings, embedding_dim=4):
    nn = torch.nn

    class GloveModel(nn.Module):
        def __init__(self, num_embeddings, embedding_dim):
            super().__init__()
            self.wi = nn.Embedding(num_embeddings, embedding_dim)
            self.wj = nn.Embedding(num_embeddings, embedding_dim)
            self.bi = nn.Embedding(num_embeddings, 1)
            self.bj = nn.Embedding(num_embeddings, 1)

            self.wi.weight.data.uniform_(-1, 1)
            self.wj.weight.data.uniform_(-1, 1)
            self.bi.weight.data.zero_()
            self.bj.weight.data.zero_()

        def forward(self, i_indices, j_indices):
            w_i = self.wi(i_indices)
            w_j = self.wj(j_indices)
            b_i = self.bi(i_indices).squeeze()
            b_j = self.bj(j_indices).squeeze()

            x = torch.sum(w_i * w_j, dim=1) + b_i + b_j
            return x

    return GloveModel(num_embeddings, embedding_dim)


def train_glove(torch, glove, triples, n_epochs=4, batch_size=16, x_max=3, alpha=0.75):
    F = torch.nn.functional

    def weight_func(x, x_max, alpha):
        wx = (x / x_max) ** alpha
        wx = torch.min(wx, torch.ones_like(wx))
        return wx

    def wmse_loss(weights, inputs, targets):
        loss = weights * F.mse_loss(inputs, targets, reduction='none')
        return torch.mean(loss)

    i_idx = torch.LongTensor([i for (i, _), _ in triples])
    j_idx = torch.LongTensor([j for (_, j), _ in triples])
    xij = torch.tensor([x for _, x in triples], dtype=glove.wi.weight.dtype)
    optimizer = torch.optim.Adagrad(glove.parameters(), lr=0.05)
    loss_values = []
    for _e in range(1, n_epochs + 1):
        for start in range(0, len(xij), batch_size):
            x_ij = xij[start:start + batch_size]
            i, j = i_idx[start:start + batch_size], j_idx[start:start + batch_size]
            optimizer.zero_grad()
            outputs = glove(i, j)
            weights_x = weight_func(x_ij, x_max, alpha)
            loss = wmse_loss(weights_x, outputs, torch.log(x_ij))
            loss.backward()
            optimizer.step()
            loss_values.append(loss.item())
    emb = glove.wi.weight.data + glove.wj.weight.data
    return loss_values, emb.numpy().copy()


# ---- conditional neural process (a PyTorch port of DeepMind's CNP notebook) ----

def cnp(torch, x_dim=1, y_dim=1, r_dim=8, h=16):
    nn = torch.nn

    class DeterministicEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(x_dim + y_dim, h), nn.ReLU(), nn.Linear(h, h),
                                     nn.ReLU(), nn.Linear(h, r_dim))

        def forward(self, context_x, context_y):
            encoder_input = torch.cat([context_x, context_y], dim=-1)
            r = self.mlp(encoder_input)
            return r.mean(dim=1)  # aggregate over the context points

    class DeterministicDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(r_dim + x_dim, h), nn.ReLU(), nn.Linear(h, h),
                                     nn.ReLU(), nn.Linear(h, 2 * y_dim))

        def forward(self, representation, target_x):
            num_targets = target_x.shape[1]
            representation = representation.unsqueeze(1).repeat(1, num_targets, 1)
            hidden = self.mlp(torch.cat((representation, target_x), dim=-1))
            mu, log_sigma = torch.split(hidden, y_dim, dim=-1)
            # bound the variance
            sigma = 0.1 + 0.9 * torch.nn.functional.softplus(log_sigma)
            dist = torch.distributions.normal.Normal(loc=mu, scale=sigma)
            return dist, mu, sigma

    class DeterministicModel(nn.Module):
        def __init__(self):
            super().__init__()
            self._encoder = DeterministicEncoder()
            self._decoder = DeterministicDecoder()

        def forward(self, query, target_y=None):
            (context_x, context_y), target_x = query
            representation = self._encoder(context_x, context_y)
            dist, mu, sigma = self._decoder(representation, target_x)
            log_p = None if target_y is None else dist.log_prob(target_y)
            return log_p, mu, sigma

    return DeterministicModel()


def train_cnp(torch, model, tasks, steps=6):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for it in range(steps):
        context_x, context_y, target_x, target_y = tasks[it % len(tasks)]
        optimizer.zero_grad()
        log_prob, _, _ = model(((context_x, context_y), target_x), target_y)
        loss = -log_prob.mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        context_x, context_y, target_x, target_y = tasks[0]
        _, mu, sigma = model(((context_x, context_y), target_x))
    return losses, mu.numpy().copy(), sigma.numpy().copy()


# ---- conditional flow matching (torchcfm's straight-path objective, Euler sampling) ----

def velocity_mlp(torch, dim=2, w=32, time_varying=True):
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self, dim, out_dim=None, w=64, time_varying=False):
            super().__init__()
            self.time_varying = time_varying
            if out_dim is None:
                out_dim = dim
            self.net = nn.Sequential(
                nn.Linear(dim + (1 if time_varying else 0), w), nn.SELU(),
                nn.Linear(w, w), nn.SELU(), nn.Linear(w, out_dim))

        def forward(self, x):
            return self.net(x)

    return MLP(dim=dim, w=w, time_varying=time_varying)


def train_flow_matching(torch, model, sample_target, steps=8, batch_size=16, sigma=0.0,
                        n_euler=5):
    optimizer = torch.optim.Adam(model.parameters())
    losses = []
    for _k in range(steps):
        optimizer.zero_grad()
        x1 = sample_target(batch_size)
        x0 = torch.randn_like(x1)
        t = torch.rand(x0.shape[0]).type_as(x0)
        mu_t = t[:, None] * x1 + (1 - t[:, None]) * x0
        xt = mu_t + sigma * torch.randn_like(x0) if sigma > 0 else mu_t
        ut = x1 - x0
        vt = model(torch.cat([xt, t[:, None]], dim=-1))
        loss = torch.mean((vt - ut) ** 2)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # sample by integrating dx/dt = v(x, t) from t=0 to 1 with Euler steps
    with torch.no_grad():
        x = torch.randn(8, 2)
        ts = torch.linspace(0, 1, n_euler + 1)
        for t0, t1 in zip(ts[:-1], ts[1:]):
            tt = t0.expand(x.shape[0], 1)
            x = x + (t1 - t0) * model(torch.cat([x, tt], dim=-1))
    return losses, x.numpy().copy()


# ---- sliced score matching (ermongroup/sliced_score_matching) and Langevin sampling ----

def score_net(torch, dim=2, h=16):
    nn = torch.nn
    return nn.Sequential(nn.Linear(dim, h), nn.Softplus(), nn.Linear(h, h), nn.Softplus(),
                         nn.Linear(h, dim))


def sliced_score_estimation_vr(torch, score_net, samples, n_particles=1):
    dup_samples = samples.unsqueeze(0).expand(n_particles, *samples.shape).contiguous() \
        .view(-1, *samples.shape[1:])
    dup_samples.requires_grad_(True)
    vectors = torch.randn_like(dup_samples)

    grad1 = score_net(dup_samples)
    gradv = torch.sum(grad1 * vectors)
    grad2 = torch.autograd.grad(gradv, dup_samples, create_graph=True)[0]

    grad1 = grad1.view(dup_samples.shape[0], -1)
    loss1 = torch.sum(grad1 * grad1, dim=-1) / 2.

    loss2 = torch.sum((vectors * grad2).view(dup_samples.shape[0], -1), dim=-1)

    loss1 = loss1.view(n_particles, -1).mean(dim=0)
    loss2 = loss2.view(n_particles, -1).mean(dim=0)
    loss = loss1 + loss2
    return loss.mean(), loss1.mean(), loss2.mean()


def train_ssm(torch, model, data, steps=6, n_particles=2, langevin_steps=4, step_lr=0.01):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        loss, loss1, loss2 = sliced_score_estimation_vr(torch, model, data, n_particles)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append((loss.item(), loss1.item(), loss2.item()))
    # Langevin dynamics from noise with the learned score
    x = torch.randn(6, data.shape[1])
    with torch.no_grad():
        for _ in range(langevin_steps):
            noise = torch.randn_like(x) * (step_lr * 2) ** 0.5
            x = x + step_lr * model(x) + noise
    return losses, x.numpy().copy()
