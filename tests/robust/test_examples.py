"""The robustness examples run with small settings and show what they claim."""


def test_robust_attacks_example(load_script, capsys):
    res = load_script("examples/robust_attacks.py").main(["--n", "60", "--steps", "10"])
    assert set(res) == {"fgsm", "pgd", "apgd", "deepfool", "cw"}
    # the iterative attacks are at least as strong as one FGSM step; the minimal ones always win
    assert res["pgd"]["robust_accuracy"] <= res["fgsm"]["robust_accuracy"]
    assert res["deepfool"]["robust_accuracy"] == 0 and res["cw"]["robust_accuracy"] == 0
    assert "median norm" in capsys.readouterr().out


def test_robust_training_example(load_script):
    res = load_script("examples/robust_training.py").main(["--epochs", "6", "--eps", "0.1"])
    i = res["eps"].index(0.1)
    assert res["fgsm"][i] > res["plain"][i] and res["pgd"][i] > res["plain"][i]
    for name in ("plain", "fgsm", "pgd"):  # accuracy falls with eps, to zero at 4 eps
        assert res[name] == sorted(res[name], reverse=True) and res[name][-1] < 0.05
