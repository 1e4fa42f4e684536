"""Well-known PyTorch programs and idioms as a user ports them from memory, run with ``torch`` =
PyTorch or chainrule (test_port_programs.py): the word_language_model Transformer (a subclass of
nn.Transformer, log-of-tril causal mask, tied weights, manual SGD), CutMix with label smoothing,
gradient accumulation with OneCycleLR and decay/no-decay AdamW groups, chained schedulers,
a checkpoint resumed through torch.save/torch.load on a BytesIO, feature extraction by forward
hooks, custom autograd Functions, the parametrizations tutorial, LoRA by parametrization and
model ensembling with stack_module_state and vmap.

As in real_programs.py each function takes the library as its ``torch`` argument and writes only
what a PyTorch program writes after ``import torch``; data and draws are passed in.
"""

from __future__ import annotations

import copy
import io
import math


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def transformer_lm(torch, ntoken=11, ninp=8, nhead=2, nhid=16, nlayers=2):
    """pytorch/examples word_language_model's TransformerModel: it subclasses nn.Transformer and
    replaces its decoder stack by the output Linear, whose weight is tied to the embedding."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.0, max_len=32):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float()
                                 * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0).transpose(0, 1)
            self.register_buffer("pe", pe)

        def forward(self, x):
            x = x + self.pe[:x.size(0), :]
            return self.dropout(x)

    class TransformerModel(nn.Transformer):
        def __init__(self):
            super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                             num_encoder_layers=nlayers, num_decoder_layers=1, dropout=0.0)
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp)
            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)
            self.decoder.weight = self.input_emb.weight
            self.init_weights()

        def _generate_square_subsequent_mask(self, sz, dtype):
            return torch.log(torch.tril(torch.ones(sz, sz, dtype=dtype)))

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)

        def forward(self, src, has_mask=True):
            if has_mask:
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    self.src_mask = self._generate_square_subsequent_mask(
                        len(src), self.decoder.weight.dtype)
            else:
                self.src_mask = None
            src = self.input_emb(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.encoder(src, mask=self.src_mask)
            output = self.decoder(output)
            return F.log_softmax(output, dim=-1)

    return TransformerModel()


def train_transformer_lm(torch, model, data, bptt=5, bsz=3, lr=2.0, epochs=2):
    """batchify/get_batch over a token stream, NLLLoss, clip_grad_norm_, the example's manual
    ``p.data.add_(p.grad, alpha=-lr)``; then evaluation under no_grad in eval mode."""
    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)

    train_data = batchify(data, bsz)
    criterion = torch.nn.NLLLoss()
    ntokens = model.decoder.out_features
    losses = []
    for _ in range(epochs):
        model.train()
        for i in range(0, train_data.size(0) - 1, bptt):
            inputs, targets = get_batch(train_data, i)
            model.zero_grad()
            output = model(inputs).view(-1, ntokens)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, train_data.size(0) - 1, bptt):
            inputs, targets = get_batch(train_data, i)
            output = model(inputs).view(-1, ntokens)
            total += len(inputs) * criterion(output, targets).item()
    tied = model.decoder.weight is model.input_emb.weight
    return losses, total / (len(train_data) - 1), _state(model), tied


def cutmix_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU(),
                         nn.AdaptiveMaxPool2d((2, 2)), nn.Flatten(), nn.Linear(32, 4))


def train_cutmix(torch, model, images, labels, draws):
    """clovaai/CutMix-PyTorch's training step: a box cut from the permuted batch is pasted in
    place, lambda is corrected to the pasted area, the two targets are weighted; with label
    smoothing and Nesterov SGD. ``draws`` gives each step's (lam, permutation, cx, cy)."""
    def rand_bbox(size, lam, cx, cy):
        W, H = size[2], size[3]  # noqa: N806
        cut_rat = math.sqrt(1.0 - lam)
        cut_w, cut_h = int(W * cut_rat), int(H * cut_rat)
        bbx1 = min(max(cx - cut_w // 2, 0), W)
        bby1 = min(max(cy - cut_h // 2, 0), H)
        bbx2 = min(max(cx + cut_w // 2, 0), W)
        bby2 = min(max(cy + cut_h // 2, 0), H)
        return bbx1, bby1, bbx2, bby2

    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)
    losses, lams = [], []
    model.train()
    for lam, perm, cx, cy in draws:
        inputs = images.clone()
        rand_index = torch.tensor(perm)
        target_a, target_b = labels, labels[rand_index]
        bbx1, bby1, bbx2, bby2 = rand_bbox(inputs.size(), lam, cx, cy)
        inputs[:, :, bbx1:bbx2, bby1:bby2] = inputs[rand_index, :, bbx1:bbx2, bby1:bby2]
        lam = 1 - ((bbx2 - bbx1) * (bby2 - bby1) / (inputs.size()[-1] * inputs.size()[-2]))
        output = model(inputs)
        loss = criterion(output, target_a) * lam + criterion(output, target_b) * (1.0 - lam)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        lams.append(lam)
    return losses, lams, _state(model)


def accumulation_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(5, 16), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 3))


def train_accumulated(torch, model, x, y, steps=5, accum=3):
    """Micro-batches whose losses are divided by the accumulation count, clip_grad_norm_ before
    the step, AdamW with no decay on biases and norms, OneCycleLR cycling AdamW's beta1."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim == 1 or name.endswith(".bias") else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=steps,
                                                    pct_start=0.4, div_factor=10.0,
                                                    final_div_factor=100.0)
    criterion = torch.nn.CrossEntropyLoss()
    losses, norms, lrs, betas = [], [], [], []
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for xb, yb in zip(torch.chunk(x, accum), torch.chunk(y, accum)):
            loss = criterion(model(xb), yb) / accum
            loss.backward()
            total += loss.item()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)))
        optimizer.step()
        scheduler.step()
        losses.append(total)
        lrs.append(scheduler.get_last_lr())
        betas.append([g["betas"][0] for g in optimizer.param_groups])
    return losses, norms, lrs, betas, _state(model)


def two_part_regressor(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            return self.head(self.body(x)).squeeze(-1)

    return Net()


def train_chained_schedules(torch, model, x, y):
    """Two parameter groups under SequentialLR (LinearLR warm-up, then warm restarts with
    T_mult=2), the scheduler's state_dict carried into a new one mid-run; then
    CosineAnnealingWarmRestarts stepped with fractional epochs as its docstring shows."""
    sched = torch.optim.lr_scheduler
    optimizer = torch.optim.SGD([{"params": model.body.parameters()},
                                 {"params": model.head.parameters(), "lr": 0.05}],
                                lr=0.1, momentum=0.9)

    def make(opt):
        warm = sched.LinearLR(opt, start_factor=0.25, total_iters=3)
        restarts = sched.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.001)
        return sched.SequentialLR(opt, schedulers=[warm, restarts], milestones=[3])

    scheduler = make(optimizer)
    losses, lrs = [], []
    for step in range(10):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr())
        if step == 4:
            saved = scheduler.state_dict()
            scheduler = make(optimizer)
            scheduler.load_state_dict(saved)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    scheduler = sched.CosineAnnealingWarmRestarts(optimizer, T_0=3, eta_min=1e-3)
    iters = 2
    for epoch in range(4):
        for i, (xb, yb) in enumerate(zip(x.chunk(iters), y.chunk(iters))):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step(epoch + i / iters)
            losses.append(loss.item())
            lrs.append(scheduler.get_last_lr())
    return losses, lrs, _state(model)


def checkpointed_net(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 10)
            self.bn = nn.BatchNorm1d(10)
            self.fc2 = nn.Linear(10, 3)

        def forward(self, x):
            return self.fc2(torch.relu(self.bn(self.fc1(x))))

    return Net()


def train_resumed(torch, model, x, y, steps=6, stop=3):
    """The PyTorch "saving and loading a general checkpoint" recipe through an in-memory file:
    train, torch.save a dict of model, optimizer and scheduler states, torch.load it into fresh
    objects and train on. Returns the uninterrupted and the resumed runs."""
    def objects(net):
        opt = torch.optim.Adam(net.parameters(), lr=0.02, weight_decay=1e-3, amsgrad=True)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

    def run(net, opt, scheduler, first, last):
        losses = []
        net.train()
        for _ in range(first, last):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            scheduler.step()
            losses.append(loss.item())
        return losses

    start = copy.deepcopy(model.state_dict())
    straight = run(model, *objects(model), 0, steps)
    straight_state = _state(model)
    model.load_state_dict(start)
    optimizer, scheduler = objects(model)
    first = run(model, optimizer, scheduler, 0, stop)
    buffer = io.BytesIO()
    torch.save({"epoch": stop, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "scheduler_state_dict": scheduler.state_dict(), "loss": first[-1]}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer)
    fresh = type(model)().to(next(model.parameters()).dtype)
    fresh.load_state_dict(checkpoint["model_state_dict"])
    optimizer, scheduler = objects(fresh)
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    scheduler.load_state_dict(checkpoint["scheduler_state_dict"])
    rest = run(fresh, optimizer, scheduler, checkpoint["epoch"], steps)
    return straight, straight_state, first + rest, _state(fresh), checkpoint["loss"]
