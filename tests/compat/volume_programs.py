"""PyTorch programs over volumes and with AlexNet's local response normalization; each function
takes the library (``torch`` or ``chainrule``) as ``torch``."""


def volume_cnn(torch):
    """A small 3-D CNN: Conv3d-BatchNorm3d-ReLU-MaxPool3d, then a second block pooled by
    AdaptiveAvgPool3d, and a Linear head."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv3d(1, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2),
        nn.Conv3d(4, 6, (2, 3, 3), padding=(0, 1, 1)), nn.ReLU(),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(6, 3))


def alexnet_block(torch):
    """AlexNet's first stages on small images: Conv2d-ReLU-LocalResponseNorm-MaxPool2d twice,
    with overlapping 3x3/2 pools, then a Linear head."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=1, padding=1), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0), nn.MaxPool2d(3, 2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(3, alpha=1e-2, beta=0.75, k=2.0), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(8 * 2 * 2, 3))


def train_classifier(torch, model, x, y, steps=4, lr=0.05):
    """SGD with momentum on cross-entropy; returns the losses and the eval-mode logits."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    model.train()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(inputs).numpy()
    return losses, logits
