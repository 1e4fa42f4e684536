"""Examples, benchmarks and the user guide stay runnable: small settings, run in-process."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_script(relative: str):
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


def test_backprop_by_hand_agrees_with_autograd(capsys):
    example = load_script("examples/backprop_by_hand.py")
    result = example.main(["--epochs", "2", "--hidden", "8", "--seed", "1"])
    assert result["steps"] == 2 * 45  # 1438 training images in batches of 32
    assert result["max_grad_gap"] < 1e-10
    assert result["max_weight_gap"] < 1e-10
    assert result["test_accuracy_hand"] == result["test_accuracy_autograd"]
    assert result["test_accuracy_hand"] > 0.5  # well above chance (0.1) after two epochs
    out = capsys.readouterr().out
    assert "test accuracy: hand" in out


def test_backprop_by_hand_rejects_bad_arguments(capsys):
    example = load_script("examples/backprop_by_hand.py")
    with pytest.raises(SystemExit):
        example.main(["--hidden", "0"])
    assert "--hidden must be at least 1" in capsys.readouterr().err


def test_backprop_by_hand_runs_as_a_script():
    done = subprocess.run(
        [sys.executable, str(REPO / "examples/backprop_by_hand.py"), "--epochs", "1",
         "--hidden", "4"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "largest |dR/dw (hand) - dR/dw (autograd)|" in done.stdout


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def test_autograd_guide_snippets_run(capsys):
    blocks = _python_blocks((REPO / "docs/autograd.md").read_text())
    assert len(blocks) >= 10
    namespace: dict = {"__name__": "autograd_guide"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/autograd.md block {i}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - report which block failed
            pytest.fail(f"docs/autograd.md python block {i} failed: {error!r}\n{block}")
    assert "tensor([ 8., 16.])" in capsys.readouterr().out


def test_engine_overhead_benchmark_smoke(capsys):
    bench = load_script("benchmarks/engine_overhead.py")
    rows = bench.main(["--repeats", "1", "--warmup", "0", "--chain-length", "20", "--batch", "8"])
    assert {row["workload"] for row in rows} == {"chain", "mlp_step"}
    for row in rows:
        assert row["chainrule_ms"] > 0
    out = capsys.readouterr().out
    assert "ratio" in out


def test_perceptron_xor_example():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "perceptron_xor.py"
    spec = importlib.util.spec_from_file_location("perceptron_xor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main([])
    assert results["AND"]["perceptron"] == 1.0 and results["OR"]["perceptron"] == 1.0
    assert results["XOR"]["perceptron"] < 1.0 and results["XOR"]["mlp"] == 1.0
