"""chainrule's configuration: one object, ``chainrule.config``, and the one place that reads the
environment.

Every setting is an attribute of ``chainrule.config``. Its starting value comes from an
environment variable, read once, here, when chainrule is imported (``from_environment``); a value
that cannot be parsed never makes the import fail: a ``RuntimeWarning`` names the variable, the
value and what was expected, and the default is used instead. Assigning an attribute changes the
setting for the whole process from then on; the value is checked first, and a bad one raises
``ValueError`` naming the setting. The modules that use a setting read ``config.<name>`` when they
need it, so an assignment takes effect at once. docs/configuration.md has the same table.

``threads`` (``CHAINRULE_NUM_THREADS``; ``"auto"``, a positive int, or None; default ``"auto"``)
    Threads of the BLAS library under NumPy (OpenBLAS, MKL), which does every matrix product,
    and of OpenMP. ``"auto"`` picks the CPUs this process may use less the CPUs that other
    processes keep busy, at least 1 (``backend.threads``); a positive integer fixes it. Assigning
    it applies it, as ``chainrule.set_num_threads`` does. When the environment sets one of
    ``BLAS_THREAD_VARIABLES`` (``OPENBLAS_NUM_THREADS=1`` and the like) and not
    ``CHAINRULE_NUM_THREADS``, it starts as None: the BLAS library's own choice is left alone.
``jit`` (``CHAINRULE_JIT``; bool; default True)
    Use the compiled numba kernels (``backend.jit``) when numba is installed; False runs every op
    on its NumPy path, the reference those kernels are tested against.
``gpu_kernels`` (``CHAINRULE_GPU_KERNELS``; bool; default True)
    Use the fused CuPy kernels (``backend.gpu``) on a GPU; False runs the array path there.
``reference_mode`` (``CHAINRULE_REFERENCE_MODE``; bool; default False)
    Run every op through the plain NumPy references of its kernels (``chainrule.kernels``):
    contiguous NCHW arrays, no compiled or reordered routes. ``chainrule.reference_mode()`` sets
    it for a ``with`` block. For reading the code that runs, and for testing the fast routes.
``malloc_tuning`` (``CHAINRULE_MALLOC_TUNING``; bool; default True)
    Ask glibc's malloc to keep freed blocks up to 256 MiB for reuse instead of returning them to
    the operating system (``backend.memory``): training steps then touch no new memory. Assigning
    it applies it; on other C libraries it does nothing.
``keep_columns_mib`` (``CHAINRULE_KEEP_COLUMNS_MIB``; int >= 0; default 32)
    A convolution keeps its im2col columns from the forward for the filter gradient when they
    take at most this many MiB; bigger ones are rebuilt in the backward (less peak memory).
``data_dir`` (``CHAINRULE_DATA``; a folder; default ``$XDG_CACHE_HOME/chainrule``, else
    ``~/.cache/chainrule``)
    Where datasets are looked for and downloaded when no ``data_dir`` is passed.
``default_dtype`` (``CHAINRULE_DEFAULT_DTYPE``; ``"float32"`` or ``"float64"``; default float32)
    The floating-point dtype of tensor factories (``zeros``, ``randn``...), of ``tensor()`` of
    Python floats and of new layers' parameters when no ``dtype`` is passed.
    ``chainrule.set_default_dtype`` sets it, as ``torch.set_default_dtype`` does.
``default_device`` (``CHAINRULE_DEFAULT_DEVICE``; ``"cpu"``, ``"cuda"`` or ``"meta"``; default cpu)
    Where tensor factories, ``tensor()`` and new layers put their arrays when no ``device`` is
    passed. ``chainrule.set_default_device`` sets it after checking that the device is usable.
``print_options`` (``CHAINRULE_PRINT_OPTIONS``, e.g. ``precision=8,linewidth=120``; a
    ``PrintOptions``; default PyTorch's: 4 digits, 80 characters a line)
    How tensors print (``Tensor.__repr__``): digits after the point, the size above which a tensor
    is summarized, the items shown at each end then, the line width and ``sci_mode``.
    ``chainrule.set_printoptions`` sets it, as ``torch.set_printoptions`` does.

Environment variables take the text a shell gives: booleans are 1/0, true/false, yes/no or on/off
(any case); an empty variable counts as unset.

>>> from chainrule.backend.settings import from_environment
>>> from_environment({"CHAINRULE_NUM_THREADS": "2", "CHAINRULE_JIT": "off"}).threads
2
>>> from_environment({"OMP_NUM_THREADS": "1"}).threads is None
True
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import numpy

from .device import device as _device

__all__ = ["BLAS_THREAD_VARIABLES", "LAUNCHER_VARIABLES", "SETTINGS", "Config", "PrintOptions",
           "Setting", "config", "launcher_variable",
           "from_environment", "parse_threads", "reference_mode", "set_reference_mode"]

# Read by the BLAS and OpenMP libraries themselves when they load: a user who sets one has chosen.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS",
                         "MKL_NUM_THREADS", "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


_MAX_THREADS = 2**31 - 1


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
    if value > _MAX_THREADS:  # the thread libraries take a C int (an OverflowError deep inside)
        raise ValueError(f"threads must be at most {_MAX_THREADS}, got {value!r}")
    return value


def _threads(value):
    return None if value is None else parse_threads(value)


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected True or False, got {value!r}")
    return value


def _bool_text(text: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {text!r}")


def _mib(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number of MiB (an int >= 0, e.g. 32), got {value!r}")
    return value


def _mib_text(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"expected a whole number of MiB (e.g. 32), got {text!r}")
    return int(text.strip())


def _folder(value) -> str:
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"expected a folder (a non-empty str or path), got {value!r}")
    return os.path.expanduser(os.fspath(value))


_DEFAULT_DTYPES = ("float32", "float64")


def _default_dtype(value):
    try:
        dt = None if value is None else numpy.dtype(value)  # numpy.dtype(None) is float64
    except TypeError:
        dt = None
    if dt is None or dt.name not in _DEFAULT_DTYPES:
        raise ValueError(f"expected float32 or float64 as the default dtype, got {value!r}")
    return dt


def _default_device(value) -> str:
    text = str(value) if isinstance(value, _device) else value
    if not isinstance(text, str) or text.split(":", 1)[0].strip().lower() not in (
            "cpu", "cuda", "meta"):
        raise ValueError(f"expected 'cpu', 'cuda' or 'meta' as the default device, got {value!r}")
    return text.split(":", 1)[0].strip().lower()


@dataclass(frozen=True)
class PrintOptions:
    """How tensors print, PyTorch's ``set_printoptions`` fields; ``sci_mode`` True prints every
    float in scientific notation, False never, None as the values need (PyTorch's choice).
    The defaults are PyTorch's."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


def _print_options(value) -> PrintOptions:
    if isinstance(value, PrintOptions):
        value = {f.name: getattr(value, f.name) for f in fields(PrintOptions)}
    names = [f.name for f in fields(PrintOptions)]
    if not isinstance(value, Mapping) or set(value) - set(names):
        raise ValueError(f"expected a PrintOptions or a mapping of some of {names}, got "
                         f"{value!r}")
    for name, v in value.items():
        if name == "sci_mode":
            ok, kind = v is None or isinstance(v, bool), "True, False or None"
        elif name == "threshold":  # math.inf: never summarize
            ok, kind = isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0, \
                "a number >= 0 (math.inf: never)"
        else:
            ok, kind = isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an int >= 0"
        if not ok:
            raise ValueError(f"expected {name} {kind}, got {v!r}")
    return PrintOptions(**value)


def _print_options_text(text: str) -> PrintOptions:
    values = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, v = (piece.strip() for piece in item.partition("="))
        v = v.lower()
        if name == "sci_mode":
            values[name] = None if v == "none" else _bool_text(v)
        elif name == "threshold" and v == "inf":
            values[name] = math.inf
        elif v.isdigit():
            values[name] = int(v)
        else:
            raise ValueError(f"expected name=value pairs, e.g. 'precision=4,threshold=inf', "
                             f"got {text!r}")
    try:
        return _print_options(values)
    except ValueError as e:
        raise ValueError(f"{e} (read from {text!r})") from None


def _default_data_dir(environ: Mapping[str, str]) -> str:
    cache = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "chainrule")


@dataclass(frozen=True)
class Setting:
    """One setting: its attribute, the variable that sets it at import, its default, its checks.

    ``check`` takes a value assigned from Python and ``parse`` the variable's text; both return
    the value to store or raise ValueError saying what was expected and what was received.
    """

    name: str
    variable: str
    kind: str
    default: Any
    check: Callable[[Any], Any]
    parse: Callable[[str], Any]


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("threads", "CHAINRULE_NUM_THREADS", "'auto', int >= 1 or None", "auto", _threads,
            parse_threads),
    Setting("jit", "CHAINRULE_JIT", "bool", True, _bool, _bool_text),
    Setting("gpu_kernels", "CHAINRULE_GPU_KERNELS", "bool", True, _bool, _bool_text),
    Setting("reference_mode", "CHAINRULE_REFERENCE_MODE", "bool", False, _bool, _bool_text),
    Setting("malloc_tuning", "CHAINRULE_MALLOC_TUNING", "bool", True, _bool, _bool_text),
    Setting("keep_columns_mib", "CHAINRULE_KEEP_COLUMNS_MIB", "int >= 0", 32, _mib, _mib_text),
    Setting("data_dir", "CHAINRULE_DATA", "folder", None, _folder, _folder),
    Setting("default_dtype", "CHAINRULE_DEFAULT_DTYPE", "float32 or float64", "float32",
            _default_dtype, _default_dtype),
    Setting("default_device", "CHAINRULE_DEFAULT_DEVICE", "'cpu', 'cuda' or 'meta'", "cpu",
            _default_device, _default_device),
    Setting("print_options", "CHAINRULE_PRINT_OPTIONS", "PrintOptions", PrintOptions(),
            _print_options, _print_options_text),
)}


class Config:
    """The settings of this chainrule process; ``chainrule.config`` is the one instance.

    Each setting in ``SETTINGS`` is a plain attribute (reading one is a dictionary lookup, cheap
    enough for a hot path). Assigning one checks the value (``ValueError`` naming the setting),
    then runs the callbacks that apply it (``threads`` and ``jit``: see ``_on_change``), then
    stores it. Other attribute names raise ``AttributeError``, so a misspelt setting is not
    silently ignored.

    Attributes:
        threads, jit, gpu_kernels, reference_mode, malloc_tuning,
            keep_columns_mib, data_dir, default_dtype, default_device, print_options: the
            settings (see this module's docstring).
        environment: the variables read at import that concern chainrule, name -> value.
    """

    def __init__(self, *, environment: Mapping[str, str] | None = None, **values):
        unknown = set(values) - set(SETTINGS)
        if unknown:
            raise TypeError(f"Config: unknown settings {sorted(unknown)}; the settings are "
                            f"{list(SETTINGS)}")
        # object.__setattr__, not self.__dict__: the attributes stay in the instance's inline
        # values, which CPython reads fastest.
        object.__setattr__(self, "environment", dict(environment or {}))
        object.__setattr__(self, "_callbacks", {})
        for name, setting in SETTINGS.items():
            value = values.get(name, setting.default)
            if name == "data_dir" and value is None:
                value = _default_data_dir({})
            object.__setattr__(self, name, self._checked(name, value))

    @staticmethod
    def _checked(name: str, value):
        try:
            return SETTINGS[name].check(value)
        except ValueError as e:
            raise ValueError(f"chainrule.config.{name}: {e}") from None

    def __setattr__(self, name: str, value) -> None:
        if name not in SETTINGS:
            raise AttributeError(f"chainrule.config has no setting {name!r}; the settings are "
                                 f"{', '.join(SETTINGS)}")
        value = self._checked(name, value)
        for callback in self._callbacks.get(name, ()):
            callback(value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"chainrule.config: settings cannot be deleted, got {name!r}")

    def _on_change(self, name: str, callback: Callable[[Any], None]) -> None:
        """Run ``callback(value)`` whenever ``name`` is assigned, before the value is stored.

        For the backend's own settings whose value must be applied somewhere, not just read:
        ``threads`` (BLAS thread pools) and ``jit`` (which kernels ``backend.jit`` exposes). If
        the callback raises, the setting keeps its old value.
        """
        self._callbacks.setdefault(name, []).append(callback)

    def as_dict(self) -> dict[str, Any]:
        """The settings, name -> value."""
        return {name: getattr(self, name) for name in SETTINGS}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"Config({inner})"


def from_environment(environ: Mapping[str, str] = os.environ) -> Config:
    """The configuration that ``environ`` asks for; bad values warn and fall back to the default."""
    watched = (*(s.variable for s in SETTINGS.values()), *BLAS_THREAD_VARIABLES, "XDG_CACHE_HOME")
    seen = {name: environ[name] for name in watched if environ.get(name, "").strip()}
    blas_set = any(name in seen for name in BLAS_THREAD_VARIABLES)
    values: dict[str, Any] = {"threads": None if blas_set else "auto",
                              "data_dir": _default_data_dir(seen)}
    for setting in SETTINGS.values():
        if setting.variable not in seen:
            continue
        text = seen[setting.variable]
        try:
            values[setting.name] = setting.parse(text)
        except ValueError as e:
            default = values.get(setting.name, setting.default)
            shown = ("the BLAS library's own choice" if setting.name == "threads" and blas_set
                     else repr(default))
            warnings.warn(f"chainrule: ignoring the environment variable {setting.variable}: "
                          f"{e}; using {shown}", RuntimeWarning, stacklevel=2)
    return Config(environment=seen, **values)


config = from_environment()


def set_reference_mode(enabled: bool) -> None:
    """Run every op through its plain reference kernels from now on (True), or not (False)."""
    config.reference_mode = enabled


@contextmanager
def reference_mode(enabled: bool = True):
    """Run the ops inside the ``with`` block through their plain reference kernels.

    The same values as the fast routes (to float rounding where the order of a sum differs), by
    the code a reader can follow: contiguous NCHW arrays, plain NumPy, no fused or compiled
    sweeps. The previous setting comes back on exit.

    >>> import chainrule as cr
    >>> with cr.reference_mode():
    ...     cr.config.reference_mode
    True
    """
    old = config.reference_mode
    config.reference_mode = enabled
    try:
        yield
    finally:
        config.reference_mode = old


# What PyTorch's launcher (torchrun) tells a process about its world: chainrule.distributed
# reads these at init_process_group and is_torchelastic_launched (a world of one process).
LAUNCHER_VARIABLES = ("WORLD_SIZE", "RANK", "TORCHELASTIC_RUN_ID")


def launcher_variable(name: str) -> str | None:
    """The launcher's value of ``name`` (one of ``LAUNCHER_VARIABLES``), read when asked, since
    a launcher sets it for the process; None where it is not set."""
    if name not in LAUNCHER_VARIABLES:
        raise ValueError(f"launcher_variable: name must be one of {LAUNCHER_VARIABLES}, "
                         f"got {name!r}")
    return os.environ.get(name)

