"""Wave-18 ports, part four, run with ``torch`` = PyTorch or chainrule (test_port18d_programs.py).

PyTorch's automatic-mixed-precision recipe as a CPU run writes it (``torch.autocast(...,
enabled=False)``, ``torch.amp.GradScaler("cpu", enabled=False)``, ``scaler.unscale_`` before
``clip_grad_norm_``, ``zero_grad(set_to_none=True)``); a multi-task model of cells
(``Bilinear``, ``Unflatten``, ``RNNCell(nonlinearity="relu")``, ``GRUCell``, ``LSTMCell`` stepped
by hand, heads in a ``ModuleDict``); cross-attention from queries to memories of other widths
(``MultiheadAttention(kdim=, vdim=, add_bias_kv=True, add_zero_attn=True)``, a padding mask,
per-head weights by ``average_attn_weights=False``); and a tagger over packed sequences with a
projected bidirectional ``LSTM(proj_size=)`` (``pack_sequence(enforce_sorted=False)``,
``pad_packed_sequence(total_length=)``, ``unpack_sequence``).
"""

from __future__ import annotations


def _np(t):
    return t.detach().numpy().copy()


# ---- the AMP recipe, run on a CPU with AMP switched off ----
def amp_recipe(torch, model, x, y, epochs=3, use_amp=False):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", enabled=use_amp)
    losses, norms = [], []
    for _ in range(epochs):
        with torch.autocast(device_type="cpu", dtype=torch.float16, enabled=use_amp):
            output = model(x)
            loss = torch.nn.functional.cross_entropy(output, y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)  # so that the clip sees the true gradients
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5).item())
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                  "scaler": scaler.state_dict()}
    return {"losses": losses, "norms": norms, "scale": scaler.get_scale(),
            "enabled": scaler.is_enabled(), "scaler_state": checkpoint["scaler"],
            "grads": [p.grad is None for p in model.parameters()]}


# ---- a multi-task model of recurrent cells ----
def cells_model(torch, d1=3, d2=4, hidden=4):
    nn = torch.nn

    class Cells(nn.Module):
        def __init__(self):
            super().__init__()
            self.bil = nn.Bilinear(d1, d2, 5)
            self.unflatten = nn.Unflatten(1, (1, 5))
            self.rnn = nn.RNNCell(5, hidden, nonlinearity="relu")
            self.gru = nn.GRUCell(5, hidden)
            self.lstm = nn.LSTMCell(5, hidden)
            self.heads = nn.ModuleDict({"reg": nn.Linear(hidden, 1), "cls": nn.Linear(hidden, 3)})

        def forward(self, a, b, task, steps=3):
            z = self.unflatten(self.bil(a, b))[:, 0]  # (N, 1, 5) -> (N, 5)
            h = torch.zeros(a.size(0), self.rnn.hidden_size, dtype=a.dtype)
            hg, hc = h.clone(), (h.clone(), h.clone())
            for t in range(steps):
                h = self.rnn(z * (t + 1), h)
                hg = self.gru(z, hg)
                hc = self.lstm(z, hc)
            single = self.rnn(z[0])  # one unbatched step from a zero state
            return self.heads[task](h + hg + hc[0]), single

    return Cells()


def train_cells(torch, model, a, b, y_reg, y_cls, steps=4):
    F = torch.nn.functional
    opt = torch.optim.NAdam(model.parameters(), lr=0.02, momentum_decay=0.004)
    losses = []
    for step in range(steps):
        opt.zero_grad()
        task = "reg" if step % 2 == 0 else "cls"
        out, single = model(a, b, task)
        loss = F.mse_loss(out, y_reg) if task == "reg" else F.cross_entropy(out, y_cls)
        (loss + 0.01 * single.pow(2).sum()).backward()
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "single": _np(single),
            "grads": {n: _np(p.grad) for n, p in model.named_parameters() if p.grad is not None}}


# ---- cross-attention with other key and value widths ----
def cross_attention(torch, d=6, heads=2, kdim=4, vdim=5, classes=3):
    nn = torch.nn

    class Reader(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, heads, kdim=kdim, vdim=vdim, add_bias_kv=True,
                                              add_zero_attn=True, batch_first=True)
            self.norm = nn.LayerNorm(d)
            self.out = nn.Linear(d, classes)

        def forward(self, q, k, v, key_padding_mask):
            ctx, weights = self.attn(q, k, v, key_padding_mask=key_padding_mask,
                                     average_attn_weights=False)
            return self.out(self.norm(q + ctx).mean(1)), weights

    return Reader()


def train_cross_attention(torch, model, q, k, v, mask, y, steps=4):
    opt = torch.optim.Adamax(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        logits, weights = model(q, k, v, mask)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "weights": _np(weights),
            "masked_weight": weights.detach()[..., :k.size(1)][
                mask[:, None, None, :].expand(-1, weights.size(1), weights.size(2), -1)
            ].abs().max().item()}


# ---- a tagger over packed sequences with a projected bidirectional LSTM ----
def packed_tagger(torch, d_in=3, hidden=5, proj=2, tags=3):
    nn = torch.nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(d_in, hidden, num_layers=2, proj_size=proj, bidirectional=True,
                                batch_first=True)
            self.tag = nn.Linear(2 * proj, tags)

        def forward(self, seqs, total_length):
            packed = nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
            out, (h, c) = self.lstm(packed)
            padded, lengths = nn.utils.rnn.pad_packed_sequence(
                out, batch_first=True, total_length=total_length, padding_value=-1.0)
            return self.tag(padded), lengths, nn.utils.rnn.unpack_sequence(out), h, c

    return Tagger()


def train_tagger(torch, model, seqs, tags, steps=4, pad=-100):
    total = max(len(s) for s in seqs) + 1
    target = torch.full((len(seqs), total), pad, dtype=torch.long)
    for i, t in enumerate(tags):
        target[i, :len(t)] = t
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        logits, lengths, unpacked, h, c = model(seqs, total)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=pad)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "lengths": _np(lengths), "unpacked": [_np(u) for u in unpacked],
            "h": _np(h), "c": _np(c), "w_hr": _np(model.lstm.weight_hr_l1_reverse)}
