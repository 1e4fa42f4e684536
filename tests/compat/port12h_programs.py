"""PyTorch's "Learn the Basics" tutorials written from memory, run with ``torch`` = PyTorch or
chainrule (test_port12_programs.py): a custom ``Dataset`` with ``transform`` and
``target_transform`` (the one-hot ``Lambda(lambda y: torch.zeros(10, dtype=torch.float)
.scatter_(0, torch.tensor(y), value=1))``), ``DataLoader`` batches, the quickstart's
``NeuralNetwork`` (``nn.Flatten`` + ``nn.Sequential``) moved ``.to(device)`` chosen through
``torch.accelerator``, the optimization tutorial's ``train_loop``/``test_loop`` (``len
(dataloader.dataset)``, ``loss.item()`` formatted ``:>7f``, ``(pred.argmax(1) == y).type
(torch.float).sum().item()``), cross-entropy on one-hot probability targets, and saving and
loading the ``state_dict`` with ``weights_only=True``. The image files and torchvision's
``ToTensor``/``Lambda`` are replaced by arrays and two small callables of the same behaviour.
"""

from __future__ import annotations

import io


class ToTensor:
    """torchvision's ToTensor for a uint8 (H, W) array: float in [0, 1], shape (1, H, W)."""

    def __init__(self, torch):
        self.torch = torch

    def __call__(self, pic):
        return self.torch.tensor(pic, dtype=self.torch.float32).unsqueeze(0) / 255


class Lambda:
    """torchvision's Lambda: a function as a transform."""

    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)


def image_dataset(torch, images, labels, transform=None, target_transform=None):
    Dataset = torch.utils.data.Dataset  # noqa: N806

    class CustomImageDataset(Dataset):
        def __init__(self, transform=None, target_transform=None):
            self.img_labels = labels
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.img_labels)

        def __getitem__(self, idx):
            image = images[idx]
            label = int(self.img_labels[idx])
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    return CustomImageDataset(transform, target_transform)


def neural_network(torch, side=8):
    nn = torch.nn

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(side * side, 16),
                nn.ReLU(),
                nn.Linear(16, 16),
                nn.ReLU(),
                nn.Linear(16, 10),
            )

        def forward(self, x):
            x = self.flatten(x)
            logits = self.linear_relu_stack(x)
            return logits

    return NeuralNetwork()


def learn_the_basics(torch, model, images, labels, batch_size=4, epochs=3, learning_rate=1e-1):
    nn = torch.nn
    DataLoader = torch.utils.data.DataLoader  # noqa: N806
    device = (torch.accelerator.current_accelerator().type
              if torch.accelerator.is_available() else "cpu")
    model = model.to(device)
    training_data = image_dataset(
        torch, images, labels, transform=ToTensor(torch),
        target_transform=Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(
            0, torch.tensor(y), value=1)))
    test_data = image_dataset(torch, images, labels, transform=ToTensor(torch))
    train_dataloader = DataLoader(training_data, batch_size=batch_size)
    test_dataloader = DataLoader(test_data, batch_size=batch_size)
    log = []

    def train_loop(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        # Set the model to training mode - important for batch normalization and dropout layers
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            # Compute prediction and loss
            pred = model(X)
            loss = loss_fn(pred, y)
            # Backpropagation
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if batch % 2 == 0:
                loss, current = loss.item(), batch * batch_size + len(X)
                log.append(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test_loop(dataloader, model, loss_fn):
        model.eval()
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        log.append(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
        return test_loss, correct

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    results = []
    for t in range(epochs):
        log.append(f"Epoch {t+1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer)
        results.append(test_loop(test_dataloader, model, loss_fn))
    buf = io.BytesIO()  # "model.pth" in the tutorial
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    model2 = neural_network(torch)
    model2.load_state_dict(torch.load(buf, weights_only=True))
    model2.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        x = x.to(device)
        pred = model2(x)
        predicted = pred[0].argmax(0).item()
    return log, results, predicted, y
