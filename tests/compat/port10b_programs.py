"""More public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port10_programs.py): the "NLP From Scratch" translation tutorial (a GRU encoder, Bahdanau
attention from ``Wa``, ``Ua``, ``Va``, a decoder fed by ``torch.empty(...).fill_(SOS_token)``,
teacher forcing from ``target_tensor[:, i].unsqueeze(1)`` or greedy ``topk(1)``, ``NLLLoss`` on
``view(-1, ...)``, a ``RandomSampler`` ``DataLoader``), SegNet (``MaxPool2d(return_indices=True)``
into ``MaxUnpool2d``, class-weighted ``CrossEntropyLoss(ignore_index=)``, ``PolynomialLR``, a
confusion matrix by ``torch.bincount`` and mean IoU), and an STFT-masking speech enhancer
(``torch.stft(return_complex=True)`` with a Hann window, an LSTM over log magnitudes, a sigmoid
mask on the complex spectrum, ``torch.istft(length=)``, the negative SI-SNR loss).
"""

from __future__ import annotations


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# --- NLP From Scratch: translation with a sequence to sequence network and attention ---------

SOS_token = 0
EOS_token = 1
MAX_LENGTH = 5


def translator(torch, input_size=9, output_size=8, hidden_size=6, dropout_p=0.0):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super().__init__()
            self.hidden_size = hidden_size
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):  # noqa: A002 - as the tutorial writes it
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super().__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
            decoder_hidden = encoder_hidden
            decoder_outputs = []
            attentions = []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs)
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                if target_tensor is not None:
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
                else:
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = torch.cat(attentions, dim=1)
            return decoder_outputs, decoder_hidden, attentions

        def forward_step(self, input, hidden, encoder_outputs):  # noqa: A002 - as the tutorial writes it
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    class Seq2Seq(nn.Module):  # the tutorial keeps the two apart; one module for the weights
        def __init__(self):
            super().__init__()
            self.encoder = EncoderRNN(input_size, hidden_size, dropout_p)
            self.decoder = AttnDecoderRNN(hidden_size, output_size, dropout_p)

    return Seq2Seq()


def train_epoch(torch, dataloader, encoder, decoder, encoder_optimizer, decoder_optimizer,
                criterion):
    total_loss = 0
    for data in dataloader:
        input_tensor, target_tensor = data
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
        loss = criterion(
            decoder_outputs.view(-1, decoder_outputs.size(-1)),
            target_tensor.view(-1)
        )
        loss.backward()
        encoder_optimizer.step()
        decoder_optimizer.step()
        total_loss += loss.item()
    return total_loss / len(dataloader)


def evaluate(torch, encoder, decoder, input_tensor, output_lang_index2word):
    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
        decoded_words = []
        for idx in decoded_ids:
            if idx.item() == EOS_token:
                decoded_words.append("<EOS>")
                break
            decoded_words.append(output_lang_index2word[idx.item()])
    return decoded_words, decoder_attn


def train_translator(torch, model, input_ids, target_ids, order, n_epochs=3, learning_rate=0.01,
                     batch_size=2):
    utils_data = torch.utils.data
    nn = torch.nn
    encoder, decoder = model.encoder, model.decoder
    train_data = utils_data.TensorDataset(input_ids, target_ids)

    class FixedSampler(utils_data.Sampler):  # RandomSampler's order, drawn once by the test
        def __iter__(self):
            return iter(order)

        def __len__(self):
            return len(order)

    train_dataloader = utils_data.DataLoader(train_data, sampler=FixedSampler(),
                                             batch_size=batch_size)
    encoder_optimizer = torch.optim.Adam(encoder.parameters(), lr=learning_rate)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=learning_rate)
    criterion = nn.NLLLoss()
    losses = []
    for epoch in range(1, n_epochs + 1):  # noqa: B007
        losses.append(train_epoch(torch, train_dataloader, encoder, decoder, encoder_optimizer,
                                  decoder_optimizer, criterion))
    encoder.eval()
    decoder.eval()
    index2word = {i: f"w{i}" for i in range(decoder.out.out_features)}
    words, attn = [], []
    for i in range(len(input_ids)):
        w, a = evaluate(torch, encoder, decoder, input_ids[i:i + 1], index2word)
        words.append(w)
        attn.append(a.numpy())
    return losses, words, attn, _state(model)


# --- SegNet with pooling indices --------------------------------------------------------------

def segnet(torch, in_channels=3, n_classes=4, c=4):
    nn = torch.nn

    def conv_bn_relu(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True))

    class SegNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = nn.Sequential(conv_bn_relu(in_channels, c), conv_bn_relu(c, c))
            self.enc2 = nn.Sequential(conv_bn_relu(c, 2 * c), conv_bn_relu(2 * c, 2 * c))
            self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
            self.unpool = nn.MaxUnpool2d(2, stride=2)
            self.dec2 = nn.Sequential(conv_bn_relu(2 * c, 2 * c), conv_bn_relu(2 * c, c))
            self.dec1 = nn.Sequential(conv_bn_relu(c, c), nn.Conv2d(c, n_classes, 3, padding=1))

        def forward(self, x):
            x = self.enc1(x)
            size1 = x.size()
            x, ind1 = self.pool(x)
            x = self.enc2(x)
            size2 = x.size()
            x, ind2 = self.pool(x)
            x = self.unpool(x, ind2, output_size=size2)
            x = self.dec2(x)
            x = self.unpool(x, ind1, output_size=size1)
            return self.dec1(x)

    return SegNet()


def fast_hist(torch, label_true, label_pred, n_class):
    mask = (label_true >= 0) & (label_true < n_class)
    hist = torch.bincount(n_class * label_true[mask] + label_pred[mask],
                          minlength=n_class ** 2).reshape(n_class, n_class)
    return hist


def train_segnet(torch, model, images, labels, class_weights, n_class=4, ignore_index=255,
                 steps=4, lr=0.05):
    nn = torch.nn
    criterion = nn.CrossEntropyLoss(weight=class_weights, ignore_index=ignore_index)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=steps, power=0.9)
    losses, lrs = [], []
    model.train()
    for step in range(steps):  # noqa: B007
        optimizer.zero_grad()
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    hist = torch.zeros((n_class, n_class), dtype=torch.long)
    with torch.no_grad():
        preds = model(images).argmax(dim=1)
        for lt, lp in zip(labels, preds):
            hist += fast_hist(torch, lt.flatten(), lp.flatten(), n_class)
    iu = torch.diag(hist) / (hist.sum(dim=1) + hist.sum(dim=0) - torch.diag(hist))
    mean_iu = torch.nanmean(iu).item()
    acc = (torch.diag(hist).sum() / hist.sum()).item()
    return losses, lrs, hist.numpy(), mean_iu, acc, _state(model)


# --- a speech enhancer masking the STFT ----------------------------------------------------

def si_snr(torch, estimate, reference, eps=1e-8):
    estimate = estimate - estimate.mean(dim=-1, keepdim=True)
    reference = reference - reference.mean(dim=-1, keepdim=True)
    dot = torch.sum(estimate * reference, dim=-1, keepdim=True)
    s_target = dot * reference / (torch.sum(reference ** 2, dim=-1, keepdim=True) + eps)
    e_noise = estimate - s_target
    ratio = torch.sum(s_target ** 2, dim=-1) / (torch.sum(e_noise ** 2, dim=-1) + eps)
    return 10 * torch.log10(ratio + eps)


def mask_enhancer(torch, n_fft=16, hidden=8):
    nn = torch.nn

    class Enhancer(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_fft, self.hop = n_fft, n_fft // 4
            freq = n_fft // 2 + 1
            self.lstm = nn.LSTM(freq, hidden, num_layers=1, batch_first=True,
                                bidirectional=True)
            self.fc = nn.Linear(2 * hidden, freq)
            self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

        def forward(self, noisy):
            spec = torch.stft(noisy, self.n_fft, hop_length=self.hop, window=self.window,
                              return_complex=True)
            mag = spec.abs()
            feats = torch.log1p(mag).transpose(1, 2)
            out, _ = self.lstm(feats)
            mask = torch.sigmoid(self.fc(out)).transpose(1, 2)
            enhanced = spec * mask
            wave = torch.istft(enhanced, self.n_fft, hop_length=self.hop, window=self.window,
                               length=noisy.shape[-1])
            return wave, mask

    return Enhancer()


def train_enhancer(torch, model, noisy, clean, steps=3):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(steps):  # noqa: B007
        optimizer.zero_grad()
        wave, mask = model(noisy)
        loss = -si_snr(torch, wave, clean).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        wave, mask = model(noisy)
    return losses, wave.numpy(), mask.numpy(), _state(model)
