"""Wave-16 ports, part three, run with ``torch`` = PyTorch or chainrule (test_port16b_programs.py):
d2l's learning-rate-scheduling chapter (12.11): its LeNet trained with the chapter's scheduler
classes set through ``param_groups`` or PyTorch's ``MultiStepLR`` (told apart by
``scheduler.__module__ == lr_scheduler.__name__``), and Yogi from scratch (12.10) on the
chapter-11 trainer (``v[:] = ...``, ``p[:] -= ...`` under ``no_grad``, ``p.grad.data.zero_()``).
"""

from __future__ import annotations

import math

from .port16b_programs import Accumulator, accuracy, evaluate_accuracy_gpu, params, try_all_gpus

# ---- d2l 12.11: learning rate scheduling ----

class SquareRootScheduler:
    def __init__(self, lr=0.1):
        self.lr = lr

    def __call__(self, num_update):
        return self.lr * pow(num_update + 1.0, -0.5)


class FactorScheduler:
    def __init__(self, factor=1, stop_factor_lr=1e-7, base_lr=0.1):
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.base_lr = base_lr

    def __call__(self, num_update):
        self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
        return self.base_lr


class CosineScheduler:
    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0, warmup_begin_lr=0):
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.warmup_steps = warmup_steps
        self.warmup_begin_lr = warmup_begin_lr
        self.max_steps = self.max_update - self.warmup_steps

    def get_warmup_lr(self, epoch):
        increase = (self.base_lr_orig - self.warmup_begin_lr) \
            * float(epoch) / float(self.warmup_steps)
        return self.warmup_begin_lr + increase

    def __call__(self, epoch):
        if epoch < self.warmup_steps:
            return self.get_warmup_lr(epoch)
        if epoch <= self.max_update:
            self.base_lr = self.final_lr + (
                self.base_lr_orig - self.final_lr) * (1 + math.cos(
                    math.pi * (epoch - self.warmup_steps) / self.max_steps)) / 2
        return self.base_lr


def lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def train_scheduled(torch, net, train_iter, test_iter, num_epochs, kind, lr=0.3):
    lr_scheduler = torch.optim.lr_scheduler
    loss = torch.nn.CrossEntropyLoss()
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    scheduler = {"none": None, "sqrt": SquareRootScheduler(lr=0.1),
                 "factor": FactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0),
                 "multistep": lr_scheduler.MultiStepLR(trainer, milestones=[1, 2], gamma=0.5),
                 "cosine": CosineScheduler(3, warmup_steps=1, base_lr=0.3, final_lr=0.01)}[kind]
    device = try_all_gpus(torch)[0]
    net.to(device)
    history, lrs = [], []
    for epoch in range(num_epochs):
        metric = Accumulator(3)  # train_loss, train_acc, num_examples
        for _i, (X, y) in enumerate(train_iter):
            net.train()
            trainer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741
            l.backward()
            trainer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
        test_acc = evaluate_accuracy_gpu(torch, net, test_iter)
        history.append((metric[0] / metric[2], metric[1] / metric[2], test_acc))
        if scheduler:
            if scheduler.__module__ == lr_scheduler.__name__:
                # Using PyTorch In-Built scheduler
                scheduler.step()
            else:
                # Using custom defined scheduler
                for param_group in trainer.param_groups:
                    param_group['lr'] = scheduler(epoch)
        lrs.append(trainer.param_groups[0]['lr'])
    return history, lrs, params(net)


# ---- d2l 12.10: Yogi from scratch on the chapter-11 trainer ----

def init_adam_states(torch, feature_dim):
    v_w, v_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    s_w, s_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
    return ((v_w, s_w), (v_b, s_b))


def yogi(torch, params, states, hyperparams):
    beta1, beta2, eps = 0.9, 0.999, 1e-3
    for p, (v, s) in zip(params, states):
        with torch.no_grad():
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = s + (1 - beta2) * torch.sign(
                torch.square(p.grad) - s) * torch.square(p.grad)
            v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
            s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
            p[:] -= hyperparams['lr'] * v_bias_corr / (torch.sqrt(s_bias_corr) + eps)
        p.grad.data.zero_()
    hyperparams['t'] += 1


def train_ch11(torch, trainer_fn, states, hyperparams, data_iter, feature_dim, num_epochs=2):
    # Initialization
    w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1), requires_grad=True)
    b = torch.zeros((1), requires_grad=True)

    def linreg(X, w, b):
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def evaluate_loss(net, data_iter, loss):
        metric = Accumulator(2)  # Sum of losses, no. of examples
        for X, y in data_iter:
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)  # noqa: E741
            metric.add(l.sum(), l.numel())
        return metric[0] / metric[1]

    net, loss = lambda X: linreg(X, w, b), squared_loss
    n, curve = 0, []
    for _ in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y).mean()  # noqa: E741
            l.backward()
            trainer_fn([w, b], states, hyperparams)
            n += X.shape[0]
            if n % 20 == 0:
                curve.append(evaluate_loss(net, data_iter, loss))
    return curve, w.detach().numpy().copy(), b.detach().numpy().copy()
