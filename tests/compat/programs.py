"""PyTorch-style programs, written once and run with ``torch`` = PyTorch or chainrule.

Each function takes the library as its ``torch`` argument and uses only what a PyTorch program
would write after ``import torch``; nothing here knows which library it drives. Weights start from
a NumPy state dict the test makes, so the two runs start equal; data shuffling is off, so the
losses follow from the arithmetic alone.
"""

from __future__ import annotations

import math


def mnist_net(torch):
    """The official MNIST example's network, shrunk to 12x12 inputs."""
    nn = torch.nn
    F = torch.nn.functional  # noqa: N806 - the conventional alias

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.dropout1 = nn.Dropout(0.0)
            self.fc1 = nn.Linear(8 * 4 * 4, 16)
            self.fc2 = nn.Linear(16, 3)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def train_cnn(torch, utils_data, model, x, y, epochs=2, batch_size=16):
    """Train as the MNIST example does; returns the training losses and the final test numbers."""
    F = torch.nn.functional  # noqa: N806
    use_accel = torch.accelerator.is_available() if hasattr(torch, "accelerator") else False
    device = torch.device("cuda" if use_accel and torch.cuda.is_available() else "cpu")
    model = model.to(device)
    data = utils_data.TensorDataset(torch.tensor(x), torch.tensor(y))
    loader = utils_data.DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=0)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses = []
    for _ in range(epochs):
        model.train()
        for inputs, target in loader:
            inputs, target = inputs.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(inputs)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for inputs, target in loader:
            inputs, target = inputs.to(device), target.to(device)
            output = model(inputs)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return losses, test_loss / len(loader.dataset), correct


def fit_polynomial(torch, coefficients, steps=200, learning_rate=1e-6):
    """The autograd tutorial: a cubic fitted to sin(x) with tensors and manual SGD under no_grad."""
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in coefficients)
    losses = []
    for _ in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses, [a.item(), b.item(), c.item(), d.item()]


def mlp(torch):
    """A small regression MLP built from a Sequential."""
    nn = torch.nn
    return nn.Sequential(nn.Linear(3, 16), nn.ReLU(inplace=True), nn.Linear(16, 16),
                         nn.LeakyReLU(0.1, inplace=True), nn.Linear(16, 1))


def train_mlp_manual_sgd(torch, model, x, y, steps=100, lr=0.1):
    """Full-batch regression with MSELoss, clip_grad_norm_ and a hand-written SGD step."""
    criterion = torch.nn.MSELoss()
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for _ in range(steps):
        model.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    return losses


def char_lstm(torch, ntoken, ninp, nhid):
    """The word-language-model example's RNNModel (one LSTM layer), sizes shrunk."""
    nn = torch.nn
    F = torch.nn.functional  # noqa: N806

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.ntoken, self.nhid = ntoken, nhid
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, 1)
            self.decoder = nn.Linear(nhid, ntoken)

        def forward(self, inputs, hidden):
            emb = self.encoder(inputs)
            self.rnn.flatten_parameters()
            output, hidden = self.rnn(emb, hidden)
            decoded = self.decoder(output).view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return (weight.new_zeros(1, bsz, self.nhid), weight.new_zeros(1, bsz, self.nhid))

    return RNNModel()


def train_char_lstm(torch, model, ids, bptt=5, batch_size=4, lr=2.0, clip=0.25, epochs=2):
    """batchify, get_batch, repackage_hidden and the train loop of the word-language model."""
    criterion = torch.nn.NLLLoss()
    data = torch.tensor(ids, dtype=torch.long)
    nbatch = data.size(0) // batch_size
    data = data.narrow(0, 0, nbatch * batch_size)
    data = data.view(batch_size, -1).t().contiguous()

    def repackage_hidden(h):
        if isinstance(h, tuple):
            return tuple(repackage_hidden(v) for v in h)
        return h.detach()

    losses = []
    for _ in range(epochs):
        model.train()
        hidden = model.init_hidden(batch_size)
        for i in range(0, data.size(0) - 1, bptt):
            seq_len = min(bptt, len(data) - 1 - i)
            inputs, target = data[i:i + seq_len], data[i + 1:i + 1 + seq_len].view(-1)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(inputs, hidden)
            loss = criterion(output, target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                with torch.no_grad():
                    p.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
    return losses


def char_transformer(torch, vocab, d_model=16, nhead=2, block=8):
    """A GPT-style character model: token and position embeddings, causal encoder layers, head."""
    nn = torch.nn

    class CharGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d_model)
            self.pos = nn.Embedding(block, d_model)
            layer = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=0.0,
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.ln_f = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab)

        def forward(self, idx):
            t = idx.size(1)
            x = self.tok(idx) + self.pos(torch.arange(t))
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            x = self.blocks(x, mask=mask, is_causal=True)
            return self.head(self.ln_f(x))

    return CharGPT()


def train_char_transformer(torch, model, ids, block=8, batch_size=4, steps=6):
    """Next-character prediction with AdamW and cross entropy over (B, T, V) logits."""
    F = torch.nn.functional  # noqa: N806
    data = torch.tensor(ids, dtype=torch.long)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        starts = [(7 + 13 * i) % (len(data) - block - 1) for i in range(batch_size)]
        x = torch.stack([data[s:s + block] for s in starts])
        y = torch.stack([data[s + 1:s + 1 + block] for s in starts])
        logits = model(x)
        B, T, C = logits.shape
        loss = F.cross_entropy(logits.view(B * T, C), y.view(B * T))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
