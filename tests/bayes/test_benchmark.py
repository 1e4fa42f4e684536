"""benchmarks/bayes.py: its PyTorch Bayes-by-Backprop step computes chainrule's step."""

import pytest

pytest.importorskip("torch")


def test_bbb_benchmark_steps_agree_and_time(load_script, capsys):
    bench = load_script("benchmarks/bayes.py")
    res = bench.main(["--quick", "--hidden", "16", "--batch", "8", "--rounds", "2", "--steps",
                      "1"])
    assert res["check"] <= 1e-4  # three steps from one start and one noise: the same losses
    assert res["sizes"] == (784, 16, 10) and len(res["ratios"]) == 2
    assert res["chainrule_ms"] > 0 and res["torch_ms"] > 0
    assert "ratio" in capsys.readouterr().out
