"""Three more public PyTorch programs written from memory, run with ``torch`` = PyTorch or
chainrule (test_port9_programs.py): efficient-kan's KANLinear (B-spline bases by a recursion over
a grid buffer, spline coefficients fitted by a batched ``torch.linalg.lstsq``, the grid updated
from sorted data, an L1-and-entropy regularizer), Rainbow's learner (noisy linear layers with
factorized Gaussian noise, a dueling distributional head, double-DQN targets and the categorical
projection by ``index_add_`` into a flattened view, importance-weighted loss) and mamba-minimal
(a depthwise causal conv, a selective scan over discretized A and B, RMSNorm, a tied head).
"""

from __future__ import annotations

import math


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def kan(torch, layers_hidden=(2, 3, 1), grid_size=4, spline_order=3, grid_eps=0.02,
        grid_range=(-1, 1)):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class KANLinear(nn.Module):
        def __init__(self, in_features, out_features, scale_noise=0.1, scale_base=1.0,
                     scale_spline=1.0, base_activation=nn.SiLU):
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            self.grid_size, self.spline_order = grid_size, spline_order
            h = (grid_range[1] - grid_range[0]) / grid_size
            grid = ((torch.arange(-spline_order, grid_size + spline_order + 1) * h
                     + grid_range[0]).expand(in_features, -1).contiguous())
            self.register_buffer("grid", grid)
            self.base_weight = nn.Parameter(torch.Tensor(out_features, in_features))
            self.spline_weight = nn.Parameter(
                torch.Tensor(out_features, in_features, grid_size + spline_order))
            self.spline_scaler = nn.Parameter(torch.Tensor(out_features, in_features))
            self.scale_noise, self.scale_base, self.scale_spline = (scale_noise, scale_base,
                                                                    scale_spline)
            self.base_activation = base_activation()
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
            with torch.no_grad():
                noise = ((torch.rand(self.grid_size + 1, self.in_features, self.out_features)
                          - 1 / 2) * self.scale_noise / self.grid_size)
                self.spline_weight.data.copy_(self.curve2coeff(
                    self.grid.T[self.spline_order:-self.spline_order], noise))
                nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5) * self.scale_spline)

        def b_splines(self, x):
            grid = self.grid
            x = x.unsqueeze(-1)
            bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
            for k in range(1, self.spline_order + 1):
                bases = ((x - grid[:, :-(k + 1)]) / (grid[:, k:-1] - grid[:, :-(k + 1)])
                         * bases[:, :, :-1]) + ((grid[:, k + 1:] - x)
                                                / (grid[:, k + 1:] - grid[:, 1:(-k)])
                                                * bases[:, :, 1:])
            return bases.contiguous()

        def curve2coeff(self, x, y):
            A = self.b_splines(x).transpose(0, 1)  # noqa: N806
            B = y.transpose(0, 1)  # noqa: N806
            solution = torch.linalg.lstsq(A, B).solution
            return solution.permute(2, 0, 1).contiguous()

        @property
        def scaled_spline_weight(self):
            return self.spline_weight * self.spline_scaler.unsqueeze(-1)

        def forward(self, x):
            original_shape = x.shape
            x = x.reshape(-1, self.in_features)
            base_output = F.linear(self.base_activation(x), self.base_weight)
            spline_output = F.linear(self.b_splines(x).view(x.size(0), -1),
                                     self.scaled_spline_weight.view(self.out_features, -1))
            output = base_output + spline_output
            return output.reshape(*original_shape[:-1], self.out_features)

        @torch.no_grad()
        def update_grid(self, x, margin=0.01):
            batch = x.size(0)
            splines = self.b_splines(x).permute(1, 0, 2)
            orig_coeff = self.scaled_spline_weight.permute(1, 2, 0)
            unreduced_spline_output = torch.bmm(splines, orig_coeff).permute(1, 0, 2)
            x_sorted = torch.sort(x, dim=0)[0]
            grid_adaptive = x_sorted[torch.linspace(0, batch - 1, self.grid_size + 1,
                                                    dtype=torch.int64)]
            uniform_step = (x_sorted[-1] - x_sorted[0] + 2 * margin) / self.grid_size
            grid_uniform = (torch.arange(self.grid_size + 1, dtype=torch.float32).unsqueeze(1)
                            * uniform_step + x_sorted[0] - margin)
            grid = grid_eps * grid_uniform + (1 - grid_eps) * grid_adaptive
            grid = torch.concatenate([
                grid[:1] - uniform_step * torch.arange(self.spline_order, 0, -1).unsqueeze(1),
                grid,
                grid[-1:] + uniform_step * torch.arange(1, self.spline_order + 1).unsqueeze(1),
            ], dim=0)
            self.grid.copy_(grid.T)
            self.spline_weight.data.copy_(self.curve2coeff(x, unreduced_spline_output))

        def regularization_loss(self, regularize_activation=1.0, regularize_entropy=1.0):
            l1_fake = self.spline_weight.abs().mean(-1)
            regularization_loss_activation = l1_fake.sum()
            p = l1_fake / regularization_loss_activation
            regularization_loss_entropy = -torch.sum(p * p.log())
            return (regularize_activation * regularization_loss_activation
                    + regularize_entropy * regularization_loss_entropy)

    class KAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([KANLinear(i, o) for i, o in
                                         zip(layers_hidden, layers_hidden[1:])])

        def forward(self, x, update_grid=False):
            for layer in self.layers:
                if update_grid:
                    layer.update_grid(x)
                x = layer(x)
            return x

        def regularization_loss(self, regularize_activation=1.0, regularize_entropy=1.0):
            return sum(layer.regularization_loss(regularize_activation, regularize_entropy)
                       for layer in self.layers)

    return KAN()


def train_kan(torch, model, x, y, steps=5, grid_every=2):
    """LBFGS-free KAN fitting with AdamW: the grid refitted to the data every few steps."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-4)
    rows = []
    for step in range(steps):
        pred = model(x, update_grid=step % grid_every == 0)
        loss = torch.nn.functional.mse_loss(pred, y)
        reg = model.regularization_loss()
        optimizer.zero_grad()
        (loss + 1e-3 * reg).backward()
        optimizer.step()
        rows.append([loss.item(), reg.item()])
    return rows, _state(model)


def rainbow(torch, state_dim=4, action_space=3, atoms=5, hidden=8, std_init=0.5):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class NoisyLinear(nn.Module):
        def __init__(self, in_features, out_features):
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
            self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
            self.register_buffer("weight_epsilon", torch.empty(out_features, in_features))
            self.bias_mu = nn.Parameter(torch.empty(out_features))
            self.bias_sigma = nn.Parameter(torch.empty(out_features))
            self.register_buffer("bias_epsilon", torch.empty(out_features))
            self.reset_parameters()
            self.reset_noise()

        def reset_parameters(self):
            mu_range = 1 / math.sqrt(self.in_features)
            self.weight_mu.data.uniform_(-mu_range, mu_range)
            self.weight_sigma.data.fill_(std_init / math.sqrt(self.in_features))
            self.bias_mu.data.uniform_(-mu_range, mu_range)
            self.bias_sigma.data.fill_(std_init / math.sqrt(self.out_features))

        def _scale_noise(self, size):
            x = torch.randn(size)
            return x.sign().mul_(x.abs().sqrt_())

        def reset_noise(self):
            epsilon_in = self._scale_noise(self.in_features)
            epsilon_out = self._scale_noise(self.out_features)
            self.weight_epsilon.copy_(epsilon_out.ger(epsilon_in))
            self.bias_epsilon.copy_(epsilon_out)

        def forward(self, input):  # noqa: A002
            if self.training:
                return F.linear(input, self.weight_mu + self.weight_sigma * self.weight_epsilon,
                                self.bias_mu + self.bias_sigma * self.bias_epsilon)
            return F.linear(input, self.weight_mu, self.bias_mu)

    class DQN(nn.Module):
        def __init__(self):
            super().__init__()
            self.atoms, self.action_space = atoms, action_space
            self.fc = nn.Linear(state_dim, hidden)
            self.fc_h_v, self.fc_h_a = NoisyLinear(hidden, hidden), NoisyLinear(hidden, hidden)
            self.fc_z_v = NoisyLinear(hidden, atoms)
            self.fc_z_a = NoisyLinear(hidden, action_space * atoms)

        def forward(self, x, log=False):
            x = F.relu(self.fc(x))
            v = self.fc_z_v(F.relu(self.fc_h_v(x)))
            a = self.fc_z_a(F.relu(self.fc_h_a(x)))
            v, a = v.view(-1, 1, self.atoms), a.view(-1, self.action_space, self.atoms)
            q = v + a - a.mean(1, keepdim=True)
            return F.log_softmax(q, dim=2) if log else F.softmax(q, dim=2)

        def reset_noise(self):
            for name, module in self.named_children():
                if "fc_" in name:
                    module.reset_noise()

    return DQN()


def train_rainbow(torch, online_net, target_net, batches, v_min=-2.0, v_max=2.0, atoms=5,
                  discount=0.9, n=2, norm_clip=10.0):
    """Rainbow's ``Agent.learn`` over prepared batches (states, actions, returns, next states,
    nonterminals, importance weights); the new priorities are the per-sample losses."""
    support = torch.linspace(v_min, v_max, atoms).to(batches[0][0].dtype)
    delta_z = (v_max - v_min) / (atoms - 1)
    target_net.load_state_dict(online_net.state_dict())
    target_net.train()
    for param in target_net.parameters():
        param.requires_grad = False
    optimiser = torch.optim.Adam(online_net.parameters(), lr=1e-3, eps=1.5e-4)
    rows = []
    for step, (states, actions, returns, next_states, nonterminals, weights) in enumerate(batches):
        batch_size = states.shape[0]
        online_net.reset_noise()
        log_ps = online_net(states, log=True)
        log_ps_a = log_ps[range(batch_size), actions]
        with torch.no_grad():
            pns = online_net(next_states)
            dns = support.expand_as(pns) * pns
            argmax_indices_ns = dns.sum(2).argmax(1)
            target_net.reset_noise()
            pns = target_net(next_states)
            pns_a = pns[range(batch_size), argmax_indices_ns]
            Tz = returns.unsqueeze(1) + nonterminals * (discount ** n) * support.unsqueeze(0)  # noqa: N806
            Tz = Tz.clamp(min=v_min, max=v_max)  # noqa: N806
            b = (Tz - v_min) / delta_z
            l, u = b.floor().to(torch.int64), b.ceil().to(torch.int64)
            l[(u > 0) * (l == u)] -= 1
            u[(l < (atoms - 1)) * (l == u)] += 1
            m = states.new_zeros(batch_size, atoms)
            offset = torch.linspace(0, ((batch_size - 1) * atoms), batch_size).unsqueeze(1).expand(
                batch_size, atoms).to(actions)
            m.view(-1).index_add_(0, (l + offset).view(-1), (pns_a * (u.float() - b)).view(-1))
            m.view(-1).index_add_(0, (u + offset).view(-1), (pns_a * (b - l.float())).view(-1))
        loss = -torch.sum(m * log_ps_a, 1)
        online_net.zero_grad()
        (weights * loss).mean().backward()
        torch.nn.utils.clip_grad_norm_(online_net.parameters(), norm_clip)
        optimiser.step()
        if step % 2 == 1:
            target_net.load_state_dict(online_net.state_dict())
        rows.append([loss.detach().numpy().copy(), m.numpy().copy()])
    online_net.eval()
    with torch.no_grad():
        greedy = (online_net(batches[0][0]) * support).sum(2).argmax(1)
    return rows, greedy.numpy(), _state(online_net)


def mamba(torch, vocab_size=7, d_model=8, n_layer=1, d_state=4, expand=2, d_conv=3):
    nn = torch.nn
    F = nn.functional  # noqa: N806
    d_inner = expand * d_model
    dt_rank = math.ceil(d_model / 16)

    class RMSNorm(nn.Module):
        def __init__(self, d_model, eps=1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d_model))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class MambaBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.in_proj = nn.Linear(d_model, d_inner * 2, bias=False)
            self.conv1d = nn.Conv1d(d_inner, d_inner, bias=True, kernel_size=d_conv,
                                    groups=d_inner, padding=d_conv - 1)
            self.x_proj = nn.Linear(d_inner, dt_rank + d_state * 2, bias=False)
            self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
            A = torch.arange(1, d_state + 1).repeat(d_inner, 1)  # noqa: N806
            self.A_log = nn.Parameter(torch.log(A))
            self.D = nn.Parameter(torch.ones(d_inner))
            self.out_proj = nn.Linear(d_inner, d_model, bias=False)

        def forward(self, x):
            (b, l, d) = x.shape
            (x, res) = self.in_proj(x).split(split_size=[d_inner, d_inner], dim=-1)
            x = self.conv1d(x.transpose(1, 2))[:, :, :l].transpose(1, 2)
            x = F.silu(x)
            y = self.ssm(x) * F.silu(res)
            return self.out_proj(y)

        def ssm(self, x):
            (d_in, n) = self.A_log.shape
            A = -torch.exp(self.A_log.float())  # noqa: N806
            D = self.D.float()  # noqa: N806
            (delta, B, C) = self.x_proj(x).split(split_size=[dt_rank, n, n], dim=-1)  # noqa: N806
            delta = F.softplus(self.dt_proj(delta))
            return self.selective_scan(x, delta, A, B, C, D)

        def selective_scan(self, u, delta, A, B, C, D):  # noqa: N803
            (b, l, d_in) = u.shape
            n = A.shape[1]
            deltaA = torch.exp(torch.einsum("bld,dn->bldn", delta, A))  # noqa: N806
            deltaB_u = torch.einsum("bld,bln,bld->bldn", delta, B, u)  # noqa: N806
            x = torch.zeros((b, d_in, n))
            ys = []
            for i in range(l):
                x = deltaA[:, i] * x + deltaB_u[:, i]
                ys.append(torch.einsum("bdn,bn->bd", x, C[:, i, :]))
            return torch.stack(ys, dim=1) + u * D

    class ResidualBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.mixer = MambaBlock()
            self.norm = RMSNorm(d_model)

        def forward(self, x):
            return self.mixer(self.norm(x)) + x

    class Mamba(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, d_model)
            self.layers = nn.ModuleList([ResidualBlock() for _ in range(n_layer)])
            self.norm_f = RMSNorm(d_model)
            self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
            self.lm_head.weight = self.embedding.weight

        def forward(self, input_ids):
            x = self.embedding(input_ids)
            for layer in self.layers:
                x = layer(x)
            return self.lm_head(self.norm_f(x))

    return Mamba()


def train_mamba(torch, model, tokens, steps=4):
    """Next-token training with AdamW and gradient clipping; then greedy generation."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(steps):
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    ids = tokens[:1, :3]
    with torch.no_grad():
        for _ in range(3):
            next_id = model(ids)[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, next_id], dim=1)
    return losses, ids.numpy(), _state(model)
