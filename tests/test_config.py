"""chainrule.config: one object, read from the environment in one place (backend/settings.py).

Every variable is parsed (good values, bad values: a warning and the default, never an import
failure); assignments from Python are checked and take effect at once; the older functions
(set_reference_mode, set_num_threads) are thin wrappers over it; and no other module reads the
environment (the house rule of DESIGN.md, enforced here by reading the source).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.backend import gpu, jit, threads
from chainrule.backend.settings import SETTINGS, Config, PrintOptions, from_environment
from chainrule.data.download import data_home

from ._case_loop import each_case, grid

SRC = Path(__file__).resolve().parents[1] / "src" / "chainrule"
DOCS = Path(__file__).resolve().parents[1] / "docs"


def _every_variable_is_parsed_case(variable, text, name, expected):
    config = from_environment({variable: text})
    assert getattr(config, name) == expected
    assert config.environment == {variable: text}


def test_every_variable_is_parsed():
    each_case(_every_variable_is_parsed_case, grid(
        ("variable, text, name, expected", [
    ("CHAINRULE_NUM_THREADS", "3", "threads", 3),
    ("CHAINRULE_NUM_THREADS", "Auto", "threads", "auto"),
    ("CHAINRULE_JIT", "0", "jit", False),
    ("CHAINRULE_JIT", " off ", "jit", False),
    ("CHAINRULE_JIT", "YES", "jit", True),
    ("CHAINRULE_GPU_KERNELS", "false", "gpu_kernels", False),
    ("CHAINRULE_GPU_KERNELS", "1", "gpu_kernels", True),
    ("CHAINRULE_REFERENCE_MODE", "no", "reference_mode", False),
    ("CHAINRULE_REFERENCE_MODE", "on", "reference_mode", True),
    ("CHAINRULE_MALLOC_TUNING", "off", "malloc_tuning", False),
    ("CHAINRULE_KEEP_COLUMNS_MIB", "8", "keep_columns_mib", 8),
    ("CHAINRULE_KEEP_COLUMNS_MIB", " 0 ", "keep_columns_mib", 0),
    ("CHAINRULE_DATA", "/data/sets", "data_dir", "/data/sets"),
    ("CHAINRULE_DATA", "~/sets", "data_dir", os.path.expanduser("~/sets")),
    ("CHAINRULE_PRINT_OPTIONS", "precision=4, linewidth=80", "print_options",
     PrintOptions(precision=4, linewidth=80)),
    ("CHAINRULE_PRINT_OPTIONS", "threshold=inf,sci_mode=on", "print_options",
     PrintOptions(threshold=float("inf"), sci_mode=True)),
]),
    ))


def test_defaults_and_unset_or_empty_variables():
    defaults = from_environment({})
    assert defaults.as_dict() == {
        "threads": "auto", "jit": True, "gpu_kernels": True,
        "reference_mode": False, "malloc_tuning": True,
        "keep_columns_mib": 32, "data_dir": os.path.join(os.path.expanduser("~"), ".cache",
                                                         "chainrule"),
        "default_dtype": np.dtype("float32"), "default_device": "cpu",
        "print_options": PrintOptions()}
    empty = from_environment({s.variable: "" for s in SETTINGS.values()})
    assert empty.as_dict() == defaults.as_dict()
    assert from_environment({"XDG_CACHE_HOME": "/xdg"}).data_dir == os.path.join("/xdg",
                                                                                  "chainrule")


@pytest.mark.parametrize("variable, text, name, default, expected", [
    ("CHAINRULE_NUM_THREADS", "lots", "threads", "auto", "a positive integer or 'auto'"),
    ("CHAINRULE_JIT", "maybe", "jit", True, "1/0, true/false, yes/no or on/off"),
    ("CHAINRULE_GPU_KERNELS", "2", "gpu_kernels", True, "1/0, true/false, yes/no or on/off"),
    ("CHAINRULE_REFERENCE_MODE", "nope", "reference_mode", False, "1/0, true/false"),
    ("CHAINRULE_KEEP_COLUMNS_MIB", "abc", "keep_columns_mib", 32, "a whole number of MiB"),
    ("CHAINRULE_KEEP_COLUMNS_MIB", "-4", "keep_columns_mib", 32, "a whole number of MiB"),
    ("CHAINRULE_KEEP_COLUMNS_MIB", "1.5", "keep_columns_mib", 32, "a whole number of MiB"),
    ("CHAINRULE_PRINT_OPTIONS", "precision=four", "print_options", PrintOptions(),
     "name=value pairs"),
    ("CHAINRULE_PRINT_OPTIONS", "digits=4", "print_options", PrintOptions(),
     "a mapping of some of"),
])
def test_a_bad_value_warns_with_the_variable_value_and_expectation_and_uses_the_default(
        variable, text, name, default, expected):
    with pytest.warns(RuntimeWarning) as record:
        config = from_environment({variable: text, "CHAINRULE_JIT": "0"} if name != "jit"
                                  else {variable: text})
    assert getattr(config, name) == default
    assert len(record) == 1
    message = str(record[0].message)
    assert f"ignoring the environment variable {variable}" in message
    assert repr(text) in message and expected in message and repr(default) in message
    if name != "jit":
        assert config.jit is False  # the other variables are still read


def _run(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHAINRULE_")}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_import_with_bad_values_succeeds_and_warns():
    code = ("import chainrule as cr; c = cr.config; "
            "print(c.keep_columns_mib, c.jit, c.reference_mode, c.gpu_kernels)")
    bad = _run(code, CHAINRULE_KEEP_COLUMNS_MIB="abc", CHAINRULE_JIT="maybe",
               CHAINRULE_REFERENCE_MODE="x", CHAINRULE_GPU_KERNELS="?")
    assert bad.returncode == 0, bad.stderr
    assert bad.stdout.split() == ["32", "True", "False", "True"]
    for variable, value in [("CHAINRULE_KEEP_COLUMNS_MIB", "abc"), ("CHAINRULE_JIT", "maybe"),
                            ("CHAINRULE_REFERENCE_MODE", "x"), ("CHAINRULE_GPU_KERNELS", "?")]:
        assert f"RuntimeWarning: chainrule: ignoring the environment variable {variable}" in \
            bad.stderr
        assert repr(value) in bad.stderr


def test_good_values_reach_a_fresh_process_and_the_modules_that_use_them(tmp_path):
    code = ("import chainrule as cr\n"
            "from chainrule.backend import gpu, jit\n"
            "from chainrule.data.download import data_home\n"
            "c = cr.config\n"
            "print(c.jit, jit.enabled(), jit.col2im, c.gpu_kernels, gpu.enabled(),\n"
            "      c.reference_mode, c.keep_columns_mib, data_home() == c.data_dir)\n"
            "print(c.data_dir)\n")
    out = _run(code, CHAINRULE_JIT="0", CHAINRULE_GPU_KERNELS="0",
               CHAINRULE_REFERENCE_MODE="0", CHAINRULE_KEEP_COLUMNS_MIB="8",
               CHAINRULE_DATA=str(tmp_path))
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first.split() == ["False", "False", "None", "False", "False", "False", "8", "True"]
    assert second == str(tmp_path)


def _setting_from_python_checks_the_value_and_names_the_setting_case(name, bad, expected):
    before = getattr(cr.config, name)
    with pytest.raises(ValueError, match=rf"chainrule\.config\.{name}: .*{re.escape(expected)}"):
        setattr(cr.config, name, bad)
    assert getattr(cr.config, name) == before


def test_setting_from_python_checks_the_value_and_names_the_setting():
    each_case(_setting_from_python_checks_the_value_and_names_the_setting_case, grid(
        ("name, bad, expected", [
    ("threads", 0, "a positive integer or 'auto'"),
    ("threads", "many", "a positive integer or 'auto'"),
    ("jit", 1, "expected True or False, got 1"),
    ("gpu_kernels", "0", "expected True or False, got '0'"),
    ("reference_mode", None, "expected True or False, got None"),
    ("malloc_tuning", "yes", "expected True or False, got 'yes'"),
    ("keep_columns_mib", -1, "an int >= 0"),
    ("keep_columns_mib", 2.5, "an int >= 0"),
    ("keep_columns_mib", True, "an int >= 0"),
    ("data_dir", "", "expected a folder"),
    ("data_dir", 3, "expected a folder"),
    ("print_options", {"precision": -1}, "expected precision an int >= 0, got -1"),
    ("print_options", {"sci_mode": 1}, "expected sci_mode True, False or None, got 1"),
    ("print_options", {"width": 80}, "a mapping of some of ['precision'"),
]),
    ))


def test_unknown_settings_are_refused():
    with pytest.raises(AttributeError, match="no setting 'inference_plans'; the settings are "
                                             "threads, jit"):
        cr.config.inference_plans = False
    with pytest.raises(AttributeError, match="cannot be deleted"):
        del cr.config.jit
    with pytest.raises(TypeError, match=r"unknown settings \['speed'\]"):
        Config(speed=2)
    assert "reference_mode=False" in repr(Config())


@pytest.mark.skipif(jit._NUMBA is False, reason="numba not installed")
def test_the_jit_setting_switches_the_compiled_kernels_at_once(monkeypatch, rng):
    monkeypatch.setattr(cr.config, "jit", True)
    assert jit.enabled() and jit.col2im is not None
    x = cr.tensor(rng.standard_normal((16, 2, 6, 6)), requires_grad=True)
    F = cr.F
    F.max_pool2d(x, 2).sum().backward()
    compiled = x.grad.numpy()
    cr.config.jit = False
    assert not jit.enabled() and jit.col2im is None and jit.adam is None
    x.grad = None
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), compiled)
    cr.config.jit = True
    assert jit.enabled()


def test_gpu_kernels_follow_the_config(monkeypatch):
    monkeypatch.setattr(cr.config, "gpu_kernels", False)
    assert not gpu.enabled()
    monkeypatch.setattr(cr.config, "gpu_kernels", True)
    assert gpu.enabled() == (gpu.cupy is not None)


def test_data_dir_follows_the_config(monkeypatch, tmp_path):
    monkeypatch.setattr(cr.config, "data_dir", tmp_path)
    assert cr.config.data_dir == str(tmp_path) and data_home() == str(tmp_path)
    assert data_home(tmp_path / "given") == str(tmp_path / "given")


def test_threads_through_the_config_and_the_old_function(monkeypatch):
    calls = []
    monkeypatch.setattr(threads, "_limit", calls.append)
    monkeypatch.setattr(threads, "machine", lambda: threads.Machine(cpus=4, busy=1.0))
    monkeypatch.setattr(cr.config, "threads", 2)
    cr.set_num_threads("auto")
    cr.config.threads = None  # leaves the BLAS library's count as it is
    assert calls == [2, 3] and cr.config.threads is None
    cr.config.threads = "3"
    assert cr.config.threads == 3 and calls[-1] == 3
    with pytest.raises(ValueError, match="set_num_threads: threads must be a positive integer"):
        cr.set_num_threads(0)


def test_a_failing_application_keeps_the_old_value(monkeypatch):
    def refuse(count):
        raise ImportError("no threadpoolctl here")

    monkeypatch.setattr(threads, "_limit", lambda count: None)
    monkeypatch.setattr(cr.config, "threads", None)
    monkeypatch.setattr(threads, "_limit", refuse)
    with pytest.raises(ImportError, match="no threadpoolctl"):
        cr.config.threads = 2
    assert cr.config.threads is None


def _reads_the_environment(tree: ast.AST) -> list[int]:
    """Lines that touch os.environ / os.getenv / os.putenv, or import them from os."""
    lines = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv",
                                                              "getenvb", "putenv", "unsetenv")
                and isinstance(node.value, ast.Name) and node.value.id == "os"):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name in ("environ", "getenv", "putenv") for a in node.names):
            lines.append(node.lineno)
    return sorted(lines)


_ENV_NAMES = re.compile(r"\b(environb?|getenvb?|putenv|unsetenv)\b")


def test_only_settings_py_reads_the_environment():
    """The house rule: the environment is read in one place (DESIGN.md)."""
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        source = path.read_text()
        if path == SRC / "backend" / "settings.py" or not _ENV_NAMES.search(source):
            continue  # without one of the names, no read to find (test_layering parses it)
        lines = _reads_the_environment(ast.parse(source, str(path)))
        if lines:
            offenders[str(path.relative_to(SRC))] = lines
    assert offenders == {}, ("only backend/settings.py may read the environment; make the value a "
                             f"setting of chainrule.config instead: {offenders}")


def test_the_house_rule_check_finds_reads():
    code = "import os\nfrom os import getenv\nx = os.environ.get('A')\ny = os.getenv('B')\n"
    assert _reads_the_environment(ast.parse(code)) == [2, 3, 4]
    for name in ("environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"):
        assert _ENV_NAMES.search(f"os.{name}(") and _ENV_NAMES.search(f"from os import {name}")


def test_every_chainrule_variable_named_in_the_source_is_a_setting():
    variables = {s.variable for s in SETTINGS.values()}
    named = set()
    for path in SRC.rglob("*.py"):
        named |= set(re.findall(r"CHAINRULE_[A-Z_]*[A-Z]", path.read_text()))
    assert named <= variables, f"not settings of chainrule.config: {sorted(named - variables)}"


def test_one_page_documents_every_setting():
    page = (DOCS / "configuration.md").read_text()
    for setting in SETTINGS.values():
        assert f"`{setting.name}`" in page and f"`{setting.variable}`" in page, setting.name
