"""`chainrule calibrate RUN`: the temperature is fitted on the run's own validation split."""

import json
from pathlib import Path

import pytest

from chainrule.cli.main import main


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_calibrate_a_trained_run(capsys):
    assert main(["train", "mlp", "--dataset", "digits", "--epochs", "3", "--quiet", "--out",
                 "run", "--model-arg", "dropout=0.3", "--model-arg", "sizes=[64,32,10]"]) == 0
    capsys.readouterr()
    assert main(["calibrate", "run", "--mc-dropout", "3", "--laplace", "--out", "cal"]) == 0
    out = capsys.readouterr().out
    assert "temperature" in out and "MC dropout (3)" in out and "Laplace (" in out
    res = json.loads(Path("cal/results.json").read_text())
    assert res["n_val"] == 143 and res["n_test"] == 359
    assert res["val_nll_after"] <= res["val_nll_before"]  # T minimizes the validation NLL
    assert res["after"]["accuracy"] == res["before"]["accuracy"]  # T never changes a class
    assert res["laplace"]["prior_precision"] in (0.1, 1.0, 10.0, 100.0, 1000.0)
    assert Path("cal/figures/reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_calibrate_needs_a_validation_split(capsys):
    assert main(["train", "mlp", "--dataset", "digits", "--epochs", "1", "--quiet", "--out",
                 "run", "--val-split", "0"]) == 0
    assert main(["calibrate", "run", "--out", "cal"]) != 0
    assert "trained without a validation split" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["calibrate", "evaluate"])
def test_a_bin_count_numpy_cannot_allocate_is_a_usage_error(command, capsys):
    # Found by the CLI fuzz: --bins 99999999999999999999 passed the parser and failed as NumPy's
    # "Maximum allowed size exceeded", naming no argument.
    with pytest.raises(SystemExit) as exit_info:
        main([command, "run", "--bins", "99999999999999999999"])
    assert exit_info.value.code == 2
    assert "argument --bins: expected an integer from 1 to 1000000" in capsys.readouterr().err


def _states_seen(monkeypatch, name, kinds):
    """Patch ``bayes.<name>`` to record the generator states of the model's random layers."""
    from chainrule import bayes

    seen, real = [], getattr(bayes, name)

    def spy(model, x, **kwargs):
        seen.append([m.rng.bit_generator.state["state"]["state"] for m in model.modules()
                     if isinstance(m, kinds)])
        return real(model, x, **kwargs)
    monkeypatch.setattr(bayes, name, spy)
    return seen


def test_random_layers_draw_from_streams_of_their_own(capsys, monkeypatch):
    # Every dropout (or Bayesian) layer was given np.random.default_rng(seed): two dropout layers
    # of the same width drew the same mask in every MC-dropout sample, silently.
    import numpy as np

    from chainrule import nn

    assert main(["train", "mlp", "--dataset", "digits", "--epochs", "1", "--quiet", "--out",
                 "run", "--model-arg", "dropout=0.3", "--model-arg",
                 "sizes=[64,16,16,10]"]) == 0
    assert main(["train", "mlp", "--dataset", "digits", "--epochs", "1", "--quiet", "--out",
                 "bbb", "--model-arg", "sizes=[64,16,16,10]", "--bayes-by-backprop"]) == 0
    seen = _states_seen(monkeypatch, "mc_dropout_predict", nn.Dropout)
    assert main(["evaluate", "run", "--uncertainty", "mc-dropout", "--samples", "2",
                 "--seed", "3"]) == 0
    assert main(["calibrate", "run", "--mc-dropout", "2", "--seed", "3", "--out", "cal"]) == 0
    seen_bbb = _states_seen(monkeypatch, "sample_predict", nn.BayesianLinear)
    assert main(["evaluate", "bbb", "--uncertainty", "bayes-by-backprop", "--samples", "2",
                 "--seed", "3"]) == 0
    first = np.random.default_rng(3).bit_generator.state["state"]["state"]
    assert [len(s) for s in seen + seen_bbb] == [2, 2, 3]
    for states in seen + seen_bbb:
        assert states[0] == first  # a model with one such layer draws as before
        assert len(set(states)) == len(states)
