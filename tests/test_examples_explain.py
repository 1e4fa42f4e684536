"""The explanation examples run with tiny settings, and their numbers hold what they claim."""

import pytest


def test_explain_digits(tmp_path, capsys, load_script):
    example = load_script("examples/explain_digits.py")
    res = example.main(["--epochs", "4", "--images", "2", "--ig-steps", "32",
                        "--maximize-steps", "30", "--finetune-epochs", "1",
                        "--out", str(tmp_path)])
    assert res["test_accuracy"] > 0.7
    assert res["ig_relative_error"] < 0.05
    assert all(end > start for start, end in res["maximization"].values())
    oneshot, iterative = res["pruning"]["one-shot"], res["pruning"]["iterative"]
    assert [s for s, _ in oneshot] == [0.0, 0.5, 0.75, 0.9, 0.95]
    assert iterative[-1][1] > oneshot[-1][1]       # fine-tuning recovers what pruning cost
    for name in ("attributions", "filters", "maximization", "sparsity"):
        assert (tmp_path / f"{name}.png").is_file()
    assert "sparsity  one-shot  iterative" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        example.main(["--epochs", "0"])


def test_explain_pruning_curves(tmp_path, load_script):
    import json

    example = load_script("examples/explain_pruning_curves.py")
    paths = []
    for i, iterative in enumerate((False, True)):
        res = {"iterative": iterative, "criterion": "magnitude", "scope": "global",
               "curve": [{"sparsity": 0.0, "test_accuracy": 0.9},
                         {"sparsity": 0.5, "test_accuracy": 0.8 + 0.1 * i}]}
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(json.dumps(res))
    curves = example.main([str(tmp_path / "c.png"), *map(str, paths)])
    assert list(curves) == ["one-shot, magnitude, global",
                            "iterative + fine-tuning, magnitude, global"]
    assert (tmp_path / "c.png").is_file()
