"""The small CNN the oracle tests share: chainrule's and PyTorch's copy with the same weights."""

import pytest

from chainrule import nn


@pytest.fixture
def twin_models(rng):
    """``(ours, theirs)``: one float64 CNN in chainrule and in PyTorch (skips without torch)."""
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(48, 4, rng=rng), nn.ReLU(),
                         nn.Linear(4, 3, rng=rng)).to(dtype="float64")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                 torch.nn.Linear(48, 4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 3)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs.eval()
