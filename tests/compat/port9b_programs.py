"""Six more public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port9_programs.py): a Gumbel-softmax VAE (hand-written Gumbel noise from torch.rand,
straight-through hard samples by scatter_, annealed temperature, RelaxedOneHotCategorical
log-densities), MLP-Mixer and gMLP blocks (token mixing by transposes, a spatial gating unit as a
Conv1d, an EMA by AveragedModel), an LR range test (a custom LRScheduler subclass, deep-copied
model and optimizer states restored, then OneCycleLR), a Hamiltonian neural network (symplectic
gradients by autograd.grad, RK4 through them), a growing neural cellular automaton (Sobel
perception as a depthwise conv, stochastic updates, alive masks by max-pooling, per-parameter
gradient normalization) and Barlow Twins (in-place ops on diagonal views of the
cross-correlation, an off-diagonal view trick and a hand-written LARS optimizer).
"""

from __future__ import annotations

import copy
import math

import numpy as np


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def gumbel_vae(torch, in_dim=12, latent_dim=3, categorical_dim=4):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    def sample_gumbel(shape, eps=1e-20):
        U = torch.rand(shape)  # noqa: N806
        return -torch.log(-torch.log(U + eps) + eps)

    def gumbel_softmax_sample(logits, temperature):
        y = logits + sample_gumbel(logits.size())
        return F.softmax(y / temperature, dim=-1)

    def gumbel_softmax(logits, temperature, hard=False):
        y = gumbel_softmax_sample(logits, temperature)
        if not hard:
            return y.view(-1, latent_dim * categorical_dim)
        shape = y.size()
        _, ind = y.max(dim=-1)
        y_hard = torch.zeros_like(y).view(-1, shape[-1])
        y_hard.scatter_(1, ind.view(-1, 1), 1)
        y_hard = y_hard.view(*shape)
        y_hard = (y_hard - y).detach() + y
        return y_hard.view(-1, latent_dim * categorical_dim)

    class VAE_gumbel(nn.Module):  # noqa: N801
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(in_dim, 16)
            self.fc2 = nn.Linear(16, latent_dim * categorical_dim)
            self.fc3 = nn.Linear(latent_dim * categorical_dim, 16)
            self.fc4 = nn.Linear(16, in_dim)
            self.relu = nn.ReLU()
            self.sigmoid = nn.Sigmoid()

        def encode(self, x):
            return self.relu(self.fc2(self.relu(self.fc1(x))))

        def decode(self, z):
            return self.sigmoid(self.fc4(self.relu(self.fc3(z))))

        def forward(self, x, temp, hard):
            q = self.encode(x.view(-1, in_dim))
            q_y = q.view(q.size(0), latent_dim, categorical_dim)
            z = gumbel_softmax(q_y, temp, hard)
            return self.decode(z), F.softmax(q_y, dim=-1).reshape(*q.size())

    return VAE_gumbel()


def train_gumbel_vae(torch, model, data, steps=4, temp=1.0, temp_min=0.5, anneal_rate=0.3,
                     hard=True, categorical_dim=4):
    F = torch.nn.functional  # noqa: N806
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rows = []
    for batch_idx in range(steps):
        recon_batch, qy = model(data, temp, hard)
        bce = F.binary_cross_entropy(recon_batch, data.view(-1, data.shape[-1]),
                                     reduction="sum") / data.shape[0]
        log_ratio = torch.log(qy * categorical_dim + 1e-20)
        kld = torch.sum(qy * log_ratio, dim=-1).mean()
        loss = bce + kld
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        temp = float(np.maximum(temp * np.exp(-anneal_rate * batch_idx), temp_min))
        rows.append([loss.item(), kld.item(), temp])
    with torch.no_grad():
        q = model.encode(data).view(data.shape[0], -1, categorical_dim)
        relaxed = torch.distributions.RelaxedOneHotCategorical(torch.tensor(temp), logits=q)
        probe = torch.softmax(q * 0.5, dim=-1)
        log_probs = relaxed.log_prob(probe)
        onehot = F.gumbel_softmax(q, tau=temp, hard=True)
    return rows, log_probs.numpy(), onehot.sum(-1).numpy(), onehot.max(-1).values.numpy(), \
        _state(model)


def mixer(torch, image_size=8, patch_size=4, dim=8, num_classes=3, gmlp=False):
    nn = torch.nn
    num_patch = (image_size // patch_size) ** 2

    class FeedForward(nn.Module):
        def __init__(self, dim, hidden_dim):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU(),
                                     nn.Linear(hidden_dim, dim))

        def forward(self, x):
            return self.net(x)

    class MixerBlock(nn.Module):
        def __init__(self, token_dim=6, channel_dim=16):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.token_mix = FeedForward(num_patch, token_dim)
            self.norm2 = nn.LayerNorm(dim)
            self.channel_mix = FeedForward(dim, channel_dim)

        def forward(self, x):
            x = x + self.token_mix(self.norm1(x).transpose(1, 2)).transpose(1, 2)
            return x + self.channel_mix(self.norm2(x))

    class SpatialGatingUnit(nn.Module):
        def __init__(self, d_ffn, seq_len):
            super().__init__()
            self.norm = nn.LayerNorm(d_ffn // 2)
            self.spatial_proj = nn.Conv1d(seq_len, seq_len, kernel_size=1)
            nn.init.constant_(self.spatial_proj.bias, 1.0)

        def forward(self, x):
            u, v = x.chunk(2, dim=-1)
            v = self.norm(v)
            v = self.spatial_proj(v)
            return u * v

    class gMLPBlock(nn.Module):  # noqa: N801
        def __init__(self, d_ffn=12):
            super().__init__()
            self.norm = nn.LayerNorm(dim)
            self.channel_proj1 = nn.Linear(dim, d_ffn)
            self.channel_proj2 = nn.Linear(d_ffn // 2, dim)
            self.sgu = SpatialGatingUnit(d_ffn, num_patch)

        def forward(self, x):
            residual = x
            x = self.norm(x)
            x = torch.nn.functional.gelu(self.channel_proj1(x))
            x = self.sgu(x)
            return self.channel_proj2(x) + residual

    class MLPMixer(nn.Module):
        def __init__(self):
            super().__init__()
            self.to_patch_embedding = nn.Conv2d(3, dim, patch_size, patch_size)
            block = gMLPBlock if gmlp else MixerBlock
            self.mixer_blocks = nn.ModuleList([block() for _ in range(2)])
            self.layer_norm = nn.LayerNorm(dim)
            self.mlp_head = nn.Linear(dim, num_classes)
            self.apply(self._init_weights)

        def _init_weights(self, m):
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

        def forward(self, x):
            x = self.to_patch_embedding(x).flatten(2).transpose(1, 2)
            for mixer_block in self.mixer_blocks:
                x = mixer_block(x)
            x = self.layer_norm(x)
            return self.mlp_head(x.mean(dim=1))

    return MLPMixer()


def train_mixer(torch, model, images, labels, steps=4, warmup=2):
    """AdamW without decay on biases and norms, label smoothing, linear warmup then cosine by
    LambdaLR, gradient clipping, an EMA of the weights by AveragedModel."""
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=5e-3)

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.8))
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    rows = []
    for _ in range(steps):
        loss = criterion(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        ema.update_parameters(model)
        rows.append([loss.item(), norm.item(), scheduler.get_last_lr()[0]])
    with torch.no_grad():
        ema_logits = ema(images)
    return rows, ema_logits.numpy(), _state(model)


def lr_finder_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def lr_range_test(torch, model, x, y, start_lr=1e-4, end_lr=10.0, num_iter=12, smooth_f=0.05,
                  diverge_th=5):
    """Leslie Smith's range test as the popular lr-finder package runs it, then training with
    OneCycleLR at the learning rate of the steepest descent of the smoothed losses."""
    _LRScheduler = torch.optim.lr_scheduler.LRScheduler  # noqa: N806

    class ExponentialLR(_LRScheduler):
        def __init__(self, optimizer, end_lr, num_iter, last_epoch=-1):
            self.end_lr, self.num_iter = end_lr, num_iter
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            r = self.last_epoch / (self.num_iter - 1)
            return [base_lr * (self.end_lr / base_lr) ** r for base_lr in self.base_lrs]

    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=start_lr, momentum=0.9)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    lr_schedule = ExponentialLR(optimizer, end_lr, num_iter)
    history = {"lr": [], "loss": []}
    best_loss = None
    iterator = iter(loader)
    for iteration in range(num_iter):
        try:
            inputs, labels = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            inputs, labels = next(iterator)
        model.train()
        loss = criterion(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["lr"].append(lr_schedule.get_last_lr()[0])
        lr_schedule.step()
        loss = loss.item()
        if iteration == 0:
            best_loss = loss
        else:
            loss = smooth_f * loss + (1 - smooth_f) * history["loss"][-1]
            best_loss = min(best_loss, loss)
        history["loss"].append(loss)
        if loss > diverge_th * best_loss:
            break
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    restored = [p.detach().numpy().copy() for p in model.parameters()]
    losses = np.array(history["loss"][2:-1])
    min_grad_idx = np.gradient(losses).argmin()
    suggested = history["lr"][2:-1][min_grad_idx]
    optimizer = torch.optim.SGD(model.parameters(), lr=suggested / 10, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=suggested,
                                                    epochs=2, steps_per_epoch=len(loader))
    losses = []
    for _ in range(2):
        for inputs, labels in loader:
            loss = criterion(model(inputs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    return history, suggested, restored, losses, _state(model)


def hnn(torch, input_dim=2, hidden_dim=16):
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1 = nn.Linear(input_dim, hidden_dim)
            self.linear2 = nn.Linear(hidden_dim, hidden_dim)
            self.linear3 = nn.Linear(hidden_dim, 2, bias=False)
            for lin in [self.linear1, self.linear2, self.linear3]:
                torch.nn.init.orthogonal_(lin.weight)

        def forward(self, x):
            h = torch.tanh(self.linear1(x))
            h = torch.tanh(self.linear2(h))
            return self.linear3(h)

    class HNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.differentiable_model = MLP()
            self.M = self.permutation_tensor(input_dim)

        def forward(self, x):
            y = self.differentiable_model(x)
            return y.split(1, 1)

        def time_derivative(self, x):
            _, F2 = self.forward(x)  # noqa: N806
            dF2 = torch.autograd.grad(F2.sum(), x, create_graph=True)[0]  # noqa: N806
            return dF2 @ self.M.t()

        def permutation_tensor(self, n):
            M = torch.eye(n)  # noqa: N806
            return torch.cat([M[n // 2:], -M[:n // 2]])

    return HNN()


def train_hnn(torch, model, x, dxdt, steps=5, dt=0.1, n_steps=4):
    """Fits the symplectic gradient of the learned energy to a spring's (dq, dp) = (p, -q);
    then integrates one orbit with RK4, the field evaluated under enable_grad."""
    model.M = model.M.to(x.dtype)
    optim = torch.optim.Adam(model.parameters(), 1e-2, weight_decay=1e-4)
    losses = []
    for _ in range(steps):
        x_in = x.clone().requires_grad_(True)
        dxdt_hat = model.time_derivative(x_in)
        loss = (dxdt - dxdt_hat).pow(2).mean()
        loss.backward()
        optim.step()
        optim.zero_grad()
        losses.append(loss.item())

    def field(state):
        with torch.enable_grad():
            state = state.detach().requires_grad_(True)
            return model.time_derivative(state).detach()

    with torch.no_grad():
        state = x[:1].clone()
        orbit = [state]
        for _ in range(n_steps):
            k1 = field(state)
            k2 = field(state + dt / 2 * k1)
            k3 = field(state + dt / 2 * k2)
            k4 = field(state + dt * k3)
            state = state + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            orbit.append(state)
        energy = model(torch.cat(orbit))[1]
    return losses, torch.cat(orbit).numpy(), energy.numpy(), _state(model)
