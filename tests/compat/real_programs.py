"""Programs written the way tutorials and papers write PyTorch, run with ``torch`` = PyTorch or
chainrule: a torchvision-style ResNet, a hand-written Transformer classifier, the built-in
nn.TransformerEncoder, a GRU seq2seq with Bahdanau attention and teacher forcing, DCGAN, a VAE
and an LSTM language model with tied weights and truncated BPTT.

As in programs.py, each function takes the library as its ``torch`` argument and writes only
what a PyTorch program would write after ``import torch``; the randomness a comparison cannot
share (a VAE's eps, a GAN's noise) is passed in.
"""

from __future__ import annotations

import math
import random


def resnet(torch, block="basic", zero_init_residual=True):
    """torchvision's ResNet, two stages of narrow blocks."""
    nn = torch.nn

    def conv3x3(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1,
                         bias=False)

    def conv1x1(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            identity = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            out = self.relu(out)
            return out

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv1x1(inplanes, planes)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = conv3x3(planes, planes, stride)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = conv1x1(planes, planes * self.expansion)
            self.bn3 = nn.BatchNorm2d(planes * self.expansion)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self, block, layers, num_classes=5, zero_init_residual=False):
            super().__init__()
            self.inplanes = 4
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=3, stride=1, padding=1,
                                   bias=False)
            self.bn1 = nn.BatchNorm2d(self.inplanes)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, 4, layers[0])
            self.layer2 = self._make_layer(block, 8, layers[1], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(8 * block.expansion, num_classes)

            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                        nn.init.constant_(m.bn3.weight, 0)
                    elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                        nn.init.constant_(m.bn2.weight, 0)

        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    conv1x1(self.inplanes, planes * block.expansion, stride),
                    nn.BatchNorm2d(planes * block.expansion),
                )
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            for _ in range(1, blocks):
                layers.append(block(self.inplanes, planes))
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer1(x)
            x = self.layer2(x)
            x = self.avgpool(x)
            x = torch.flatten(x, 1)
            return self.fc(x)

    kind = BasicBlock if block == "basic" else Bottleneck
    return ResNet(kind, [2, 1], zero_init_residual=zero_init_residual)


def train_resnet(torch, model, images, labels, epochs=4):
    """SGD with momentum and weight decay, MultiStepLR; the per-step losses, the final state."""
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 3], gamma=0.1)
    losses = []
    model.train()
    for _ in range(epochs):
        for inputs, targets in zip(images.split(4), labels.split(4)):
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    model.eval()
    with torch.no_grad():
        logits = model(images)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return losses, logits.numpy(), state, scheduler.get_last_lr()


def transformer_classifier(torch, vocab=11, d_model=8, n_heads=2, n_layers=2, dropout=0.1):
    """An encoder-only Transformer classifier written by hand (Vaswani et al. 2017, post-norm)."""
    nn = torch.nn
    F = nn.functional

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=32):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float()
                                 * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0))

        def forward(self, x):
            x = x + self.pe[:, :x.size(1)]
            return self.dropout(x)

    class MultiHeadAttention(nn.Module):
        def __init__(self, d_model, n_heads, dropout):
            super().__init__()
            assert d_model % n_heads == 0
            self.d_k = d_model // n_heads
            self.h = n_heads
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x, mask=None):
            B, T, C = x.size()
            q, k, v = self.qkv(x).split(C, dim=2)
            q = q.view(B, T, self.h, self.d_k).transpose(1, 2)
            k = k.view(B, T, self.h, self.d_k).transpose(1, 2)
            v = v.view(B, T, self.h, self.d_k).transpose(1, 2)
            scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.d_k)
            if mask is not None:
                scores.masked_fill_(mask == 0, float("-inf"))
            p_attn = F.softmax(scores, dim=-1)
            p_attn = self.dropout(p_attn)
            y = torch.matmul(p_attn, v).transpose(1, 2).contiguous().view(B, T, C)
            return self.proj(y)

    class EncoderLayer(nn.Module):
        def __init__(self, d_model, n_heads, dropout):
            super().__init__()
            self.attn = MultiHeadAttention(d_model, n_heads, dropout)
            self.ff = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                    nn.Linear(4 * d_model, d_model))
            self.norm1 = nn.LayerNorm(d_model)
            self.norm2 = nn.LayerNorm(d_model)
            self.drop = nn.Dropout(dropout)

        def forward(self, x, mask):
            x = self.norm1(x + self.drop(self.attn(x, mask)))
            return self.norm2(x + self.drop(self.ff(x)))

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.pad_idx = 0
            self.embed = nn.Embedding(vocab, d_model, padding_idx=0)
            self.pos = PositionalEncoding(d_model, dropout)
            self.layers = nn.ModuleList([EncoderLayer(d_model, n_heads, dropout)
                                         for _ in range(n_layers)])
            self.head = nn.Linear(d_model, 3)

        def forward(self, src):
            mask = (src != self.pad_idx).unsqueeze(1).unsqueeze(2)  # (B, 1, 1, T)
            x = self.pos(self.embed(src) * math.sqrt(d_model))
            for layer in self.layers:
                x = layer(x, mask)
            keep = (src != self.pad_idx).unsqueeze(-1).float()
            pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
            return self.head(pooled)

    return Classifier()


def train_transformer(torch, model, src, labels, steps=6, warmup=2):
    """AdamW without decay on biases and LayerNorm weights, linear warmup then decay through
    LambdaLR, gradient clipping; the losses, the learning rates and the final parameters."""
    no_decay = ["bias", "norm1.weight", "norm2.weight"]
    groups = [
        {"params": [p for n, p in model.named_parameters()
                    if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters()
                    if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=5e-3)

    def lr_lambda(current_step):
        if current_step < warmup:
            return float(current_step + 1) / float(max(1, warmup))
        return max(0.0, float(steps - current_step) / float(max(1, steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    losses, lrs = [], []
    model.train()
    for _ in range(steps):
        logits = model(src)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(optimizer.param_groups[0]["lr"])
    params = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    return losses, lrs, params


def builtin_transformer(torch, vocab=11, d_model=8, nhead=2, dropout=0.1):
    """The same classifier on nn.TransformerEncoder with a key padding mask."""
    nn = torch.nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, d_model, padding_idx=0)
            self.pos_embedding = nn.Parameter(torch.zeros(1, 16, d_model))
            layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=16,
                                               dropout=dropout, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=2,
                                                 enable_nested_tensor=False)
            self.cls = nn.Linear(d_model, 3)

        def forward(self, src):
            padding_mask = src == 0
            x = self.embedding(src) + self.pos_embedding[:, :src.size(1), :]
            x = self.encoder(x, src_key_padding_mask=padding_mask)
            x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)
            lengths = (~padding_mask).sum(dim=1, keepdim=True)
            return self.cls(x.sum(dim=1) / lengths)

    return Model()


def train_builtin_transformer(torch, model, src, labels, steps=5):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    losses = []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(model(src), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(src), dim=-1)
    return losses, probs.numpy(), {n: p.detach().numpy() for n, p in model.named_parameters()}


def seq2seq(torch, src_vocab=9, trg_vocab=8, emb=6, enc_hid=5, dec_hid=7):
    """A GRU encoder-decoder with Bahdanau (additive) attention over packed source sequences."""
    nn = torch.nn
    F = nn.functional

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(src_vocab, emb)
            self.rnn = nn.GRU(emb, enc_hid, bidirectional=True)
            self.fc = nn.Linear(enc_hid * 2, dec_hid)

        def forward(self, src, src_len):
            embedded = self.embedding(src)
            packed = nn.utils.rnn.pack_padded_sequence(embedded, src_len.to("cpu"),
                                                       enforce_sorted=False)
            packed_outputs, hidden = self.rnn(packed)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_outputs)
            hidden = torch.tanh(self.fc(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)))
            return outputs, hidden

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.Linear(enc_hid * 2 + dec_hid, dec_hid)
            self.v = nn.Linear(dec_hid, 1, bias=False)

        def forward(self, hidden, encoder_outputs, mask):
            src_len = encoder_outputs.shape[0]
            hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)
            encoder_outputs = encoder_outputs.permute(1, 0, 2)
            energy = torch.tanh(self.attn(torch.cat((hidden, encoder_outputs), dim=2)))
            attention = self.v(energy).squeeze(2)
            attention = attention.masked_fill(mask == 0, -1e10)
            return F.softmax(attention, dim=1)

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.output_dim = trg_vocab
            self.attention = Attention()
            self.embedding = nn.Embedding(trg_vocab, emb)
            self.rnn = nn.GRU(enc_hid * 2 + emb, dec_hid)
            self.fc_out = nn.Linear(enc_hid * 2 + dec_hid + emb, trg_vocab)

        def forward(self, inp, hidden, encoder_outputs, mask):
            inp = inp.unsqueeze(0)
            embedded = self.embedding(inp)
            a = self.attention(hidden, encoder_outputs, mask).unsqueeze(1)
            encoder_outputs = encoder_outputs.permute(1, 0, 2)
            weighted = torch.bmm(a, encoder_outputs).permute(1, 0, 2)
            rnn_input = torch.cat((embedded, weighted), dim=2)
            output, hidden = self.rnn(rnn_input, hidden.unsqueeze(0))
            prediction = self.fc_out(torch.cat((output.squeeze(0), weighted.squeeze(0),
                                                embedded.squeeze(0)), dim=1))
            return prediction, hidden.squeeze(0), a.squeeze(1)

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()
            self.src_pad_idx = 0

        def forward(self, src, src_len, trg, teacher_forcing_ratio=0.5):
            trg_len, batch_size = trg.shape
            outputs = torch.zeros(trg_len, batch_size, self.decoder.output_dim,
                                  dtype=self.decoder.fc_out.weight.dtype)
            encoder_outputs, hidden = self.encoder(src, src_len)
            mask = (src != self.src_pad_idx).permute(1, 0)
            inp = trg[0, :]
            for t in range(1, trg_len):
                output, hidden, _ = self.decoder(inp, hidden, encoder_outputs, mask)
                outputs[t] = output
                teacher_force = random.random() < teacher_forcing_ratio
                top1 = output.argmax(1)
                inp = trg[t] if teacher_force else top1
            return outputs

    return Seq2Seq()


def train_seq2seq(torch, model, src, src_len, trg, steps=4, seed=1234):
    random.seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = torch.nn.CrossEntropyLoss(ignore_index=0)
    losses = []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(src, src_len, trg)
        output_dim = output.shape[-1]
        output = output[1:].view(-1, output_dim)
        loss = criterion(output, trg[1:].view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        greedy = model(src, src_len, trg, 0).argmax(-1)
    return losses, greedy.numpy(), {n: p.detach().numpy() for n, p in model.named_parameters()}


def dcgan(torch, nz=4, ngf=4, ndf=4, nc=1):
    """DCGAN (Radford et al. 2016) for 8x8 images: the generator and discriminator as one
    container so both load one state dict."""
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )

        def forward(self, inp):
            return self.main(inp)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 2, 1, 0, bias=False),
                nn.Sigmoid(),
            )

        def forward(self, inp):
            return self.main(inp)

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    gan = nn.Module()
    gan.netG = Generator()
    gan.netG.apply(weights_init)
    gan.netD = Discriminator()
    gan.netD.apply(weights_init)
    return gan


def train_dcgan(torch, gan, real_batches, noises):
    """The DCGAN tutorial's loop: D on real then fake (detached), then G against D's labels."""
    netG, netD = gan.netG, gan.netD
    criterion = torch.nn.BCELoss()
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    G_losses, D_losses, D_x = [], [], []
    for real_cpu, noise in zip(real_batches, noises):
        netD.zero_grad()
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=real_cpu.dtype)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x.append(output.mean().item())
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()

        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()
        G_losses.append(errG.item())
        D_losses.append(errD.item())
    with torch.no_grad():
        sample = netG(noises[0]).detach()
    return G_losses, D_losses, D_x, sample.numpy()


def vae(torch, n_in=16, hidden=8, latent=2):
    """The VAE of Kingma & Welling (2014) as PyTorch's example writes it."""
    nn = torch.nn
    F = nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(n_in, hidden)
            self.fc21 = nn.Linear(hidden, latent)
            self.fc22 = nn.Linear(hidden, latent)
            self.fc3 = nn.Linear(latent, hidden)
            self.fc4 = nn.Linear(hidden, n_in)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar, eps=None):
            std = torch.exp(0.5 * logvar)
            if eps is None:
                eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x, eps=None):
            mu, logvar = self.encode(x.view(-1, n_in))
            z = self.reparameterize(mu, logvar, eps)
            return self.decode(z), mu, logvar

    return VAE()


def train_vae(torch, model, data, eps, epochs=3, batch_size=4):
    """Adam over a DataLoader, BCE(sum) + KLD; eps per step passed in for the comparison."""
    F = torch.nn.functional

    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, x.shape[-1]), reduction="sum")
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + KLD

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data),
                                         batch_size=batch_size, shuffle=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    noise = iter(eps)
    epoch_losses = []
    for _ in range(epochs):
        model.train()
        train_loss = 0
        for (x,) in loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(x, next(noise))
            loss = loss_function(recon_batch, x, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_losses.append(train_loss / len(loader.dataset))
    model.eval()
    with torch.no_grad():
        sample = model.decode(torch.zeros(3, model.fc3.in_features, dtype=data.dtype))
        drawn = model(data[:2])[0]  # eps drawn by torch.randn_like
    return epoch_losses, sample.numpy(), tuple(drawn.shape)


def lstm_lm(torch, ntoken=12, ninp=6, nlayers=2, dropout=0.2, tie_weights=True):
    """PyTorch's word_language_model: Embedding, a 2-layer LSTM, a decoder tied to the encoder."""
    nn = torch.nn

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, ninp, nlayers, dropout=dropout)
            self.decoder = nn.Linear(ninp, ntoken)
            if tie_weights:
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.nhid = ninp
            self.nlayers = nlayers

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)

        def forward(self, inp, hidden):
            emb = self.drop(self.encoder(inp))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return nn.functional.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))

    return RNNModel()


def train_lstm_lm(torch, model, corpus, bsz=3, bptt=4, lr=2.0, epochs=2):
    """batchify, get_batch, repackage_hidden and the manual SGD step p.data.add_(p.grad,
    alpha=-lr) after clip_grad_norm_; the per-batch losses and the evaluation loss."""

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].view(-1)
        return data, target

    def repackage_hidden(h):
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    train_data = batchify(corpus, bsz)
    criterion = torch.nn.NLLLoss()
    losses = []
    for _ in range(epochs):
        model.train()
        hidden = model.init_hidden(bsz)
        for i in range(0, train_data.size(0) - 1, bptt):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
        lr /= 2.0
    model.eval()
    total_loss = 0.0
    with torch.no_grad():
        hidden = model.init_hidden(bsz)
        for i in range(0, train_data.size(0) - 1, bptt):
            data, targets = get_batch(train_data, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    tied = model.decoder.weight is model.encoder.weight
    return losses, total_loss / (len(train_data) - 1), tied, model.encoder.weight.detach().numpy()



def mlp_with_inplace_function(torch, n_in=5, hidden=7, n_out=3):
    """An MLP whose activation is a custom autograd Function that clamps its input in place
    and says so with ctx.mark_dirty (the "inplace" pattern of PyTorch's extending docs)."""
    nn = torch.nn

    class ClampInPlace(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, bound):
            ctx.save_for_backward(x.abs() <= bound)
            ctx.mark_dirty(x)
            return x.clamp_(-bound, bound)

        @staticmethod
        def backward(ctx, grad_output):
            (inside,) = ctx.saved_tensors
            return torch.where(inside, grad_output, torch.zeros_like(grad_output)), None

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(n_in, hidden)
            self.fc2 = nn.Linear(hidden, n_out)

        def forward(self, x):
            h = self.fc1(x) * 1.0  # not a leaf: the Function may write into it
            return self.fc2(ClampInPlace.apply(h, 0.5))

    return Net()


def train_with_tricks(torch, model, x, y, accum_steps=2, decay=0.9):
    """Gradient accumulation with ``loss / accum_steps``, label smoothing, a manual learning
    rate decay through param_groups, an EMA copy of the weights updated under no_grad, and a
    torch.save/torch.load round trip of model and optimizer state in the middle of training."""
    import copy
    import io

    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, nesterov=True)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    losses, lrs = [], []
    step = 0
    for epoch in range(4):
        if epoch == 2:
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "ema": ema.state_dict(), "epoch": epoch}, buffer)
            buffer.seek(0)
            checkpoint = torch.load(buffer, weights_only=True)
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            ema.load_state_dict(checkpoint["ema"])
        optimizer.zero_grad()
        for i, (xb, yb) in enumerate(zip(x.chunk(4), y.chunk(4))):
            logits = model(xb)
            loss = criterion(logits, yb) / accum_steps
            loss.backward()
            if (i + 1) % accum_steps == 0:
                optimizer.step()
                optimizer.zero_grad()
                step += 1
                with torch.no_grad():
                    for ema_p, p in zip(ema.parameters(), model.parameters()):
                        ema_p.mul_(decay).add_(p, alpha=1 - decay)
            losses.append(loss.item() * accum_steps)
        for param_group in optimizer.param_groups:
            param_group["lr"] = param_group["lr"] * 0.5
        lrs.append(optimizer.param_groups[0]["lr"])
    with torch.no_grad():
        pred = ema(x).argmax(dim=1)
        confident = torch.where(torch.softmax(model(x), 1).amax(1) > 0.5, pred, -1)
    ema_state = {k: v.numpy() for k, v in ema.state_dict().items()}
    return losses, lrs, ema_state, confident.numpy(), step


def gpt(torch, vocab=10, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=0.0):
    """A nanoGPT-style causal language model: a causal mask buffer from torch.tril, attention by
    hand in one block and by F.scaled_dot_product_attention in the other, GPT-2's init (normal
    0.02, c_proj scaled by depth) and the embedding tied to the head."""
    nn = torch.nn
    F = nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self, flash):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd)
            self.c_proj = nn.Linear(n_embd, n_embd)
            self.attn_dropout = nn.Dropout(dropout)
            self.resid_dropout = nn.Dropout(dropout)
            self.flash = flash
            if not flash:
                self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size))
                                     .view(1, 1, block_size, block_size), persistent=False)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            k = k.view(B, T, n_head, C // n_head).transpose(1, 2)
            q = q.view(B, T, n_head, C // n_head).transpose(1, 2)
            v = v.view(B, T, n_head, C // n_head).transpose(1, 2)
            if self.flash:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                                   dropout_p=dropout if self.training else 0,
                                                   is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
                att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
                att = F.softmax(att, dim=-1)
                att = self.attn_dropout(att)
                y = att @ v
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class Block(nn.Module):
        def __init__(self, flash):
            super().__init__()
            self.ln_1 = nn.LayerNorm(n_embd)
            self.attn = CausalSelfAttention(flash)
            self.ln_2 = nn.LayerNorm(n_embd)
            self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(n_embd, 4 * n_embd),
                                          c_proj=nn.Linear(4 * n_embd, n_embd),
                                          act=nn.GELU(approximate="tanh")))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            m = self.mlp
            return x + m.c_proj(m.act(m.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab, n_embd),
                wpe=nn.Embedding(block_size, n_embd),
                drop=nn.Dropout(dropout),
                h=nn.ModuleList([Block(flash=i % 2 == 1) for i in range(n_layer)]),
                ln_f=nn.LayerNorm(n_embd),
            ))
            self.lm_head = nn.Linear(n_embd, vocab, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            self.apply(self._init_weights)
            for pn, p in self.named_parameters():
                if pn.endswith("c_proj.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            b, t = idx.size()
            pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is not None:
                logits = self.lm_head(x)
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                       ignore_index=-1)
            else:
                logits = self.lm_head(x[:, [-1], :])
                loss = None
            return logits, loss

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, top_k=None):
            for _ in range(max_new_tokens):
                idx_cond = idx if idx.size(1) <= block_size else idx[:, -block_size:]
                logits, _ = self(idx_cond)
                logits = logits[:, -1, :]
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                idx_next = torch.argmax(probs, dim=-1, keepdim=True)
                idx = torch.cat((idx, idx_next), dim=1)
            return idx

    return GPT()


def train_gpt(torch, model, data, steps=5, batch_size=3):
    """nanoGPT's configure_optimizers (decay for 2-D parameters only) and its loop."""
    param_dict = {pn: p for pn, p in model.named_parameters() if p.requires_grad}
    decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
    optim_groups = [{"params": decay_params, "weight_decay": 0.1},
                    {"params": nodecay_params, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(optim_groups, lr=1e-2, betas=(0.9, 0.95))
    block = 8
    losses = []
    for step in range(steps):
        ix = [(step * 5 + 7 * i) % (len(data) - block) for i in range(batch_size)]
        x = torch.stack([data[i:i + block] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + block] for i in ix])
        y[0, :2] = -1  # ignored positions
        logits, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    out = model.generate(data[:4].view(1, -1), max_new_tokens=6, top_k=3)
    return losses, out.numpy(), model.lm_head.weight.detach().numpy()


def finetune(torch, model, datasets, num_epochs=3):
    """The transfer-learning tutorial's loop on the ResNet above: the features frozen, a new
    ``fc``, train and val phases under ``set_grad_enabled``, StepLR, the best weights kept by
    deepcopy; the loss scaled by a GradScaler (autocast off, as on a CPU run)."""
    import copy

    nn = torch.nn
    for param in model.parameters():
        param.requires_grad = False
    num_ftrs = model.fc.in_features
    model.fc = nn.Linear(num_ftrs, 2).to(next(model.parameters()).dtype)
    torch.nn.init.constant_(model.fc.bias, 0.1)
    with torch.no_grad():
        model.fc.weight.copy_(torch.arange(2 * num_ftrs).view(2, num_ftrs) / num_ftrs - 0.5)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.5, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8)
    dataloaders = {x: torch.utils.data.DataLoader(datasets[x], batch_size=4, shuffle=False)
                   for x in ["train", "val"]}
    dataset_sizes = {x: len(datasets[x]) for x in ["train", "val"]}
    best_model_wts = copy.deepcopy(model.state_dict())
    best_acc = 0.0
    history = []
    for _ in range(num_epochs):
        for phase in ["train", "val"]:
            model.train() if phase == "train" else model.eval()
            running_loss = 0.0
            running_corrects = 0
            for inputs, labels in dataloaders[phase]:
                inputs = inputs.to(device)
                labels = labels.to(device)
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    with torch.autocast(device_type="cpu", enabled=False):
                        outputs = model(inputs)
                        _, preds = torch.max(outputs, 1)
                        loss = criterion(outputs, labels)
                    if phase == "train":
                        scaler.scale(loss).backward()
                        scaler.step(optimizer)
                        scaler.update()
                running_loss += loss.item() * inputs.size(0)
                running_corrects += torch.sum(preds == labels.data)
            if phase == "train":
                scheduler.step()
            epoch_loss = running_loss / dataset_sizes[phase]
            epoch_acc = running_corrects.double() / dataset_sizes[phase]
            history.append((epoch_loss, epoch_acc.item()))
            if phase == "val" and epoch_acc > best_acc:
                best_acc = epoch_acc
                best_model_wts = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_model_wts)
    frozen = all(not p.requires_grad for n, p in model.named_parameters()
                 if not n.startswith("fc."))
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    return history, float(best_acc), frozen, state


def dqn(torch, n_observations=4, n_actions=2):
    """The DQN tutorial's policy and target networks (one container so both load one state)."""
    nn = torch.nn
    F = nn.functional

    class DQN(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = nn.Linear(n_observations, 16)
            self.layer2 = nn.Linear(16, 16)
            self.layer3 = nn.Linear(16, n_actions)

        def forward(self, x):
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)

    nets = nn.Module()
    nets.policy_net = DQN()
    nets.target_net = DQN()
    nets.target_net.load_state_dict(nets.policy_net.state_dict())
    return nets


def optimize_dqn(torch, nets, batches, GAMMA=0.99, TAU=0.005):
    """optimize_model: Q(s, a) by gather, V(s') from the target net on non-final states written
    into zeros by a boolean mask, Huber loss, clip_grad_value_, AdamW(amsgrad), the soft update
    of the target net through its state dict."""
    from collections import namedtuple

    Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))
    policy_net, target_net = nets.policy_net, nets.target_net
    optimizer = torch.optim.AdamW(policy_net.parameters(), lr=1e-3, amsgrad=True)
    losses = []
    for transitions in batches:
        batch = Transition(*zip(*[Transition(*t) for t in transitions]))
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)),
                                      dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(len(transitions), dtype=state_batch.dtype)
        with torch.no_grad():
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        criterion = torch.nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        target_net_state_dict = target_net.state_dict()
        policy_net_state_dict = policy_net.state_dict()
        for key in policy_net_state_dict:
            target_net_state_dict[key] = (policy_net_state_dict[key] * TAU
                                          + target_net_state_dict[key] * (1 - TAU))
        target_net.load_state_dict(target_net_state_dict)
        losses.append(loss.item())
    with torch.no_grad():
        greedy = policy_net(state_batch).max(1).indices
    return losses, greedy.numpy(), {k: v.numpy() for k, v in target_net.state_dict().items()}



def policy(torch, n_in=4, n_actions=3):
    nn = torch.nn
    F = nn.functional

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(n_in, 16)
            self.dropout = nn.Dropout(p=0.0)
            self.affine2 = nn.Linear(16, n_actions)
            self.saved_log_probs = []
            self.rewards = []

        def forward(self, x):
            x = self.affine1(x)
            x = self.dropout(x)
            x = F.relu(x)
            action_scores = self.affine2(x)
            return F.softmax(action_scores, dim=1)

    return Policy()


def train_reinforce(torch, policy, episodes, gamma=0.9):
    """REINFORCE as PyTorch's example writes it: Categorical(probs), log_prob of the action
    (the sampled one passed in with the state and reward), the discounted returns normalised,
    torch.cat of the per-step losses, ``del policy.rewards[:]``."""
    from collections import deque

    Categorical = torch.distributions.Categorical
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    eps = torch.finfo(torch.float64).eps
    losses = []
    for episode in episodes:
        for state, action, reward in episode:
            probs = policy(state.unsqueeze(0))
            m = Categorical(probs)
            policy.saved_log_probs.append(m.log_prob(action))
            policy.rewards.append(reward)
        R = 0
        policy_loss = []
        returns = deque()
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.appendleft(R)
        returns = torch.tensor(returns, dtype=torch.float64)
        # The example writes returns.std(); chainrule's default is the population std (see
        # "What differs on purpose" in docs/pytorch.md), so the unbiased one is asked for.
        returns = (returns - returns.mean()) / (returns.std(unbiased=True) + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        losses.append(policy_loss.item())
        del policy.rewards[:]
        del policy.saved_log_probs[:]
    return losses, policy.affine2.weight.detach().numpy()


def text_classifier(torch, vocab_size=20, embed_dim=6, num_class=3):
    """The text-classification tutorial's model: EmbeddingBag over a flat batch with offsets."""
    nn = torch.nn

    class TextClassificationModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self):
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    return TextClassificationModel()


def train_text_classifier(torch, model, samples, epochs=3):
    """collate_batch (offsets by cumsum), SGD with StepLR, clip_grad_norm_(0.1), and the
    tutorial's accuracy count."""

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(_label)
            processed_text = torch.tensor(_text, dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    dataloader = torch.utils.data.DataLoader(samples, batch_size=3, shuffle=False,
                                             collate_fn=collate_batch)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    history = []
    for _ in range(epochs):
        model.train()
        total_acc, total_count = 0, 0
        for label, text, offsets in dataloader:
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
            history.append(loss.item())
        scheduler.step()
        history.append(total_acc / total_count)
    return history, model.embedding.weight.detach().numpy()


def stn(torch):
    """The spatial-transformer tutorial's network on 12x12 images: a localization net whose
    last layer starts at the identity transform, affine_grid and grid_sample."""
    nn = torch.nn
    F = nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(4 * 5 * 5, 3)
            self.localization = nn.Sequential(
                nn.Conv2d(1, 3, kernel_size=3), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
            self.fc_loc = nn.Sequential(nn.Linear(3 * 5 * 5, 8), nn.ReLU(True), nn.Linear(8, 6))
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

        def stn(self, x):
            xs = self.localization(x)
            xs = xs.view(-1, 3 * 5 * 5)
            theta = self.fc_loc(xs)
            theta = theta.view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=False)
            return F.grid_sample(x, grid, align_corners=False)

        def forward(self, x):
            x = self.stn(x)
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv1(x)), 2))
            x = x.view(-1, 4 * 5 * 5)
            x = F.dropout(x, training=self.training)
            return F.log_softmax(self.fc1(x), dim=1)

    return Net()


def train_stn(torch, model, data, target, steps=4):
    """Training in eval mode (the dropouts are random), the MNIST example's test loop."""
    F = torch.nn.functional
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    model.eval()
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    test_loss, correct = 0, 0
    with torch.no_grad():
        output = model(data)
        test_loss += F.nll_loss(output, target, reduction="sum").item()
        pred = output.max(1, keepdim=True)[1]
        correct += pred.eq(target.view_as(pred)).sum().item()
    return losses, test_loss, correct, model.fc_loc[2].bias.detach().numpy()


def fno1d(torch, modes=4, width=6, cdtype=None):
    """The Fourier neural operator of the FNO paper's fourier_1d.py (Li et al., 2021): a lift
    (fc0) of (a(x), x), four Fourier layers (a spectral convolution with complex weights on the
    lowest ``modes`` frequencies plus a 1x1 convolution, then GELU), a projection (fc1, fc2).
    ``cdtype``: the complex dtype of the weights and spectra (the paper's torch.cfloat; a
    float64 comparison passes torch.cdouble)."""
    import numpy as np

    nn = torch.nn
    F = torch.nn.functional
    cfloat = torch.cfloat if cdtype is None else cdtype

    class SpectralConv1d(nn.Module):
        def __init__(self, in_channels, out_channels, modes1):
            super().__init__()
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.modes1 = modes1  # Fourier modes to multiply, at most floor(N/2) + 1
            self.scale = (1 / (in_channels * out_channels))
            self.weights1 = nn.Parameter(
                self.scale * torch.rand(in_channels, out_channels, self.modes1, dtype=cfloat))

        # Complex multiplication
        def compl_mul1d(self, input, weights):  # noqa: A002 - the FNO code's name
            # (batch, in_channel, x), (in_channel, out_channel, x) -> (batch, out_channel, x)
            return torch.einsum("bix,iox->box", input, weights)

        def forward(self, x):
            batchsize = x.shape[0]
            # Compute Fourier coefficients up to factor of e^(- something constant)
            x_ft = torch.fft.rfft(x)
            # Multiply relevant Fourier modes
            out_ft = torch.zeros(batchsize, self.out_channels, x.size(-1) // 2 + 1,
                                 device=x.device, dtype=cfloat)
            out_ft[:, :, :self.modes1] = self.compl_mul1d(x_ft[:, :, :self.modes1],
                                                          self.weights1)
            # Return to physical space
            x = torch.fft.irfft(out_ft, n=x.size(-1))
            return x

    class FNO1d(nn.Module):
        def __init__(self, modes, width):
            super().__init__()
            self.modes1 = modes
            self.width = width
            self.padding = 2  # pad the domain if input is non-periodic
            self.fc0 = nn.Linear(2, self.width)  # input channel is 2: (a(x), x)

            self.conv0 = SpectralConv1d(self.width, self.width, self.modes1)
            self.conv1 = SpectralConv1d(self.width, self.width, self.modes1)
            self.conv2 = SpectralConv1d(self.width, self.width, self.modes1)
            self.conv3 = SpectralConv1d(self.width, self.width, self.modes1)
            self.w0 = nn.Conv1d(self.width, self.width, 1)
            self.w1 = nn.Conv1d(self.width, self.width, 1)
            self.w2 = nn.Conv1d(self.width, self.width, 1)
            self.w3 = nn.Conv1d(self.width, self.width, 1)

            self.fc1 = nn.Linear(self.width, 16)
            self.fc2 = nn.Linear(16, 1)

        def forward(self, x):
            grid = self.get_grid(x.shape, x.device)
            x = torch.cat((x, grid), dim=-1)
            x = self.fc0(x)
            x = x.permute(0, 2, 1)
            # x = F.pad(x, [0,self.padding]) # pad the domain if input is non-periodic

            x1 = self.conv0(x)
            x2 = self.w0(x)
            x = x1 + x2
            x = F.gelu(x)

            x1 = self.conv1(x)
            x2 = self.w1(x)
            x = x1 + x2
            x = F.gelu(x)

            x1 = self.conv2(x)
            x2 = self.w2(x)
            x = x1 + x2
            x = F.gelu(x)

            x1 = self.conv3(x)
            x2 = self.w3(x)
            x = x1 + x2

            # x = x[..., :-self.padding] # pad the domain if input is non-periodic
            x = x.permute(0, 2, 1)
            x = self.fc1(x)
            x = F.gelu(x)
            x = self.fc2(x)
            return x

        def get_grid(self, shape, device):
            batchsize, size_x = shape[0], shape[1]
            gridx = torch.tensor(np.linspace(0, 1, size_x), dtype=torch.float)
            gridx = gridx.reshape(1, size_x, 1).repeat([batchsize, 1, 1])
            return gridx.to(device)

    return FNO1d(modes, width)


class LpLoss:
    """The FNO code's relative Lp loss (utilities3.py), summed over the batch."""

    def __init__(self, torch, d=2, p=2, size_average=True, reduction=True):
        self.torch = torch
        self.d = d
        self.p = p
        self.reduction = reduction
        self.size_average = size_average

    def rel(self, x, y):
        num_examples = x.size()[0]
        diff_norms = self.torch.norm(x.reshape(num_examples, -1) - y.reshape(num_examples, -1),
                                     self.p, 1)
        y_norms = self.torch.norm(y.reshape(num_examples, -1), self.p, 1)
        if self.reduction:
            if self.size_average:
                return self.torch.mean(diff_norms / y_norms)
            return self.torch.sum(diff_norms / y_norms)
        return diff_norms / y_norms

    def __call__(self, x, y):
        return self.rel(x, y)


def train_fno1d(torch, model, x_train, y_train, epochs=3, batch_size=4, learning_rate=0.001,
                step_size=2, gamma=0.5):
    """fourier_1d.py's training loop: Adam with weight decay, StepLR, the relative L2 loss;
    returns the per-step losses and MSEs, the learning rates, the parameters, and the state
    dict's round trip through torch.save/torch.load."""
    import io

    F = torch.nn.functional
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    myloss = LpLoss(torch, size_average=False)
    losses, mses, lrs = [], [], []
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            out = model(x)
            mse = F.mse_loss(out.view(batch_size, -1), y.view(batch_size, -1), reduction="mean")
            l2 = myloss(out.view(batch_size, -1), y.view(batch_size, -1))
            l2.backward()  # use the l2 relative loss
            optimizer.step()
            losses.append(l2.item())
            mses.append(mse.item())
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    params = {n: p.detach().numpy() for n, p in model.named_parameters()}
    return losses, mses, lrs, params, optimizer.state_dict()["state"][2]  # conv0.weights1's


def spectral_conv2d(torch, in_channels=3, out_channels=2, modes1=3, modes2=2, cdtype=None):
    """fourier_2d.py's SpectralConv2d: two complex weight blocks, for the lowest positive and
    the highest (negative) frequencies of the first axis, written into slices of out_ft."""
    nn = torch.nn
    cfloat = torch.cfloat if cdtype is None else cdtype

    class SpectralConv2d(nn.Module):
        def __init__(self, in_channels, out_channels, modes1, modes2):
            super().__init__()
            self.in_channels = in_channels
            self.out_channels = out_channels
            self.modes1 = modes1
            self.modes2 = modes2
            self.scale = (1 / (in_channels * out_channels))
            self.weights1 = nn.Parameter(self.scale * torch.rand(
                in_channels, out_channels, self.modes1, self.modes2, dtype=cfloat))
            self.weights2 = nn.Parameter(self.scale * torch.rand(
                in_channels, out_channels, self.modes1, self.modes2, dtype=cfloat))

        def compl_mul2d(self, input, weights):  # noqa: A002 - the FNO code's name
            # (batch, in_channel, x,y ), (in_channel, out_channel, x,y) -> (batch, out_channel, x,y)
            return torch.einsum("bixy,ioxy->boxy", input, weights)

        def forward(self, x):
            batchsize = x.shape[0]
            x_ft = torch.fft.rfft2(x)
            out_ft = torch.zeros(batchsize, self.out_channels, x.size(-2), x.size(-1) // 2 + 1,
                                 dtype=cfloat, device=x.device)
            out_ft[:, :, :self.modes1, :self.modes2] = \
                self.compl_mul2d(x_ft[:, :, :self.modes1, :self.modes2], self.weights1)
            out_ft[:, :, -self.modes1:, :self.modes2] = \
                self.compl_mul2d(x_ft[:, :, -self.modes1:, :self.modes2], self.weights2)
            x = torch.fft.irfft2(out_ft, s=(x.size(-2), x.size(-1)))
            return x

    return SpectralConv2d(in_channels, out_channels, modes1, modes2)


def train_spectral_conv2d(torch, model, x, y, steps=4):
    """A few AdamW steps with gradient-norm clipping (complex gradients: their modulus)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    losses, norms = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item())
        optimizer.step()
        losses.append(loss.item())
    return losses, norms, {n: p.detach().numpy() for n, p in model.named_parameters()}
