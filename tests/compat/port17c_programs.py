"""Wave-17 ports, part three, run with ``torch`` = PyTorch or chainrule
(test_port17c_programs.py): three small vision/sequence programs as their repositories write them.

- locuslab/convmixer-cifar10: ``ConvMixer`` (a patch-embedding convolution, ``Residual``
  depthwise convolutions with ``padding="same"``, GELU and BatchNorm, pointwise convolutions) and
  its ``train.py`` loop: a piecewise-linear schedule by ``np.interp`` written into
  ``opt.param_groups[0].update(lr=lr)`` every batch, AdamW, a ``GradScaler``/``autocast`` pair
  (disabled on the CPU), ``scaler.unscale_`` before ``clip_grad_norm_``, train and test accuracy
  by ``output.max(1)[1] == y``.
- FNet (rishikksh20/FNet-pytorch): attention replaced by
  ``torch.fft.fft(torch.fft.fft(x, dim=-1), dim=-2).real`` inside ``PreNorm`` residual blocks
  held in nested ``ModuleList``s, over token embeddings, trained with Adam.
- kuangliu/pytorch-cifar: ``MobileNetV2`` (expand/depthwise/pointwise ``Block`` with its
  shortcut only at stride 1) and ``SENet`` ``PreActBlock`` (squeeze by
  ``F.avg_pool2d(out, out.size(2))``, ``out += shortcut``), trained by its ``main.py``: SGD
  with momentum and weight decay, ``CosineAnnealingLR``, ``outputs.max(1)``/``predicted.eq``
  accuracy, and a best-accuracy checkpoint ``torch.save``'d and resumed.
"""

from __future__ import annotations

import io

import numpy as np


def convmixer(torch, dim=8, depth=2, kernel_size=3, patch_size=2, n_classes=4):
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x) + x

    def ConvMixer(dim, depth, kernel_size=5, patch_size=2, n_classes=10):  # noqa: N802
        return nn.Sequential(
            nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size),
            nn.GELU(),
            nn.BatchNorm2d(dim),
            *[nn.Sequential(
                Residual(nn.Sequential(
                    nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                    nn.GELU(),
                    nn.BatchNorm2d(dim)
                )),
                nn.Conv2d(dim, dim, kernel_size=1),
                nn.GELU(),
                nn.BatchNorm2d(dim)
            ) for i in range(depth)],
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Linear(dim, n_classes)
        )

    return ConvMixer(dim, depth, kernel_size=kernel_size, patch_size=patch_size,
                     n_classes=n_classes)


def train_convmixer(torch, model, x, y, x_test, y_test, epochs=3, batch_size=8, lr_max=0.01,
                    wd=0.005, clip_norm=True):
    nn = torch.nn
    trainloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                              batch_size=batch_size, shuffle=False)
    testloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_test, y_test),
                                             batch_size=batch_size, shuffle=False)

    def lr_schedule(t):
        return np.interp([t], [0, epochs * 2 // 5, epochs * 4 // 5, epochs],
                         [0, lr_max, lr_max / 20.0, 0])[0]

    opt = torch.optim.AdamW(model.parameters(), lr=lr_max, weight_decay=wd)
    criterion = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    history = []
    for epoch in range(epochs):
        train_loss, train_acc, n = 0, 0, 0
        for i, (X, y) in enumerate(trainloader):
            model.train()
            lr = lr_schedule(epoch + (i + 1) / len(trainloader))
            opt.param_groups[0].update(lr=lr)

            opt.zero_grad()
            with torch.autocast("cpu", enabled=False):
                output = model(X)
                loss = criterion(output, y)

            scaler.scale(loss).backward()
            if clip_norm:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()

            train_loss += loss.item() * y.size(0)
            train_acc += (output.max(1)[1] == y).sum().item()
            n += y.size(0)

        model.eval()
        test_acc, m = 0, 0
        with torch.no_grad():
            for i, (X, y) in enumerate(testloader):  # noqa: B007 - as written
                with torch.autocast("cpu", enabled=False):
                    output = model(X)
                test_acc += (output.max(1)[1] == y).sum().item()
                m += y.size(0)
        history.append((train_loss / n, train_acc / n, test_acc / m, lr))
    return history, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def fnet(torch, vocab=12, dim=8, depth=2, mlp_dim=16, n_classes=3, dropout=0.0):
    nn = torch.nn

    class FeedForward(nn.Module):
        def __init__(self, dim, hidden_dim, dropout=0.):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(dim, hidden_dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_dim, dim),
                nn.Dropout(dropout)
            )

        def forward(self, x):
            return self.net(x)

    class PreNorm(nn.Module):
        def __init__(self, dim, fn):
            super().__init__()
            self.norm = nn.LayerNorm(dim)
            self.fn = fn

        def forward(self, x, **kwargs):
            return self.fn(self.norm(x), **kwargs)

    class FNetBlock(nn.Module):
        def __init__(self):
            super().__init__()

        def forward(self, x):
            x = torch.fft.fft(torch.fft.fft(x, dim=-1), dim=-2).real
            return x

    class FNet(nn.Module):
        def __init__(self, dim, depth, mlp_dim, dropout=0.):
            super().__init__()
            self.layers = nn.ModuleList([])
            for _ in range(depth):
                self.layers.append(nn.ModuleList([
                    PreNorm(dim, FNetBlock()),
                    PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout))
                ]))

        def forward(self, x):
            for attn, ff in self.layers:
                x = attn(x) + x
                x = ff(x) + x
            return x

    class FNetClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            self.fnet = FNet(dim, depth, mlp_dim, dropout)
            self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, n_classes))

        def forward(self, tokens):
            return self.head(self.fnet(self.embed(tokens)).mean(dim=1))

    return FNetClassifier()


def train_fnet(torch, model, tokens, labels, epochs=4, batch_size=6):
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    criterion = torch.nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        for i in range(0, len(tokens), batch_size):
            optimizer.zero_grad()
            loss = criterion(model(tokens[i:i + batch_size]), labels[i:i + batch_size])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def pytorch_cifar_nets(torch, kind, num_classes=4):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        '''expand + depthwise + pointwise'''

        def __init__(self, in_planes, out_planes, expansion, stride):
            super(Block, self).__init__()  # noqa: UP008 - the repository's form
            self.stride = stride

            planes = expansion * in_planes
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=1, stride=1, padding=0,
                                   bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1,
                                   groups=planes, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, out_planes, kernel_size=1, stride=1, padding=0,
                                   bias=False)
            self.bn3 = nn.BatchNorm2d(out_planes)

            self.shortcut = nn.Sequential()
            if stride == 1 and in_planes != out_planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=1, padding=0,
                              bias=False),
                    nn.BatchNorm2d(out_planes),
                )

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            out = out + self.shortcut(x) if self.stride == 1 else out
            return out

    class MobileNetV2(nn.Module):
        # (expansion, out_planes, num_blocks, stride), shrunk from the repository's
        cfg = [(1, 8, 1, 1),
               (2, 12, 2, 2),
               (2, 16, 1, 1)]

        def __init__(self, num_classes=10):
            super(MobileNetV2, self).__init__()  # noqa: UP008 - the repository's form
            self.conv1 = nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.layers = self._make_layers(in_planes=8)
            self.conv2 = nn.Conv2d(16, 24, kernel_size=1, stride=1, padding=0, bias=False)
            self.bn2 = nn.BatchNorm2d(24)
            self.linear = nn.Linear(24, num_classes)

        def _make_layers(self, in_planes):
            layers = []
            for expansion, out_planes, num_blocks, stride in self.cfg:
                strides = [stride] + [1] * (num_blocks - 1)
                for stride in strides:
                    layers.append(Block(in_planes, out_planes, expansion, stride))
                    in_planes = out_planes
            return nn.Sequential(*layers)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layers(out)
            out = F.relu(self.bn2(self.conv2(out)))
            # NOTE: pooling kernel_size 4 for the 8 x 8 inputs here (CIFAR's 32 after strides)
            out = F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    class PreActBlock(nn.Module):
        def __init__(self, in_planes, planes, stride=1):
            super(PreActBlock, self).__init__()  # noqa: UP008 - the repository's form
            self.bn1 = nn.BatchNorm2d(in_planes)
            self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                                   bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)

            if stride != 1 or in_planes != planes:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False)
                )

            # SE layers
            self.fc1 = nn.Conv2d(planes, planes // 16, kernel_size=1)
            self.fc2 = nn.Conv2d(planes // 16, planes, kernel_size=1)

        def forward(self, x):
            out = F.relu(self.bn1(x))
            shortcut = self.shortcut(out) if hasattr(self, 'shortcut') else x
            out = self.conv1(out)
            out = self.conv2(F.relu(self.bn2(out)))

            # Squeeze
            w = F.avg_pool2d(out, out.size(2))
            w = F.relu(self.fc1(w))
            w = F.sigmoid(self.fc2(w))
            # Excitation
            out = out * w

            out += shortcut
            return out

    class SENet(nn.Module):
        def __init__(self, block, num_blocks, num_classes=10):
            super(SENet, self).__init__()  # noqa: UP008 - the repository's form
            self.in_planes = 16
            self.conv1 = nn.Conv2d(3, 16, kernel_size=3, stride=1, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.layer1 = self._make_layer(block, 16, num_blocks[0], stride=1)
            self.layer2 = self._make_layer(block, 32, num_blocks[1], stride=2)
            self.linear = nn.Linear(32, num_classes)

        def _make_layer(self, block, planes, num_blocks, stride):
            strides = [stride] + [1] * (num_blocks - 1)
            layers = []
            for stride in strides:
                layers.append(block(self.in_planes, planes, stride))
                self.in_planes = planes
            return nn.Sequential(*layers)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer1(out)
            out = self.layer2(out)
            out = F.avg_pool2d(out, 4)
            out = out.view(out.size(0), -1)
            out = self.linear(out)
            return out

    if kind == "mobilenetv2":
        return MobileNetV2(num_classes)
    return SENet(PreActBlock, [1, 1], num_classes)


def train_pytorch_cifar(torch, net, x, y, x_test, y_test, epochs=3, batch_size=8):
    nn, optim = torch.nn, torch.optim
    trainloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                              batch_size=batch_size, shuffle=False)
    testloader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_test, y_test),
                                             batch_size=batch_size, shuffle=False)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    best_acc, saved, history = 0, None, []

    def train(epoch):
        net.train()
        train_loss, correct, total = 0, 0, 0
        for batch_idx, (inputs, targets) in enumerate(trainloader):  # noqa: B007
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()

            train_loss += loss.item()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
        return train_loss / (batch_idx + 1), 100. * correct / total

    def test(epoch):
        nonlocal best_acc, saved
        net.eval()
        test_loss, correct, total = 0, 0, 0
        with torch.no_grad():
            for batch_idx, (inputs, targets) in enumerate(testloader):  # noqa: B007
                outputs = net(inputs)
                loss = criterion(outputs, targets)
                test_loss += loss.item()
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
        # Save checkpoint.
        acc = 100. * correct / total
        if acc >= best_acc:
            state = {'net': net.state_dict(), 'acc': acc, 'epoch': epoch}
            saved = io.BytesIO()
            torch.save(state, saved)
            best_acc = acc
        return test_loss / (batch_idx + 1), acc

    for epoch in range(epochs):
        history.append(train(epoch) + test(epoch) + (scheduler.get_last_lr()[0],))
        scheduler.step()
    saved.seek(0)
    checkpoint = torch.load(saved, weights_only=True)
    net.load_state_dict(checkpoint['net'])
    return history, checkpoint['acc'], checkpoint['epoch'], \
        {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
