"""The d2l.ai book's linear and softmax regression "from scratch" chapters written from memory,
run with ``torch`` = PyTorch or chainrule (test_port12_programs.py): ``synthetic_data`` by
``torch.normal``, ``data_iter`` shuffling indices with ``random.shuffle`` and indexing by
``torch.tensor(indices[i: min(i + batch_size, num_examples)])``, parameters made by
``torch.normal(0, 0.01, size=..., requires_grad=True)``, a hand-written ``sgd`` under
``no_grad``, ``y.reshape(y_hat.shape)``, a softmax by ``X_exp / X_exp.sum(1, keepdim=True)``,
``cross_entropy`` by ``y_hat[range(len(y_hat)), y]``, ``accuracy`` by ``argmax(axis=1)`` and
``cmp.type(y.dtype)``, ``evaluate_accuracy``/``train_epoch_ch3`` that tell an ``nn.Module`` and a
``torch.optim.Optimizer`` from plain functions, and the concise ``nn.Sequential(nn.Flatten(),
nn.Linear(...))`` twin initialised through ``net.apply`` with ``type(m) == nn.Linear``.
"""

from __future__ import annotations

import random

from .port12_programs import Accumulator, sgd


def synthetic_data(torch, w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(torch, batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    # The examples are read at random, in no particular order
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(torch, X, w, b):
    """The linear regression model."""
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    """Squared loss."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def linear_regression(torch, num_examples=60, batch_size=10, lr=0.03, num_epochs=3):
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(torch, true_w, true_b, num_examples)
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    net, loss = linreg, squared_loss
    history = []
    for _epoch in range(num_epochs):
        for X, y in data_iter(torch, batch_size, features, labels):
            l = loss(net(torch, X, w, b), y)  # Minibatch loss in `X` and `y`  # noqa: E741
            # Compute gradient on `l` with respect to [`w`, `b`]
            l.sum().backward()
            sgd(torch, [w, b], lr, batch_size)  # Update parameters using their gradient
        with torch.no_grad():
            train_l = loss(net(torch, features, w, b), labels)
            history.append(float(train_l.mean()))
    return history, (true_w - w.reshape(true_w.shape)).tolist(), (true_b - b).item()


def softmax(X):
    X_exp = X.exp()
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition  # The broadcasting mechanism is applied here


def cross_entropy(torch, y_hat, y):
    return - torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(torch, net, data_iter):
    """Compute the accuracy for a model on a dataset."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # Set the model to evaluation mode
    metric = Accumulator(2)  # No. of correct predictions, no. of predictions
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(torch, net, train_iter, loss, updater):
    """The training loop defined in Chapter 3."""
    # Set the model to training mode
    if isinstance(net, torch.nn.Module):
        net.train()
    # Sum of training loss, sum of training accuracy, no. of examples
    metric = Accumulator(3)
    for X, y in train_iter:
        # Compute gradients and update parameters
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741
        if isinstance(updater, torch.optim.Optimizer):
            # Using PyTorch in-built optimizer & loss criterion
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            # Using custom built optimizer & loss criterion
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    # Return training loss and training accuracy
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(torch, net, train_iter, test_iter, loss, num_epochs, updater):
    history = []
    for _epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(torch, net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(torch, net, test_iter)
        history.append((*train_metrics, test_acc))
    return history


def softmax_regression(torch, train_iter, test_iter, num_inputs=16, num_outputs=4, lr=0.1,
                       num_epochs=3):
    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)  # noqa: N806
    b = torch.zeros(num_outputs, requires_grad=True)

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def updater(batch_size):
        return sgd(torch, [W, b], lr, batch_size)

    return train_ch3(torch, net, train_iter, test_iter,
                     lambda y_hat, y: cross_entropy(torch, y_hat, y), num_epochs, updater)


def softmax_concise(torch, train_iter, test_iter, num_inputs=16, num_outputs=4, num_epochs=3):
    nn = torch.nn
    # PyTorch does not implicitly reshape the inputs. Thus we define the flatten layer to
    # reshape the inputs before the linear layer in our network
    net = nn.Sequential(nn.Flatten(), nn.Linear(num_inputs, num_outputs))

    def init_weights(m):
        if type(m) == nn.Linear:  # noqa: E721
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    return train_ch3(torch, net, train_iter, test_iter, loss, num_epochs, trainer), net
