"""``chainrule.random``: PyTorch's ``torch.random`` module, the default generator's functions
(``manual_seed``, ``seed``, ``initial_seed``, ``get_rng_state``, ``set_rng_state``) and
``fork_rng``, a block whose draws leave the default generator where it was.

>>> import chainrule as cr
>>> _ = cr.manual_seed(0)
>>> with cr.random.fork_rng():
...     inside = cr.rand(2).tolist()
>>> cr.rand(2).tolist() == inside
True
"""

from __future__ import annotations

import contextlib

from .backend.random import default_generator, initial_seed, manual_seed, seed
from .ops.torch_misc import get_rng_state, set_rng_state

__all__ = ["default_generator", "fork_rng", "get_rng_state", "initial_seed", "manual_seed",
           "seed", "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type=None):
    """Run the block, then put the default generator's state back as it was before (also when
    the block raises). ``enabled=False`` does nothing; ``devices`` and ``device_type`` name
    PyTorch's accelerators to fork too: chainrule draws every random number from the one
    default generator, so there is nothing more to fork (a GPU tensor's draws come from it).
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"{_caller}: enabled must be True or False, got {enabled!r}")
    if not enabled:
        yield
        return
    gen = default_generator()
    state, seed = gen.bit_generator.state, getattr(gen, "_seed", None)
    try:
        yield
    finally:  # the seed too, as PyTorch's state holds it: initial_seed() is as before
        gen.bit_generator.state = state
        if seed is not None:
            gen._seed = seed
