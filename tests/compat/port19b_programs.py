"""Wave-19 ports, part two, run with ``torch`` = PyTorch or chainrule (test_port19b_programs.py).

Quantization-aware training written by hand as the QAT tutorials do it (a moving-average
min/max observer in ``register_buffer`` s with uint8 enable flags, ``calculate_qparams`` by
``torch.finfo(torch.float32).eps`` and ``.to(torch.int)``, activations through
``torch.fake_quantize_per_tensor_affine``, symmetric per-channel weights through
``torch.fake_quantize_per_channel_affine``, LSQ's ``grad_scale``/``round_pass`` detach tricks,
observers frozen by ``model.apply``, a state-dict round trip); PCGrad's gradient surgery
(per-task ``backward(retain_graph=True)``, flattened gradients with ``zeros_like`` for the
other task's head, projections by ``torch.dot``, ``p.grad`` written back from slices); HRNet's
OHEM cross-entropy (``ignore_index`` pixels, ``gather`` of the softmax at the target, a sorted
threshold, hard pixels kept); and CBAM (channel attention over average, max, ``lp_pool2d`` and
log-sum-exp pooling, spatial attention over a channel max/mean pool).
"""

from __future__ import annotations

import math


def _np(t):
    return t.detach().numpy().copy()


# ---- quantization-aware training by hand ----
def qat_mlp(torch, d_in=4, hidden=8, classes=3):
    nn = torch.nn

    class MinMaxFakeQuant(nn.Module):
        def __init__(self, quant_min=0, quant_max=255, averaging_constant=0.1):
            super().__init__()
            self.quant_min, self.quant_max = quant_min, quant_max
            self.averaging_constant = averaging_constant
            self.register_buffer("min_val", torch.tensor(float("inf")))
            self.register_buffer("max_val", torch.tensor(float("-inf")))
            self.register_buffer("observer_enabled", torch.tensor([1], dtype=torch.uint8))
            self.register_buffer("fake_quant_enabled", torch.tensor([1], dtype=torch.uint8))

        def calculate_qparams(self):
            min_neg = torch.min(self.min_val, torch.zeros_like(self.min_val))
            max_pos = torch.max(self.max_val, torch.zeros_like(self.max_val))
            scale = (max_pos - min_neg) / float(self.quant_max - self.quant_min)
            scale = torch.max(scale, torch.tensor(torch.finfo(torch.float32).eps))
            zero_point = self.quant_min - torch.round(min_neg / scale).to(torch.int)
            return scale, torch.clamp(zero_point, self.quant_min, self.quant_max)

        def forward(self, x):
            if self.observer_enabled[0] == 1:
                min_now, max_now = torch.aminmax(x.detach())
                if self.min_val == float("inf"):
                    self.min_val.copy_(min_now)
                    self.max_val.copy_(max_now)
                else:
                    self.min_val.add_(self.averaging_constant * (min_now - self.min_val))
                    self.max_val.lerp_(max_now, self.averaging_constant)
            if self.fake_quant_enabled[0] == 1:
                scale, zero_point = self.calculate_qparams()
                x = torch.fake_quantize_per_tensor_affine(
                    x, scale.item(), int(zero_point), self.quant_min, self.quant_max
                )
            return x

    class QATLinear(nn.Linear):  # symmetric int8 weights, one scale per output row
        def forward(self, x):
            scale = self.weight.detach().abs().amax(dim=1).clamp(min=1e-8) / 127.0
            zero_point = torch.zeros(self.out_features, dtype=torch.int32)
            w = torch.fake_quantize_per_channel_affine(
                self.weight, scale.float(), zero_point, 0, -127, 127
            )
            return torch.nn.functional.linear(x, w, self.bias)

    def grad_scale(x, scale):
        y_grad = x * scale
        return (x - y_grad).detach() + y_grad

    def round_pass(x):
        return (x.round() - x).detach() + x

    class LSQReLU(nn.Module):  # learned step size, unsigned 4 bits
        def __init__(self, bits=4):
            super().__init__()
            self.qp = 2**bits - 1
            self.s = nn.Parameter(torch.tensor(0.25))

        def forward(self, x):
            g = 1.0 / math.sqrt(x.numel() * self.qp)
            s = grad_scale(self.s, g)
            return round_pass((x / s).clamp(0, self.qp)) * s

    return nn.Sequential(
        MinMaxFakeQuant(),
        QATLinear(d_in, hidden),
        LSQReLU(),
        QATLinear(hidden, hidden),
        nn.ReLU(),
        MinMaxFakeQuant(),
        QATLinear(hidden, classes),
    )


def train_qat(torch, model, fresh, x, y, steps=5, freeze_at=3):
    def disable_observer(mod):
        if hasattr(mod, "observer_enabled"):
            mod.observer_enabled[0] = 0

    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    losses, ranges = [], []
    for step in range(steps):
        if step == freeze_at:
            model.apply(disable_observer)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        ranges.append(
            [
                model[0].min_val.item(),
                model[0].max_val.item(),
                model[5].min_val.item(),
                model[5].max_val.item(),
            ]
        )
    model.eval()
    with torch.no_grad():
        out = model(x)
    fresh.load_state_dict(model.state_dict())
    fresh.eval()
    with torch.no_grad():
        reloaded = fresh(x)
    return {
        "losses": losses,
        "ranges": ranges,
        "out": _np(out),
        "reloaded": _np(reloaded),
        "step_size": model[2].s.item(),
        "flags": [_np(model[0].observer_enabled), _np(fresh[5].fake_quant_enabled)],
        "flag_dtype": str(fresh[0].observer_enabled.dtype).split(".")[-1],
        "state": {k: _np(v) for k, v in model.state_dict().items()},
    }


# ---- PCGrad ----
def two_task_net(torch, d_in=4, hidden=6):
    nn = torch.nn

    class TwoTask(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh())
            self.head_a = nn.Linear(hidden, 1)
            self.head_b = nn.Linear(hidden, 2)

        def forward(self, x):
            h = self.trunk(x)
            return self.head_a(h), self.head_b(h)

    return TwoTask()


def train_pcgrad(torch, model, x, y_reg, y_cls, steps=4):
    F = torch.nn.functional
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    params = list(model.parameters())
    history, conflicts = [], []
    for step in range(steps):
        out_a, out_b = model(x)
        task_losses = [F.mse_loss(out_a, y_reg), F.cross_entropy(out_b, y_cls)]
        grads = []
        for loss in task_losses:
            opt.zero_grad(set_to_none=True)
            loss.backward(retain_graph=True)
            grads.append(
                torch.cat(
                    [
                        (p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                        for p in params
                    ]
                )
            )
        projected = [g.clone() for g in grads]
        n_conflicts = 0
        for i, g_i in enumerate(projected):
            for j in [1, 0] if step % 2 else [0, 1]:  # random.shuffle, fixed here
                if j == i:
                    continue
                g_j = grads[j]
                dot = torch.dot(g_i, g_j)
                if dot < 0:
                    g_i -= dot * g_j / (g_j.norm() ** 2)
                    n_conflicts += 1
        merged = torch.stack(projected).sum(dim=0)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = merged[offset : offset + n].view_as(p).clone()
            offset += n
        opt.step()
        history.append([loss.item() for loss in task_losses])
        conflicts.append(n_conflicts)
    return {
        "history": history,
        "conflicts": conflicts,
        "params": {n: _np(p) for n, p in model.named_parameters()},
    }


# ---- HRNet's OHEM cross-entropy ----
class OhemCrossEntropy:
    def __init__(self, torch, ignore_label=255, thres=0.7, min_kept=6, weight=None):
        self.torch, self.thresh = torch, thres
        self.min_kept, self.ignore_label = max(1, min_kept), ignore_label
        self.criterion = torch.nn.CrossEntropyLoss(
            weight=weight, ignore_index=ignore_label, reduction="none"
        )

    def __call__(self, score, target):
        torch = self.torch
        pred = torch.nn.functional.softmax(score, dim=1)
        pixel_losses = self.criterion(score, target).contiguous().view(-1)
        mask = target.contiguous().view(-1) != self.ignore_label
        tmp_target = target.clone()
        tmp_target[tmp_target == self.ignore_label] = 0
        pred = pred.gather(1, tmp_target.unsqueeze(1))
        pred, ind = pred.contiguous().view(-1)[mask].contiguous().sort()
        min_value = pred[min(self.min_kept, pred.numel() - 1)]
        threshold = max(min_value, self.thresh)
        pixel_losses = pixel_losses[mask][ind]
        pixel_losses = pixel_losses[pred < threshold]
        return pixel_losses.mean(), pixel_losses.numel()


def seg_head(torch, c_in=3, classes=4):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(c_in, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, classes, 1)
    )


def train_ohem(torch, model, images, target, steps=3):
    weight = torch.tensor([1.0, 0.5, 2.0, 1.0], dtype=images.dtype)
    criterion = OhemCrossEntropy(torch, thres=0.3, min_kept=5, weight=weight)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    losses, kept = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss, n = criterion(model(images), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        kept.append(n)
    return {
        "losses": losses,
        "kept": kept,
        "state": {k: _np(v) for k, v in model.state_dict().items()},
    }


# ---- CBAM ----
def cbam_net(torch, c=8, reduction=4, classes=3):
    nn = torch.nn
    F = torch.nn.functional

    def logsumexp_2d(tensor):
        flat = tensor.view(tensor.size(0), tensor.size(1), -1)
        s, _ = torch.max(flat, dim=2, keepdim=True)
        return s + (flat - s).exp().sum(dim=2, keepdim=True).log()

    class ChannelGate(nn.Module):
        def __init__(self, pool_types=("avg", "max", "lp", "lse")):
            super().__init__()
            self.mlp = nn.Sequential(
                nn.Flatten(), nn.Linear(c, c // reduction), nn.ReLU(), nn.Linear(c // reduction, c)
            )
            self.pool_types = pool_types

        def forward(self, x):
            channel_att_sum = None
            size = (x.size(2), x.size(3))
            for pool_type in self.pool_types:
                if pool_type == "avg":
                    pool = F.avg_pool2d(x, size, stride=size)
                elif pool_type == "max":
                    pool = F.max_pool2d(x, size, stride=size)
                elif pool_type == "lp":
                    pool = F.lp_pool2d(x, 2, size, stride=size)
                else:
                    pool = logsumexp_2d(x)
                raw = self.mlp(pool)
                channel_att_sum = raw if channel_att_sum is None else channel_att_sum + raw
            scale = torch.sigmoid(channel_att_sum).unsqueeze(2).unsqueeze(3).expand_as(x)
            return x * scale

    class SpatialGate(nn.Module):
        def __init__(self, kernel_size=7):
            super().__init__()
            self.conv = nn.Conv2d(2, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)
            self.bn = nn.BatchNorm2d(1, eps=1e-5, momentum=0.01, affine=True)

        def forward(self, x):
            x_compress = torch.cat(
                (torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1
            )
            return x * torch.sigmoid(self.bn(self.conv(x_compress)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, c, 3, padding=1)
            self.cbam = nn.Sequential(ChannelGate(), SpatialGate())
            self.fc = nn.Linear(c, classes)

        def forward(self, x):
            x = F.relu(self.stem(x))
            x = x + self.cbam(x)
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    return Net()


def train_cbam(torch, model, x, y, steps=3):
    opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.05)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "state": {k: _np(v) for k, v in model.state_dict().items()}}
