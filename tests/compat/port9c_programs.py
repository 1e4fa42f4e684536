"""Four more public PyTorch programs written from memory, run with ``torch`` = PyTorch or
chainrule (test_port9_programs.py): a growing neural cellular automaton (Sobel perception as a
depthwise conv, stochastic updates, alive masks by max-pooling, per-parameter gradient
normalization), Barlow Twins (in-place ops on a diagonal view of the cross-correlation, the
off-diagonal view trick and a hand-written LARS optimizer), an S4D layer (a complex diagonal
state-space kernel by Vandermonde products, an FFT convolution) and Transformer-XL's relative
attention (the padded-view relative shift, a memory of detached hidden states).
"""

from __future__ import annotations

import math

import numpy as np


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def nca(torch, channel_n=6, fire_rate=0.5, hidden_size=16):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class CAModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.channel_n, self.fire_rate = channel_n, fire_rate
            self.fc0 = nn.Linear(channel_n * 3, hidden_size)
            self.fc1 = nn.Linear(hidden_size, channel_n, bias=False)
            with torch.no_grad():
                self.fc1.weight.zero_()

        def alive(self, x):
            return F.max_pool2d(x[:, 3:4, :, :], kernel_size=3, stride=1, padding=1) > 0.1

        def perceive(self, x, angle):
            def _perceive_with(x, weight):
                conv_weights = torch.from_numpy(weight.astype(np.float32))
                conv_weights = conv_weights.view(1, 1, 3, 3).repeat(self.channel_n, 1, 1, 1)
                return F.conv2d(x, conv_weights, padding=1, groups=self.channel_n)

            dx = np.outer([1, 2, 1], [-1, 0, 1]) / 8.0
            dy = dx.T
            c, s = np.cos(angle * np.pi / 180), np.sin(angle * np.pi / 180)
            y1 = _perceive_with(x, c * dx - s * dy)
            y2 = _perceive_with(x, s * dx + c * dy)
            return torch.cat((x, y1, y2), 1)

        def update(self, x, fire_rate, angle):
            x = x.transpose(1, 3)
            pre_life_mask = self.alive(x)
            dx = self.perceive(x, angle)
            dx = dx.transpose(1, 3)
            dx = self.fc1(F.relu(self.fc0(dx)))
            if fire_rate is None:
                fire_rate = self.fire_rate
            stochastic = torch.rand([dx.size(0), dx.size(1), dx.size(2), 1]) > fire_rate
            dx = dx * stochastic.float()
            x = x + dx.transpose(1, 3)
            post_life_mask = self.alive(x)
            life_mask = (pre_life_mask & post_life_mask).float()
            return (x * life_mask).transpose(1, 3)

        def forward(self, x, steps=1, fire_rate=None, angle=0.0):
            for _ in range(steps):
                x = self.update(x, fire_rate, angle)
            return x

    return CAModel()


def train_nca(torch, ca, seed, target, steps=3, ca_steps=4, channel_n=6):
    """The growing-NCA training loop: a batch of seeds grown for a few CA steps, MSE of the
    RGBA channels to the target, each parameter's gradient divided by its norm, Adam with
    MultiStepLR; a pool sample replaced by the seed."""
    optimizer = torch.optim.Adam(ca.parameters(), lr=2e-3, betas=(0.5, 0.5))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [2], 0.3)
    pool = np.repeat(seed[None, ...], 3, 0)
    rows = []
    for _ in range(steps):
        x0 = torch.from_numpy(pool.astype(np.float32))
        x = ca(x0, steps=ca_steps)
        loss = torch.nn.functional.mse_loss(x[..., :4], target.expand(x.shape[0], -1, -1, -1))
        optimizer.zero_grad()
        loss.backward()
        for p in ca.parameters():
            p.grad.data = p.grad.data / (torch.norm(p.grad.data) + 1e-8)
        optimizer.step()
        scheduler.step()
        pool = x.detach().numpy()
        pool[0] = seed
        rows.append([loss.item(), scheduler.get_last_lr()[0]])
    alive = ca.alive(torch.from_numpy(pool).transpose(1, 3)).float().sum().item()
    return rows, pool, alive, _state(ca)


def barlow_twins(torch, in_dim=6, sizes=(8, 12, 12), lambd=0.05):
    nn = torch.nn

    def off_diagonal(x):
        n, m = x.shape
        assert n == m
        return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()

    class BarlowTwins(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(in_dim, sizes[0]), nn.ReLU())
            layers = []
            for i in range(len(sizes) - 2):
                layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=False))
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
            self.projector = nn.Sequential(*layers)
            self.bn = nn.BatchNorm1d(sizes[-1], affine=False)

        def forward(self, y1, y2):
            z1 = self.projector(self.backbone(y1))
            z2 = self.projector(self.backbone(y2))
            c = self.bn(z1).T @ self.bn(z2)
            c.div_(y1.shape[0])
            on_diag = torch.diagonal(c).add_(-1).pow_(2).sum()
            off_diag = off_diagonal(c).pow_(2).sum()
            return on_diag + lambd * off_diag

    return BarlowTwins()


def train_barlow_twins(torch, model, views, base_lr=0.2, warmup=2):
    optim = torch.optim

    class LARS(optim.Optimizer):
        def __init__(self, params, lr, weight_decay=0, momentum=0.9, eta=0.001,
                     weight_decay_filter=None, lars_adaptation_filter=None):
            defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, eta=eta,
                            weight_decay_filter=weight_decay_filter,
                            lars_adaptation_filter=lars_adaptation_filter)
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self):
            for g in self.param_groups:
                for p in g["params"]:
                    dp = p.grad
                    if dp is None:
                        continue
                    if g["weight_decay_filter"] is None or not g["weight_decay_filter"](p):
                        dp = dp.add(p, alpha=g["weight_decay"])
                    if g["lars_adaptation_filter"] is None or not g["lars_adaptation_filter"](p):
                        param_norm = torch.norm(p)
                        update_norm = torch.norm(dp)
                        one = torch.ones_like(param_norm)
                        q = torch.where(param_norm > 0.,
                                        torch.where(update_norm > 0,
                                                    (g["eta"] * param_norm / update_norm), one),
                                        one)
                        dp = dp.mul(q)
                    param_state = self.state[p]
                    if "mu" not in param_state:
                        param_state["mu"] = torch.zeros_like(p)
                    mu = param_state["mu"]
                    mu.mul_(g["momentum"]).add_(dp)
                    p.add_(mu, alpha=-g["lr"])

    def exclude_bias_and_norm(p):
        return p.ndim == 1

    param_weights = [p for p in model.parameters() if p.ndim != 1]
    param_biases = [p for p in model.parameters() if p.ndim == 1]
    parameters = [{"params": param_weights}, {"params": param_biases}]
    optimizer = LARS(parameters, lr=0, weight_decay=1e-4,
                     weight_decay_filter=exclude_bias_and_norm,
                     lars_adaptation_filter=exclude_bias_and_norm)
    rows = []
    for step, (y1, y2) in enumerate(views):
        if step < warmup:
            lr = base_lr * (step + 1) / warmup
        else:
            q = 0.5 * (1 + math.cos(math.pi * (step - warmup) / (len(views) - warmup)))
            lr = base_lr * (q + 0.001 * (1 - q))
        optimizer.param_groups[0]["lr"] = lr
        optimizer.param_groups[1]["lr"] = lr * 0.1
        loss = model.forward(y1, y2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        rows.append([loss.item(), lr])
    return rows, _state(model)


def s4d(torch, d_model=4, d_state=6, n_classes=3, dt_min=0.01, dt_max=0.1):
    nn = torch.nn

    class S4DKernel(nn.Module):
        def __init__(self, h, n):
            super().__init__()
            log_dt = torch.rand(h) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
            C = torch.randn(h, n // 2, dtype=torch.cfloat)  # noqa: N806
            self.C = nn.Parameter(torch.view_as_real(C))
            self.log_dt = nn.Parameter(log_dt)
            self.log_A_real = nn.Parameter(torch.log(0.5 * torch.ones(h, n // 2)))
            self.A_imag = nn.Parameter(math.pi * torch.arange(n // 2).float().repeat(h, 1))

        def forward(self, L):  # noqa: N803
            dt = torch.exp(self.log_dt)
            C = torch.view_as_complex(self.C)  # noqa: N806
            A = -torch.exp(self.log_A_real) + 1j * self.A_imag  # noqa: N806
            dtA = A * dt.unsqueeze(-1)  # noqa: N806
            K = dtA.unsqueeze(-1) * torch.arange(L, device=A.device)  # noqa: N806
            C = C * (torch.exp(dtA) - 1.) / A  # noqa: N806
            return 2 * torch.einsum("hn, hnl -> hl", C, torch.exp(K)).real

    class S4D(nn.Module):
        def __init__(self):
            super().__init__()
            self.D = nn.Parameter(torch.randn(d_model))
            self.kernel = S4DKernel(d_model, d_state)
            self.activation = nn.GELU()
            self.output_linear = nn.Sequential(nn.Conv1d(d_model, 2 * d_model, kernel_size=1),
                                               nn.GLU(dim=-2))

        def forward(self, u):
            L = u.size(-1)  # noqa: N806
            k = self.kernel(L=L)
            k_f = torch.fft.rfft(k, n=2 * L)
            u_f = torch.fft.rfft(u, n=2 * L)
            y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
            y = y + u * self.D.unsqueeze(-1)
            return self.output_linear(self.activation(y))

    class S4Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(1, d_model)
            self.layer = S4D()
            self.norm = nn.LayerNorm(d_model)
            self.decoder = nn.Linear(d_model, n_classes)

        def forward(self, x):
            x = self.encoder(x).transpose(-1, -2)
            z = self.layer(x)
            x = self.norm((z + x).transpose(-1, -2))
            return self.decoder(x.mean(dim=1))

    return S4Model()


def train_s4d(torch, model, x, y, steps=4):
    """AdamW with the SSM parameters in their own group (no weight decay, a smaller lr), as
    the S4 example's setup_optimizer, and CosineAnnealingLR."""
    ssm = [p for n, p in model.named_parameters() if "kernel" in n]
    rest = [p for n, p in model.named_parameters() if "kernel" not in n]
    optimizer = torch.optim.AdamW([{"params": rest},
                                   {"params": ssm, "lr": 1e-3, "weight_decay": 0.0}],
                                  lr=1e-2, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    with torch.no_grad():
        kernel = model.layer.kernel(L=x.shape[1])
    return losses, kernel.numpy(), _state(model)


def transformer_xl(torch, d_model=8, n_head=2, d_head=4, n_token=9, mem_len=4):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class RelMultiHeadAttn(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv_net = nn.Linear(d_model, 3 * n_head * d_head, bias=False)
            self.r_net = nn.Linear(d_model, n_head * d_head, bias=False)
            self.o_net = nn.Linear(n_head * d_head, d_model, bias=False)
            self.layer_norm = nn.LayerNorm(d_model)
            self.r_w_bias = nn.Parameter(torch.zeros(n_head, d_head))
            self.r_r_bias = nn.Parameter(torch.zeros(n_head, d_head))
            self.scale = 1 / (d_head ** 0.5)

        def _rel_shift(self, x):
            zero_pad = torch.zeros((x.size(0), 1, *x.size()[2:]), device=x.device, dtype=x.dtype)
            x_padded = torch.cat([zero_pad, x], dim=1)
            x_padded = x_padded.view(x.size(1) + 1, x.size(0), *x.size()[2:])
            return x_padded[1:].view_as(x)

        def forward(self, w, r, attn_mask, mems=None):
            qlen, rlen, bsz = w.size(0), r.size(0), w.size(1)
            cat = torch.cat([mems, w], 0) if mems is not None else w
            w_heads = self.qkv_net(cat)
            r_head_k = self.r_net(r)
            w_head_q, w_head_k, w_head_v = torch.chunk(w_heads, 3, dim=-1)
            w_head_q = w_head_q[-qlen:]
            klen = w_head_k.size(0)
            w_head_q = w_head_q.view(qlen, bsz, n_head, d_head)
            w_head_k = w_head_k.view(klen, bsz, n_head, d_head)
            w_head_v = w_head_v.view(klen, bsz, n_head, d_head)
            r_head_k = r_head_k.view(rlen, n_head, d_head)
            ac = torch.einsum("ibnd,jbnd->ijbn", (w_head_q + self.r_w_bias, w_head_k))
            bd = torch.einsum("ibnd,jnd->ijbn", (w_head_q + self.r_r_bias, r_head_k))
            bd = self._rel_shift(bd)
            attn_score = (ac + bd) * self.scale
            attn_score = attn_score.float().masked_fill(attn_mask[:, :, None, None],
                                                        -float("inf")).type_as(attn_score)
            attn_prob = F.softmax(attn_score, dim=1)
            attn_vec = torch.einsum("ijbn,jbnd->ibnd", (attn_prob, w_head_v))
            attn_vec = attn_vec.contiguous().view(qlen, bsz, n_head * d_head)
            return self.layer_norm(w + self.o_net(attn_vec))

    class PositionalEmbedding(nn.Module):
        def __init__(self):
            super().__init__()
            inv_freq = 1 / (10000 ** (torch.arange(0.0, d_model, 2.0) / d_model))
            self.register_buffer("inv_freq", inv_freq)

        def forward(self, pos_seq):
            sinusoid_inp = torch.ger(pos_seq, self.inv_freq)
            return torch.cat([sinusoid_inp.sin(), sinusoid_inp.cos()], dim=-1)[:, None, :]

    class MemTransformerLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_emb = nn.Embedding(n_token, d_model)
            self.pos_emb = PositionalEmbedding()
            self.layers = nn.ModuleList([RelMultiHeadAttn() for _ in range(2)])
            self.out = nn.Linear(d_model, n_token)

        def forward(self, data, target, mems):
            qlen, bsz = data.size()
            mlen = mems[0].size(0) if mems else 0
            klen = mlen + qlen
            word_emb = self.word_emb(data)
            dec_attn_mask = torch.triu(word_emb.new_ones(qlen, klen), diagonal=1 + mlen).bool()
            pos_seq = torch.arange(klen - 1, -1, -1.0, dtype=word_emb.dtype)
            pos_emb = self.pos_emb(pos_seq)
            hids, core_out = [word_emb], word_emb
            for i, layer in enumerate(self.layers):
                core_out = layer(core_out, pos_emb, dec_attn_mask, mems[i] if mems else None)
                hids.append(core_out)
            with torch.no_grad():
                new_mems = [torch.cat([m, h], 0)[-mem_len:].detach() if mems else
                            h[-mem_len:].detach() for m, h in zip(mems or hids, hids)]
            logits = self.out(core_out)
            loss = F.cross_entropy(logits.view(-1, n_token), target.reshape(-1))
            return loss, new_mems

    return MemTransformerLM()


def train_transformer_xl(torch, model, stream, tgt_len=3, clip=0.25):
    """Segments of a (T, B) stream in order, the memory carried across segments."""
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    mems, losses = None, []
    for i in range(0, stream.size(0) - 1 - tgt_len + 1, tgt_len):
        data, target = stream[i:i + tgt_len], stream[i + 1:i + 1 + tgt_len]
        loss, mems = model(data, target, mems)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
    return losses, [m.numpy() for m in mems], _state(model)
