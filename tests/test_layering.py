"""The layering rules of DESIGN.md, enforced by reading every module's imports.

A layer is a subpackage (or top-level module) of chainrule. A module may import its own layer, the
standard library and third-party packages, plus the layers listed for it here; every other chainrule
import is a violation. Imports inside functions count too.

    layer          may import (besides itself)
    -------------  --------------------------------------------------------------------
    backend        nothing of ours
    autograd       backend
    ops            autograd, kernels, backend
    kernels        backend   (array-level kernels: plain references beside fast versions)
    functional     ops
    linalg         ops   (PyTorch's module path chainrule.linalg)
    special        ops   (PyTorch's module path chainrule.special)
    fft            ops   (PyTorch's module path chainrule.fft)
    nn             ops, autograd, sparse, backend   (sparse: Embedding's sparse gradient)
    sparse         ops, autograd, backend   (PyTorch's torch.sparse: sparse COO tensors)
    distributions  ops, autograd, backend   (PyTorch's torch.distributions; at the nn level)
    optim          nn, autograd, kernels, backend
    data           autograd, backend   (autograd: the DataLoader yields Tensors)
    train          optim, nn, ops, autograd, data, io, profiler, backend   (io: resumable
                   checkpoints; profiler: the ProfileSteps callback)
    models         nn, ops, autograd, backend
    io             nn, autograd, sparse, backend   (sparse: save/load of sparse tensors)
    viz            backend
    robust         train and everything below it: optim, nn, models, functional, ops, autograd,
    explain          data, io, viz, backend (not each other)
    generative
    bayes
    experiments    the apps' runner for the command line: train, models, io, viz and below
    distributed    train and everything below it
    utils          data, autograd, backend   (PyTorch's module paths utils.data, utils.checkpoint)
    vision         data, autograd, backend   (torchvision's datasets and transforms; host-side)
    backends       nothing of ours   (PyTorch's switches: determinism, cudnn, matmul precision)
    compiler       nothing of ours   (chainrule.compile: torch.compile's signature, runs eagerly)
    jit            nothing of ours   (torch.jit's names: script, trace, is_scripting; run eagerly)
    overrides      autograd   (torch.overrides' names; no __torch_function__ protocol)
    library        autograd   (torch.library: custom_op, register_autograd, opcheck)
    multiprocessing nothing of ours  (torch.multiprocessing: Python's multiprocessing)
    signal         ops   (torch.signal.windows: SciPy-style window functions)
    version        nothing of ours   (torch.version: __version__, cuda, hip, debug)
    amp            autograd, backend   (torch.amp: GradScaler, autocast)
    func           nn, ops, autograd, backend   (PyTorch's torch.func: grad, vmap, functional_call)
    onnx           nn, ops, autograd, data, backend   (ONNX interchange: export, load)
    testing        ops, autograd, backend   (PyTorch's torch.testing: assert_close, make_tensor)
    profiler       optim, nn, autograd, backend   (torch.profiler: times ops, nodes, steps)
    cli            anything; nothing imports cli

The package root (chainrule/__init__.py) is the public facade and may import any layer but cli; no
layer may import the root (it would import every layer). NumPy and CuPy are imported by name only in
backend, data and viz; everything else asks backend.get_array_module(x).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "chainrule"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE
ROOT = "<root>"

_BELOW_TRAIN = {"optim", "nn", "ops", "kernels", "autograd", "data", "backend"}
_APPS_MAY_IMPORT = {"train", "models", "functional", "io", "viz"} | _BELOW_TRAIN
ALLOWED: dict[str, set[str]] = {
    "backend": set(),
    "autograd": {"backend"},
    "ops": {"autograd", "kernels", "backend"},
    "kernels": {"backend"},
    "functional": {"ops"},
    "linalg": {"ops"},  # PyTorch's module path torch.linalg
    "special": {"ops"},  # PyTorch's module path torch.special
    "fft": {"ops"},  # PyTorch's module path torch.fft
    "nn": {"ops", "autograd", "sparse", "backend"},  # sparse: Embedding(sparse=True)'s gradient
    "sparse": {"ops", "autograd", "backend"},  # torch.sparse: sparse COO tensors
    "distributions": {"ops", "autograd", "backend"},  # torch.distributions
    "optim": {"nn", "autograd", "kernels", "backend"},
    "data": {"autograd", "backend"},
    "train": _BELOW_TRAIN | {"io", "profiler"},
    "models": {"nn", "ops", "autograd", "backend"},
    "io": {"nn", "autograd", "sparse", "backend"},  # sparse: save/load of sparse tensors
    "viz": {"backend"},
    "robust": set(_APPS_MAY_IMPORT),
    "explain": set(_APPS_MAY_IMPORT),
    "generative": set(_APPS_MAY_IMPORT),
    "bayes": set(_APPS_MAY_IMPORT),
    "experiments": _APPS_MAY_IMPORT | {"robust", "explain", "generative", "bayes"},
    "distributed": {"train", "io"} | _BELOW_TRAIN,
    "utils": {"data", "autograd", "backend"},  # torch.utils.data, torch.utils.checkpoint
    "vision": {"data", "autograd", "backend"},  # torchvision's datasets and transforms
    "backends": set(),  # PyTorch's torch.backends switches (recorded; no effect on the CPU)
    "compiler": set(),  # torch.compile's signature; runs eagerly
    "jit": set(),  # torch.jit's names (script, trace, is_scripting...); runs eagerly
    "overrides": {"autograd"},  # torch.overrides' names; no __torch_function__ protocol
    "library": {"autograd"},  # torch.library's Python custom operators
    "multiprocessing": set(),  # torch.multiprocessing: Python's multiprocessing
    "amp": {"autograd", "backend"},  # torch.amp: GradScaler, autocast
    "func": {"nn", "ops", "autograd", "backend"},  # PyTorch's torch.func (function transforms)
    "onnx": {"nn", "ops", "autograd", "data", "backend"},  # ONNX interchange (export, load)
    "testing": {"ops", "autograd", "backend"},  # torch.testing: assert_close, make_tensor
    "random": {"ops", "backend"},  # torch.random: the default generator's state, fork_rng
    "signal": {"ops"},  # torch.signal.windows
    "version": set(),  # torch.version: the version and the toolkits built against
    "profiler": {"optim", "nn", "autograd", "backend"},  # torch.profiler (times the engine)
}
ALL_LAYERS = set(ALLOWED) | {"cli"}
ALLOWED["cli"] = ALL_LAYERS | {ROOT}
ALLOWED[ROOT] = ALL_LAYERS - {"cli"}

ARRAY_LIBRARIES = {"numpy", "cupy"}
MAY_IMPORT_ARRAY_LIBRARIES = {"backend", "data", "viz", "vision"}


def module_name(path: Path, src: Path = SRC) -> str:
    """Dotted module name of a file under ``src`` (``__init__.py`` names its package)."""
    parts = [PACKAGE, *path.relative_to(src).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The layer a chainrule module belongs to: its first component below the package."""
    parts = module.split(".")
    if len(parts) == 1:
        return ROOT
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported_modules(source: str, module: str, is_package: bool, src: Path = SRC):
    """Yield ``(lineno, absolute module name)`` for every import statement in ``source``.

    Relative imports are resolved against ``module``. For ``from chainrule import x`` the target is
    ``chainrule.x`` when x is a subpackage or module, else the package root.
    """
    package = module if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if target == PACKAGE:
                for alias in node.names:
                    sub = src / alias.name
                    if sub.is_dir() or sub.with_suffix(".py").is_file():
                        yield node.lineno, f"{PACKAGE}.{alias.name}"
                    else:
                        yield node.lineno, PACKAGE
            else:
                yield node.lineno, target


def violations(path: Path, src: Path = SRC) -> list[str]:
    """Every import of ``path`` that breaks the layering rules, as readable lines."""
    module = module_name(path, src)
    layer = layer_of(module)
    where = path.relative_to(src.parent)
    found = []
    if layer not in ALLOWED:
        return [
            f"{where}: layer {layer!r} is not in the table of tests/test_layering.py; add it there "
            "with the layers it may import (and to DESIGN.md)"
        ]
    for lineno, target in imported_modules(path.read_text(), module, _is_package(path), src):
        top = target.split(".")[0]
        if top in ARRAY_LIBRARIES and layer not in MAY_IMPORT_ARRAY_LIBRARIES:
            found.append(
                f"{where}:{lineno}: imports {target}; only backend, data and viz may import "
                f"{top} by name (use backend.get_array_module(x))"
            )
        if top != PACKAGE:
            continue
        dep = layer_of(target)
        if dep == layer and dep != ROOT:
            continue
        if dep == "cli":
            found.append(f"{where}:{lineno}: imports {target}; nothing may import cli")
        elif dep not in ALLOWED[layer]:
            allowed = ", ".join(sorted(ALLOWED[layer] - {ROOT})) or "nothing of ours"
            what = "the chainrule package root" if dep == ROOT else f"{target} (layer {dep})"
            found.append(f"{where}:{lineno}: {layer} imports {what}; {layer} may import {allowed}")
    return found


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_respects_the_layering(path):
    problems = violations(path)
    assert not problems, "\n".join(problems)


def test_the_engine_layers_are_present():
    names = {layer_of(module_name(p)) for p in MODULES}
    assert {"backend", "autograd", "ops", ROOT} <= names


# The checker itself, on a small synthetic package.


def _write(src: Path, relative: str, text: str) -> Path:
    path = src / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def fake(tmp_path):
    src = tmp_path / PACKAGE
    for pkg in ("backend", "autograd", "ops", "nn", "viz", "cli"):
        _write(src, f"{pkg}/__init__.py", "")
    _write(src, "__init__.py", "")
    _write(src, "functional.py", "")
    return src


def test_relative_imports_are_resolved(fake):
    path = _write(fake, "ops/sub/deep.py", "")
    found = set(imported_modules(
        "from ...autograd.tensor import Tensor\nfrom .. import elementwise\nfrom . import x\n"
        "from .. import functional\nfrom ... import nn, Tensor\n",
        module_name(path, fake), False, fake,
    ))
    assert {name for _, name in found} == {
        "chainrule.autograd.tensor", "chainrule.ops", "chainrule.ops.sub", "chainrule.nn",
        "chainrule",
    }


def test_package_init_resolves_relative_to_itself(fake):
    path = fake / "nn" / "__init__.py"
    found = imported_modules("from .linear import Linear", "chainrule.nn", True, fake)
    assert {name for _, name in found} == {"chainrule.nn.linear"}
    assert module_name(path, fake) == "chainrule.nn"


def test_violations_are_reported(fake):
    bad = _write(fake, "autograd/bad.py", (
        "import numpy as np\n"
        "from ..ops import elementwise\n"
        "def later():\n"
        "    from chainrule.nn import Linear\n"
        "    import chainrule\n"
        "    from .. import cli\n"
    ))
    problems = violations(bad, fake)
    assert len(problems) == 5, problems
    assert "autograd/bad.py:1: imports numpy" in problems[0]
    assert "autograd imports chainrule.ops (layer ops); autograd may import backend" in problems[1]
    assert ":4: autograd imports chainrule.nn (layer nn)" in problems[2]
    assert ":5: autograd imports the chainrule package root" in problems[3]
    assert ":6: imports chainrule.cli; nothing may import cli" in problems[4]


def test_allowed_imports_pass(fake):
    good = _write(fake, "nn/good.py", (
        "import math\nimport numbers\nfrom ..ops.linalg import linear\n"
        "from ..autograd import Tensor\nfrom ..backend import get_array_module\n"
        "from . import init\nfrom .module import Module\n"
    ))
    assert violations(good, fake) == []
    plots = _write(fake, "viz/plots.py", "import numpy as np\nfrom ..backend import asnumpy\n")
    assert violations(plots, fake) == []
    root = _write(fake, "__init__.py", "from . import nn, functional\nfrom .ops import *\n")
    assert violations(root, fake) == []


def test_unknown_layers_must_be_declared(fake):
    stray = _write(fake, "misc/helpers.py", "")
    (problem,) = violations(stray, fake)
    assert "layer 'misc' is not in the table" in problem
