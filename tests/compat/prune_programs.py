"""A PyTorch-style pruning program (``torch.nn.utils.prune``), written once and run with
``torch`` = PyTorch or chainrule."""

from __future__ import annotations

import importlib


def small_cnn(torch):
    """A LeNet-like network for 1 x 8 x 8 images and 3 classes."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 3 * 3, 12), nn.ReLU(), nn.Linear(12, 3))


def prune_and_fine_tune(torch, model, x, y, steps=6):
    """Prune the first layer's weights by magnitude, then 60% of all weights globally; fine-tune
    with Adam; make the pruning permanent. Returns the losses, each layer's share of zero
    weights, the state dict's keys while pruned and the final weights."""
    prune = importlib.import_module(f"{torch.__name__}.nn.utils.prune")
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    prune.l1_unstructured(model[0], name="weight", amount=0.25)
    layers = [(model[0], "weight"), (model[4], "weight"), (model[6], "weight")]
    prune.global_unstructured(layers, pruning_method=prune.L1Unstructured, amount=0.6)
    keys = list(model.state_dict().keys())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = torch.nn.CrossEntropyLoss()
    losses = []
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    zeros = [float((module.weight == 0).float().mean()) for module, _ in layers]
    for module, name in layers:
        prune.remove(module, name)
    final = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return losses, zeros, keys, final, prune.is_pruned(model)
