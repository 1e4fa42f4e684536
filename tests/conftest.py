"""Shared fixtures: ``xp`` (NumPy, and CuPy when a GPU is present), a seeded ``rng``,
``kernel_mode`` (each test of tests/ops, tests/nn, tests/models and tests/optim runs twice: with
the fast kernels and in ``cr.reference_mode()``; those folders' conftest.py ask for it), and the
loaders that run the repository's scripts (``load_script``) and guides (``run_guide``).

A session-wide guard fails the run if the tests leave anything in the clone: a new entry in its
root or in ``runs/`` (where the command line and the examples write by default), or a new
untracked file that git does not ignore. Tests write into ``tmp_path`` or chdir there."""

import contextlib
import importlib.util
import linecache
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# The suite starts fresh interpreters that import chainrule (the examples, hostile files, the
# benchmarks' smoke runs), besides its xdist workers. Where PYTHONDONTWRITEBYTECODE is set, as some
# containers do, each of them would compile chainrule's modules from source again and pytest would
# rewrite every test file's asserts in every worker. The session caches bytecode for itself and the
# processes it starts, in the __pycache__ folders that .gitignore lists; this runs before anything
# imports chainrule and before xdist starts its workers.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from chainrule.backend import cuda_available  # noqa: E402

_MODULES = ["numpy"] + (["cupy"] if cuda_available() else [])


@pytest.fixture(params=_MODULES)
def xp(request):
    if request.param == "cupy":
        import cupy

        return cupy
    return np


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_generate_tests(metafunc):
    """``kernel_mode``'s runs: fast and reference, or fast alone for a ``kernel_free`` test;
    a test may give them per case itself (``tests/ops/_kernel_cases.py``)."""
    if "kernel_mode" in metafunc.fixturenames and not _parametrized_by_marks(metafunc):
        free = metafunc.definition.get_closest_marker("kernel_free") is not None
        metafunc.parametrize("kernel_mode", ["fast"] if free else ["fast", "reference"],
                             indirect=True)


def _parametrized_by_marks(metafunc) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        names = names.split(",") if isinstance(names, str) else names
        if "kernel_mode" in (name.strip() for name in names):
            return True
    return False


@pytest.fixture
def kernel_mode(request):
    """Run the test with the fast kernels, then in ``cr.reference_mode()`` (their plain references).

    A test of a fast route itself (its memory layout, a compiled kernel being called) is marked
    ``@pytest.mark.fast_kernels`` and runs in the fast mode only. A test that calls no kernel with
    two versions (``chainrule.kernels.PAIRS``) and never reads ``config.reference_mode`` would run
    the same code twice: marked ``@pytest.mark.kernel_free``, it runs once, watched, and fails if
    it reads the mode or a kernel of the table after all (then drop the mark).
    """
    import chainrule as cr

    if request.param == "reference" and request.node.get_closest_marker("fast_kernels"):
        pytest.skip("tests a fast kernel route, which reference mode does not take")
    if request.node.get_closest_marker("kernel_free"):
        if request.param != "fast":
            pytest.fail(f"{request.node.nodeid}: a kernel_free case runs in the fast mode only")
        with cr.reference_mode(False), _kernel_mode_watched() as read:
            yield request.param
        if read:
            pytest.fail(f"{request.node.nodeid} is marked kernel_free but read "
                        f"{', '.join(sorted(read))}: its reference-mode run is not the same "
                        "code; drop the kernel_free mark", pytrace=False)
        return
    with cr.reference_mode(request.param == "reference"):
        yield request.param


@contextlib.contextmanager
def _kernel_mode_watched():
    """The set of what the block reads that reference mode changes: ``config.reference_mode``
    and the kernels of ``chainrule.kernels.K``. The two objects' classes are swapped for
    watching subclasses inside the block only."""
    from chainrule.backend.settings import Config, config
    from chainrule.kernels import PAIRS, K, KernelTable

    read: set = set()

    class WatchedConfig(Config):
        @property
        def reference_mode(self):
            read.add("config.reference_mode")
            return self.__dict__["reference_mode"]

        @reference_mode.setter
        def reference_mode(self, value):
            self.__dict__["reference_mode"] = value

    class WatchedTable(KernelTable):
        def __getattribute__(self, name):
            if name in PAIRS:
                read.add(f"kernels.K.{name}")
            return object.__getattribute__(self, name)

    object.__setattr__(config, "__class__", WatchedConfig)
    K.__class__ = WatchedTable
    try:
        yield read
    finally:
        object.__setattr__(config, "__class__", Config)
        K.__class__ = KernelTable


REPO = Path(__file__).resolve().parents[1]


def _load_script(relative: str):
    """Import a script by path (examples/ and benchmarks/ are not packages)."""
    path = REPO / relative
    name = "_script_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _run_guide(relative: str, min_blocks: int) -> dict:
    """Run the python blocks of a Markdown guide in order, in one namespace; returns it."""
    blocks = re.findall(r"^```python\n(.*?)^```", (REPO / relative).read_text(),
                        flags=re.S | re.M)
    assert len(blocks) >= min_blocks
    namespace: dict = {"__name__": relative.replace("/", "_")}
    for i, block in enumerate(blocks):
        filename = f"{relative} block {i}"
        # Its source where tracebacks look for it (anomaly mode's forward stacks quote lines).
        linecache.cache[filename] = (len(block), None, block.splitlines(True), filename)
        try:
            exec(compile(block, filename, "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - report which block failed
            pytest.fail(f"{relative} python block {i} failed: {error!r}\n{block}")
    return namespace


@pytest.fixture
def load_script():
    """``load_script("examples/x.py")``: the script imported as a module."""
    return _load_script


@pytest.fixture
def run_guide():
    """``run_guide("docs/x.md", min_blocks)``: every python block of the guide run in order."""
    return _run_guide


# Made by the test tools themselves, not by the code under test.
_TOOL_FOLDERS = {".pytest_cache", ".hypothesis", ".ruff_cache", "__pycache__"}
# New source files may appear while the suite runs in a tree someone is editing; outputs are the
# other kinds of file.
_SOURCE_SUFFIXES = {".py", ".md"}


def _outputs(root: Path) -> set:
    """What a test could leave in the clone at ``root``: root entries, runs/ entries, and
    untracked files git does not ignore (sources excepted)."""
    found = {p.name for p in root.iterdir() if p.name not in _TOOL_FOLDERS}
    if (root / "runs").is_dir():
        found |= {f"runs/{p.name}" for p in (root / "runs").iterdir()}
    if (root / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=root,
                                capture_output=True, text=True, check=False).stdout
        found |= {line for line in listed.splitlines()
                  if Path(line).suffix not in _SOURCE_SUFFIXES}
    return found


def _left_behind(before: set, root: Path) -> list:
    return sorted(_outputs(root) - before)


@pytest.fixture(scope="session", autouse=True)
def _clone_stays_clean():
    before = _outputs(REPO)
    yield
    new = _left_behind(before, REPO)
    if new:
        pytest.fail(f"the tests left files in the repository: {', '.join(new)} (write into "
                    "tmp_path, pass --out, or monkeypatch.chdir(tmp_path))", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """PyTorch, the oracle, on one thread (as tests/compat/_one_thread.py did for the ported
    programs): on these small tensors its pool's threads mostly busy-wait for each other, on
    the cores that xdist's other workers need. A test that wants more sets it and restores it."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _switches_restored():
    """PyTorch's process-wide switches as a test found them: a ported program that sets
    ``torch.set_float32_matmul_precision("high")`` (llm.c's) or
    ``torch.backends.cuda.matmul.allow_tf32 = True`` (nanoGPT's) must not change a later test's."""
    import chainrule as cr

    precision = cr.get_float32_matmul_precision()
    deterministic = cr.are_deterministic_algorithms_enabled()
    warn_only = cr.is_deterministic_algorithms_warn_only_enabled()
    matmul = dict(vars(cr.backends.cuda.matmul))
    cudnn_names = ("deterministic", "benchmark", "enabled", "allow_tf32")
    cudnn = {name: getattr(cr.backends.cudnn, name) for name in cudnn_names}
    # both libraries' default for distributions' validate_args (set_default_validate_args)
    validate = [(cls, cls.__dict__["_validate_args"]) for cls in _distribution_bases()]
    yield
    for cls, value in validate:
        cls._validate_args = value
    cr.set_float32_matmul_precision(precision)
    cr.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    vars(cr.backends.cuda.matmul).update(matmul)
    for name, value in cudnn.items():
        setattr(cr.backends.cudnn, name, value)


def _distribution_bases():
    import sys

    import chainrule.distributions as crd

    bases = [crd.Distribution]
    torch_distributions = sys.modules.get("torch.distributions")
    if torch_distributions is not None:
        bases.append(torch_distributions.Distribution)
    return bases


def pytest_collection_modifyitems(config, items):
    try:
        import torch  # noqa: F401
    except ImportError:
        skip = pytest.mark.skip(reason="PyTorch oracle not installed (pip install torch==2.13.0)")
        for item in items:
            if "torch" in item.keywords:
                item.add_marker(skip)
