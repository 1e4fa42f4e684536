"""`chainrule train --ensemble / --bayes-by-backprop / --soft-sharing`: the run folder, its
reloading and its evaluation, on the digits with a small MLP and a few epochs."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import bayes, nn
from chainrule.cli.main import main
from chainrule.experiments import bayes_runs, load_model
from chainrule.io import read_shapes
from chainrule.models import MLP, build
from chainrule.ops import cross_entropy

SMALL = ["--dataset", "digits", "--quiet", "--model-arg", "sizes=[64,32,10]"]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _evaluated_errors(capsys, run) -> int:
    capsys.readouterr()
    assert main(["evaluate", run]) == 0
    return int(capsys.readouterr().out.split("(")[1].split()[0])


def test_ensemble_run_folder_reloads_and_evaluates(capsys):
    assert main(["train", "mlp", *SMALL, "--epochs", "2", "--ensemble", "3", "--out", "ens"]) == 0
    res = json.loads(Path("ens/results.json").read_text())
    config = json.loads(Path("ens/config.json").read_text())
    assert config["model"]["ensemble"] == 3 and config["bayes"] == {"ensemble": 3}
    for i in range(3):  # each member logs its own epochs
        rows = list(csv.DictReader(Path(f"ens/metrics-member{i}.csv").read_text().splitlines()))
        assert len(rows) == 2 and "val_accuracy" in rows[0]
    keys = read_shapes("ens/model.safetensors")
    assert {k.split(".")[1] for k in keys if k.startswith("members.")} == {"0", "1", "2"}
    net, _ = load_model("ens")
    assert isinstance(net, bayes.Ensemble) and len(net.members) == 3
    w = [m.layers[1].weight._data for m in net.members]
    assert not np.allclose(w[0], w[1])  # independently initialized and trained
    # the output is the log of the members' averaged probabilities
    x = cr.tensor(np.random.default_rng(0).random((4, 64), dtype=np.float32))
    average = np.mean([bayes.softmax_probs(m(x)._data) for m in net.members], axis=0)
    np.testing.assert_allclose(np.exp(net(x)._data), average, rtol=1e-5, atol=1e-6)
    assert _evaluated_errors(capsys, "ens") == res["test_errors"]
    assert main(["evaluate", "ens", "--uncertainty", "ensemble"]) == 0
    capsys.readouterr()
    u = json.loads(Path("ens/results.json").read_text())["uncertainty"]["ensemble"]
    assert u["plain_label"] == "member 0 alone" and u["ensemble"]["samples"] == 3
    assert u["ensemble"]["accuracy"] == pytest.approx(res["test_accuracy"])
    assert u["ensemble"]["mean_mutual_information"] > 0  # the members disagree somewhere
    np.save("img.npy", np.zeros((8, 8), dtype=np.float32))
    assert main(["predict", "ens", "img.npy", "--json"]) == 0
    probs = json.loads(capsys.readouterr().out)[0]["probabilities"]
    assert abs(sum(probs.values()) - 1) < 1e-3


def test_ensemble_refuses_resume(capsys):
    assert main(["train", "mlp", *SMALL, "--epochs", "1", "--ensemble", "2", "--out", "e",
                 "--resume"]) == 2
    assert "--resume is not supported for an ensemble" in capsys.readouterr().err


def test_bayes_by_backprop_run_reloads_and_evaluates(capsys):
    assert main(["train", "mlp", *SMALL, "--epochs", "2", "--bayes-by-backprop",
                 "--prior-sigma", "0.5", "--out", "bbb"]) == 0
    res = json.loads(Path("bbb/results.json").read_text())
    keys = set(read_shapes("bbb/model.safetensors"))
    assert {"layers.1.weight_mu", "layers.1.weight_rho", "layers.3.bias_rho"} <= keys
    assert not any(k.endswith(".weight") for k in keys)
    net, config = load_model("bbb")
    assert config["model"]["bayes_by_backprop"] == {"prior_sigma": 0.5}
    layers = [m for m in net.modules() if isinstance(m, nn.BayesianLinear)]
    assert len(layers) == 2 and all(m.prior_sigma == 0.5 for m in layers)
    assert _evaluated_errors(capsys, "bbb") == res["test_errors"]


def test_bayes_by_backprop_loss_adds_the_kl_per_training_image():
    net = bayes_runs.assemble([build("mlp", sizes=[6, 5, 3], rng=np.random.default_rng(0))],
                              {"name": "mlp", "bayes_by_backprop": {"prior_sigma": 1.0}},
                              [np.random.default_rng(1)])
    options = bayes_runs.check_options({"bayes_by_backprop": {"prior_sigma": 1.0}})
    loss, _ = bayes_runs.member_loss(net, 40, options)
    x = cr.tensor(np.random.default_rng(2).random((4, 6), dtype=np.float32))
    y = cr.tensor(np.array([0, 1, 2, 1]))
    net.eval()  # the means: the data term is deterministic
    out = net(x)
    net.train()
    total = loss(out, y).item()
    expected = cross_entropy(out, y).item() + bayes.kl_divergence(net).item() / 40
    assert total == pytest.approx(expected, rel=1e-6)


def test_to_bayesian_keeps_the_function_at_its_means():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 5 * 5, 4, rng=rng))
    x = cr.tensor(rng.random((2, 2, 5, 5), dtype=np.float32))
    before = model(x)._data.copy()
    bayes.to_bayesian(model, prior_sigma=0.3, rng=1)
    assert isinstance(model[0], nn.BayesianConv2d) and isinstance(model[3], nn.BayesianLinear)
    model.eval()
    np.testing.assert_allclose(model(x)._data, before, rtol=1e-5, atol=1e-6)
    model.train()
    assert not np.allclose(model(x)._data, before)  # training mode samples weights


def test_to_bayesian_refusals():
    with pytest.raises(ValueError, match="has no Linear or Conv2d"):
        bayes.to_bayesian(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="without a bias"):
        bayes.to_bayesian(nn.Sequential(nn.Linear(2, 2, bias=False)))
    with pytest.raises(ValueError, match="wrap a single layer"):
        bayes.to_bayesian(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="prior_sigma must be"):
        bayes.to_bayesian(MLP((2, 2)), prior_sigma=0)


def test_soft_sharing_run_quantizes(capsys):
    assert main(["train", "mlp", *SMALL, "--epochs", "3", "--soft-sharing", "5",
                 "--sharing-warmup", "1", "--out", "soft"]) == 0
    out = capsys.readouterr().out
    assert "soft sharing: 2368 weights ->" in out
    res = json.loads(Path("soft/results.json").read_text())["soft_sharing"]
    assert 1 <= res["distinct_weights"] <= 5 and res["bits_per_weight"] <= 3
    assert res["centres"][0] == 0.0 and len(res["centres"]) == 5
    assert abs(sum(res["mixing"]) - 1) < 1e-4
    net, _ = load_model("soft")  # the prior is saved with the weights, trained from its start
    centres = net.sharing_prior.means._data[1:]
    np.testing.assert_allclose(centres, res["centres"][1:], atol=1e-5)
    assert len(set(np.round(centres, 6))) == 4
    quantized, _ = load_model("soft/quantized.safetensors")
    values = np.concatenate([w._data.ravel() for w in bayes_runs.shared_weights(quantized)])
    assert len(np.unique(values)) == res["distinct_weights"]
    errors = _evaluated_errors(capsys, "soft/quantized.safetensors")
    assert errors == round((1 - res["accuracy_quantized"]) * 359)


def test_bayes_options_are_refused_for_generative_tasks_and_combinations(capsys):
    assert main(["train", "autoencoder", "--ensemble", "2", "--epochs", "1"]) == 2
    assert "is for classifiers" in capsys.readouterr().err
    assert main(["train", "mlp", *SMALL, "--soft-sharing", "4", "--bayes-by-backprop"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert main(["train", "mlp", *SMALL, "--soft-sharing", "4", "--sharing-warmup", "2",
                 "--epochs", "2"]) == 2
    assert "--sharing-warmup 2 must be less than --epochs 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "mlp", "--ensemble", "1"])
    capsys.readouterr()
    # Found by the CLI fuzz: 99999999999999999999 passed the parser and overflowed in
    # Generator.spawn, an internal error (exit 1).
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "mlp", "--ensemble", "99999999999999999999"])
    assert exit_info.value.code == 2
    assert "argument --ensemble: expected an integer from 2 to 1000" in capsys.readouterr().err


def test_evaluate_uncertainty_writes_the_runs_results(capsys):
    assert main(["train", "mlp", *SMALL, "--epochs", "4", "--lr", "0.01", "--model-arg",
                 "dropout=0.3", "--out", "drop"]) == 0
    trained = json.loads(Path("drop/results.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", "drop", "--uncertainty", "mc-dropout", "--samples", "5"]) == 0
    assert "mc-dropout" in capsys.readouterr().out
    assert main(["evaluate", "drop", "--uncertainty", "laplace", "--samples", "5",
                 "--fit-size", "200"]) == 0
    assert main(["evaluate", "drop", "--uncertainty", "laplace", "--laplace-structure", "kfac",
                 "--samples", "5", "--fit-size", "200"]) == 0
    res = json.loads(Path("drop/results.json").read_text())
    assert res["test_accuracy"] == trained["test_accuracy"]  # the training results are kept
    mc, la = res["uncertainty"]["mc-dropout"], res["uncertainty"]["laplace-last-layer"]
    kfac = res["uncertainty"]["laplace-kfac"]
    assert kfac["structure"] == "kfac" and kfac["laplace"]["mean_mutual_information"] > 0
    assert mc["plain"]["accuracy"] == pytest.approx(trained["test_accuracy"])
    assert mc["plain"]["mean_mutual_information"] == 0.0  # one deterministic prediction
    for r in (mc["mc-dropout"], la["laplace"]):
        assert r["samples"] == 5 and r["mean_mutual_information"] > 0
        assert r["mean_entropy"] >= r["mean_mutual_information"]  # H[mean] = MI + E[H]
        assert 0 <= r["ece"] <= 1 and r["nll"] > 0 and 0 <= r["brier"] <= 2
        assert r["mean_entropy_wrong"] > r["mean_entropy_right"]
    assert la["prior_precision"] in (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
    assert la["fit_size"] == 200 and la["structure"] == "last-layer"
    # the chosen prior is the one with the lowest validation NLL
    assert min(la["val_nll_by_prior"].values()) == la["val_nll_by_prior"][
        str(la["prior_precision"])]


def test_evaluate_uncertainty_refusals(capsys):
    assert main(["train", "mlp", *SMALL, "--epochs", "1", "--out", "plain"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "plain", "--uncertainty", "ensemble"]) == 2
    assert "not an ensemble" in capsys.readouterr().err
    assert main(["evaluate", "plain", "--uncertainty", "mc-dropout"]) == 2
    assert "no dropout layer" in capsys.readouterr().err
    assert main(["evaluate", "plain/model.safetensors", "--uncertainty", "laplace"]) == 2
    assert "needs a run folder" in capsys.readouterr().err


def test_uncertainty_summary_splits_entropy():
    from chainrule.experiments.uncertainty import summary

    y = np.array([0, 1])
    same = np.tile(np.array([[[0.9, 0.1], [0.5, 0.5]]]), (3, 1, 1))
    s = summary(same, y)
    assert s["mean_mutual_information"] == pytest.approx(0.0, abs=1e-12)
    h = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))
    assert s["mean_entropy"] == pytest.approx((h + np.log(2)) / 2)
    split = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two sure samples that disagree: all epistemic
    s = summary(split, np.array([0]))
    assert s["mean_mutual_information"] == pytest.approx(np.log(2))
