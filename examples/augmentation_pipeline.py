"""A CIFAR-style augmentation pipeline (torchvision's transforms) on generated colour images.

    python examples/augmentation_pipeline.py                        # TrivialAugmentWide
    python examples/augmentation_pipeline.py --policy auto --grid augmented.png   # (Pillow)

The images are made here: 32 x 32 pictures of a filled square, disc or triangle (the class) of a
random colour, size and place on a random background. The training pipeline is the classic one
of CIFAR/ImageNet scripts, written as with torchvision (``from torchvision import transforms``
runs it unchanged): ``RandomHorizontalFlip``, ``RandomRotation``,
``RandomApply([ColorJitter])``, ``RandomGrayscale``, an automatic policy on the uint8 images
(``TrivialAugmentWide``, ``AutoAugment(CIFAR10)`` or ``RandAugment``), ``ToTensor``,
``RandomResizedCrop``, ``Normalize``, ``RandomErasing``. A small CNN is trained with it and
tested on plain images drawn as the training ones and on shapes drawn at other sizes, places and
turns. ``--grid`` saves 32 augmented training images as one picture.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import chainrule as torch
import chainrule.nn as nn
from chainrule.vision import transforms, utils

CLASSES = ("square", "disc", "triangle")
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def make_images(n: int, rng, *, spread: float = 1.0):
    """``n`` uint8 (32, 32, 3) images and their labels; ``spread`` > 1 draws sizes, places and
    turns beyond the training range."""
    yy, xx = np.mgrid[0:32, 0:32] + 0.5
    images = np.empty((n, 32, 32, 3), np.uint8)
    labels = rng.integers(0, 3, n)
    for i, label in enumerate(labels):
        background, colour = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        while np.abs(colour.astype(int) - background).sum() < 150:
            colour = rng.integers(0, 256, 3)
        r = rng.uniform(6, 6 + 4 * spread)
        cx, cy = rng.uniform(16 - 3 * spread, 16 + 3 * spread, 2)
        turn = rng.uniform(-0.3, 0.3) * spread
        u = (xx - cx) * math.cos(turn) + (yy - cy) * math.sin(turn)
        v = -(xx - cx) * math.sin(turn) + (yy - cy) * math.cos(turn)
        if label == 0:
            inside = (np.abs(u) < r * 0.8) & (np.abs(v) < r * 0.8)
        elif label == 1:
            inside = u ** 2 + v ** 2 < r ** 2
        else:
            inside = (v < r * 0.6) & (v > -r + 1.6 * np.abs(u))
        images[i] = np.where(inside[..., None], colour, background)
    return images, labels


class ImageSet(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), int(self.labels[i])


POLICIES = {"trivial": transforms.TrivialAugmentWide,
            "auto": lambda: transforms.AutoAugment(transforms.AutoAugmentPolicy.CIFAR10),
            "rand": lambda: transforms.RandAugment(num_ops=2, magnitude=9),
            "none": lambda: transforms.Lambda(lambda image: image)}


def pipelines(policy: str = "trivial"):
    """(training pipeline with augmentation, plain pipeline)."""
    normalize = transforms.Normalize(MEAN, STD)
    augment = transforms.Compose([  # uint8 (H, W, 3) images first, then float Tensors
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation(20, interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        POLICIES[policy](),
        transforms.ToTensor(),
        transforms.RandomResizedCrop(32, scale=(0.7, 1.0), antialias=True),
        normalize,
        transforms.RandomErasing(p=0.25, scale=(0.02, 0.1)),
    ])
    plain = transforms.Compose([transforms.ToTensor(), normalize])
    return augment, plain


def small_cnn():
    def block(n_in, n_out):
        return [nn.Conv2d(n_in, n_out, 3, padding=1), nn.BatchNorm2d(n_out), nn.ReLU()]
    return nn.Sequential(*block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2),
                         *block(32, 32), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(32, 3))


def accuracy(net, test_set) -> float:
    correct = 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(test_set, batch_size=256):
            correct += (net(x).argmax(dim=1) == y).sum().item()
    return correct / len(test_set)


def train(train_set, epochs: int, seed: int):
    torch.manual_seed(seed)
    net = small_cnn()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(train_set, batch_size=32, shuffle=True)
    losses = []
    for _ in range(epochs):
        net.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    net.eval()
    return net, losses


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", choices=sorted(POLICIES), default="trivial")
    parser.add_argument("--train", type=int, default=600, help="training images")
    parser.add_argument("--test", type=int, default=300, help="test images of each kind")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", default=None, help="save 32 augmented images to this file")
    args = parser.parse_args(argv)
    if args.train < 1 or args.test < 1 or args.epochs < 1:
        parser.error("--train, --test and --epochs must be at least 1")

    rng = np.random.default_rng(args.seed)
    train_images, train_labels = make_images(args.train, rng)
    augment, plain = pipelines(args.policy)
    torch.manual_seed(args.seed)  # the transforms draw from the default generator
    if args.grid:
        shown = torch.stack([augment(train_images[i % args.train]) for i in range(32)])
        utils.save_image(shown * STD[0] + MEAN[0], args.grid, nrow=8)
        print(f"saved 32 augmented training images to {args.grid}")
    net, losses = train(ImageSet(train_images, train_labels, augment), args.epochs, args.seed)
    result = {"losses": losses}
    for name, spread in (("like training", 1.0), ("shifted", 1.6)):
        images, labels = make_images(args.test, rng, spread=spread)
        result[name] = accuracy(net, ImageSet(images, labels, plain))
        print(f"accuracy on {args.test} test shapes {name}: {100 * result[name]:.1f} %")
    print(f"last training loss {losses[-1]:.3f} ({args.policy} policy, {args.epochs} epochs)")
    return result


if __name__ == "__main__":
    main()
