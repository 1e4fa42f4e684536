"""Fuzz wave 24, seeding against PyTorch 2.13: ``manual_seed`` takes what ``torch.manual_seed``
takes (``int(seed)``), and ``fork_rng`` puts the seed back with the stream.

What this wave found (each fixed):

* ``cr.manual_seed("7")`` (an argparse ``--seed`` without ``type=int``), ``manual_seed(42.0)``
  (a seed read from a JSON or YAML config) and ``manual_seed(torch.tensor(3))`` were refused
  (``seed must be an int``); PyTorch seeds with ``int(seed)``. ``cr.cuda.manual_seed`` refused
  even a NumPy int (``np.random.randint(...)``). A fraction is still refused, where PyTorch
  drops it silently (``manual_seed(2.5)`` seeds 2).
* ``fork_rng`` put the stream back but not the seed: after a ``manual_seed(5)`` inside the block,
  ``initial_seed()`` said 5 while the draws went on from the old seed (PyTorch: the old seed).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

WHOLE = [np.int64(3), np.float64(4.0), 11.0, -2.0, "9", "-1", b"10"]


def _tensors(lib):
    return [lib.tensor(6), lib.tensor([7]), lib.tensor(5.0)]


@pytest.mark.torch
def test_manual_seed_takes_what_torch_takes():
    torch = pytest.importorskip("torch")
    for mine, theirs in zip(WHOLE + _tensors(cr), WHOLE + _tensors(torch)):
        assert cr.manual_seed(mine) is cr.default_generator
        torch.manual_seed(theirs)
        assert cr.initial_seed() == torch.initial_seed(), mine
        cr.cuda.manual_seed(mine)  # no GPU: checked, nothing seeded
        cr.cuda.manual_seed_all(mine)
    cr.manual_seed(8)
    first = cr.rand(3).tolist()
    cr.manual_seed("8")
    assert cr.rand(3).tolist() == first
    cr.manual_seed(cr.tensor(8.0))
    assert cr.rand(3).tolist() == first


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (2.5, ValueError, r"seed must be a whole number, got 2\.5 \(PyTorch would"),
        (float("nan"), ValueError, "seed must be a whole number, got nan"),
        ("x", ValueError, "seed must be an int, got the string 'x'"),
        (None, TypeError, "seed must be an int, got NoneType None"),
        ([1], TypeError, r"seed must be an int, got list \[1\]"),
        (True, TypeError, "seed must be an int, got bool True"),
        (
            2**64,
            ValueError,
            r"seed must be an int in \[-2\*\*63, 2\*\*64\), got 18446744073709551616",
        ),
    ],
)
def test_manual_seed_refuses_what_is_not_a_whole_number(seed, error, match):
    cr.manual_seed(1)
    with pytest.raises(error, match="^manual_seed: " + match):
        cr.manual_seed(seed)
    with pytest.raises(error, match="^cuda.manual_seed: " + match):
        cr.cuda.manual_seed(seed)
    with pytest.raises((TypeError, ValueError), match="must be an int"):
        cr.manual_seed(cr.tensor([1, 2]))
    assert cr.initial_seed() == 1


@pytest.mark.torch
@pytest.mark.parametrize("raises", [False, True])
def test_fork_rng_restores_the_seed_as_torch(raises):
    torch = pytest.importorskip("torch")
    seen = {}
    for lib in (cr, torch):
        lib.manual_seed(1)
        after = lib.rand(3).tolist()
        lib.manual_seed(1)
        try:
            with lib.random.fork_rng():
                lib.manual_seed(5)
                inside = lib.initial_seed()
                lib.rand(2)
                if raises:
                    raise KeyError("leaves the block")
        except KeyError:
            pass
        seen[lib.__name__] = (inside, lib.initial_seed(), lib.rand(3).tolist() == after)
    assert seen["chainrule"] == seen["torch"] == (5, 1, True)


@pytest.mark.torch
def test_set_rng_state_puts_the_seed_back_as_torch():
    """The state held the stream only: after ``manual_seed(7)`` then ``set_rng_state(s)`` of a
    state taken under seed 1, ``initial_seed()`` said 7 (PyTorch: 1, its state holds the seed)."""
    torch = pytest.importorskip("torch")
    for lib in (cr, torch):
        lib.manual_seed(1)
        state = lib.get_rng_state()
        first = lib.rand(3).tolist()
        lib.manual_seed(7)
        lib.set_rng_state(state)
        assert lib.initial_seed() == 1 and lib.rand(3).tolist() == first
        g = lib.Generator().manual_seed(5)
        g_state = g.get_state()
        g.manual_seed(9)
        assert g.set_state(g_state).initial_seed() == 5
    cr.manual_seed(1)
    legacy = cr.get_rng_state()[:37]  # a state saved before the seed was part of it
    first = cr.rand(3).tolist()
    cr.manual_seed(7)
    cr.set_rng_state(legacy)
    assert cr.initial_seed() == 7 and cr.rand(3).tolist() == first
