"""DataLoader(batch_size=None): PyTorch's "no automatic batching" mode (data/dataset.py). Each
sample is yielded on its own, converted by default_convert (or the collate_fn), in the same
structure as PyTorch's DataLoader gives; sampling, shuffling and worker threads work as with
batches, and the options PyTorch refuses in this mode are refused."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import ArrayDataset, DataLoader, Dataset


class Records(Dataset):
    """Samples of mixed structure: a tuple, a dict with a string, NumPy scalars."""

    def __init__(self, n=5):
        self.x = np.arange(n * 3, dtype=np.float64).reshape(n, 3)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i], {"label": np.int64(i % 2), "name": f"s{i}", "w": np.float32(i / 4)})


def _plain(v):
    """A sample as plain Python/NumPy values, for comparing chainrule's with PyTorch's."""
    if isinstance(v, dict):
        return {k: _plain(w) for k, w in v.items()}
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, *(_plain(w) for w in v)]
    if hasattr(v, "numpy"):
        a = v.detach().numpy() if hasattr(v, "detach") else v.numpy()
        return ("tensor", str(a.dtype), a.shape, a.tolist())
    return v


@pytest.mark.torch
def test_samples_match_pytorchs_unbatched_loader():
    torch = pytest.importorskip("torch")
    ours = list(DataLoader(Records(), batch_size=None))
    theirs = list(torch.utils.data.DataLoader(Records(), batch_size=None))
    assert [_plain(s) for s in ours] == [_plain(s) for s in theirs]
    assert isinstance(ours[0][0], cr.Tensor) and ours[0][1]["name"] == "s0"
    assert len(DataLoader(Records(), batch_size=None)) == 5


def test_array_dataset_and_options():
    x, y = np.arange(8.0).reshape(4, 2), np.arange(4)
    samples = list(DataLoader(ArrayDataset(x, y), batch_size=None))
    assert len(samples) == 4
    for i, (xi, yi) in enumerate(samples):
        assert xi.shape == (2,) and yi.shape == ()
        np.testing.assert_array_equal(xi.numpy(), x[i])
    raw = list(DataLoader(ArrayDataset(x, y), batch_size=None, tensors=False))
    assert isinstance(raw[0][0], np.ndarray)
    picked = [int(s[1].item()) for s in DataLoader(ArrayDataset(x, y), batch_size=None,
                                                      sampler=[3, 1])]
    assert picked == [3, 1]
    shuffled = [int(s[1].item()) for s in DataLoader(ArrayDataset(x, y), batch_size=None,
                                                        shuffle=True, rng=0)]
    assert sorted(shuffled) == [0, 1, 2, 3]
    threaded = list(DataLoader(Records(), batch_size=None, num_workers=2))
    assert [_plain(s) for s in threaded] == [_plain(s) for s in DataLoader(Records(),
                                                                            batch_size=None)]
    named = list(DataLoader(Records(3), batch_size=None, collate_fn=lambda s: s[1]["name"]))
    assert named == ["s0", "s1", "s2"]


def test_refused_options():
    with pytest.raises(ValueError, match="batch_size=None .* mutually exclusive with drop_last"):
        DataLoader(Records(), batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="batch_size=None"):
        DataLoader(Records(), batch_size=None, transform=lambda b, rng: b)
    with pytest.raises(ValueError, match="batch_size must be a positive int or None, got 0"):
        DataLoader(Records(), batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int or None, got '2'"):
        DataLoader(Records(), batch_size="2")
