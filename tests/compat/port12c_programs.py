"""The PyTorch tutorial "What is torch.nn really?" written from memory, run with ``torch`` =
PyTorch or chainrule (test_port12_programs.py): logistic regression from scratch (weights by
``randn(...) / math.sqrt(n)`` and ``requires_grad_()``, a hand-written ``log_softmax`` and ``nll``
by ``input[range(n), target]``, updates by ``weights -= weights.grad * lr`` under ``no_grad``),
then refactored step by step: ``F.cross_entropy``, an ``nn.Module`` of ``nn.Parameter`` s updated
by ``p -= p.grad * lr`` and ``model.zero_grad()``, ``nn.Linear``, ``optim.SGD``,
``TensorDataset``/``DataLoader``, ``loss_batch``/``fit`` with validation by ``zip(*[...])`` and
``np.sum(np.multiply(losses, nums))``, a CNN with ``xb.view(-1, 1, 28, 28)`` and
``F.avg_pool2d(xb, 4)``, ``nn.Sequential`` with a ``Lambda`` layer, ``WrappedDataLoader`` and
``nn.AdaptiveAvgPool2d(1)``.
"""

from __future__ import annotations

import math

import numpy as np


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def nll(input, target):  # noqa: A002
    return -input[range(target.shape[0]), target].mean()


def accuracy(torch, out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


def from_scratch(torch, x_train, y_train, n_in, classes, bs=8, lr=0.5, epochs=2):
    n = x_train.shape[0]
    weights = torch.randn(n_in, classes) / math.sqrt(n_in)
    weights.requires_grad_()
    bias = torch.zeros(classes, requires_grad=True)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    loss_func = nll
    losses = []
    for _epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
            losses.append(loss.item())
    F = torch.nn.functional  # noqa: N806
    loss_func = F.cross_entropy

    def model(xb):  # noqa: F811 - the tutorial's refactoring
        return xb @ weights + bias

    final = loss_func(model(x_train), y_train).item()
    return losses, final, accuracy(torch, model(x_train), y_train).item(), [
        weights.detach().numpy().copy(), bias.detach().numpy().copy()]


def logistic_module(torch, n_in, classes):
    nn = torch.nn

    class Mnist_Logistic(nn.Module):  # noqa: N801
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(torch.randn(n_in, classes) / math.sqrt(n_in))
            self.bias = nn.Parameter(torch.zeros(classes))

        def forward(self, xb):
            return xb @ self.weights + self.bias

    return Mnist_Logistic()


def fit_by_hand(torch, model, x_train, y_train, bs=8, lr=0.5, epochs=2):
    F = torch.nn.functional  # noqa: N806
    loss_func = F.cross_entropy
    n = x_train.shape[0]
    losses = []
    for _epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)

            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()
            losses.append(loss.item())
    return losses


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(torch, epochs, model, loss_func, opt, train_dl, valid_dl):
    history = []
    for _epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)

        model.eval()
        with torch.no_grad():
            losses, nums = zip(
                *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl]
            )
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        history.append(val_loss)
    return history


def get_data(torch, train_ds, valid_ds, bs):
    DataLoader = torch.utils.data.DataLoader  # noqa: N806
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=False),  # shuffle=True in the tutorial
        DataLoader(valid_ds, batch_size=bs * 2),
    )


def mnist_cnn(torch):
    nn = torch.nn
    F = nn.functional  # noqa: N806

    class Mnist_CNN(nn.Module):  # noqa: N801
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(4, 4, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(4, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    return Mnist_CNN()


def lambda_cnn(torch):
    nn = torch.nn

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    def preprocess(x):
        return x.view(-1, 1, 28, 28)

    return nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield (self.func(*b))


def train_refactored(torch, model, x_train, y_train, x_valid, y_valid, lr=0.1, epochs=2, bs=8,
                     wrapped=False):
    F = torch.nn.functional  # noqa: N806
    TensorDataset = torch.utils.data.TensorDataset  # noqa: N806
    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    train_dl, valid_dl = get_data(torch, train_ds, valid_ds, bs)
    if wrapped:
        def preprocess(x, y):
            return x.view(-1, 1, 28, 28), y

        train_dl = WrappedDataLoader(train_dl, preprocess)
        valid_dl = WrappedDataLoader(valid_dl, preprocess)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_func = F.cross_entropy
    history = fit(torch, epochs, model, loss_func, opt, train_dl, valid_dl)
    return history, {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
