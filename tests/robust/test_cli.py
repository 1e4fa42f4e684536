"""The robustness subcommands and `train --adversarial`, driven through main() on the digits."""

import json

import pytest

from chainrule.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("robust") / "digits"
    assert main(["train", "small_cnn", "--epochs", "2", "--quiet", "--out", str(folder)]) == 0
    return folder


def _results(folder):
    return json.loads((folder / "results.json").read_text())


def test_attack_writes_results_a_curve_and_a_grid(run, tmp_path, capsys):
    out = tmp_path / "attack"
    assert main(["attack", str(run), "--method", "pgd", "--eps", "0.1", "--steps", "5",
                 "--curve", "0,0.1,0.3", "--quiet", "--out", str(out)]) == 0
    res = _results(out)
    assert res["n"] == 359 and 0 <= res["robust_accuracy"] < res["clean_accuracy"]
    acc = [r["robust_accuracy"] for r in res["curve"]]
    assert acc[0] == pytest.approx(res["clean_accuracy"]) and acc == sorted(acc, reverse=True)
    assert acc[1] == pytest.approx(res["robust_accuracy"])
    assert {p.name for p in (out / "figures").iterdir()} == {"accuracy_vs_eps.png",
                                                             "adversarial_grid.png"}
    assert "robust accuracy" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["steps"] == 5


@pytest.mark.parametrize("method", ["fgsm", "apgd", "apgd-t", "cw", "deepfool"])
def test_every_method_runs(run, tmp_path, method):
    out = tmp_path / method
    steps = [] if method == "fgsm" else ["--steps", "5"]  # one step: fgsm takes no --steps
    assert main(["attack", str(run), "--method", method, "--n", "20", *steps,
                 "--curve", "", "--quiet", "--out", str(out)]) == 0
    res = _results(out)
    assert res["n"] == 20 and "curve" not in res


def test_an_attack_that_never_succeeds_prints_no_nan(run, tmp_path, capsys):
    # Found by the CLI fuzz: --eps 0 printed "median perturbation norm nan" in a successful run.
    assert main(["attack", str(run), "--method", "pgd", "--eps", "0", "--n", "20", "--steps",
                 "2", "--curve", "", "--quiet", "--out", str(tmp_path / "zero")]) == 0
    out = capsys.readouterr().out
    assert "no attack succeeded, so no perturbation norm" in out and "nan" not in out


def test_a_targeted_attack(run, tmp_path):
    out = tmp_path / "t"
    assert main(["attack", str(run), "--method", "pgd", "--target", "3", "--eps", "0.5",
                 "--n", "30", "--steps", "10", "--curve", "", "--quiet", "--out", str(out)]) == 0
    assert _results(out)["success_rate"] > 0.5


def test_a_targeted_attacks_curve_is_of_the_targeted_attack(run, tmp_path):
    # Found by the nineteenth fuzz wave: with --target the curve ran the untargeted attack, so
    # its row at the run's own eps (0.0 here) disagreed with the run's robust accuracy (0.15).
    out = tmp_path / "tc"
    assert main(["attack", str(run), "--method", "pgd", "--target", "3", "--eps", "0.3",
                 "--n", "40", "--steps", "5", "--curve", "0,0.3", "--quiet", "--out",
                 str(out)]) == 0
    res = _results(out)
    acc = [r["robust_accuracy"] for r in res["curve"]]
    assert acc[0] == pytest.approx(res["clean_accuracy"])
    assert acc[1] == pytest.approx(res["robust_accuracy"]) and acc[1] > 0


def test_patch_shift_and_ood(run, tmp_path):
    assert main(["patch", str(run), "--area", "0.2", "--epochs", "1", "--n-train", "300",
                 "--out", str(tmp_path / "p")]) == 0
    rows = _results(tmp_path / "p")["results"]
    assert len(rows) == 1 and rows[0]["side"] == 4
    assert main(["shift", str(run), "--n", "50", "--out", str(tmp_path / "s")]) == 0
    curves = _results(tmp_path / "s")["curves"]
    assert set(curves) == {"rotation", "scale", "translation", "elastic"}
    assert main(["ood", str(run), "--against", "noise", "--against", "inverted", "--n", "100",
                 "--out", str(tmp_path / "o")]) == 0
    sets = _results(tmp_path / "o")["sets"]
    assert set(sets) == {"noise", "inverted"} and 0 <= sets["noise"]["msp"]["auroc"] <= 1


def test_refusals_are_one_line_and_write_nothing(run, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["ood", str(run), "--against", "fashion_mnist", "--out", str(out),
                 "--no-download"]) == 2
    assert not out.exists()
    assert "chainrule: error:" in capsys.readouterr().err
    assert main(["attack", str(run), "--target", "12", "--out", str(out)]) == 2
    assert "--target 12: the model has 10 classes" in capsys.readouterr().err
    assert main(["patch", str(run), "--area", "1.5", "--out", str(out)]) == 2
    assert "--area 1.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["attack", str(run), "--method", "bim"])


def test_train_adversarial_records_its_settings(tmp_path, capsys):
    out = tmp_path / "adv"
    assert main(["train", "small_cnn", "--epochs", "1", "--quiet", "--adversarial", "pgd",
                 "--eps", "0.1", "--adv-steps", "2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["adversarial"] == {"method": "pgd", "eps": 0.1, "alpha": None, "steps": 2,
                                     "bounds": [0.0, 1.0], "clip_start": False}
    assert main(["train", "gan", "--adversarial", "fgsm", "--out", str(tmp_path / "g")]) == 2
    assert "adversarial training is for classifiers" in capsys.readouterr().err


@pytest.mark.parametrize("method, options, named", [
    ("fgsm", ["--alpha", "0.1"], "--alpha 0.1: --method fgsm does not use it"),
    ("cw", ["--norm", "l2"], "--norm l2: --method cw does not use it"),
    ("deepfool", ["--restarts", "3"], "--restarts 3: --method deepfool does not use it"),
    ("fgsm", ["--steps", "5"], "--steps 5: --method fgsm does not use it"),
    ("apgd", ["--alpha", "0.01"], "(it is for pgd)"),
    ("apgd-t", ["--target", "3"], "--target 3: --method apgd-t is untargeted"),
    # cw and deepfool have no budget: an --eps or --curve given to them was dropped without a word
    ("cw", ["--eps", "0.1"], "--eps 0.1: --method cw has no perturbation budget"),
    ("deepfool", ["--curve", "0.1,0.2"], "--curve [0.1, 0.2]: --method deepfool has no "),
])
def test_an_option_the_method_does_not_use_is_refused(run, tmp_path, capsys, method, options,
                                                      named):
    out = tmp_path / "attack"
    assert main(["attack", str(run), "--method", method, *options, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    # Not an error: the advice to set --threads that a busy machine gets before work starts.
    err = "".join(line for line in err.splitlines(keepends=True) if " BLAS threads on " not in line)
    assert named in err and err.count("\n") == 1
    assert not out.exists()

