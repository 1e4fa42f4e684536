"""A pass's random numbers are drawn when it starts, in the caller's thread: prefetching changes
nothing, even while something else (a dropout layer) draws from the same Generator."""

import numpy as np
import pytest

from chainrule.data import ArrayDataset, DataLoader


def _noise(batch, rng):
    return (batch[0] + rng.normal(size=batch[0].shape), *batch[1:])


def _epochs(prefetch, shared_draws, epochs=3):
    """The batches of a few passes while the consumer draws from the loader's Generator."""
    x, y = np.arange(200.0).reshape(100, 2), np.arange(100)
    rng = np.random.default_rng(5)
    loader = DataLoader(ArrayDataset(x, y), 7, shuffle=True, rng=rng, transform=_noise,
                        prefetch=prefetch)
    out, drawn = [], []
    for _ in range(epochs):
        for batch in loader:
            out.append(batch)
            if shared_draws:  # the main thread's dropout, in the same Generator
                drawn.append(rng.random(3))
    return out, drawn


@pytest.mark.parametrize("shared_draws", [False, True])
def test_prefetch_gives_the_same_batches_and_leaves_the_same_state(shared_draws):
    reference, drawn = _epochs(0, shared_draws)
    for depth in (1, 2, 5):
        batches, others = _epochs(depth, shared_draws)
        assert len(batches) == len(reference)
        for (a, b), (c, d) in zip(batches, reference, strict=True):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)
        np.testing.assert_array_equal(np.array(others), np.array(drawn))


def test_every_draw_of_a_pass_happens_when_it_starts():
    x = np.zeros((10, 1))
    rng = np.random.default_rng(0)
    loader = DataLoader(ArrayDataset(x), 3, shuffle=True, rng=rng, transform=_noise)
    it = iter(loader)
    state = rng.bit_generator.state
    list(it)
    assert rng.bit_generator.state == state  # the batches drew only from the pass's own stream


def test_a_pass_restored_from_a_saved_state_repeats():
    x = np.arange(30.0).reshape(30, 1)
    rng = np.random.default_rng(1)
    loader = DataLoader(ArrayDataset(x), 4, shuffle=True, rng=rng, transform=_noise, prefetch=2)
    list(loader)
    state = rng.bit_generator.state
    first = [b[0] for b in loader]
    rng.bit_generator.state = state
    again = [b[0] for b in loader]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
