"""chainrule's configuration: one object, ``chainrule.config``, and the one place that reads the
environment.

The environment is read once, when chainrule is imported (``from_environment``). A value that
cannot be parsed never makes the import fail: it is reported with a warning that names the
variable and the value, and the default is used instead.

Settings:

``threads`` (``CHAINRULE_NUM_THREADS``)
    Threads of the BLAS library under NumPy (OpenBLAS, MKL), which does every matrix product,
    and of OpenMP. ``"auto"`` (the default) picks, at import, the CPUs this process may use less
    the CPUs that other processes keep busy, at least 1 (``backend.threads``); a positive integer
    fixes it. Change it later with ``chainrule.set_num_threads``. When the environment sets one
    of ``BLAS_THREAD_VARIABLES`` (``OPENBLAS_NUM_THREADS=1`` and the like) and not
    ``CHAINRULE_NUM_THREADS``, the setting is ``None``: the BLAS library's own choice is left alone.

>>> from chainrule.backend.settings import from_environment
>>> from_environment({"CHAINRULE_NUM_THREADS": "2"}).threads
2
>>> from_environment({"OMP_NUM_THREADS": "1"}).threads is None
True
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

__all__ = ["BLAS_THREAD_VARIABLES", "Config", "config", "from_environment", "parse_threads"]

# Read by the BLAS and OpenMP libraries themselves when they load: a user who sets one has chosen.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
                         "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


class Config:
    """The settings of this chainrule process; ``chainrule.config`` is the one instance.

    Attributes:
        threads: "auto", a positive int, or None (BLAS's own choice, from its variables).
            ``chainrule.set_num_threads`` changes it; assigning it here changes nothing by itself.
        environment: the variables read at import that concern chainrule, name -> value.
    """

    def __init__(self, *, threads: int | str | None = "auto", environment=None):
        self.threads = threads
        self.environment = dict(environment or {})

    def __repr__(self) -> str:
        return f"Config(threads={self.threads!r}, environment={self.environment!r})"


def parse_threads(value) -> int | str:
    """A thread count as given by a user: a positive integer or "auto".

    Raises:
        ValueError: for anything else, with the value received.
    """
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return "auto"
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"threads must be a positive integer or 'auto', got {value!r}") \
                from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"threads must be a positive integer or 'auto', got {value!r}")
    return value


def from_environment(environ: Mapping[str, str] = os.environ) -> Config:
    """The configuration that ``environ`` asks for; bad values warn and fall back to the default."""
    names = ("CHAINRULE_NUM_THREADS", *BLAS_THREAD_VARIABLES)
    seen = {name: environ[name] for name in names if environ.get(name, "").strip()}
    blas_set = any(name in seen for name in BLAS_THREAD_VARIABLES)
    threads: int | str | None = None if blas_set else "auto"
    if "CHAINRULE_NUM_THREADS" in seen:
        try:
            threads = parse_threads(seen["CHAINRULE_NUM_THREADS"])
        except ValueError as e:
            default = "the BLAS library's own choice" if blas_set else "'auto'"
            warnings.warn(f"chainrule: ignoring the environment variable CHAINRULE_NUM_THREADS: "
                          f"{e}; using {default}", RuntimeWarning, stacklevel=2)
    return Config(threads=threads, environment=seen)


config = from_environment()
