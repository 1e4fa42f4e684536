"""The default random generator: what every ``rng=None`` draws from, seeded by ``manual_seed``.

chainrule passes ``numpy.random.Generator`` objects explicitly (``rng=``), and an explicit one
always wins. Where none is passed (layer initialisation, dropout, DataLoader shuffling,
``randn``...), the draw comes from this one process-wide generator, as PyTorch's global
generator does: after
``chainrule.manual_seed(s)`` a program that passes no ``rng`` repeats bit for bit. Without a call it
is seeded from the operating system, so such runs differ.

``generator_scope(seed)`` stands one stream in for the default generator inside a ``with`` block,
in the current thread only: the DataLoader gives each sample of a pass its own stream this way,
so that random transforms draw the same numbers whether one thread or several prepare the batches.
"""

from __future__ import annotations

import math
import numbers
from contextlib import contextmanager
from contextvars import ContextVar

import numpy

__all__ = ["Generator", "default_generator", "fill_draws", "generator_scope", "initial_seed",
           "manual_seed", "note_draw", "resolve_rng", "seed", "seed_argument", "watch_draws"]

class _Lazy:
    """A generator made on first use (most samples of most datasets draw nothing)."""

    __slots__ = ("entropy", "generator")

    def __init__(self, entropy):
        self.entropy = entropy
        self.generator = None

    def get(self) -> numpy.random.Generator:
        if self.generator is None:
            self.generator = numpy.random.default_rng(self.entropy)
        return self.generator


# A new thread starts with this unset, so a scope never leaks into another thread.
_scoped: ContextVar[_Lazy | None] = ContextVar("chainrule_scoped_generator", default=None)


@contextmanager
def generator_scope(entropy):
    """Inside the block, in this thread, ``rng=None`` draws from ``default_rng(entropy)``.

    Args:
        entropy: what ``numpy.random.default_rng`` takes: an int or a sequence of ints.
    """
    token = _scoped.set(_Lazy(entropy))
    try:
        yield
    finally:
        _scoped.reset(token)


def _entropy_seed() -> int:
    """A seed from the operating system's entropy (what an unseeded generator starts from)."""
    return int(numpy.random.SeedSequence().entropy % 2**63)


def _seed_value(who: str, seed) -> int:
    """``seed`` as PyTorch keeps it: an int in [-2**63, 2**64), stored modulo 2**64."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) \
            or not -2**63 <= seed < 2**64:
        raise ValueError(f"{who}: seed must be an int in [-2**63, 2**64), got {seed!r}")
    return int(seed) % 2**64


def seed_argument(who: str, seed) -> int:
    """What ``torch.manual_seed`` (and ``torch.cuda.manual_seed``) take, ``int(seed)``, checked:
    an int, a whole float (``42.0`` from a config file), a string of digits (an argparse option
    without ``type=int``), a one-element Tensor or array. A fraction is refused, where PyTorch
    would drop it silently (``manual_seed(2.5)`` seeding 2)."""
    value = seed
    if not isinstance(value, (numbers.Number, str, bytes)) and callable(getattr(value, "item",
                                                                                None)):
        try:  # a one-element Tensor or array; a longer one is refused below
            value = value.item()
        except (ValueError, RuntimeError):
            pass
    if isinstance(value, (str, bytes)):
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"{who}: seed must be an int, got the string {seed!r}") from None
    elif isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        if not (math.isfinite(value) and value == int(value)):
            raise ValueError(f"{who}: seed must be a whole number, got {seed!r} (PyTorch "
                             f"would seed with int(seed) and drop the fraction)")
        value = int(value)
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{who}: seed must be an int, got {type(seed).__name__} {seed!r}")
    return _seed_value(who, value)


class Generator(numpy.random.Generator):
    """PyTorch's ``torch.Generator`` spelling of a ``numpy.random.Generator`` (PCG64).

    ``Generator().manual_seed(42)`` returns the generator, seeded, so that
    ``random_split(data, [0.8, 0.2], generator=torch.Generator().manual_seed(42))`` runs as
    written; it is a ``numpy.random.Generator``, so it serves every ``rng=`` too. Its numbers
    are NumPy's, not PyTorch's. Unseeded, it starts from the operating system's entropy (PyTorch:
    a fixed seed), and ``initial_seed()`` says which seed that was.
    """

    _who = "Generator."

    def __init__(self, device="cpu"):
        self._seed = _entropy_seed()
        super().__init__(numpy.random.PCG64(self._seed))
        self.device = device

    def manual_seed(self, seed: int) -> Generator:
        """Seed this generator with an int (a negative one is taken modulo 2**64, as PyTorch);
        returns it."""
        seed = _seed_value(self._who + "manual_seed", seed)
        self.bit_generator.state = numpy.random.PCG64(seed).state
        self._seed = seed
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the seed used."""
        s = _entropy_seed()
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator started from: the last ``manual_seed``'s, or the entropy one."""
        return self._seed


class _DefaultGenerator(Generator):
    """The process-wide generator, PyTorch's ``torch.default_generator`` (``manual_seed``,
    ``get_state``... as any Generator's). Called, ``default_generator()`` returns the generator
    that ``rng=None`` falls back to: this one, or inside a ``generator_scope`` that scope's."""

    _who = ""

    def __deepcopy__(self, memo) -> _DefaultGenerator:
        # Never copied, as PyTorch's global generator is no part of a module: the copies of a
        # model made by copy.deepcopy (the Annotated Transformer's clones(layer, N)) keep
        # drawing from this one, so their dropout masks differ and manual_seed governs them.
        return self

    def __call__(self) -> numpy.random.Generator:
        scoped = _scoped.get()
        gen = self if scoped is None else scoped.get()
        if _watchers.get():
            note_draw(gen)
        return gen


default_generator = _DefaultGenerator()


# In a DataLoader worker (thread or process) PyTorch's initial_seed() is the worker's seed
# (base_seed + worker id, new every pass), which PyTorch's reproducibility recipe
# (``seed_worker``) seeds NumPy and ``random`` from; ``data.workers`` sets it for the worker.
_worker_seed: ContextVar[int | None] = ContextVar("chainrule_worker_seed", default=None)


def set_worker_seed(seed: int | None) -> None:
    """Make ``initial_seed()`` return ``seed`` in the calling thread (a loader's worker)."""
    _worker_seed.set(seed)


def manual_seed(seed: int) -> numpy.random.Generator:
    """Seed the default generator (what every ``rng=None`` draws from); returns it.

    Args:
        seed: an int in [-2**63, 2**64) (a negative one is taken modulo 2**64, as PyTorch), or
            what ``seed_argument`` turns into one (``"42"``, ``42.0``, a one-element Tensor).
    """
    # Reseeded in place (the state of ``default_rng(seed)``), so that a layer or loader that
    # already holds the default generator follows the new seed. In a DataLoader worker thread
    # (a worker_init_fn's torch.manual_seed(seed + worker_id)) only the worker's seed changes,
    # as only the worker process's generator does in PyTorch: the caller's generator, which
    # orders the next passes and drives the model's dropout, is left alone.
    seed = seed_argument("manual_seed", seed)
    if _worker_seed.get() is not None:
        _worker_seed.set(seed)
        return default_generator
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed used
    (in a DataLoader worker, the worker's seed, as ``manual_seed``)."""
    if _worker_seed.get() is not None:
        _worker_seed.set(_entropy_seed())
        return _worker_seed.get()
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator started from (the last ``manual_seed``'s, or, never
    seeded, the operating system's entropy it started from); in a DataLoader worker, the
    worker's seed, as PyTorch's (``get_worker_info().seed``)."""
    seed = _worker_seed.get()
    return default_generator.initial_seed() if seed is None else seed


# Callbacks told of every generator a random op is about to draw from (``chainrule.func.vmap``'s
# randomness modes); a tuple, innermost watcher last, empty outside any ``watch_draws`` block.
_watchers: ContextVar[tuple] = ContextVar("chainrule_draw_watchers", default=())


@contextmanager
def watch_draws(callback):
    """Inside the block, in this thread, call ``callback(generator)`` before each random draw
    that goes through ``resolve_rng``, ``default_generator`` or ``note_draw``."""
    token = _watchers.set(_watchers.get() + (callback,))
    try:
        yield
    finally:
        _watchers.reset(token)


def note_draw(gen) -> None:
    """Tell the watchers (``watch_draws``) that a random op is about to draw from ``gen``; ops
    that draw from a generator they were handed (not via ``resolve_rng``) call this."""
    for callback in _watchers.get():
        callback(gen)


def resolve_rng(rng, who: str) -> numpy.random.Generator:
    """``rng`` itself, or the default generator when it is None.

    Raises:
        TypeError: naming ``who`` when ``rng`` is neither None nor a ``numpy.random.Generator``.
    """
    if rng is None:
        return default_generator()
    if not isinstance(rng, numpy.random.Generator):
        raise TypeError(
            f"{who}: rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)) "
            f"or None (the default generator, seeded by chainrule.manual_seed), "
            f"got {type(rng).__name__}"
        )
    if _watchers.get():
        note_draw(rng)
    return rng


def fill_draws(who: str, rng, dtype, shape, a, b) -> numpy.ndarray:
    """What ``Tensor.normal_(a, b)`` (mean, std) or ``Tensor.uniform_(a, b)`` writes into a
    tensor of ``dtype``, as PyTorch: a floating-point dtype, or a complex one whose real and
    imaginary parts are drawn apart (normal: each part std ``b / sqrt(2)``, so that the complex
    variance is ``b**2``). An integer or bool tensor is refused (its draws would be truncated).
    """
    dtype = numpy.dtype(dtype)
    if dtype.kind not in "fc":
        raise TypeError(f"{who}: fills only a floating-point or complex tensor, got dtype "
                        f"{dtype}")
    gen = resolve_rng(rng, who)
    normal = who == "normal_"
    scale = b / 2 ** 0.5 if normal and dtype.kind == "c" else b

    def part():
        return gen.normal(a, scale, size=shape) if normal else gen.uniform(a, b, size=shape)

    return part() + 1j * part() if dtype.kind == "c" else part()
