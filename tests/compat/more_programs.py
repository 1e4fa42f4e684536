"""Two more PyTorch-style programs, written once and run with ``torch`` = PyTorch or chainrule.

As in programs.py, each function takes the library as its ``torch`` argument and writes only
what a PyTorch program would write after ``import torch``.
"""

from __future__ import annotations

import copy


def text_classifier(torch, vocab, classes, emb=6, hidden=5):
    """An LSTM text classifier: padded token ids -> masked mean and last state -> classes."""
    nn = torch.nn

    class TextClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb, padding_idx=0)
            self.lstm = nn.LSTM(emb, hidden, num_layers=1, batch_first=True, bidirectional=True)
            self.dropout = nn.Dropout(0.0)
            self.fc = nn.Linear(4 * hidden, classes)

        def forward(self, tokens, lengths):
            embedded = self.embedding(tokens)                       # (B, T, E)
            out, (h, c) = self.lstm(embedded)                       # (B, T, 2H)
            mask = (tokens != 0).unsqueeze(-1).float()              # padding is id 0
            mean = (out * mask).sum(dim=1) / lengths.unsqueeze(1).float()
            index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, out.size(2))
            last = out.gather(1, index).squeeze(1)                  # the last real step
            return self.fc(self.dropout(torch.cat([mean, last], dim=1)))

    return TextClassifier()


def train_text_classifier(torch, utils_data, model, texts, labels, epochs=3):
    """Batches padded by a ``collate_fn`` with ``pad_sequence``; Adam; accuracy under no_grad."""
    from_rnn = torch.nn.utils.rnn

    def collate(batch):
        seqs = [torch.tensor(ids, dtype=torch.long) for ids, _ in batch]
        lengths = torch.tensor([len(s) for s in seqs])
        padded = from_rnn.pad_sequence(seqs, batch_first=True, padding_value=0)
        return padded, lengths, torch.tensor([y for _, y in batch])

    dataset = list(zip(texts, labels))
    loader = utils_data.DataLoader(dataset, batch_size=4, shuffle=False, collate_fn=collate)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(epochs):
        model.train()
        for tokens, lengths, target in loader:
            optimizer.zero_grad()
            loss = criterion(model(tokens, lengths), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    correct = 0
    with torch.no_grad():
        for tokens, lengths, target in loader:
            pred = model(tokens, lengths).argmax(dim=1)
            correct += (pred == target).sum().item()
    return losses, correct


def mlp_classifier(torch, features, classes):
    nn = torch.nn
    return nn.Sequential(nn.Linear(features, 16), nn.BatchNorm1d(16), nn.ReLU(),
                         nn.Linear(16, classes))


def train_with_schedule(torch, utils_data, model, x, y, epochs=4):
    """SGD with momentum, warm-up then cosine schedules, gradient clipping, an EMA of the weights
    kept by in-place updates (no ``.data``), and a hand-written weight decay."""
    data = utils_data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = utils_data.DataLoader(data, batch_size=8, shuffle=False, drop_last=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True)
    steps = epochs * len(loader)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 4))
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - 4,
                                                        eta_min=0.01)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    losses, norms, rates = [], [], []
    step = 0
    for _ in range(epochs):
        model.train()
        for inputs, target in loader:
            logits = model(inputs)
            loss = torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            with torch.no_grad():
                for p in model.parameters():
                    if p.ndim > 1:
                        p.grad.add_(p, alpha=1e-3)   # decoupled from the optimizer's
            optimizer.step()
            (warmup if step < 4 else cosine).step()
            step += 1
            with torch.no_grad():
                for e, p in zip(ema.parameters(), model.parameters()):
                    e.mul_(0.9).add_(p, alpha=0.1)
                for e, b in zip(ema.buffers(), model.buffers()):
                    e.copy_(b)
            losses.append(loss.item())
            norms.append(float(norm))
            rates.append(optimizer.param_groups[0]["lr"])
    ema.eval()
    with torch.no_grad():
        ema_loss = torch.nn.functional.cross_entropy(ema(torch.from_numpy(x)),
                                                     torch.from_numpy(y)).item()
    return losses, norms, rates, ema_loss
