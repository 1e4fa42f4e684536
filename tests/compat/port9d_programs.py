"""Three more public PyTorch programs written from memory, run with ``torch`` = PyTorch or
chainrule (test_port9_programs.py): allRank's listwise ranking losses (ListMLE by logcumsumexp
over ``flip(dims=[1])``, ListNet, NDCG@k, padded slates masked by -1 labels), a continuous
normalizing flow with the exact trace of the Jacobian by ``autograd.grad(is_grads_batched=True)``
and RK4 through it, and DINO (a tiny ViT whose position embedding is resampled per crop size by
bicubic ``interpolate(antialias=True)``, multi-crop views by antialiased downsampling, a
weight-normed last layer frozen in the first epoch, teacher centering and sharpening, an EMA
teacher).
"""

from __future__ import annotations

import math

PADDED_Y_VALUE = -1
DEFAULT_EPS = 1e-10


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def ranker(torch, n_features=5, hidden=8):
    nn = torch.nn
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, 1),
                         nn.Flatten(start_dim=-2))


def listMLE(torch, y_pred, y_true, eps=DEFAULT_EPS, padded_value_indicator=PADDED_Y_VALUE):  # noqa: N802
    random_indices = torch.arange(y_pred.shape[-1]).flip(dims=[0])  # a fixed "shuffle"
    y_pred_shuffled = y_pred[:, random_indices]
    y_true_shuffled = y_true[:, random_indices]
    y_true_sorted, indices = y_true_shuffled.sort(descending=True, dim=-1)
    mask = y_true_sorted == padded_value_indicator
    preds_sorted_by_true = torch.gather(y_pred_shuffled, dim=1, index=indices)
    preds_sorted_by_true[mask] = float("-inf")
    max_pred_values, _ = preds_sorted_by_true.max(dim=1, keepdim=True)
    preds_sorted_by_true_minus_max = preds_sorted_by_true - max_pred_values
    cumsums = torch.cumsum(preds_sorted_by_true_minus_max.exp().flip(dims=[1]), dim=1)
    cumsums = cumsums.flip(dims=[1])
    observation_loss = torch.log(cumsums + eps) - preds_sorted_by_true_minus_max
    observation_loss[mask] = 0.0
    by_logcumsumexp = torch.logcumsumexp(
        preds_sorted_by_true_minus_max.masked_fill(mask, float("-inf")).flip(dims=[1]),
        dim=1).flip(dims=[1])
    return torch.mean(torch.sum(observation_loss, dim=1)), by_logcumsumexp


def listNet(torch, y_pred, y_true, eps=DEFAULT_EPS, padded_value_indicator=PADDED_Y_VALUE):  # noqa: N802
    y_pred = y_pred.clone()
    y_true = y_true.clone()
    mask = y_true == padded_value_indicator
    y_pred[mask] = float("-inf")
    y_true[mask] = float("-inf")
    preds_smax = torch.nn.functional.softmax(y_pred, dim=1)
    true_smax = torch.nn.functional.softmax(y_true, dim=1)
    preds_smax = preds_smax + eps
    preds_log = torch.log(preds_smax)
    return torch.mean(-torch.sum(true_smax * preds_log, dim=1))


def ndcg(torch, y_pred, y_true, ats=None, gain_function=None,
         padding_indicator=PADDED_Y_VALUE):
    if gain_function is None:
        def gain_function(x):
            return torch.pow(2, x) - 1
    y_true = y_true.clone()
    y_pred = y_pred.clone()
    mask = y_true == padding_indicator
    y_pred[mask] = float("-inf")
    y_true[mask] = 0.0
    _, indices = y_pred.sort(descending=True, dim=-1)
    true_sorted_by_preds = torch.gather(y_true, dim=1, index=indices)
    ideal, _ = y_true.sort(descending=True, dim=-1)
    discounts = torch.tensor(1) / torch.log2(
        torch.arange(true_sorted_by_preds.shape[1], dtype=torch.float) + 2.0)
    dcg = torch.cumsum(gain_function(true_sorted_by_preds) * discounts, dim=1)
    idcg = torch.cumsum(gain_function(ideal) * discounts, dim=1)
    k = torch.tensor(ats) - 1
    return (dcg[:, k] / idcg[:, k]).masked_fill(idcg[:, k] == 0, 0.0)


def train_ranker(torch, model, x, y, steps=4):
    """Slates (B, L, F) with graded labels, -1 marking padding: ListMLE, then ListNet, by Adam;
    NDCG@1,3 of the final scores."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    rows = []
    for step in range(steps):
        scores = model(x)
        mle, by_lcse = listMLE(torch, scores, y)
        loss = mle if step % 2 == 0 else listNet(torch, scores, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rows.append([loss.item(), mle.item()])
    with torch.no_grad():
        scores = model(x)
        metric = ndcg(torch, scores, y, ats=[1, 3])
    return rows, by_lcse.detach().numpy(), metric.numpy(), _state(model)


def cnf(torch, dim=2, hidden=8):
    nn = torch.nn

    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(dim + 1, hidden), nn.Tanh(),
                                     nn.Linear(hidden, hidden), nn.Tanh(),
                                     nn.Linear(hidden, dim))

        def forward(self, t, states):
            z = states[0]
            with torch.set_grad_enabled(True):
                z.requires_grad_(True)
                tz = torch.cat([torch.ones_like(z[:, :1]) * t, z], dim=1)
                dz_dt = self.net(tz)
                eye = torch.eye(dim, dtype=z.dtype)
                eye = eye.unsqueeze(1).expand(dim, z.shape[0], dim)
                jac_rows = torch.autograd.grad(dz_dt, z, eye, create_graph=True,
                                               is_grads_batched=True)[0]
                trace = torch.einsum("ibi->b", jac_rows)
            return dz_dt, -trace.view(-1, 1)

    return ODEFunc()


def train_cnf(torch, func, x, steps=3, n_steps=3, t1=0.5):
    """Maximum likelihood: integrate (z, log p) from the data at t1 back to t0 = 0 with RK4,
    log p(x) = log N(z(0)) - delta log p, Adam on the negative mean."""
    def rk4(func, z, logp, t0, t1):
        h = (t1 - t0) / n_steps
        t = t0
        for _ in range(n_steps):
            k1 = func(t, (z, logp))
            k2 = func(t + h / 2, (z + h / 2 * k1[0], logp + h / 2 * k1[1]))
            k3 = func(t + h / 2, (z + h / 2 * k2[0], logp + h / 2 * k2[1]))
            k4 = func(t + h, (z + h * k3[0], logp + h * k3[1]))
            z = z + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            logp = logp + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            t = t + h
        return z, logp

    prior = torch.distributions.MultivariateNormal(torch.zeros(2, dtype=x.dtype),
                                                   torch.eye(2, dtype=x.dtype))
    optimizer = torch.optim.Adam(func.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        z0, delta_logp = rk4(func, x, torch.zeros(x.shape[0], 1, dtype=x.dtype), t1, 0.0)
        logp_x = prior.log_prob(z0) - delta_logp.view(-1)
        loss = -logp_x.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, _state(func)


def dino(torch, patch=2, dim=8, depth=1, heads=2, out_dim=6, img=8):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.norm2 = nn.LayerNorm(dim, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    class VisionTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.zeros(1, (img // patch) ** 2 + 1, dim))
            self.blocks = nn.ModuleList([Block() for _ in range(depth)])
            self.norm = nn.LayerNorm(dim, eps=1e-6)

        def interpolate_pos_encoding(self, x, w, h):
            npatch = x.shape[1] - 1
            N = self.pos_embed.shape[1] - 1  # noqa: N806
            if npatch == N and w == h:
                return self.pos_embed
            class_pos_embed = self.pos_embed[:, 0]
            patch_pos_embed = self.pos_embed[:, 1:]
            w0, h0 = w // patch, h // patch
            side = int(math.sqrt(N))
            patch_pos_embed = F.interpolate(
                patch_pos_embed.reshape(1, side, side, dim).permute(0, 3, 1, 2),
                size=(w0, h0), mode="bicubic", antialias=True)
            patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
            return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

        def forward(self, x):
            B, nc, w, h = x.shape  # noqa: N806
            x = self.patch_embed(x).flatten(2).transpose(1, 2)
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
            x = x + self.interpolate_pos_encoding(x, w, h)
            for blk in self.blocks:
                x = blk(x)
            return self.norm(x)[:, 0]

    class DINOHead(nn.Module):
        def __init__(self, bottleneck_dim=4):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                     nn.Linear(2 * dim, bottleneck_dim))
            self.last_layer = nn.utils.parametrizations.weight_norm(
                nn.Linear(bottleneck_dim, out_dim, bias=False))
            self.last_layer.parametrizations.weight.original0.data.fill_(1)
            self.last_layer.parametrizations.weight.original0.requires_grad = False

        def forward(self, x):
            x = nn.functional.normalize(self.mlp(x), dim=-1, p=2)
            return self.last_layer(x)

    class MultiCropWrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = VisionTransformer(), DINOHead()

        def forward(self, x):
            idx_crops = torch.cumsum(torch.unique_consecutive(
                torch.tensor([inp.shape[-1] for inp in x]), return_counts=True)[1], 0)
            start_idx, output = 0, []
            for end_idx in idx_crops:
                output.append(self.backbone(torch.cat(x[start_idx:end_idx])))
                start_idx = end_idx
            return self.head(torch.cat(output))

    return MultiCropWrapper()


def train_dino(torch, student, teacher, images, steps=3, out_dim=6, local_size=4):
    """Two global views (the image and its flip) and two local ones (antialiased shrinks of
    corners); DINOLoss with a centre updated by EMA; the last layer's gradients cancelled in the
    first epoch; the teacher an EMA of the student with a cosine momentum schedule."""
    F = torch.nn.functional  # noqa: N806
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    center = torch.zeros(1, out_dim, dtype=images.dtype)
    student_temp, teacher_temp, center_momentum = 0.1, 0.04, 0.9
    params_groups = [{"params": [p for n, p in student.named_parameters()
                                 if p.requires_grad and not (n.endswith(".bias") or p.ndim == 1)]},
                     {"params": [p for n, p in student.named_parameters()
                                 if p.requires_grad and (n.endswith(".bias") or p.ndim == 1)],
                      "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(params_groups, lr=5e-3, weight_decay=0.04)
    momentum_schedule = [1 - (1 - 0.9) * (math.cos(math.pi * i / steps) + 1) / 2
                         for i in range(steps)]
    rows = []
    for it in range(steps):
        half = images.shape[-1] // 2
        globals_ = [images, images.flip(dims=[3])]
        locals_ = [F.interpolate(images[..., :half + 2, :half + 2], size=(local_size,) * 2,
                                 mode="bilinear", antialias=True),
                   F.interpolate(images[..., half - 2:, half - 2:], size=(local_size,) * 2,
                                 mode="bicubic", antialias=True)]
        teacher_output = teacher(globals_)
        student_output = student(globals_ + locals_)
        student_out = (student_output / student_temp).chunk(4)
        teacher_out = F.softmax((teacher_output - center) / teacher_temp, dim=-1).detach()
        teacher_out = teacher_out.chunk(2)
        total_loss, n_loss_terms = 0, 0
        for iq, q in enumerate(teacher_out):
            for v in range(len(student_out)):
                if v == iq:
                    continue
                loss = torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1)
                total_loss += loss.mean()
                n_loss_terms += 1
        total_loss /= n_loss_terms
        with torch.no_grad():
            batch_center = torch.sum(teacher_output, dim=0, keepdim=True) / len(teacher_output)
            center = center * center_momentum + batch_center * (1 - center_momentum)
        optimizer.zero_grad()
        total_loss.backward()
        if it < 1:
            for n, p in student.named_parameters():
                if "last_layer" in n:
                    p.grad = None
        optimizer.step()
        with torch.no_grad():
            m = momentum_schedule[it]
            for param_q, param_k in zip(student.parameters(), teacher.parameters()):
                param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)
        rows.append([total_loss.item(), m])
    return rows, center.numpy(), _state(student), _state(teacher)
