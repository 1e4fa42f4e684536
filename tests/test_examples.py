"""Examples, benchmarks and the user guide stay runnable: small settings, run in-process."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_backprop_by_hand_agrees_with_autograd(capsys, load_script):
    example = load_script("examples/backprop_by_hand.py")
    result = example.main(["--epochs", "2", "--hidden", "8", "--seed", "1"])
    assert result["steps"] == 2 * 45  # 1438 training images in batches of 32
    assert result["max_grad_gap"] < 1e-10
    assert result["max_weight_gap"] < 1e-10
    assert result["test_accuracy_hand"] == result["test_accuracy_autograd"]
    assert result["test_accuracy_hand"] > 0.5  # well above chance (0.1) after two epochs
    out = capsys.readouterr().out
    assert "test accuracy: hand" in out


def test_backprop_by_hand_rejects_bad_arguments(capsys, load_script):
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


def test_autograd_guide_snippets_run(capsys, run_guide):
    run_guide("docs/autograd.md", min_blocks=10)
    out = capsys.readouterr().out
    assert "tensor([ 8., 16.])" in out  # what the page says the blocks print
    assert "one of the variables needed for gradient computation has been modified by an " \
        "inplace operation\n" in out


def test_engine_overhead_benchmark_smoke(capsys, load_script):
    bench = load_script("benchmarks/engine_overhead.py")
    rows = bench.main(["--repeats", "1", "--warmup", "0", "--chain-length", "20", "--batch", "8"])
    assert {row["workload"] for row in rows} == {"chain", "mlp_step"}
    for row in rows:
        assert row["chainrule_ms"] > 0
    out = capsys.readouterr().out
    assert "ratio" in out


def test_perceptron_xor_example(load_script):
    results = load_script("examples/perceptron_xor.py").main([])
    assert results["AND"]["perceptron"] == 1.0 and results["OR"]["perceptron"] == 1.0
    assert results["XOR"]["perceptron"] < 1.0 and results["XOR"]["mlp"] == 1.0


def test_fast_inference_example_traces_bit_for_bit(capsys, load_script):
    result = load_script("examples/fast_inference.py").main(
        ["--epochs", "1", "--calls", "5", "--repeats", "1"])
    assert result["mismatches"] == 0 and result["images"] == 359
    assert result["layers_us"] > 0 and result["eager_us"] > 0 and result["traced_us"] > 0
    assert "net.0.weight" in result["code"]
    assert "differ from the layers on 0" in capsys.readouterr().out
