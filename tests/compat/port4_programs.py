"""Ported vision and data-pipeline programs, run with ``torch`` = PyTorch or chainrule
(test_port4_programs.py): an image captioner on nn.TransformerDecoder, a bucketing batch sampler
with a padding collate_fn feeding a packed bidirectional GRU, MADE (masked linear layers with
mask buffers), patch denoising by F.unfold/F.fold, AdaIN style transfer, a ShuffleNetV2 unit
(channel shuffle, chunk, depthwise convs) and bilinear pooling with a signed square root.
"""

from __future__ import annotations

import importlib


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def captioner(torch, vocab=9, d=8, nhead=2, max_len=8):
    nn = torch.nn

    class Captioner(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(nn.Conv2d(3, d, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(d, d, 3, stride=2, padding=1))
            self.embed = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Parameter(torch.zeros(1, max_len, d))
            layer = nn.TransformerDecoderLayer(d, nhead, dim_feedforward=16, dropout=0.0,
                                               batch_first=True, norm_first=True)
            self.decoder = nn.TransformerDecoder(layer, num_layers=2, norm=nn.LayerNorm(d))
            self.fc = nn.Linear(d, vocab)

        def forward(self, images, captions):
            memory = self.cnn(images).flatten(2).transpose(1, 2)
            T = captions.size(1)  # noqa: N806
            tgt = self.embed(captions) + self.pos[:, :T]
            causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
            out = self.decoder(tgt, memory, tgt_mask=causal,
                               tgt_key_padding_mask=captions == 0)
            return self.fc(out)

    return Captioner()


def train_captioner(torch, model, images, captions, steps=3, bos=1):
    """Teacher forcing with the captions shifted by one, CrossEntropyLoss(ignore_index=pad),
    Adam; greedy decoding in eval mode under inference_mode."""
    criterion = torch.nn.CrossEntropyLoss(ignore_index=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    model.train()
    for _ in range(steps):
        logits = model(images, captions[:, :-1])
        loss = criterion(logits.reshape(-1, logits.size(-1)), captions[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.inference_mode():
        seq = torch.full((images.size(0), 1), bos, dtype=torch.long)
        for _ in range(4):
            nxt = model(images, seq)[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, nxt], dim=1)
    return losses, seq.tolist(), _state(model)


def gru_tagger(torch, vocab=10, emb=5, hidden=4, classes=3):
    nn = torch.nn
    rnn = nn.utils.rnn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb, padding_idx=0)
            self.gru = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(4 * hidden, classes)

        def forward(self, padded, lengths):
            packed = rnn.pack_padded_sequence(self.embedding(padded), lengths, batch_first=True,
                                              enforce_sorted=False)
            packed_out, h_n = self.gru(packed)
            out, out_lengths = rnn.pad_packed_sequence(packed_out, batch_first=True)
            mask = (torch.arange(out.size(1))[None, :] < out_lengths[:, None]).unsqueeze(-1)
            mean = (out * mask).sum(1) / out_lengths[:, None].to(out.dtype)
            last = torch.cat([h_n[-2], h_n[-1]], dim=1)
            return self.fc(torch.cat([mean, last], dim=1))

    return Classifier()


def train_bucketed(torch, model, sequences, labels, epochs=2, batch_size=3):
    """A Dataset of variable-length sequences, a Sampler subclass that batches indices of
    similar length (sorted, chunked, batches in a fixed order), a collate_fn that pads with
    pad_sequence and returns the lengths; RMSprop."""
    data = importlib.import_module(f"{torch.__name__}.utils.data")
    pad_sequence = torch.nn.utils.rnn.pad_sequence

    class SequenceDataset(data.Dataset):
        def __init__(self, seqs, ys):
            self.seqs, self.ys = seqs, ys

        def __len__(self):
            return len(self.seqs)

        def __getitem__(self, i):
            return torch.tensor(self.seqs[i]), self.ys[i]

    class BucketBatchSampler(data.Sampler):
        def __init__(self, lengths, batch_size):
            order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
            self.batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
            self.batches = self.batches[1::2] + self.batches[0::2]

        def __iter__(self):
            yield from self.batches

        def __len__(self):
            return len(self.batches)

    def collate(batch):
        seqs, ys = zip(*batch)
        lengths = torch.tensor([len(s) for s in seqs])
        return pad_sequence(seqs, batch_first=True, padding_value=0), lengths, torch.tensor(ys)

    dataset = SequenceDataset(sequences, labels)
    loader = data.DataLoader(dataset, collate_fn=collate, batch_sampler=BucketBatchSampler(
        [len(s) for s in sequences], batch_size))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, centered=True)
    losses, shapes = [], []
    for _ in range(epochs):
        for padded, lengths, ys in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(padded, lengths), ys)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            shapes.append(tuple(padded.shape))
    return losses, shapes, len(loader), _state(model)


def made(torch, nin=6, hidden=(12, 12)):
    """karpathy/pytorch-made: MaskedLinear keeps its mask as a buffer; the masks come from the
    input ordering and random hidden degrees (given by the test, the port draws them with a
    seeded NumPy RandomState)."""
    nn = torch.nn

    class MaskedLinear(nn.Linear):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.register_buffer("mask", torch.ones(out_features, in_features))

        def set_mask(self, mask):
            self.mask.data.copy_(torch.from_numpy(mask.astype("uint8").T))

        def forward(self, input):  # noqa: A002
            return torch.nn.functional.linear(input, self.mask * self.weight, self.bias)

    class MADE(nn.Module):
        def __init__(self):
            super().__init__()
            self.nin = nin
            sizes = [nin, *hidden, nin]
            layers = []
            for h0, h1 in zip(sizes, sizes[1:]):
                layers.extend([MaskedLinear(h0, h1), nn.ReLU()])
            layers.pop()
            self.net = nn.Sequential(*layers)

        def update_masks(self, degrees):
            L = len(hidden)  # noqa: N806
            masks = [degrees[l][:, None] <= degrees[l + 1][None, :] for l in range(L)]
            masks.append(degrees[L][:, None] < degrees[0][None, :])
            for layer, m in zip([m for m in self.net.modules() if isinstance(m, MaskedLinear)],
                                masks):
                layer.set_mask(m)

        def forward(self, x):
            return self.net(x)

    return MADE()


def train_made(torch, model, degrees, x, steps=4):
    """Binary data's negative log-likelihood by BCEWithLogitsLoss(reduction='sum') / batch;
    Adam; the Jacobian of the logits with respect to the input checks the autoregressive
    property."""
    model.update_masks(degrees)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    criterion = torch.nn.BCEWithLogitsLoss(reduction="sum")
    losses = []
    for _ in range(steps):
        loss = criterion(model(x), x) / x.size(0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    jac = torch.autograd.functional.jacobian(lambda v: model(v), x[0])
    return losses, (jac != 0).numpy(), _state(model)


def patch_denoiser(torch, patch=3, hidden=6):
    nn = torch.nn
    return nn.Sequential(nn.Linear(patch * patch, hidden), nn.Tanh(),
                         nn.Linear(hidden, patch * patch))


def train_patch_denoiser(torch, model, noisy, clean, steps=3, patch=3):
    """Overlapping patches by F.unfold, each denoised by an MLP, put back by F.fold and
    divided by fold(unfold(ones)) (the overlap count); SGD with momentum."""
    F = torch.nn.functional  # noqa: N806
    size = noisy.shape[-2:]
    counts = F.fold(F.unfold(torch.ones_like(noisy), patch, stride=1), size, patch, stride=1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.8)
    losses = []
    for _ in range(steps):
        cols = F.unfold(noisy, kernel_size=patch, stride=1)
        out = model(cols.transpose(1, 2)).transpose(1, 2)
        image = F.fold(out, output_size=size, kernel_size=patch, stride=1) / counts
        loss = F.l1_loss(image, clean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, counts.numpy(), image.detach().numpy(), _state(model)


def adain_net(torch):
    """naoto0804/pytorch-AdaIN in miniature: a fixed encoder (its relu1_1 and relu2_1
    outputs), AdaIN by calc_mean_std, a trained decoder; content and style losses."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc_1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
                                       nn.ReLU())
            self.enc_2 = nn.Sequential(nn.MaxPool2d(2, 2, ceil_mode=True),
                                       nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect"),
                                       nn.ReLU())
            self.decoder = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(6, 4, 3), nn.ReLU(),
                                         nn.Upsample(scale_factor=2, mode="nearest"),
                                         nn.ReflectionPad2d(1), nn.Conv2d(4, 3, 3))
            self.mse_loss = nn.MSELoss()
            for name in ["enc_1", "enc_2"]:
                for param in getattr(self, name).parameters():
                    param.requires_grad = False

        def encode_with_intermediate(self, x):
            results = [x]
            for i in range(2):
                results.append(getattr(self, f"enc_{i + 1}")(results[-1]))
            return results[1:]

        def calc_style_loss(self, input, target):  # noqa: A002
            input_mean, input_std = calc_mean_std(input)
            target_mean, target_std = calc_mean_std(target)
            return self.mse_loss(input_mean, target_mean) + self.mse_loss(input_std, target_std)

        def forward(self, content, style, alpha=1.0):
            style_feats = self.encode_with_intermediate(style)
            content_feat = self.enc_2(self.enc_1(content))
            t = adaptive_instance_normalization(content_feat, style_feats[-1])
            t = alpha * t + (1 - alpha) * content_feat
            g_t = self.decoder(t)
            g_t_feats = self.encode_with_intermediate(g_t)
            loss_c = self.mse_loss(g_t_feats[-1], t)
            loss_s = sum(self.calc_style_loss(g, s) for g, s in zip(g_t_feats, style_feats))
            return loss_c, loss_s

    def calc_mean_std(feat, eps=1e-5):
        size = feat.size()
        N, C = size[:2]  # noqa: N806
        feat_var = feat.view(N, C, -1).var(dim=2) + eps
        feat_std = feat_var.sqrt().view(N, C, 1, 1)
        feat_mean = feat.view(N, C, -1).mean(dim=2).view(N, C, 1, 1)
        return feat_mean, feat_std

    def adaptive_instance_normalization(content_feat, style_feat):
        size = content_feat.size()
        style_mean, style_std = calc_mean_std(style_feat)
        content_mean, content_std = calc_mean_std(content_feat)
        normalized_feat = (content_feat - content_mean.expand(size)) / content_std.expand(size)
        return normalized_feat * style_std.expand(size) + style_mean.expand(size)

    return Net()


def train_adain(torch, network, contents, styles, style_weight=10.0):
    """Adam on the decoder only, the reference's adjust_learning_rate (inverse decay) written
    into the param groups each iteration."""
    optimizer = torch.optim.Adam(network.decoder.parameters(), lr=1e-3)

    def adjust_learning_rate(optimizer, iteration_count, lr=1e-3, lr_decay=0.5):
        lr = lr / (1.0 + lr_decay * iteration_count)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr

    losses = []
    network.train()
    for i, (content, style) in enumerate(zip(contents, styles)):
        adjust_learning_rate(optimizer, iteration_count=i)
        loss_c, loss_s = network(content, style)
        loss = loss_c + style_weight * loss_s
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([loss_c.item(), loss_s.item()])
    frozen = all(p.grad is None for p in network.enc_1.parameters())
    return losses, frozen, _state(network)


def shufflenet_v2(torch, num_classes=3):
    """torchvision's ShuffleNetV2 units: channel_shuffle by view-transpose-view, x.chunk(2) in
    the stride-1 unit, depthwise 3x3 convs in both branches of the stride-2 unit."""
    nn = torch.nn

    def channel_shuffle(x, groups):
        batchsize, num_channels, height, width = x.size()
        channels_per_group = num_channels // groups
        x = x.view(batchsize, groups, channels_per_group, height, width)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(batchsize, num_channels, height, width)

    def depthwise_conv(i, o, kernel_size, stride=1, padding=0, bias=False):
        return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

    class InvertedResidual(nn.Module):
        def __init__(self, inp, oup, stride):
            super().__init__()
            self.stride = stride
            branch_features = oup // 2
            if self.stride > 1:
                self.branch1 = nn.Sequential(
                    depthwise_conv(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                    nn.BatchNorm2d(inp),
                    nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0,
                              bias=False),
                    nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))
            else:
                self.branch1 = nn.Sequential()
            self.branch2 = nn.Sequential(
                nn.Conv2d(inp if self.stride > 1 else branch_features, branch_features, 1,
                          bias=False),
                nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True),
                depthwise_conv(branch_features, branch_features, kernel_size=3,
                               stride=self.stride, padding=1),
                nn.BatchNorm2d(branch_features),
                nn.Conv2d(branch_features, branch_features, 1, bias=False),
                nn.BatchNorm2d(branch_features), nn.ReLU(inplace=True))

        def forward(self, x):
            if self.stride == 1:
                x1, x2 = x.chunk(2, dim=1)
                out = torch.cat((x1, self.branch2(x2)), dim=1)
            else:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            return channel_shuffle(out, 2)

    class ShuffleNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8),
                                       nn.ReLU(inplace=True))
            self.stage2 = nn.Sequential(InvertedResidual(8, 16, 2), InvertedResidual(16, 16, 1))
            self.fc = nn.Linear(16, num_classes)

        def forward(self, x):
            x = self.stage2(self.conv1(x))
            return self.fc(x.mean([2, 3]))

    return ShuffleNetV2()


def train_shufflenet(torch, model, images, labels, steps=3):
    """SGD with momentum and a PolynomialLR; eval-mode logits with the running statistics."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=4e-5)
    scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=4, power=2.0)
    losses = []
    model.train()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(images)
    return losses, logits.numpy(), scheduler.get_last_lr(), _state(model)


def bilinear_cnn(torch, classes=3):
    """Bilinear CNN pooling (Lin et al.): the outer product of features averaged over
    positions by bmm, signed square root, L2 normalization, a linear classifier."""
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class BCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(5, 4, 3, padding=1), nn.ReLU())
            self.fc = nn.Linear(16, classes)

        def forward(self, x):
            x = self.features(x)
            n, c, h, w = x.size()
            x = x.view(n, c, h * w)
            x = torch.bmm(x, torch.transpose(x, 1, 2)) / (h * w)
            x = x.view(n, c * c)
            x = torch.sign(x) * torch.sqrt(torch.abs(x) + 1e-10)
            x = F.normalize(x)
            return self.fc(x)

    return BCNN()


def train_bilinear(torch, model, images, labels, steps=3):
    """Two stages as the paper's code: the classifier alone (features frozen), then all with
    a smaller learning rate for the features (two param groups)."""
    criterion = torch.nn.CrossEntropyLoss()
    model.features.requires_grad_(False)
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-5)
    losses = []
    for stage in range(2):
        for _ in range(steps):
            loss = criterion(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        if stage == 0:
            model.features.requires_grad_(True)
            optimizer = torch.optim.SGD([{"params": model.features.parameters(), "lr": 0.05},
                                         {"params": model.fc.parameters()}],
                                        lr=0.2, momentum=0.9, weight_decay=1e-5)
    return losses, _state(model)
