"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port11_programs.py): pytorch/examples mnist_rnn (an ``nn.LSTM`` over image rows, the last
step through ``BatchNorm1d`` and ``nn.Dropout2d`` on 2-D input, ``Adadelta`` with ``StepLR``, a
test loop summing ``nll_loss(reduction='sum')`` and ``pred.eq(target.view_as(pred))``),
facebookresearch SimSiam (a projector that wraps the encoder's own ``fc``, a frozen bias,
``BatchNorm1d(affine=False)``, ``nn.CosineSimilarity`` with stop-gradient, param groups with an
extra ``fix_lr`` key and a hand-written cosine schedule, then linear evaluation: renamed
checkpoint keys, ``load_state_dict(strict=False)`` and its ``missing_keys``, ``normal_``/``zero_``
on ``.data``).
"""

from __future__ import annotations

import math


def _state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# --- pytorch/examples mnist_rnn -------------------------------------------------------------

def mnist_rnn(torch, rows=6, hidden=8, classes=4):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()  # noqa: UP008 - as the example writes it
            self.rnn = nn.LSTM(input_size=rows, hidden_size=hidden, batch_first=True)
            self.batchnorm = nn.BatchNorm1d(hidden)
            self.dropout1 = nn.Dropout2d(0.25)
            self.dropout2 = nn.Dropout2d(0.5)
            self.fc1 = nn.Linear(hidden, 6)
            self.fc2 = nn.Linear(6, classes)

        def forward(self, input):  # noqa: A002
            # (batch, 1, rows, rows) -> (batch, rows, rows), as batch_first wants
            input = input.reshape(-1, rows, rows)  # noqa: A001
            output, hidden = self.rnn(input)
            output = output[:, -1, :]
            output = self.batchnorm(output)
            output = self.dropout1(output)
            output = self.fc1(output)
            output = F.relu(output)
            output = self.dropout2(output)
            output = self.fc2(output)
            output = F.log_softmax(output, dim=1)
            return output

    return Net()


def train_mnist_rnn(torch, model, images, labels, epochs=2, batch_size=4):
    F = torch.nn.functional  # noqa: N806
    data = torch.utils.data
    dataset = data.TensorDataset(images, labels)
    train_loader = data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    test_loader = data.DataLoader(dataset, batch_size=5)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    losses, tests = [], []
    for _epoch in range(1, epochs + 1):
        model.train()
        for _batch_idx, (data_, target) in enumerate(train_loader):
            optimizer.zero_grad()
            output = model(data_)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data_, target in test_loader:
                output = model(data_)
                test_loss += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        tests.append((test_loss, correct, scheduler.get_last_lr()[0]))
        scheduler.step()
    return losses, tests, _state(model)


# --- SimSiam -----------------------------------------------------------------------------------

def tiny_resnet(torch, num_classes=8, zero_init_residual=False):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += identity
            return self.relu(out)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = Block(4)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(4, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if zero_init_residual:
                for m in self.modules():
                    if isinstance(m, Block):
                        nn.init.constant_(m.bn2.weight, 0)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer1(x)
            x = torch.flatten(self.avgpool(x), 1)
            return self.fc(x)

    return ResNet()


def simsiam(torch, dim=8, pred_dim=4):
    nn = torch.nn

    class SimSiam(nn.Module):
        def __init__(self, base_encoder):
            super().__init__()
            self.encoder = base_encoder(num_classes=dim, zero_init_residual=True)
            prev_dim = self.encoder.fc.weight.shape[1]
            self.encoder.fc = nn.Sequential(nn.Linear(prev_dim, prev_dim, bias=False),
                                            nn.BatchNorm1d(prev_dim),
                                            nn.ReLU(inplace=True),
                                            nn.Linear(prev_dim, prev_dim, bias=False),
                                            nn.BatchNorm1d(prev_dim),
                                            nn.ReLU(inplace=True),
                                            self.encoder.fc,
                                            nn.BatchNorm1d(dim, affine=False))
            self.encoder.fc[6].bias.requires_grad = False  # followed by BN: no use for a bias
            self.predictor = nn.Sequential(nn.Linear(dim, pred_dim, bias=False),
                                           nn.BatchNorm1d(pred_dim),
                                           nn.ReLU(inplace=True),
                                           nn.Linear(pred_dim, dim))

        def forward(self, x1, x2):
            z1 = self.encoder(x1)
            z2 = self.encoder(x2)
            p1 = self.predictor(z1)
            p2 = self.predictor(z2)
            return p1, p2, z1.detach(), z2.detach()

    return SimSiam(lambda **kw: tiny_resnet(torch, **kw))


class AverageMeter:
    def __init__(self):
        self.val = self.avg = self.sum = self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def adjust_learning_rate(optimizer, init_lr, epoch, epochs):
    cur_lr = init_lr * 0.5 * (1. + math.cos(math.pi * epoch / epochs))
    for param_group in optimizer.param_groups:
        if "fix_lr" in param_group and param_group["fix_lr"]:
            param_group["lr"] = init_lr
        else:
            param_group["lr"] = cur_lr


def train_simsiam(torch, model, pairs, epochs=2, lr=0.05, batch_size=4):
    init_lr = lr * batch_size / 256 * 64
    criterion = torch.nn.CosineSimilarity(dim=1)
    optim_params = [{"params": model.encoder.parameters(), "fix_lr": False},
                    {"params": model.predictor.parameters(), "fix_lr": True}]
    optimizer = torch.optim.SGD(optim_params, init_lr, momentum=0.9, weight_decay=1e-4)
    history = []
    for epoch in range(epochs):
        adjust_learning_rate(optimizer, init_lr, epoch, epochs)
        losses = AverageMeter()
        model.train()
        for images in pairs:
            p1, p2, z1, z2 = model(x1=images[0], x2=images[1])
            loss = -(criterion(p1, z2).mean() + criterion(p2, z1).mean()) * 0.5
            losses.update(loss.item(), images[0].size(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history.append((losses.avg, [g["lr"] for g in optimizer.param_groups]))
    return history, _state(model), model.encoder.fc[6].bias.grad is None


def linear_eval(torch, pretrained_state, images, labels, steps=3, num_classes=3):
    """main_lincls: a fresh encoder with a new head, the pretrained backbone loaded by renamed
    keys, everything but the head frozen."""
    model = tiny_resnet(torch, num_classes=num_classes)
    for name, param in model.named_parameters():
        if name not in ["fc.weight", "fc.bias"]:
            param.requires_grad = False
    model.fc.weight.data.normal_(mean=0.0, std=0.01)
    model.fc.bias.data.zero_()
    state_dict = {"module." + k: v for k, v in pretrained_state.items()}
    for k in list(state_dict.keys()):
        if k.startswith("module.encoder") and not k.startswith("module.encoder.fc"):
            state_dict[k[len("module.encoder."):]] = state_dict[k]
        del state_dict[k]
    msg = model.load_state_dict(state_dict, strict=False)
    assert set(msg.missing_keys) == {"fc.weight", "fc.bias"}, msg
    model.double()
    parameters = list(filter(lambda p: p.requires_grad, model.parameters()))
    assert len(parameters) == 2
    optimizer = torch.optim.SGD(parameters, 0.5, momentum=0.9, weight_decay=0.)
    criterion = torch.nn.CrossEntropyLoss()
    model.eval()  # the frozen BatchNorms keep their running statistics
    losses = []
    for _ in range(steps):
        output = model(images)
        loss = criterion(output, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    acc1 = (model(images).argmax(1) == labels).float().mean().item() * 100
    return losses, acc1, sorted(msg.missing_keys), list(msg.unexpected_keys), _state(model)
