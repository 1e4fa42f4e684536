"""Logging a training run for TensorBoard with ``chainrule.utils.tensorboard.SummaryWriter``.

A 64-32-10 ReLU network learns the 8x8 digits; each epoch the writer records the training loss
and test accuracy (``add_scalar``), both accuracies on one chart (``add_scalars``), a histogram of
the first layer's weights (``add_histogram``), and once, a grid of input images
(``add_images``) and a text note (``add_text``). The event files are written without TensorFlow
or the ``tensorboard`` package; view them with ``tensorboard --logdir runs``.

    python examples/tensorboard_logging.py --epochs 5 --logdir runs/digits
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data.datasets import digits
from chainrule.utils.tensorboard import SummaryWriter


def accuracy(model, x, y) -> float:
    with cr.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean().item())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--logdir", default=None, help="default: runs/<date>_<host>")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")

    (x_train, y_train), (x_test, y_test) = digits()
    xtr, ytr = cr.tensor(x_train.reshape(len(x_train), 64)), cr.tensor(y_train)
    xte, yte = cr.tensor(x_test.reshape(len(x_test), 64)), cr.tensor(y_test)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)

    history = []
    with SummaryWriter(args.logdir, comment="_digits") as writer:
        # The first 16 training images as one picture: (N, C, H, W) floats in [0, 1].
        writer.add_images("inputs", x_train[:16, None], 0)
        writer.add_text("setup", f"SGD lr={args.lr}, momentum 0.9, batch {args.batch}", 0)
        step = 0
        for epoch in range(1, args.epochs + 1):
            order = rng.permutation(len(x_train))
            for start in range(0, len(order), args.batch):
                idx = cr.tensor(order[start:start + args.batch])
                loss = loss_fn(model(xtr[idx]), ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                writer.add_scalar("loss/train", loss, step)
            train_acc, test_acc = accuracy(model, xtr, ytr), accuracy(model, xte, yte)
            writer.add_scalar("accuracy/test", test_acc, epoch)
            writer.add_scalars("accuracy", {"train": train_acc, "test": test_acc}, epoch)
            writer.add_histogram("layer0/weight", model[0].weight, epoch)
            history.append({"epoch": epoch, "loss": loss.item(), "test_accuracy": test_acc})
            print(f"epoch {epoch}: loss {loss.item():.4f}  test accuracy {test_acc:.3f}")
        logdir = writer.get_logdir()
    print(f"event files in {logdir}  (tensorboard --logdir {logdir})")
    return {"logdir": logdir, "history": history, "steps": step}


if __name__ == "__main__":
    main()
