"""The PyTorch CIFAR-10 tutorial's classifier, trained by chainrule with only the imports changed.

    python examples/cifar10_tutorial.py --data ~/data --download        # about 170 MB, once
    python examples/cifar10_tutorial.py --data ~/data --epochs 2 --workers 2

The code below the imports is written as a PyTorch program (``torch.manual_seed``,
``datasets.CIFAR10``, ``transforms``, ``DataLoader(num_workers=)``, ``nn.Module``,
``CrossEntropyLoss``, ``optim.SGD``, ``torch.no_grad``); with ``import torch``,
``import torch.nn as nn`` ... and ``from torchvision import datasets, transforms`` it runs on
PyTorch unchanged. The images come from CIFAR-10's binary version (docs/pytorch.md).
"""

from __future__ import annotations

import argparse

import chainrule as torch
import chainrule.nn as nn
import chainrule.nn.functional as F  # noqa: N812 - the tutorial's alias
import chainrule.optim as optim
from chainrule.vision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with cifar-10-binary.tar.gz")
    parser.add_argument("--download", action="store_true")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    normalize = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    train_tf = transforms.Compose([transforms.RandomCrop(32, padding=4),
                                   transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), normalize])
    test_tf = transforms.Compose([transforms.ToTensor(), normalize])
    trainset = datasets.CIFAR10(args.data, train=True, download=args.download,
                                transform=train_tf)
    testset = datasets.CIFAR10(args.data, train=False, download=args.download,
                               transform=test_tf)
    if args.limit:
        trainset = torch.utils.data.Subset(trainset, range(min(args.limit, len(trainset))))
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=args.batch_size,
                                              shuffle=True, num_workers=args.workers)
    testloader = torch.utils.data.DataLoader(testset, batch_size=256, shuffle=False,
                                             num_workers=args.workers)

    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for epoch in range(args.epochs):
        running = 0.0
        for i, (inputs, labels) in enumerate(trainloader):
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            running += loss.item()
            losses.append(loss.item())
            if i % 200 == 199:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running / 200:.3f}")
                running = 0.0
    correct = total = 0
    net.eval()
    with torch.no_grad():
        for images, labels in testloader:
            predicted = net(images).argmax(dim=1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    accuracy = correct / total
    print(f"Accuracy of the network on the {total} test images: {100 * accuracy:.1f} %")
    return {"losses": losses, "accuracy": accuracy}


if __name__ == "__main__":
    main()
