"""A PyTorch speech-recognition style program trained with CTC: Conv1d features, an LSTM, a
per-frame log_softmax and ``nn.CTCLoss``; the function takes the library (``torch`` or
``chainrule``) as ``torch``."""


def speech_ctc(torch):
    nn = torch.nn

    class SpeechCTC(nn.Module):
        def __init__(self, n_features=8, hidden=16, n_labels=4):
            super().__init__()
            self.conv = nn.Conv1d(n_features, hidden, 3, padding=1)
            self.rnn = nn.LSTM(hidden, hidden)
            self.out = nn.Linear(hidden, n_labels + 1)  # class 0 is the blank

        def forward(self, x):  # (N, features, T) -> (T, N, classes) log-probabilities
            h = torch.relu(self.conv(x)).permute(2, 0, 1)
            h, _ = self.rnn(h)
            return self.out(h).log_softmax(-1)

    return SpeechCTC()


def train_speech_ctc(torch, model, feats, targets, input_lengths, target_lengths, steps=5):
    """Adam on the CTC loss of padded targets; returns the losses."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    criterion = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    x, y = torch.from_numpy(feats), torch.from_numpy(targets)
    il, tl = torch.from_numpy(input_lengths), torch.from_numpy(target_lengths)
    losses = []
    for _ in range(steps):
        loss = criterion(model(x), y, il, tl)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
