import numpy as np
import pytest

import chainrule as cr
from chainrule.data import ArrayDataset, DataLoader


def _flip(batch, rng):
    x, y = batch
    return x * rng.choice([-1.0, 1.0], size=(len(x), 1)), y


def _epochs(loader, n=2):
    return [[tuple(np.array(a) for a in b) for b in loader] for _ in range(n)]


def test_transform_is_applied_and_reproducible():
    x = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    make = lambda **kw: DataLoader(ArrayDataset(x, y), 6, shuffle=True, rng=5,  # noqa: E731
                                   transform=_flip, **kw)
    a = _epochs(make())
    b = _epochs(make())
    for ea, eb in zip(a, b):
        for (xa, ya), (xb, yb) in zip(ea, eb):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    flipped = np.concatenate([xb for xb, _ in a[0]])
    assert (flipped < 0).any() and (flipped > 0).any()
    np.testing.assert_array_equal(np.sort(np.abs(flipped), axis=0), x)


def test_prefetch_gives_the_same_batches_and_rng_state():
    x = np.random.default_rng(0).random((50, 3))
    y = np.arange(50)
    plain = DataLoader(ArrayDataset(x, y), 7, shuffle=True, rng=1, transform=_flip)
    ahead = DataLoader(ArrayDataset(x, y), 7, shuffle=True, rng=1, transform=_flip, prefetch=3)
    for e1, e2 in zip(_epochs(plain), _epochs(ahead)):
        assert len(e1) == len(e2) == 8
        for (x1, y1), (x2, y2) in zip(e1, e2):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
    assert plain.rng.bit_generator.state == ahead.rng.bit_generator.state


def test_prefetch_propagates_errors_and_stops_early():
    def bad(batch, rng):
        raise RuntimeError("boom")

    loader = DataLoader(ArrayDataset(np.zeros((10, 1))), 2, rng=0, transform=bad, prefetch=2)
    with pytest.raises(RuntimeError, match="boom"):
        list(loader)
    ok = DataLoader(ArrayDataset(np.zeros((100, 1))), 2, prefetch=2)
    for i, _ in enumerate(ok):
        if i == 3:
            break  # leaving early must not hang the worker thread


def test_transform_and_prefetch_validation():
    ds = ArrayDataset(np.zeros((4, 1)))
    assert DataLoader(ds, 2, transform=_flip).rng is cr.default_generator()
    with pytest.raises(ValueError, match="prefetch must be an int >= 0, got -1"):
        DataLoader(ds, 2, prefetch=-1)
